import { describe, expect, it } from "vitest";

import type { BudgetBar } from "../api/generated/BudgetBar";
import { budgetFill, budgetLabel, bucketFor, exportFileName, fillSeries, parseDateInput, rangeQuery } from "./usageView";

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
});
