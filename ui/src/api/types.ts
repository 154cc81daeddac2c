// The DTOs of the gateway status and of apps are generated from the Rust types into ./generated/ and re-exported
// here under the names the pages use. Providers and aliases are still hand-copied (serde `rename_all = "camelCase"`):
// the alias settings are richer here than the Rust side's free-form JSON.
export type { GatewayError } from "./generated/GatewayError";
export type { GatewayState } from "./generated/GatewayState";
export type { GatewayStatus } from "./generated/GatewayStatus";
export type { AppDto as App } from "./generated/AppDto";
export type { AppInput } from "./generated/AppInput";
export type { NewToken as NewAppToken } from "./generated/NewToken";

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
