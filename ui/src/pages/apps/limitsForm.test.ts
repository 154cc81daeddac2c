import { describe, expect, it } from "vitest";

import { EMPTY_LIMITS_FORM, NO_LIMITS, hitText, limitsText, parseLimits, sentence, toLimitsForm } from "./limitsForm";

describe("limits form", () => {
  it("turns typed numbers into limits and empty fields into none", () => {
    expect(parseLimits(EMPTY_LIMITS_FORM, true)).toEqual(NO_LIMITS);
    const form = { rpm: " 60 ", tpm: "200,000", concurrent: "4", loopGuard: "5" };
    expect(parseLimits(form, true)).toEqual({ rpm: 60, tpm: 200_000, concurrent: 4, loopGuard: 5 });
    expect(parseLimits(form, false)).toEqual({ rpm: 60, tpm: 200_000, concurrent: 4, loopGuard: null });
    expect(toLimitsForm({ rpm: 60, tpm: 200_000, concurrent: null, loopGuard: 5 })).toEqual({
      rpm: "60",
      tpm: "200000",
      concurrent: "",
      loopGuard: "5",
    });
    expect(toLimitsForm(null)).toEqual(EMPTY_LIMITS_FORM);
  });

  it("names the first number that is not one the gateway takes", () => {
    const check = (field: Partial<typeof EMPTY_LIMITS_FORM>, expected: string) => {
      const result = parseLimits({ ...EMPTY_LIMITS_FORM, ...field }, true);
      expect(typeof result === "string" && result.startsWith(expected), JSON.stringify(result)).toBe(true);
    };
    check({ rpm: "0" }, "requests per minute must be a whole number from 1 to 100,000");
    check({ rpm: "1.5" }, "requests per minute must be a whole number");
    check({ rpm: "100001" }, "requests per minute must be");
    check({ tpm: "-3" }, "tokens per minute must be");
    check({ concurrent: "lots" }, "requests at once must be a whole number from 1 to 10,000");
    check({ loopGuard: "1" }, "the loop guard must be a whole number from 2 to 100");
    expect(sentence("the loop guard must be 2 or more")).toBe("The loop guard must be 2 or more.");
  });

  it("reads limits and the last hit the way a card shows them", () => {
    expect(limitsText(NO_LIMITS)).toBe("none");
    expect(limitsText({ rpm: 60, tpm: 200_000, concurrent: 4, loopGuard: 5 })).toBe(
      "60 requests/min · 200,000 tokens/min · 4 at once · loop guard after 5",
    );
    const now = Date.UTC(2026, 11, 7, 12);
    expect(hitText(null, now)).toBe("never");
    expect(hitText({ limit: "4 requests at once", atMs: now - 10_000 }, now)).toBe("4 requests at once, just now");
  });
});
