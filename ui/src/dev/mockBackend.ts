// DEV ONLY (`npm run dev`, then open `/?mock`): an in-memory stand-in for the Rust commands so the pages can be
// looked at in a plain browser. `main.tsx` imports it behind `import.meta.env.DEV`, so it never reaches `dist/`.
import type { InvokeArgs } from "@tauri-apps/api/core";
import { mockIPC } from "@tauri-apps/api/mocks";

import type { AllAppsLimits } from "../api/generated/AllAppsLimits";
import type { LimitsDto } from "../api/generated/LimitsDto";
import type { Alias, App, AppInput, GatewayStatus, Preset, Provider } from "../api/types";
import { NO_LIMITS } from "../pages/apps/limitsForm";

const presets: Preset[] = [
  { id: "openai", name: "OpenAI", baseUrl: "https://api.openai.com/v1", needsKey: true },
  { id: "openai-responses", name: "OpenAI (Responses API)", baseUrl: "https://api.openai.com/v1", needsKey: true },
  { id: "anthropic", name: "Anthropic", baseUrl: "https://api.anthropic.com", needsKey: true },
  { id: "gemini", name: "Google Gemini", baseUrl: "https://generativelanguage.googleapis.com", needsKey: true },
  { id: "openrouter", name: "OpenRouter", baseUrl: "https://openrouter.ai/api/v1", needsKey: true },
  { id: "groq", name: "Groq", baseUrl: "https://api.groq.com/openai/v1", needsKey: true },
  { id: "azure", name: "Azure OpenAI", baseUrl: null, needsKey: true },
  { id: "ollama", name: "Ollama", baseUrl: "http://localhost:11434/v1", needsKey: false },
  { id: "lmstudio", name: "LM Studio", baseUrl: "http://localhost:1234/v1", needsKey: false },
  { id: "custom", name: "Custom (OpenAI-compatible)", baseUrl: null, needsKey: true },
];

const empty = new URLSearchParams(window.location.search).get("mock") === "empty";

let providers: Provider[] = empty
  ? []
  : [
      { id: "openai", kind: "openai", name: null, baseUrl: null, apiVersion: null, enabled: true, keys: [{ label: "default", hint: "…x7Qa" }] },
      { id: "anthropic", kind: "anthropic", name: null, baseUrl: null, apiVersion: null, enabled: true, keys: [{ label: "default", hint: "…9fKc" }, { label: "work", hint: "…a21B" }] },
      { id: "ollama", kind: "ollama", name: "Ollama (desktop)", baseUrl: null, apiVersion: null, enabled: false, keys: [] },
    ];

let aliases: Alias[] = empty
  ? []
  : [
      { name: "general", description: "Everyday chat", strategy: "fallback", settings: { params: { temperature: 0.7 } }, targets: [{ providerId: "anthropic", model: "claude-sonnet-4-5", weight: 1 }, { providerId: "openai", model: "gpt-4.1", weight: 1 }] },
      { name: "fast", description: null, strategy: "weighted", settings: {}, targets: [{ providerId: "openai", model: "gpt-4.1-mini", weight: 3 }, { providerId: "anthropic", model: "claude-haiku-4-5", weight: 1 }] },
    ];

const now = Date.now();
let apps: App[] = [
  { id: 1, name: "Chat window", builtin: true, enabled: true, allowedAliases: null, budget: null, limits: NO_LIMITS, lastLimitHit: null, hasToken: false, createdAt: now - 9 * 86_400_000, lastUsedAt: empty ? null : now - 3_600_000 },
  ...(empty
    ? []
    : [{ id: 2, name: "VS Code – Continue", builtin: false, enabled: true, allowedAliases: ["general", "fast"], budget: { dailyUsd: 2, monthlyUsd: null, action: "warn" as const }, limits: { ...NO_LIMITS, rpm: 60, concurrent: 4, loopGuard: 5 }, lastLimitHit: { limit: "4 requests at once", atMs: now - 600_000 }, hasToken: true, createdAt: now - 5 * 86_400_000, lastUsedAt: now - 240_000 }]),
];
let allAppsLimits: AllAppsLimits = { limits: NO_LIMITS, lastHit: null };

const status: GatewayStatus = {
  state: "listening",
  endpoint: "http://127.0.0.1:7352/v1",
  port: 7352,
  bind: "127.0.0.1",
  error: null,
  keychainError: new URLSearchParams(window.location.search).has("keychain")
    ? { message: "the Secret Service is not available", fix: "start gnome-keyring or KWallet, then log in again" }
    : null,
};

function token(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  return `sb-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** Has the backend's `{ kind, message }` shape, so `toCommandError` reads it like a real rejection. */
class Failure extends Error {
  readonly kind: string;

  constructor(kind: string, message: string) {
    super(message);
    this.kind = kind;
  }
}

const delay = <T>(value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), 250));

function handle(cmd: string, a: Record<string, unknown>): unknown {
  switch (cmd) {
    case "gateway_status":
      return status;
    case "list_presets":
      return presets;
    case "list_providers":
      return providers;
    case "save_provider": {
      const p = a.provider as Omit<Provider, "keys">;
      const old = providers.find((x) => x.id === p.id);
      providers = old ? providers.map((x) => (x.id === p.id ? { ...p, keys: x.keys } : x)) : [...providers, { ...p, keys: [] }];
      return null;
    }
    case "delete_provider":
      providers = providers.filter((x) => x.id !== a.id);
      return null;
    case "set_provider_key": {
      const label = (a.label as string | null) ?? "default";
      const hint = `…${(a.key as string).slice(-4)}`;
      providers = providers.map((x) =>
        x.id === a.providerId ? { ...x, keys: [...x.keys.filter((k) => k.label !== label), { label, hint }] } : x,
      );
      return { label, hint };
    }
    case "remove_provider_key":
      providers = providers.map((x) => (x.id === a.providerId ? { ...x, keys: x.keys.filter((k) => k.label !== a.label) } : x));
      return null;
    case "detect_local_providers":
      // LM Studio "answers" until it is added.
      return providers.some((x) => x.kind === "lmstudio")
        ? []
        : [{ kind: "lmstudio", name: "LM Studio", baseUrl: "http://127.0.0.1:1234/v1", models: 3 }];
    case "try_alias": {
      const alias = aliases.find((x) => x.name === a.alias);
      const first = alias?.targets[0];
      if (!alias || !first) {
        return { text: "", target: null, error: { status: 404, message: `the model ${String(a.alias)} does not exist` }, request: null, elapsedMs: 3 };
      }
      const target = `${first.providerId}/${first.model}`;
      const request = {
        id: 1, tsMs: Date.now(), appName: "Chat window", alias: alias.name, providerId: first.providerId, model: first.model,
        clientProtocol: "openai-chat", stream: true, status: 200, error: null,
        attempts: [{ target, result: "ok", elapsedMs: 412 }],
        inputTokens: 14, cachedInputTokens: null, cacheWriteTokens: null, cacheWrite1hTokens: null, outputTokens: 9, reasoningTokens: null,
        costUsd: 0.000041, costSource: "table", latencyMs: 431, ttftMs: 212,
      };
      return { text: "Hello there, nice to meet!", target, error: null, request, elapsedMs: 440 };
    }
    case "test_provider":
      if (a.id === "anthropic") throw new Failure("upstream", "anthropic answered 401 Unauthorized: invalid x-api-key");
      if (a.id === "ollama") throw new Failure("invalid", 'provider "ollama" is not enabled');
      return { models: ["gpt-4.1", "gpt-4.1-mini", "o4-mini", "gpt-5"], latencyMs: 184 };
    case "list_aliases":
      return aliases;
    case "save_alias": {
      const alias = a.alias as Alias;
      aliases = [...aliases.filter((x) => x.name !== alias.name), alias];
      return null;
    }
    case "delete_alias":
      aliases = aliases.filter((x) => x.name !== a.name);
      return null;
    case "list_apps":
      return apps;
    case "create_app": {
      const input = a.app as AppInput;
      const app: App = { id: apps.length + 10, name: input.name, builtin: false, enabled: true, allowedAliases: input.allowedAliases, budget: null, limits: input.limits, lastLimitHit: null, hasToken: true, createdAt: Date.now(), lastUsedAt: null };
      apps = [...apps, app];
      return { app, token: token() };
    }
    case "rotate_app_token":
      return { app: apps.find((x) => x.id === a.id), token: token() };
    case "set_app_enabled":
      apps = apps.map((x) => (x.id === a.id ? { ...x, enabled: a.enabled as boolean } : x));
      return null;
    case "delete_app":
      apps = apps.filter((x) => x.id !== a.id);
      return null;
    case "get_all_apps_limits":
      return allAppsLimits;
    case "set_all_apps_limits":
      allAppsLimits = { ...allAppsLimits, limits: a.limits as LimitsDto };
      return allAppsLimits;
    default:
      throw new Failure("unknownCommand", `the dev mock has no ${cmd}`);
  }
}

export function installMockBackend(): void {
  (globalThis as { isTauri?: boolean }).isTauri = true;
  mockIPC(
    (cmd: string, args?: InvokeArgs) => {
      try {
        return delay(handle(cmd, (args ?? {}) as Record<string, unknown>));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    { shouldMockEvents: true },
  );
}
