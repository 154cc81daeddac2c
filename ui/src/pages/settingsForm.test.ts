import { describe, expect, it } from "vitest";

import type { SettingsInput } from "../api/generated/SettingsInput";
import { fromForm, overrideLine, parseBudget, toForm } from "./settingsForm";

const STORED: SettingsInput = {
  port: 7352,
  bind: "127.0.0.1",
  allowedHosts: ["box.local"],
  allowedOrigins: [],
  loggingBodies: true,
  retentionDays: 7,
  theme: "dark",
  overallBudget: { dailyUsd: 5, monthlyUsd: null, action: "block" },
};

describe("settings form", () => {
  it("lists the parts of the user's own price they set, the hour-long cache writes among them", () => {
    const price = { provider: "anthropic", model: "claude-house", input: 3, output: 15, cachedInput: null, cacheWrite: null, cacheWrite1h: null };
    expect(overrideLine(price)).toBe("$3.00 in / $15.00 out per million tokens");
    expect(overrideLine({ ...price, cacheWrite: 3.75, cacheWrite1h: 6 })).toBe(
      "$3.00 in / $15.00 out / $3.75 cache write / $6.00 cache write 1h per million tokens",
    );
  });

  it("round-trips what is stored", () => {
    expect(fromForm(toForm(STORED))).toEqual(STORED);
  });

  it("reads hosts one per line (or comma), trimmed", () => {
    const form = { ...toForm(STORED), allowedHosts: " a.local \n\n b.local, c.local" };
    expect(fromForm(form)).toMatchObject({ allowedHosts: ["a.local", "b.local", "c.local"] });
  });

  it("says what to enter for a bad port, retention or amount", () => {
    const f = toForm(STORED);
    expect(fromForm({ ...f, port: "80a" })).toBe("the port must be a whole number from 1 to 65535");
    expect(fromForm({ ...f, port: "70000" })).toMatch(/1 to 65535/);
    expect(fromForm({ ...f, retentionDays: "0" })).toMatch(/1 to 3650 days/);
    expect(fromForm({ ...f, dailyUsd: "-2" })).toMatch(/daily limit must be an amount/);
  });

  it("an empty budget is no budget; $ signs are fine", () => {
    expect(parseBudget("", " ", "warn")).toBeNull();
    expect(parseBudget("$2.50", "", "warn")).toEqual({ dailyUsd: 2.5, monthlyUsd: null, action: "warn" });
  });
});
