import { describe, expect, it } from "vitest";

import type { ModelFacts } from "../../api/generated/ModelFacts";
import { capabilitiesText, dollars, priceText, tokens } from "./targetFacts";

const unknown: ModelFacts = {
  contextWindow: null,
  maxOutput: null,
  tools: null,
  vision: null,
  jsonSchema: null,
  reasoning: null,
  local: false,
  price: null,
};

describe("target facts", () => {
  it("writes token counts and prices the way model pages do", () => {
    expect(tokens(128_000)).toBe("128k");
    expect(tokens(1_048_576)).toBe("1M");
    expect(tokens(2_500_000)).toBe("2.5M");
    expect(tokens(512)).toBe("512");
    expect(dollars(2.5)).toBe("$2.50");
    expect(dollars(0.075)).toBe("$0.075");
    expect(dollars(0)).toBe("$0.00");
  });

  it("shows known capabilities only; a model known to lack tools says so", () => {
    expect(capabilitiesText(unknown)).toBe("");
    const facts = { ...unknown, contextWindow: 200_000, maxOutput: 64_000, tools: true, vision: true, reasoning: true };
    expect(capabilitiesText(facts)).toBe("200k context · 64k out · tools · images · reasoning");
    expect(capabilitiesText({ ...unknown, tools: false, vision: false })).toBe("no tools");
  });

  it("prices per million tokens, free locally, and says when no price is known", () => {
    const priced = { ...unknown, price: { input: 3, output: 15, cachedInput: 0.3, overridden: false } };
    expect(priceText(priced)).toBe("$3.00 in · $15.00 out per M tokens · cached $0.30");
    const mine = { ...unknown, price: { input: 1, output: 2, cachedInput: null, overridden: true } };
    expect(priceText(mine)).toBe("$1.00 in · $2.00 out per M tokens (your price)");
    expect(priceText({ ...unknown, local: true })).toBe("free: runs on this computer");
    expect(priceText(unknown)).toMatch(/^no known price/);
  });
});
