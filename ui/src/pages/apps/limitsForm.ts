// Rate limits on the Apps page: the fields as typed, how they become the commands' `LimitsDto`, and how limits and
// the last limit hit read on a card. The numbers and their bounds are the config file's (`crates/gateway/src/limits`).
import type { LimitHitDto } from "../../api/generated/LimitHitDto";
import type { LimitsDto } from "../../api/generated/LimitsDto";
import { lastUsed } from "../../lib/format";

/** Each field as typed; `""` is no limit. */
export interface LimitsForm {
  rpm: string;
  tpm: string;
  concurrent: string;
  loopGuard: string;
}

export const NO_LIMITS: LimitsDto = { rpm: null, tpm: null, concurrent: null, loopGuard: null };

export const EMPTY_LIMITS_FORM: LimitsForm = { rpm: "", tpm: "", concurrent: "", loopGuard: "" };

/** What the backend accepts (`MAX_RPM`, `MAX_CONCURRENT`, `MAX_LOOP_GUARD` in `limits/mod.rs`). */
const MAX_RPM = 100_000;
const MAX_CONCURRENT = 10_000;
const MAX_LOOP_GUARD = 100;

export function toLimitsForm(limits: LimitsDto | null | undefined): LimitsForm {
  const text = (n: number | null | undefined) => (n === null || n === undefined ? "" : String(n));
  return {
    rpm: text(limits?.rpm),
    tpm: text(limits?.tpm),
    concurrent: text(limits?.concurrent),
    loopGuard: text(limits?.loopGuard),
  };
}

/** A whole number from `min` to `max` as typed (`""` is none, thousands separators allowed), or an error sentence. */
function whole(text: string, what: string, min: number, max: number): number | null | string {
  const t = text.trim().replace(/[,_\s]/g, "");
  if (t === "") return null;
  const n = Number(t);
  if (!/^\d+$/.test(t) || !Number.isSafeInteger(n) || n < min || n > max) {
    return `${what} must be a whole number from ${min.toLocaleString("en-US")} to ${max.toLocaleString("en-US")}, or empty for no limit`;
  }
  return n;
}

/** The fields as limits, or the first mistake as a sentence. `perApp` allows the loop guard (apps only). */
export function parseLimits(form: LimitsForm, perApp: boolean): LimitsDto | string {
  const rpm = whole(form.rpm, "requests per minute", 1, MAX_RPM);
  if (typeof rpm === "string") return rpm;
  const tpm = whole(form.tpm, "tokens per minute", 1, Number.MAX_SAFE_INTEGER);
  if (typeof tpm === "string") return tpm;
  const concurrent = whole(form.concurrent, "requests at once", 1, MAX_CONCURRENT);
  if (typeof concurrent === "string") return concurrent;
  const loopGuard = perApp ? whole(form.loopGuard, "the loop guard", 2, MAX_LOOP_GUARD) : null;
  if (typeof loopGuard === "string") return loopGuard;
  return { rpm, tpm, concurrent, loopGuard };
}

/** `60 requests/min · 200,000 tokens/min · 4 at once · loop guard after 5`, or `none`. */
export function limitsText(limits: LimitsDto): string {
  const n = (v: number) => v.toLocaleString("en-US");
  const parts = [];
  if (limits.rpm !== null) parts.push(`${n(limits.rpm)} requests/min`);
  if (limits.tpm !== null) parts.push(`${n(limits.tpm)} tokens/min`);
  if (limits.concurrent !== null) parts.push(`${n(limits.concurrent)} at once`);
  if (limits.loopGuard !== null) parts.push(`loop guard after ${n(limits.loopGuard)}`);
  return parts.length === 0 ? "none" : parts.join(" · ");
}

/** `60 requests per minute, 5 minutes ago`, or `never`. */
export function hitText(hit: LimitHitDto | null, now: number = Date.now()): string {
  return hit === null ? "never" : `${hit.limit}, ${lastUsed(hit.atMs, now)}`;
}

/** `the port must be…` → `The port must be….`: a form's error sentence as shown. */
export function sentence(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}
