import { useEffect, useRef, useState, type ReactElement, type SubmitEvent } from "react";

import { tryAlias } from "../../api/aliases";
import type { TryError } from "../../api/generated/TryError";
import type { TryResult } from "../../api/generated/TryResult";
import { toCommandError } from "../../api/invoke";
import { FormError } from "../../components/FormError";
import { summarizeTry, tryErrorHint } from "./tryView";

type State = { state: "idle" } | { state: "running" } | { state: "done"; result: TryResult } | { state: "failed"; message: string };

const DEFAULT_PROMPT = "Say hello in five words.";

/**
 * Sends one prompt through the saved alias and shows who answered, the attempts, tokens, cost and latency. The
 * answer is model output: it is shown as text, never as HTML.
 */
export function TryBox({ alias }: { alias: string }): ReactElement {
  const [prompt, setPrompt] = useState(DEFAULT_PROMPT);
  const [state, setState] = useState<State>({ state: "idle" });
  const running = state.state === "running";
  const promptRef = useRef<HTMLTextAreaElement>(null);

  // The box opens because the user asked to try the alias.
  useEffect(() => promptRef.current?.focus(), []);

  async function submit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    if (!prompt.trim()) {
      setState({ state: "failed", message: "Write a short prompt to send first." });
      return;
    }
    setState({ state: "running" });
    try {
      setState({ state: "done", result: await tryAlias(alias, prompt) });
    } catch (err) {
      setState({ state: "failed", message: toCommandError(err).message });
    }
  }

  return (
    <form className="inline-form try-box" onSubmit={(e) => void submit(e)} aria-label={`Try ${alias}`} data-testid={`try-box-${alias}`}>
      <label className="field">
        <span className="field-label">Prompt</span>
        <textarea
          className="input textarea"
          rows={2}
          value={prompt}
          onChange={(e) => setPrompt(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) e.currentTarget.form?.requestSubmit();
          }}
          ref={promptRef}
          data-testid={`try-prompt-${alias}`}
        />
        <span className="field-hint">
          Sent through <code>{alias}</code> as the Chat window app; it shows up in Logs and Usage like any request.
        </span>
      </label>
      <div className="button-row">
        <button type="submit" className="button button--primary" disabled={running} data-testid={`try-send-${alias}`}>
          {running ? "Sending…" : "Send"}
        </button>
      </div>
      <div className="try-result" aria-live="polite" aria-busy={running}>
        {state.state === "idle" && <p className="muted">The answer, the target that gave it and what it cost appear here.</p>}
        {running && <p className="muted">Waiting for {alias}…</p>}
        {state.state === "failed" && <FormError message={state.message} testId={`try-error-${alias}`} />}
        {state.state === "done" && <TryOutcome id={alias} result={state.result} />}
      </div>
    </form>
  );
}

interface TryOutcomeProps {
  /** Goes into the test ids: `try-answer-<id>`, … */
  id: string;
  result: TryResult;
  /** The next step for an error; "Try it"'s own by default. */
  hint?: (error: TryError) => string;
}

/** Who answered, the attempts, tokens, cost and latency of one request; the answer as text, never as HTML. */
export function TryOutcome({ id, result, hint = tryErrorHint }: TryOutcomeProps): ReactElement {
  const alias = id;
  const summary = summarizeTry(result);
  return (
    <div className="try-outcome" data-testid={`try-result-${alias}`}>
      {result.error && (
        <div className="form-error try-error" role="alert" data-testid={`try-error-${alias}`}>
          <p>{result.error.message}</p>
          <p className="try-hint">{hint(result.error)}</p>
        </div>
      )}
      {result.text && (
        <p className="try-answer" data-testid={`try-answer-${alias}`}>
          {result.text}
        </p>
      )}
      <dl className="facts">
        <dt>Answered by</dt>
        <dd data-testid={`try-target-${alias}`}>
          {summary.answeredBy ? <code>{summary.answeredBy}</code> : <span className="muted">no target</span>}
        </dd>
        <dt>Tokens</dt>
        <dd data-testid={`try-tokens-${alias}`}>{summary.tokens}</dd>
        <dt>Cost</dt>
        <dd data-testid={`try-cost-${alias}`}>{summary.cost}</dd>
        <dt>Latency</dt>
        <dd>{summary.latency}</dd>
        <dt>Attempts</dt>
        <dd>
          {summary.attempts.length === 0 ? (
            <span className="muted">none recorded</span>
          ) : (
            <ol className="try-attempts" data-testid={`try-attempts-${alias}`}>
              {summary.attempts.map((a, i) => (
                <li key={i} className={a.ok ? "test-result--ok" : "test-result--error"}>
                  <code>{a.target}</code> — {a.result} <span className="muted">({a.elapsed})</span>
                </li>
              ))}
            </ol>
          )}
        </dd>
      </dl>
    </div>
  );
}
