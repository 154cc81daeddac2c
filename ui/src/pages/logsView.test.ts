import { describe, expect, it } from "vitest";

import { request } from "../test/fixtures";
import { cacheWrites, EMPTY_FILTER, isError, isFiltered, mergeNewer, prettyBody, route, toLogFilter, tokens } from "./logsView";

describe("logs view", () => {
  it("turns the filter bar into the command's filter, blanks meaning any", () => {
    const now = 1_000_000_000;
    expect(toLogFilter(EMPTY_FILTER, now)).toEqual({
      app: null,
      alias: null,
      provider: null,
      model: null,
      status: null,
      sinceMs: null,
      untilMs: null,
    });
    const f = toLogFilter({ ...EMPTY_FILTER, app: "scripts", status: "errors", since: "hour" }, now);
    expect(f).toMatchObject({ app: "scripts", status: "errors", sinceMs: now - 3_600_000 });
    expect(isFiltered(EMPTY_FILTER)).toBe(false);
    expect(isFiltered({ ...EMPTY_FILTER, model: "x" })).toBe(true);
  });

  it("splits cache writes into five-minute and hour-long ones, and older rows keep one count", () => {
    const check = (over: Parameters<typeof request>[1], expected: string) => expect(cacheWrites(request(1, over))).toBe(expected);
    check({ cacheWriteTokens: 1400, cacheWrite1hTokens: 400 }, "1,000 / 400 cache write 5m / 1h");
    check({ cacheWriteTokens: 0, cacheWrite1hTokens: 0 }, "0 / 0 cache write 5m / 1h");
    check({ cacheWriteTokens: 300, cacheWrite1hTokens: null }, "300 cache write");
    check({ cacheWriteTokens: null, cacheWrite1hTokens: null }, "— cache write");
    // A host's odd report (more hour-long writes than writes) never shows a negative count.
    check({ cacheWriteTokens: 5, cacheWrite1hTokens: 9 }, "0 / 9 cache write 5m / 1h");
  });

  it("shows the route as alias → model, else provider/model", () => {
    expect(route(request(1))).toBe("general → chat-model");
    expect(route(request(1, { alias: null }))).toBe("fake/chat-model");
    expect(route(request(1, { alias: null, providerId: null, model: null }))).toBe("—");
  });

  it("counts a failed stream as an error even with a 200", () => {
    expect(isError(request(1))).toBe(false);
    expect(isError(request(1, { status: 429 }))).toBe(true);
    expect(isError(request(1, { error: "upstream closed mid-stream" }))).toBe(true);
  });

  it("shows tokens in → out, and a dash when none were counted", () => {
    expect(tokens(request(1, { inputTokens: 1200, outputTokens: 34 }))).toBe("1,200 → 34");
    expect(tokens(request(1, { inputTokens: null, outputTokens: null }))).toBe("—");
  });

  it("puts newer rows on top without duplicating the ones shown", () => {
    const shown = [request(5), request(4)];
    const merged = mergeNewer(shown, [request(7), request(6), request(5)]);
    expect(merged.map((r) => r.id)).toEqual([7, 6, 5, 4]);
    expect(mergeNewer(shown, [request(5)])).toBe(shown);
  });

  it("pretty-prints JSON bodies and leaves other text alone", () => {
    expect(prettyBody('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(prettyBody("data: {not json")).toBe("data: {not json");
    expect(prettyBody("{broken")).toBe("{broken");
  });
});
