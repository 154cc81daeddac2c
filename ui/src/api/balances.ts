// Mirrors `src-tauri/src/commands/balances.rs` one to one. Types are generated from the Rust DTOs (see generated/).
import type { BalanceDto } from "./generated/BalanceDto";
import { invoke } from "./invoke";

/** Every provider with a balance endpoint, read again when the last reading is a few minutes old. */
export function providerBalances(): Promise<BalanceDto[]> {
  return invoke<BalanceDto[]>("provider_balances");
}

/** Reads one provider's balance now. */
export function refreshBalance(providerId: string): Promise<BalanceDto> {
  return invoke<BalanceDto>("refresh_balance", { providerId });
}
