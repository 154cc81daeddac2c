// Mirrors `src-tauri/src/commands/aliases.rs` one to one.
import { invoke } from "./invoke";
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
