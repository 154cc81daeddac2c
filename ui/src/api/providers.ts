// Mirrors `src-tauri/src/commands/providers.rs` one to one. Keys go in; only their label and hint come back.
import { invoke } from "./invoke";
import type { LocalServerDto } from "./generated/LocalServerDto";
import type { Preset, Provider, ProviderInput, ProviderKey, ProviderTestResult } from "./types";

/** Every provider kind Switchboard knows, with its default base URL. */
export function listPresets(): Promise<Preset[]> {
  return invoke<Preset[]>("list_presets");
}

export function listProviders(): Promise<Provider[]> {
  return invoke<Provider[]>("list_providers");
}

/** Adds the provider, or updates the one with the same `id`. */
export async function saveProvider(provider: ProviderInput): Promise<void> {
  await invoke<null>("save_provider", { provider });
}

/** Deletes the provider and all its keys from the keychain. */
export async function deleteProvider(id: string): Promise<void> {
  await invoke<null>("delete_provider", { id });
}

/** Stores `key` in the keychain under `label` (`null` = "default"); answers with its hint, never the key. */
export function setProviderKey(providerId: string, label: string | null, key: string): Promise<ProviderKey> {
  return invoke<ProviderKey>("set_provider_key", { providerId, label, key });
}

export async function removeProviderKey(providerId: string, label: string): Promise<void> {
  await invoke<null>("remove_provider_key", { providerId, label });
}

/** Lists the provider's models with its stored key; rejects with the provider's own error. */
export function testProvider(id: string): Promise<ProviderTestResult> {
  return invoke<ProviderTestResult>("test_provider", { id });
}

/** Ollama and LM Studio when they answer on this computer's default ports and no provider points at them yet. */
export function detectLocalProviders(): Promise<LocalServerDto[]> {
  return invoke<LocalServerDto[]>("detect_local_providers");
}
