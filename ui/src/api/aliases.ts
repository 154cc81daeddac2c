// Mirrors `src-tauri/src/commands/aliases.rs` one to one.
import { invoke } from "./invoke";
import type { ModelFacts } from "./generated/ModelFacts";
import type { TryResult } from "./generated/TryResult";
import type { Alias } from "./types";

export function listAliases(): Promise<Alias[]> {
  return invoke<Alias[]>("list_aliases");
}

/** Adds the alias, or replaces the one with the same name. */
export async function saveAlias(alias: Alias): Promise<void> {
  await invoke<null>("save_alias", { alias });
}

export async function deleteAlias(name: string): Promise<void> {
  await invoke<null>("delete_alias", { name });
}

/**
 * Sends one short prompt through the saved alias, as the Chat window app (recorded in the ledger like any request).
 * Gateway and upstream errors come back inside the result, with the attempts; only "cannot send" rejects.
 */
export function tryAlias(alias: string, prompt: string): Promise<TryResult> {
  return invoke<TryResult>("try_alias", { alias, prompt });
}

/** What is known about `model` at `providerId`: capabilities from the shipped catalog and its price. */
export function describeModel(providerId: string, model: string): Promise<ModelFacts> {
  return invoke<ModelFacts>("describe_model", { providerId, model });
}
