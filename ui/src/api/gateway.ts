// Mirrors `src-tauri/src/commands/gateway.rs` one to one.
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

import { invoke } from "./invoke";
import type { GatewayStatus } from "./types";

/** Event the backend emits whenever the gateway's state changes. */
export const GATEWAY_STATUS_EVENT = "gateway-status";

/** The gateway's current state, endpoint and error, if any. */
export function gatewayStatus(): Promise<GatewayStatus> {
  return invoke<GatewayStatus>("gateway_status");
}

/** Asks the backend to put the endpoint URL on the clipboard. */
export async function copyEndpoint(): Promise<void> {
  // The Rust command returns `()`, which arrives as `null`.
  await invoke<null>("copy_endpoint");
}

/** Calls `cb` with every new gateway status; resolve the promise and call it to stop. */
export function onGatewayStatus(cb: (status: GatewayStatus) => void): Promise<UnlistenFn> {
  return listen<GatewayStatus>(GATEWAY_STATUS_EVENT, (event) => cb(event.payload));
}
