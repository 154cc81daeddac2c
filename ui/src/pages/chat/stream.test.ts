import { describe, expect, it } from "vitest";

import { EMPTY_ANSWER, FrameBatcher, applyEvent, type LiveAnswer } from "./stream";

describe("applyEvent", () => {
  it("builds text, reasoning and tool calls from pieces", () => {
    let answer = EMPTY_ANSWER;
    answer = applyEvent(answer, { type: "started", target: "fake/m" });
    answer = applyEvent(answer, { type: "reasoning", text: "Let me " });
    answer = applyEvent(answer, { type: "reasoning", text: "think." });
    answer = applyEvent(answer, { type: "text", text: "Hel" });
    answer = applyEvent(answer, { type: "text", text: "lo" });
    answer = applyEvent(answer, { type: "toolCall", index: 0, id: "call_1", name: "get", arguments: '{"a"' });
    answer = applyEvent(answer, { type: "toolCall", index: 0, id: null, name: null, arguments: ":1}" });
    expect(answer).toEqual({
      target: "fake/m",
      text: "Hello",
      reasoning: "Let me think.",
      toolCalls: [{ id: "call_1", name: "get", arguments: '{"a":1}' }],
      events: 7,
    });
    expect(EMPTY_ANSWER.text).toBe("");
  });
});

describe("FrameBatcher", () => {
  it("publishes once per frame however many chunks arrive", () => {
    const frames: (() => void)[] = [];
    const published: LiveAnswer[] = [];
    const batcher = new FrameBatcher(
      (answer) => published.push(answer),
      (run) => frames.push(run),
      () => undefined,
    );
    // 500 chunks within one frame (a model at thousands of chunks a second) → one render.
    for (let i = 0; i < 500; i++) batcher.push({ type: "text", text: "x" });
    expect(frames).toHaveLength(1);
    expect(published).toHaveLength(0);
    frames.shift()?.();
    expect(published).toHaveLength(1);
    expect(published[0]?.text).toHaveLength(500);

    batcher.push({ type: "text", text: "y" });
    expect(frames).toHaveLength(1);
    const last = batcher.flush();
    expect(last.text.endsWith("y")).toBe(true);
    expect(published).toHaveLength(2);
  });
});
