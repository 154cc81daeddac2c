// Mirrors `src-tauri/src/commands/config.rs` one to one. Types are generated from the Rust DTOs (see generated/).
import type { ConfigExport } from "./generated/ConfigExport";
import type { ImportPreview } from "./generated/ImportPreview";
import { invoke } from "./invoke";

/** Writes providers, aliases, apps and settings as TOML to `path` (absolute; an existing file is replaced). */
export function exportConfig(path: string): Promise<ConfigExport> {
  return invoke<ConfigExport>("export_config", { path });
}

/** Reads and checks the file at `path` and says what importing it would change. Changes nothing. */
export function previewConfigImport(path: string): Promise<ImportPreview> {
  return invoke<ImportPreview>("preview_config_import", { path });
}

/** Makes the configuration match the file at `path`, all at once. */
export function importConfig(path: string): Promise<ImportPreview> {
  return invoke<ImportPreview>("import_config", { path });
}
