import { describe, expect, it } from "vitest";

import type { Preset, Provider } from "../api/types";
import { balanceAmount, localServerInput } from "./providerForm";

const PRESETS: Preset[] = [{ id: "ollama", name: "Ollama", baseUrl: "http://127.0.0.1:11434/v1", needsKey: false }];

function provider(id: string): Provider {
  return { id, kind: "ollama", name: null, baseUrl: "http://127.0.0.1:9/v1", apiVersion: null, enabled: true, keys: [] };
}

describe("localServerInput", () => {
  it("stores the preset's own URL as the default and any other port as it is, under a free id", () => {
    const server = { kind: "ollama", name: "Ollama", models: 2 };
    expect(localServerInput({ ...server, baseUrl: "http://127.0.0.1:11434/v1" }, PRESETS, [])).toEqual({
      id: "ollama",
      kind: "ollama",
      name: null,
      baseUrl: null,
      apiVersion: null,
      enabled: true,
    });
    const other = localServerInput({ ...server, baseUrl: "http://127.0.0.1:4567/v1" }, PRESETS, [provider("ollama")]);
    expect(other.id).toBe("ollama-2");
    expect(other.baseUrl).toBe("http://127.0.0.1:4567/v1");
  });
});

describe("balanceAmount", () => {
  it("says what is left, of what, in its currency", () => {
    expect(balanceAmount({ label: "Credits", remaining: 74.75, total: 100.5, currency: "USD", note: null })).toBe(
      "Credits: $74.75 left of $100.50",
    );
    expect(
      balanceAmount({ label: "Balance", remaining: 110, total: null, currency: "CNY", note: "10.00 granted, 100.00 topped up" }),
    ).toBe("Balance: 110.00 CNY left (10.00 granted, 100.00 topped up)");
  });
});
