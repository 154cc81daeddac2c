import { useEffect, useId, useRef, type KeyboardEvent, type ReactElement, type ReactNode } from "react";
import { createPortal } from "react-dom";

import { CloseIcon } from "./icons";

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';

interface ModalProps {
  title: string;
  /** Called on Escape and on the close button; not while `busy`. */
  onClose: () => void;
  children: ReactNode;
  /** Buttons along the bottom edge. */
  footer?: ReactNode;
  /** While true, Escape and the close button do nothing (a save is in flight). */
  busy?: boolean;
  wide?: boolean;
  testId?: string;
}

function focusables(root: HTMLElement): HTMLElement[] {
  return Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((el) => !el.closest("[hidden]"));
}

/**
 * A modal dialog: focus moves in (to `[data-autofocus]` or the first field), Tab stays inside, Escape closes,
 * and focus goes back to whatever opened it.
 */
export function Modal({ title, onClose, children, footer, busy = false, wide = false, testId }: ModalProps): ReactElement {
  const titleId = useId();
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const root = ref.current;
    if (root) {
      const body = root.querySelector<HTMLElement>(".modal-body");
      const first =
        root.querySelector<HTMLElement>("[data-autofocus]") ??
        (body ? focusables(body)[0] : undefined) ??
        focusables(root)[0] ??
        root;
      first.focus();
    }
    return () => {
      // Hand focus back only if it was still ours; another dialog may have taken it already.
      const now = document.activeElement;
      const ours = now === null || now === document.body || (root?.contains(now) ?? false);
      if (ours && opener?.isConnected) opener.focus();
    };
  }, []);

  function onKeyDown(e: KeyboardEvent<HTMLDivElement>): void {
    if (e.key === "Escape") {
      e.stopPropagation();
      if (!busy) onClose();
      return;
    }
    if (e.key !== "Tab" || !ref.current) return;
    const items = focusables(ref.current);
    const first = items[0];
    const last = items[items.length - 1];
    if (!first || !last) {
      e.preventDefault();
      return;
    }
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  }

  return createPortal(
    <div className="modal-backdrop">
      <div
        ref={ref}
        className={wide ? "modal modal--wide" : "modal"}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        onKeyDown={onKeyDown}
        data-testid={testId}
      >
        <div className="modal-header">
          <h2 id={titleId} className="modal-title">
            {title}
          </h2>
          <button
            type="button"
            className="icon-button"
            aria-label="Close"
            onClick={onClose}
            disabled={busy}
            data-testid="modal-close"
          >
            <CloseIcon />
          </button>
        </div>
        <div className="modal-body">{children}</div>
        {footer && <div className="modal-footer">{footer}</div>}
      </div>
    </div>,
    document.body,
  );
}
