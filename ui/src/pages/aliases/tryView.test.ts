import { describe, expect, it } from "vitest";

import type { TryError } from "../../api/generated/TryError";
import { moveTargetTo, newTarget } from "../aliasForm";
import { tryErrorHint } from "./tryView";

describe("tryErrorHint", () => {
  const check = (status: number, message: string, expected: string) => {
    const error: TryError = { status, message };
    expect(tryErrorHint(error)).toContain(expected);
  };

  it("names the next step for each kind of failure", () => {
    check(404, "the model general does not exist", "Save the alias first");
    check(400, "no target of code can take images", "enabled provider");
    check(401, "openai answered 401", "Providers page");
    check(403, 'app "Chat window" may not use "code"; it may use: fast (change this in Apps)', "Chat window app");
    check(429, "the daily budget is spent ($1.00 of $1.00)", "budget");
    check(429, "Rate limit reached", "rate-limiting");
    check(200, "the stream broke", "broke off part-way");
    check(502, "every target failed", "attempts say why");
  });
});

describe("moveTargetTo", () => {
  it("moves a dragged target and shifts the ones between", () => {
    const [a, b, c] = [newTarget("a"), newTarget("b"), newTarget("c")];
    const ids = (list: typeof a[]) => list.map((t) => t.providerId).join("");
    expect(ids(moveTargetTo([a, b, c], 0, 2))).toBe("bca");
    expect(ids(moveTargetTo([a, b, c], 2, 0))).toBe("cab");
    expect(ids(moveTargetTo([a, b, c], 1, 1))).toBe("abc");
    expect(ids(moveTargetTo([a, b, c], 3, 0))).toBe("abc");
  });
});
