// The Usage page's logic, apart from React so it can be tested alone.
import type { BucketSize } from "../api/generated/BucketSize";
import type { BudgetBar } from "../api/generated/BudgetBar";
import type { UnpricedDto } from "../api/generated/UnpricedDto";
import type { UsagePoint } from "../api/generated/UsagePoint";
import type { UsageQuery } from "../api/generated/UsageQuery";
import { usd } from "../lib/money";

export type RangePreset = "today" | "week" | "month" | "thisMonth" | "custom";

export const RANGE_CHOICES: readonly { id: RangePreset; label: string }[] = [
  { id: "today", label: "Today" },
  { id: "week", label: "Last 7 days" },
  { id: "month", label: "Last 30 days" },
  { id: "thisMonth", label: "This month" },
  { id: "custom", label: "Custom" },
];

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** `YYYY-MM-DD` of a local date, as `<input type="date">` holds it. */
export function dateInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** Local midnight of `YYYY-MM-DD`, or `null` when it is not a date. */
export function parseDateInput(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isNaN(d.getTime()) ? null : d.getTime();
}

function localMidnight(ms: number): number {
  const d = new Date(ms);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** Hours for a range of two days or less, days otherwise. */
export function bucketFor(sinceMs: number, untilMs: number): BucketSize {
  return untilMs - sinceMs <= 2 * DAY ? "hour" : "day";
}

/**
 * The query for a preset (ending now) or for a custom range of whole local days (`from` and `to` inclusive).
 * Returns an error sentence instead when the custom dates are missing or backwards.
 */
export function rangeQuery(preset: RangePreset, now: number, from: string, to: string): UsageQuery | string {
  let since: number;
  let until = now + 1;
  const today = localMidnight(now);
  switch (preset) {
    case "today":
      since = today;
      break;
    case "week":
      since = today - 6 * DAY;
      break;
    case "month":
      since = today - 29 * DAY;
      break;
    case "thisMonth": {
      const d = new Date(now);
      since = new Date(d.getFullYear(), d.getMonth(), 1).getTime();
      break;
    }
    case "custom": {
      const start = parseDateInput(from);
      const end = parseDateInput(to);
      if (start === null || end === null) return "pick both a start and an end date";
      if (end < start) return "the end date is before the start date; pick a later end";
      since = start;
      const next = new Date(end);
      until = new Date(next.getFullYear(), next.getMonth(), next.getDate() + 1).getTime();
      break;
    }
  }
  // The backend buckets days at this time zone's midnight (its offset at the start of the range), as picked here.
  const utcOffsetMinutes = -new Date(since).getTimezoneOffset();
  return { sinceMs: since, untilMs: until, bucket: bucketFor(since, until), utcOffsetMinutes };
}

export interface ChartData {
  /** Bucket starts, in seconds (uPlot's unit). */
  xs: number[];
  cost: number[];
  tokens: number[];
}

/** Every bucket in the range, empty ones as zero, so the chart's time axis is even. */
export function fillSeries(points: UsagePoint[], query: UsageQuery): ChartData {
  const size = query.bucket === "hour" ? HOUR : DAY;
  const offset = query.utcOffsetMinutes * 60_000;
  const first = Math.floor((query.sinceMs + offset) / size) * size - offset;
  const byStart = new Map(points.map((p) => [p.bucketStartMs, p]));
  const data: ChartData = { xs: [], cost: [], tokens: [] };
  // Bounded: a custom range of years at day buckets is a few thousand points.
  for (let t = first; t < query.untilMs && data.xs.length < 20_000; t += size) {
    const p = byStart.get(t);
    data.xs.push(t / 1000);
    data.cost.push(p ? p.costUsd : 0);
    data.tokens.push(p ? p.inputTokens + p.outputTokens : 0);
  }
  return data;
}

export type BudgetState = "ok" | "near" | "over";

/** How full a budget is (0–100, capped) and whether it is near (≥ 80 %) or over its limit. */
export function budgetFill(bar: BudgetBar): { percent: number; state: BudgetState } {
  const ratio = bar.limitUsd > 0 ? bar.spentUsd / bar.limitUsd : bar.spentUsd > 0 ? Infinity : 0;
  const state: BudgetState = ratio >= 1 ? "over" : ratio >= 0.8 ? "near" : "ok";
  return { percent: Math.min(100, Math.round(ratio * 100)), state };
}

export function budgetLabel(bar: BudgetBar): string {
  return `${bar.app ?? "All apps"} · ${bar.period === "daily" ? "today" : "this month"}`;
}

/** `switchboard-usage-2026-11-01-to-2026-11-26.csv` for the range's local dates. */
export function exportFileName(query: UsageQuery): string {
  return `switchboard-usage-${dateInput(query.sinceMs)}-to-${dateInput(query.untilMs - 1)}.csv`;
}

/** "3 requests to 2 models have no price", or `null` when every request was priced. */
export function unpricedSummary(rows: readonly UnpricedDto[]): string | null {
  const requests = rows.reduce((n, r) => n + r.requests, 0);
  if (requests === 0) return null;
  const models = rows.length;
  return `${requests.toLocaleString("en-US")} ${requests === 1 ? "request" : "requests"} to ${models} ${
    models === 1 ? "model" : "models"
  } ${requests === 1 ? "has" : "have"} no price`;
}

/** A cost figure, marked `*` when it leaves out requests that have no price. */
export function markedCost(costUsd: number, unpriced: number): string {
  return unpriced > 0 ? `${usd(costUsd)}*` : usd(costUsd);
}

/** What a price typed in the add-a-price form means: USD per million tokens, or an error sentence. */
export function parsePrice(text: string, what: string, required: boolean): number | null | string {
  const t = text.trim();
  if (t === "") return required ? `enter the ${what} price, in dollars per million tokens` : null;
  const n = Number(t.replace(/^\$/, ""));
  if (!Number.isFinite(n) || n < 0) return `the ${what} price is a number of dollars per million tokens, such as 0.15`;
  return n;
}
