import { useState, type ReactElement, type ReactNode } from "react";

import { toCommandError } from "../api/invoke";
import { FormError } from "./FormError";
import { Modal } from "./Modal";

export interface ConfirmRequest {
  title: string;
  body: ReactNode;
  confirmLabel: string;
  /** Runs on confirm; a rejection keeps the dialog open and shows its message. */
  action: () => Promise<void>;
}

interface ConfirmDialogProps {
  request: ConfirmRequest;
  onClose: () => void;
}

/** "Are you sure?" for anything that cannot be undone. Focus starts on Cancel. */
export function ConfirmDialog({ request, onClose }: ConfirmDialogProps): ReactElement {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function confirm(): Promise<void> {
    setBusy(true);
    setError(null);
    try {
      await request.action();
      onClose();
    } catch (err) {
      setError(toCommandError(err).message);
      setBusy(false);
    }
  }

  return (
    <Modal
      title={request.title}
      onClose={onClose}
      busy={busy}
      testId="confirm-dialog"
      footer={
        <>
          <button type="button" className="button" onClick={onClose} disabled={busy} data-autofocus>
            Cancel
          </button>
          <button
            type="button"
            className="button button--danger"
            onClick={() => void confirm()}
            disabled={busy}
            data-testid="confirm"
          >
            {busy ? "Working…" : request.confirmLabel}
          </button>
        </>
      }
    >
      <div className="confirm-body">{request.body}</div>
      <FormError message={error} />
    </Modal>
  );
}
