// The Logs page's logic, apart from React so it can be tested alone.
import type { LogFilter } from "../api/generated/LogFilter";
import type { RequestDto } from "../api/generated/RequestDto";
import { count } from "../lib/money";

/** Rows fetched per page while scrolling. */
export const PAGE_SIZE = 200;

export type Since = "hour" | "day" | "week" | "month" | "all";

export const SINCE_CHOICES: readonly { id: Since; label: string }[] = [
  { id: "hour", label: "Last hour" },
  { id: "day", label: "Last 24 hours" },
  { id: "week", label: "Last 7 days" },
  { id: "month", label: "Last 30 days" },
  { id: "all", label: "All time" },
];

const HOUR = 3_600_000;
const SINCE_MS: Record<Since, number | null> = { hour: HOUR, day: 24 * HOUR, week: 7 * 24 * HOUR, month: 30 * 24 * HOUR, all: null };

/** What the filter bar holds: `""` means "any". */
export interface FilterForm {
  app: string;
  alias: string;
  provider: string;
  model: string;
  status: "" | "ok" | "errors";
  since: Since;
}

export const EMPTY_FILTER: FilterForm = { app: "", alias: "", provider: "", model: "", status: "", since: "all" };

export function toLogFilter(form: FilterForm, now: number): LogFilter {
  const ago = SINCE_MS[form.since];
  const value = (s: string) => (s === "" ? null : s);
  return {
    app: value(form.app),
    alias: value(form.alias),
    provider: value(form.provider),
    model: value(form.model),
    status: form.status === "" ? null : form.status,
    sinceMs: ago === null ? null : now - ago,
    untilMs: null,
  };
}

export function isFiltered(form: FilterForm): boolean {
  return (Object.keys(EMPTY_FILTER) as (keyof FilterForm)[]).some((k) => form[k] !== EMPTY_FILTER[k]);
}

export function isError(row: RequestDto): boolean {
  return row.status >= 400 || row.error !== null;
}

/** `general → gpt-4o-mini`, or `openai/gpt-4o-mini` without an alias, or `—`. */
export function route(row: RequestDto): string {
  if (row.alias) return `${row.alias} → ${row.model ?? "?"}`;
  if (row.providerId && row.model) return `${row.providerId}/${row.model}`;
  return row.model ?? "—";
}

/** `12 → 34` (input → output tokens), or `—`. */
export function tokens(row: RequestDto): string {
  if (row.inputTokens === null && row.outputTokens === null) return "—";
  const n = (v: number | null) => (v === null ? "?" : v.toLocaleString("en-US"));
  return `${n(row.inputTokens)} → ${n(row.outputTokens)}`;
}

/**
 * A row's cache writes as the detail view shows them: `1,000 / 400 cache write 5m / 1h` (five-minute writes, then
 * hour-long ones); `N cache write` for rows written before the ledger counted the hour-long part.
 */
export function cacheWrites(row: RequestDto): string {
  const all = row.cacheWriteTokens;
  const hour = row.cacheWrite1hTokens;
  if (all === null || hour === null) return `${count(all)} cache write`;
  return `${count(Math.max(0, all - hour))} / ${count(hour)} cache write 5m / 1h`;
}

/** `14:03:07` today, otherwise `Nov 24, 14:03`. */
export function when(tsMs: number, now: number): string {
  const at = new Date(tsMs);
  const today = new Date(now);
  const time = at.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  if (at.toDateString() === today.toDateString()) return time;
  return `${at.toLocaleDateString(undefined, { month: "short", day: "numeric" })}, ${time}`;
}

/** Newer rows first, then the existing ones, without duplicates (ids are unique and descending). */
export function mergeNewer(existing: RequestDto[], newer: RequestDto[]): RequestDto[] {
  const top = existing[0]?.id ?? -Infinity;
  const fresh = newer.filter((r) => r.id > top);
  return fresh.length === 0 ? existing : [...fresh, ...existing];
}

/** A body as the detail view shows it: pretty JSON when it is JSON, else the text as kept. */
export function prettyBody(text: string): string {
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return JSON.stringify(JSON.parse(trimmed), null, 2);
    } catch {
      return text;
    }
  }
  return text;
}
