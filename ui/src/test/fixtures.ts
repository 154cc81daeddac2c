// Sample rows for the pages' tests.
import type { ClientDto } from "../api/generated/ClientDto";
import type { RequestDto } from "../api/generated/RequestDto";

/** A successful request `id` with everything filled in; override what a test is about. */
export function request(id: number, over: Partial<RequestDto> = {}): RequestDto {
  return {
    id,
    tsMs: Date.UTC(2026, 10, 25, 12, 0, id % 60),
    appName: "scripts",
    alias: "general",
    providerId: "fake",
    model: "chat-model",
    clientProtocol: "openai-chat",
    stream: false,
    status: 200,
    error: null,
    attempts: [{ target: "fake/chat-model", result: "ok", elapsedMs: 12 }],
    inputTokens: 12,
    cachedInputTokens: 0,
    cacheWriteTokens: 0,
    cacheWrite1hTokens: 0,
    outputTokens: 34,
    reasoningTokens: 0,
    costUsd: 0.00042,
    costSource: "table",
    latencyMs: 120,
    ttftMs: 80,
    ...over,
  };
}

/** Claude Code, not installed and not connected; override what a test is about. */
export function clientDto(over: Partial<ClientDto> = {}): ClientDto {
  return {
    id: "claude-code",
    name: "Claude Code",
    protocol: "anthropic",
    slots: [
      { id: "main", label: "Main model", defaultAlias: "code" },
      { id: "haiku", label: "Haiku-class (fast) model", defaultAlias: "fast" },
    ],
    binary: null,
    configDir: false,
    files: ["/home/me/.claude/settings.json"],
    state: { kind: "notConnected" },
    app: null,
    appId: null,
    aliases: {},
    holdsToken: true,
    ...over,
  };
}

