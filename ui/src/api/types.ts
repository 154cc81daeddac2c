// Hand-copied from the Rust side (serde `rename_all = "camelCase"`); newer DTOs are generated into ./generated/.
import type { BudgetDto } from "./generated/BudgetDto";

/** Where the local gateway is in its life: binding, serving, or stopped by an error. */
export type GatewayState = "starting" | "listening" | "failed";

/** Why the gateway could not start, and what the user can do about it. */
export interface GatewayError {
  message: string;
  fix: string;
}

/** Mirrors `GatewayStatus` in `src-tauri/src/commands/gateway.rs`. */
export interface GatewayStatus {
  state: GatewayState;
  /** The OpenAI-compatible base URL, e.g. `http://127.0.0.1:7352/v1`. */
  endpoint: string;
  port: number;
  bind: string;
  error: GatewayError | null;
  /** Set when the OS keychain cannot be used, so provider keys cannot be stored or read. */
  keychainError: GatewayError | null;
}

/** The shape every backend command error is serialized into. */
export interface CommandErrorPayload {
  kind: string;
  message: string;
}

// ---- providers: `src-tauri/src/commands/providers.rs` ----

/** A provider Switchboard knows how to talk to; its `id` is the `kind` of a configured provider. */
export interface Preset {
  id: string;
  name: string;
  /** `null` when the user must give a base URL (Azure, custom). */
  baseUrl: string | null;
  needsKey: boolean;
}

/** A key stored in the keychain: only its label and a hint such as `…abcd` ever leave the backend. */
export interface ProviderKey {
  label: string;
  hint: string | null;
}

/** What `save_provider` takes: an upsert keyed by `id`. */
export interface ProviderInput {
  id: string;
  /** A preset id. */
  kind: string;
  name: string | null;
  baseUrl: string | null;
  apiVersion: string | null;
  enabled: boolean;
}

export interface Provider extends ProviderInput {
  keys: ProviderKey[];
}

/** The provider's model list, fetched with its stored key. */
export interface ProviderTestResult {
  models: string[];
  latencyMs: number;
}

// ---- aliases: `src-tauri/src/commands/aliases.rs` ----

export type AliasStrategy = "fallback" | "weighted";

export interface AliasTarget {
  providerId: string;
  model: string;
  weight: number;
}

/** OpenAI request fields an alias fills in (`params`) or overrides (`forced_params`). */
export type AliasParams = Record<string, unknown>;

/** Seconds; any may be missing. */
export interface AliasTimeouts {
  first_token?: number;
  idle?: number;
  total?: number;
}

/** The alias's `settings` JSON, as in the config file; unknown keys are kept as they are. */
export interface AliasSettings {
  params?: AliasParams;
  forced_params?: AliasParams;
  system_prefix?: string;
  timeouts?: AliasTimeouts;
  [key: string]: unknown;
}

export interface Alias {
  name: string;
  description: string | null;
  strategy: AliasStrategy;
  settings: AliasSettings;
  targets: AliasTarget[];
}

// ---- apps: `src-tauri/src/commands/apps.rs` ----

export interface App {
  id: number;
  name: string;
  /** The chat window: it cannot be deleted and has no token to rotate. */
  builtin: boolean;
  enabled: boolean;
  /** `null` means every alias. */
  allowedAliases: string[] | null;
  /** Its spend limits; `null` for none. */
  budget: BudgetDto | null;
  hasToken: boolean;
  /** Unix milliseconds. */
  createdAt: number;
  lastUsedAt: number | null;
}

export interface AppInput {
  name: string;
  allowedAliases: string[] | null;
}

/** A token is returned only here, once. */
export interface NewAppToken {
  app: App;
  token: string;
}
