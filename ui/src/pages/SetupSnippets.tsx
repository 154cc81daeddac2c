import { useEffect, useId, useRef, useState, type KeyboardEvent, type ReactElement } from "react";

import { copyText } from "../components/clipboard";
import { AlertIcon, CheckIcon, CopyIcon } from "../components/icons";
import { buildSnippets, type ClientId, type SnippetInput } from "./snippets";

const COPIED_MS = 1500;

type CopyState = "idle" | "copied" | "failed";

/** Copy with a moment of "Copied"; `onFail` lets the caller show the text for a manual copy. */
function CopyButton(props: { text: string; label: string; testId?: string; onFail?: () => void }): ReactElement {
  const [state, setState] = useState<CopyState>("idle");

  useEffect(() => {
    if (state !== "copied") return;
    const timer = window.setTimeout(() => setState("idle"), COPIED_MS);
    return () => window.clearTimeout(timer);
  }, [state]);

  async function copy(): Promise<void> {
    if (await copyText(props.text)) {
      setState("copied");
    } else {
      setState("failed");
      props.onFail?.();
    }
  }

  return (
    <button type="button" className="button button--small" onClick={() => void copy()} aria-label={props.label} data-testid={props.testId}>
      {state === "copied" ? <CheckIcon /> : <CopyIcon />}
      <span>{state === "copied" ? "Copied" : state === "failed" ? "Copy by hand" : "Copy"}</span>
    </button>
  );
}

/** The new token, once: copy it now or never. */
export function TokenPanel({ token }: { token: string }): ReactElement {
  const [manual, setManual] = useState(false);
  const fieldRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    if (manual) fieldRef.current?.select();
  }, [manual]);

  return (
    <div className="token-panel">
      <p className="token-warning">
        <AlertIcon />
        <span>
          <strong>Shown once — copy it now.</strong> Switchboard can’t show this token again; if you lose it, rotate it.
        </span>
      </p>
      <div className="token-row">
        <code className="token" data-testid="app-token">
          {token}
        </code>
        <CopyButton text={token} label="Copy token" testId="copy-token" onFail={() => setManual(true)} />
      </div>
      {manual && (
        <label className="field">
          <span className="field-label">The clipboard isn’t available here: select the token and copy it (Ctrl/⌘ C)</span>
          <input
            ref={fieldRef}
            className="input input--mono"
            readOnly
            value={token}
            onFocus={(e) => e.target.select()}
            data-testid="token-fallback"
          />
        </label>
      )}
    </div>
  );
}

/**
 * One tab per client, each with the setup filled in, `initial` open first. Every panel stays in the DOM (hidden) so
 * find-in-page works.
 */
export function SetupSnippets({ initial = "curl", ...props }: SnippetInput & { initial?: ClientId }): ReactElement {
  const snippets = buildSnippets(props);
  const [current, setCurrent] = useState<ClientId>(initial);
  const base = useId();
  const tabRefs = useRef(new Map<ClientId, HTMLButtonElement>());

  function onKeyDown(e: KeyboardEvent<HTMLDivElement>): void {
    const i = snippets.findIndex((s) => s.id === current);
    const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
    if (step === 0) return;
    e.preventDefault();
    const next = snippets[(i + step + snippets.length) % snippets.length];
    if (!next) return;
    setCurrent(next.id);
    tabRefs.current.get(next.id)?.focus();
  }

  return (
    <div className="snippets">
      <div className="tabs" role="tablist" aria-label="Set up a client" onKeyDown={onKeyDown}>
        {snippets.map((s) => (
          <button
            key={s.id}
            ref={(el) => {
              if (el) tabRefs.current.set(s.id, el);
              else tabRefs.current.delete(s.id);
            }}
            type="button"
            role="tab"
            className="tab"
            id={`${base}-tab-${s.id}`}
            aria-selected={s.id === current}
            aria-controls={`${base}-panel-${s.id}`}
            tabIndex={s.id === current ? 0 : -1}
            onClick={() => setCurrent(s.id)}
            data-testid={`snippet-tab-${s.id}`}
          >
            {s.label}
          </button>
        ))}
      </div>
      {snippets.map((s) => (
        <div
          key={s.id}
          role="tabpanel"
          id={`${base}-panel-${s.id}`}
          aria-labelledby={`${base}-tab-${s.id}`}
          hidden={s.id !== current}
          className="tab-panel"
          data-testid={`snippet-${s.id}`}
        >
          <p className="muted">{s.note}</p>
          {s.blocks.map((b) => (
            <figure key={b.caption} className="code-block">
              <figcaption className="code-caption">
                <span>{b.caption}</span>
                <CopyButton text={b.code} label={`Copy ${s.label} ${b.caption}`} />
              </figcaption>
              <pre className="code" tabIndex={0}>
                <code>{b.code}</code>
              </pre>
            </figure>
          ))}
        </div>
      ))}
      <p className="field-hint" data-testid="cursor-note">
        Cursor can’t use Switchboard: its servers, not the editor, call a custom base URL, and they can’t reach a
        localhost endpoint.
      </p>
    </div>
  );
}
