// Hand-copied from the Rust side (serde `rename_all = "camelCase"`) until ts-rs / tauri-specta generate them.

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
}

/** The shape every backend command error is serialized into. */
export interface CommandErrorPayload {
  kind: string;
  message: string;
}
