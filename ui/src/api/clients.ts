// Mirrors `src-tauri/src/commands/clients/` (mod.rs and probe.rs) one to one. Check's cells stream through a
// Tauri `Channel`.
import { Channel } from "@tauri-apps/api/core";

import type { AppChoice } from "./generated/AppChoice";
import type { CheckEvent } from "./generated/CheckEvent";
import type { ClientsDto } from "./generated/ClientsDto";
import type { ClientTestDto } from "./generated/ClientTestDto";
import type { ConnectedDto } from "./generated/ConnectedDto";
import type { ConnectInput } from "./generated/ConnectInput";
import type { ConnectPlan } from "./generated/ConnectPlan";
import type { DisconnectedDto } from "./generated/DisconnectedDto";
import type { UpdatedClient } from "./generated/UpdatedClient";
import { invoke } from "./invoke";

/** Every client: installed or not, connected, drifted or unreadable, its app, aliases and files. */
export function listClients(): Promise<ClientsDto> {
  return invoke<ClientsDto>("list_clients");
}

/** The installed binary's version, where it prints one (slow: it runs the binary). */
export function clientVersion(client: string): Promise<string | null> {
  return invoke<string | null>("client_version", { client });
}

/** Which app and token Connect would use (new, reused or rotated), and which files it writes. */
export function connectPlan(client: string, app: AppChoice): Promise<ConnectPlan> {
  return invoke<ConnectPlan>("connect_plan", { client, app });
}

export function connectClient(client: string, input: ConnectInput): Promise<ConnectedDto> {
  return invoke<ConnectedDto>("connect_client", { client, input });
}

/** Puts the client's files back; says per file whether exactly or only Switchboard's keys came out. */
export function disconnectClient(client: string): Promise<DisconnectedDto> {
  return invoke<DisconnectedDto>("disconnect_client", { client });
}

/** Points every connected client at the current endpoint (after the port changed). */
export function updateConnectedClients(): Promise<UpdatedClient[]> {
  return invoke<UpdatedClient[]>("update_connected_clients");
}

/** One short prompt sent the way the client sends it, with the base URL and token from its files. */
export function testClient(client: string, prompt: string | null): Promise<ClientTestDto> {
  return invoke<ClientTestDto>("test_client", { client, prompt });
}

/** Runs the client's protocol cases against each target of `alias` (its main alias when `null`). */
export async function checkClient(client: string, alias: string | null, onEvent: (event: CheckEvent) => void): Promise<void> {
  const channel = new Channel<CheckEvent>();
  channel.onmessage = onEvent;
  await invoke<null>("check_client", { client, alias, onEvent: channel });
}

export async function cancelCheck(client: string): Promise<void> {
  await invoke<null>("cancel_check", { client });
}
