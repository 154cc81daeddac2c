// The commands' DTOs are generated from the Rust types into ./generated/ and re-exported here under the names the
// pages use. Written by hand: the command error's shape, and the alias settings' fields, which the Rust side keeps as
// free-form JSON (the config file's `params`, `forced_params`, `system_prefix`, `timeouts`, and any others).
import type { AliasDto } from "./generated/AliasDto";

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

// ---- providers: `src-tauri/src/commands/providers.rs` (generated) ----

export type { PresetDto as Preset } from "./generated/PresetDto";
export type { KeyDto as ProviderKey } from "./generated/KeyDto";
export type { ProviderInput } from "./generated/ProviderInput";
export type { ProviderDto as Provider } from "./generated/ProviderDto";
export type { TestResult as ProviderTestResult } from "./generated/TestResult";

// ---- aliases: `src-tauri/src/commands/aliases.rs` (generated; the free-form settings described here) ----

export type AliasStrategy = AliasDto["strategy"];
export type { TargetDto as AliasTarget } from "./generated/TargetDto";

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

/** An alias as `list_aliases` answers and `save_alias` takes it (generated), with its settings' shape described. */
export type Alias = Omit<AliasDto, "settings"> & { settings: AliasSettings };
