// Mirrors `src-tauri/src/commands/logs.rs` one to one. Types are generated from the Rust DTOs (see generated/).
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

import type { LogFacets } from "./generated/LogFacets";
import type { LogFilter } from "./generated/LogFilter";
import type { RequestDetailDto } from "./generated/RequestDetailDto";
import type { RequestDto } from "./generated/RequestDto";
import { invoke } from "./invoke";

/** Emitted with the newest ledger row id after every batch the ledger writes. */
export const LEDGER_WRITTEN_EVENT = "ledger-written";

/** One page of requests matching `filter`, newest first; pass the last row's id as `beforeId` for the next. */
export function listRequests(filter: LogFilter, beforeId: number | null, limit: number): Promise<RequestDto[]> {
  return invoke<RequestDto[]>("list_requests", { filter, beforeId, limit });
}

export function requestDetail(id: number): Promise<RequestDetailDto> {
  return invoke<RequestDetailDto>("request_detail", { id });
}

/** Every app, alias, provider and model the ledger has seen, for the filters. */
export function logFacets(): Promise<LogFacets> {
  return invoke<LogFacets>("log_facets");
}

/** Calls `cb` with the newest row id whenever the ledger writes; resolve the promise and call it to stop. */
export function onLedgerWritten(cb: (newestId: number) => void): Promise<UnlistenFn> {
  return listen<number>(LEDGER_WRITTEN_EVENT, (event) => cb(event.payload));
}
