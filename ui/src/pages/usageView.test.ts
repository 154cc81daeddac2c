import { describe, expect, it } from "vitest";

import type { BudgetBar } from "../api/generated/BudgetBar";
import {
  budgetFill,
  budgetLabel,
  bucketFor,
  exportFileName,
  fillSeries,
  markedCost,
  parseDateInput,
  parsePrice,
  rangeQuery,
  unpricedSummary,
} from "./usageView";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe("usage view", () => {
  it("ranges end now; today is hourly, a week daily", () => {
    const now = new Date(2026, 10, 25, 15, 30).getTime();
    const today = rangeQuery("today", now, "", "");
    const offset = -new Date(2026, 10, 25).getTimezoneOffset();
    expect(today).toEqual({ sinceMs: new Date(2026, 10, 25).getTime(), untilMs: now + 1, bucket: "hour", utcOffsetMinutes: offset });
    const week = rangeQuery("week", now, "", "");
    expect(week).toMatchObject({ sinceMs: new Date(2026, 10, 19).getTime(), bucket: "day" });
    expect(rangeQuery("thisMonth", now, "", "")).toMatchObject({ sinceMs: new Date(2026, 10, 1).getTime() });
  });

  it("a custom range covers whole days, and says what is wrong with bad dates", () => {
    const q = rangeQuery("custom", 0, "2026-11-02", "2026-11-03");
    expect(q).toEqual({
      sinceMs: new Date(2026, 10, 2).getTime(),
      untilMs: new Date(2026, 10, 4).getTime(),
      bucket: "hour",
      utcOffsetMinutes: -new Date(2026, 10, 2).getTimezoneOffset(),
    });
    expect(rangeQuery("custom", 0, "2026-11-05", "2026-11-03")).toMatch(/end date is before the start/);
    expect(rangeQuery("custom", 0, "", "2026-11-03")).toMatch(/pick both/);
    expect(parseDateInput("nope")).toBeNull();
    expect(bucketFor(0, 3 * DAY)).toBe("day");
  });

  it("fills empty buckets with zeros so the time axis is even", () => {
    const data = fillSeries(
      [{ bucketStartMs: 2 * HOUR, requests: 1, costUsd: 0.5, inputTokens: 10, outputTokens: 5 }],
      { sinceMs: 0, untilMs: 4 * HOUR, bucket: "hour", utcOffsetMinutes: 0 },
    );
    expect(data.xs).toEqual([0, 3600, 7200, 10800]);
    expect(data.cost).toEqual([0, 0, 0.5, 0]);
    expect(data.tokens).toEqual([0, 0, 15, 0]);
  });

  it("day buckets start at the local midnight the range starts at, as the backend's do", () => {
    // Two hours ahead of UTC: local midnight is 22:00 UTC the day before.
    const since = 10 * DAY - 2 * HOUR;
    const data = fillSeries(
      [{ bucketStartMs: since + DAY, requests: 1, costUsd: 1, inputTokens: 1, outputTokens: 1 }],
      { sinceMs: since, untilMs: since + 3 * DAY, bucket: "day", utcOffsetMinutes: 120 },
    );
    expect(data.xs).toEqual([since / 1000, (since + DAY) / 1000, (since + 2 * DAY) / 1000]);
    expect(data.cost).toEqual([0, 1, 0]);
  });

  it("fills a budget bar, warning near the limit and capping past it", () => {
    const bar = (spentUsd: number, limitUsd: number): BudgetBar => ({ app: null, period: "daily", spentUsd, limitUsd, action: "warn" });
    expect(budgetFill(bar(1, 4))).toEqual({ percent: 25, state: "ok" });
    expect(budgetFill(bar(3.5, 4))).toEqual({ percent: 88, state: "near" });
    expect(budgetFill(bar(9, 4))).toEqual({ percent: 100, state: "over" });
    expect(budgetLabel(bar(0, 1))).toBe("All apps · today");
    expect(budgetLabel({ ...bar(0, 1), app: "scripts", period: "monthly" })).toBe("scripts · this month");
  });

  it("names the export after the range", () => {
    const q = { sinceMs: new Date(2026, 10, 1).getTime(), untilMs: new Date(2026, 10, 26).getTime(), bucket: "day" as const, utcOffsetMinutes: 0 };
    expect(exportFileName(q)).toBe("switchboard-usage-2026-11-01-to-2026-11-25.csv");
  });

  it("unpriced requests are counted, and every cost that leaves them out is marked", () => {
    expect(unpricedSummary([])).toBeNull();
    const rows = [
      { providerId: "oa", model: "gpt-9", requests: 2 },
      { providerId: "or", model: "qwen/x", requests: 1 },
    ];
    expect(unpricedSummary(rows)).toBe("3 requests to 2 models have no price");
    expect(unpricedSummary([{ providerId: "oa", model: "gpt-9", requests: 1 }])).toBe("1 request to 1 model has no price");
    expect(markedCost(1.5, 0)).toBe("$1.50");
    expect(markedCost(1.5, 2)).toBe("$1.50*");
  });

  it("a typed price is dollars per million tokens, or says what to enter", () => {
    expect(parsePrice("0.15", "input", true)).toBe(0.15);
    expect(parsePrice("$2", "input", true)).toBe(2);
    expect(parsePrice(" ", "cached input", false)).toBeNull();
    expect(parsePrice("", "input", true)).toBe("enter the input price, in dollars per million tokens");
    expect(parsePrice("-1", "output", true)).toMatch(/number of dollars per million tokens/);
    expect(parsePrice("cheap", "output", true)).toMatch(/number of dollars/);
  });
});
