// An answer as it streams in, and a batcher that hands it to React at most once per animation frame: a model
// sending hundreds of chunks a second costs one render per frame, not one per chunk.
import type { ChatEvent } from "../../api/chat";

export interface LiveToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface LiveAnswer {
  target: string | null;
  text: string;
  reasoning: string;
  toolCalls: LiveToolCall[];
  /** How many events went into it (for tests and the curious). */
  events: number;
}

export const EMPTY_ANSWER: LiveAnswer = { target: null, text: "", reasoning: "", toolCalls: [], events: 0 };

/** `answer` with `event` applied; `answer` is not changed. */
export function applyEvent(answer: LiveAnswer, event: ChatEvent): LiveAnswer {
  const next = { ...answer, events: answer.events + 1 };
  switch (event.type) {
    case "started":
      next.target = event.target;
      break;
    case "text":
      next.text += event.text;
      break;
    case "reasoning":
      next.reasoning += event.text;
      break;
    case "toolCall": {
      const calls = [...answer.toolCalls];
      const at = Math.min(event.index, calls.length);
      const call = calls[at] ?? { id: "", name: "", arguments: "" };
      calls[at] = {
        id: event.id ?? call.id,
        name: call.name + (event.name ?? ""),
        arguments: call.arguments + event.arguments,
      };
      next.toolCalls = calls;
      break;
    }
  }
  return next;
}

type Schedule = (run: () => void) => number;
type Cancel = (handle: number) => void;

/** Folds events into an answer as they come, and publishes it once per frame. */
export class FrameBatcher {
  private answer: LiveAnswer = EMPTY_ANSWER;
  private handle: number | null = null;
  private readonly publish: (answer: LiveAnswer) => void;
  private readonly schedule: Schedule;
  private readonly cancel: Cancel;

  constructor(
    publish: (answer: LiveAnswer) => void,
    schedule: Schedule = (run) => window.requestAnimationFrame(run),
    cancel: Cancel = (handle) => window.cancelAnimationFrame(handle),
  ) {
    this.publish = publish;
    this.schedule = schedule;
    this.cancel = cancel;
  }

  push(event: ChatEvent): void {
    this.answer = applyEvent(this.answer, event);
    if (this.handle === null) {
      this.handle = this.schedule(() => {
        this.handle = null;
        this.publish(this.answer);
      });
    }
  }

  /** Publishes what is pending now (the stream ended) and stops the frame callback. */
  flush(): LiveAnswer {
    if (this.handle !== null) {
      this.cancel(this.handle);
      this.handle = null;
    }
    this.publish(this.answer);
    return this.answer;
  }
}
