// "Try it" without React: what the result box shows for one `try_alias` answer, and the next step for an error.
import type { TryError } from "../../api/generated/TryError";
import type { TryResult } from "../../api/generated/TryResult";
import { count, duration, usd } from "../../lib/money";

export interface TryAttempt {
  target: string;
  /** `ok`, or what went wrong (`429`, `timeout`, …). */
  result: string;
  ok: boolean;
  elapsed: string;
}

export interface TrySummary {
  /** `provider/model` that answered; `null` when none did. */
  answeredBy: string | null;
  attempts: TryAttempt[];
  /** `12 in · 7 out`, or `—` when the ledger has no counts. */
  tokens: string;
  cost: string;
  latency: string;
}

export function summarizeTry(result: TryResult): TrySummary {
  const row = result.request;
  const answered = result.error === null || result.text !== "";
  const tokens =
    row && (row.inputTokens !== null || row.outputTokens !== null)
      ? `${count(row.inputTokens)} in · ${count(row.outputTokens)} out`
      : "—";
  return {
    answeredBy: answered ? result.target : null,
    attempts: (row?.attempts ?? []).map((a) => ({
      target: a.target,
      result: a.result,
      ok: a.result === "ok",
      elapsed: duration(a.elapsedMs),
    })),
    tokens,
    cost: row ? usd(row.costUsd) : "—",
    latency: duration(row?.latencyMs ?? result.elapsedMs),
  };
}

/** What to do about a failed try, in one sentence, by the status a client would have got. */
export function tryErrorHint(error: TryError): string {
  const { status, message } = error;
  if (/budget/i.test(message)) return "Raise the budget of the Chat window app in Apps, or wait until it resets.";
  if (status === 403 && /may not use/.test(message)) return "Let the Chat window app use this alias in Apps, then send again.";
  if (status === 200) return "The answer broke off part-way: send again, or add a fallback target in Edit.";
  if (status === 400 || status === 404) {
    return "Save the alias first, and check in Edit that each target names an enabled provider and a model it lists.";
  }
  if (status === 401 || status === 403) {
    return "The provider refused the key: replace it on the Providers page (Test there shows the provider’s own answer).";
  }
  if (status === 429) return "The provider is rate-limiting: wait a moment, or add a fallback target in Edit.";
  return "Every target failed; the attempts say why. Test the providers on the Providers page, or add a fallback target.";
}
