// Mirrors `src-tauri/src/commands/usage.rs` one to one. Types are generated from the Rust DTOs (see generated/).
import type { ExportResult } from "./generated/ExportResult";
import type { UsageQuery } from "./generated/UsageQuery";
import type { UsageReport } from "./generated/UsageReport";
import { invoke } from "./invoke";

export function usageReport(query: UsageQuery): Promise<UsageReport> {
  return invoke<UsageReport>("usage_report", { query });
}

/** Writes every request in `[sinceMs, untilMs)` as CSV to `path` (an absolute path; an existing file is replaced). */
export function exportUsageCsv(sinceMs: number, untilMs: number, path: string): Promise<ExportResult> {
  return invoke<ExportResult>("export_usage_csv", { sinceMs, untilMs, path });
}

/** `name` in the Downloads folder (or the home folder). */
export function defaultExportPath(name: string): Promise<string> {
  return invoke<string>("default_export_path", { name });
}
