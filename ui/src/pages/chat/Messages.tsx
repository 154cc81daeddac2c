// The message list: virtualized (only the messages on screen are in the DOM, so a conversation of thousands
// scrolls smoothly), following the bottom while an answer streams unless the reader scrolled up.
import { useVirtualizer } from "@tanstack/react-virtual";
import { useEffect, useLayoutEffect, useRef, useState, type ReactElement } from "react";

import type { Message } from "../../api/chat";
import { copyText } from "../../components/clipboard";
import { blocksOf, formatCost, splitStable, textOf } from "./content";
import { Markdown } from "./Markdown";
import type { LiveAnswer } from "./stream";

function Meta({ message }: { message: Message }): ReactElement {
  const parts = [
    message.model ?? "unknown model",
    message.inputTokens !== null && message.outputTokens !== null
      ? `${message.inputTokens} in · ${message.outputTokens} out tokens`
      : "tokens unknown",
    formatCost(message.costUsd),
    message.latencyMs !== null ? `${(message.latencyMs / 1000).toFixed(2)} s` : null,
  ].filter((p): p is string => p !== null);
  return (
    <div className="msg-meta muted" data-testid="message-meta">
      {parts.join(" · ")}
    </div>
  );
}

function ToolCall({ name, args }: { name: string; args: string }): ReactElement {
  return (
    <details className="msg-tool" data-testid="tool-call">
      <summary>
        Tool call: <code>{name || "?"}</code>
      </summary>
      <pre className="msg-tool-args">{args}</pre>
    </details>
  );
}

function Reasoning({ text }: { text: string }): ReactElement {
  return (
    <details className="msg-reasoning" data-testid="reasoning">
      <summary>Reasoning</summary>
      <Markdown text={text} />
    </details>
  );
}

interface MessageProps {
  message: Message;
  canRegenerate: boolean;
  busy: boolean;
  onEdit: (message: Message) => void;
  onRegenerate: () => void;
}

function MessageView({ message, canRegenerate, busy, onEdit, onRegenerate }: MessageProps): ReactElement {
  const blocks = blocksOf(message.content);
  const [copied, setCopied] = useState(false);
  async function copy(): Promise<void> {
    if (await copyText(textOf(message.content))) {
      setCopied(true);
      window.setTimeout(() => setCopied(false), 1500);
    }
  }
  const user = message.role === "user";
  return (
    <article className={`msg msg--${message.role}`} data-testid="message" data-role={message.role} data-position={message.position}>
      <div className="msg-who">{user ? "You" : "Assistant"}</div>
      {blocks.map((block, i) => {
        switch (block.type) {
          case "text":
            return user ? (
              <p key={i} className="msg-plain">
                {block.text}
              </p>
            ) : (
              <Markdown key={i} text={block.text} />
            );
          case "thinking":
            return <Reasoning key={i} text={block.thinking} />;
          case "image":
            return block.mediaType.startsWith("image/") ? (
              <img key={i} className="msg-image" alt={block.name} src={`data:${block.mediaType};base64,${block.data}`} />
            ) : null;
          case "file":
            return (
              <div key={i} className="chip msg-file">
                {block.name}
              </div>
            );
          case "tool_call":
            return <ToolCall key={i} name={block.name} args={block.arguments} />;
          case "stopped":
            return (
              <div key={i} className="msg-note muted" data-testid="message-stopped">
                Stopped
              </div>
            );
          case "error":
            return (
              <div key={i} className="banner banner--error banner--inline" data-testid="message-error">
                {block.message}
              </div>
            );
          default:
            return null;
        }
      })}
      {!user && <Meta message={message} />}
      <div className="msg-actions">
        <button type="button" className="link-button" data-testid="message-copy" onClick={() => void copy()}>
          {copied ? "Copied" : "Copy"}
        </button>
        {user && !busy && (
          <button type="button" className="link-button" data-testid="message-edit" onClick={() => onEdit(message)}>
            Edit
          </button>
        )}
        {canRegenerate && !busy && (
          <button type="button" className="link-button" data-testid="regenerate" onClick={onRegenerate}>
            Regenerate
          </button>
        )}
      </div>
    </article>
  );
}

function LiveView({ answer }: { answer: LiveAnswer }): ReactElement {
  return (
    <article className="msg msg--assistant msg--live" data-testid="message-live" data-role="assistant">
      <div className="msg-who">Assistant{answer.target ? ` · ${answer.target}` : ""}</div>
      {answer.reasoning && <Reasoning text={answer.reasoning} />}
      {/* Finished paragraphs keep their rendering; only the last one is parsed again as words arrive. */}
      {answer.text
        ? splitStable(answer.text).map((part, i) => <Markdown key={i} text={part} />)
        : !answer.reasoning && <div className="muted">Thinking…</div>}
      {answer.toolCalls.map((call, i) => (
        <ToolCall key={i} name={call.name} args={call.arguments} />
      ))}
    </article>
  );
}

interface ListProps {
  messages: Message[];
  /** The answer being written, below the messages. */
  live: LiveAnswer | null;
  busy: boolean;
  /** Scroll to this message position once (from a search hit). */
  focus: number | null;
  onEdit: (message: Message) => void;
  onRegenerate: () => void;
}

export function MessageList({ messages, live, busy, focus, onEdit, onRegenerate }: ListProps): ReactElement {
  const scrollRef = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const count = messages.length + (live ? 1 : 0);
  // The virtualizer hands back fresh functions each render; this component opts out of compiler memoization.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 120,
    overscan: 6,
    getItemKey: (i) => messages[i]?.id ?? "live",
  });

  // Follow the bottom when new content arrives, unless the reader has scrolled up.
  useLayoutEffect(() => {
    if (focus === null && stick.current && count > 0) virtualizer.scrollToIndex(count - 1, { align: "end" });
  }, [count, live, focus, virtualizer]);

  useEffect(() => {
    if (focus === null) return;
    const index = messages.findIndex((m) => m.position === focus);
    if (index >= 0) {
      stick.current = false;
      virtualizer.scrollToIndex(index, { align: "center" });
    }
  }, [focus, messages, virtualizer]);

  function onScroll(): void {
    const el = scrollRef.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  }

  return (
    <div ref={scrollRef} className="chat-scroll" data-testid="message-list" onScroll={onScroll}>
      <div className="chat-scroll-inner" style={{ height: virtualizer.getTotalSize() }}>
        {virtualizer.getVirtualItems().map((item) => {
          const message = messages[item.index];
          return (
            <div
              key={item.key}
              data-index={item.index}
              ref={virtualizer.measureElement}
              className={`chat-row${message && message.position === focus ? " chat-row--focus" : ""}`}
              style={{ transform: `translateY(${item.start}px)` }}
            >
              {message ? (
                <MessageView
                  message={message}
                  busy={busy}
                  canRegenerate={item.index === messages.length - 1}
                  onEdit={onEdit}
                  onRegenerate={onRegenerate}
                />
              ) : (
                live && <LiveView answer={live} />
              )}
            </div>
          );
        })}
      </div>
    </div>
  );
}
