// Mirrors `src-tauri/src/commands/prices.rs` one to one. Types are generated from the Rust DTOs (see generated/).
import type { PriceImportDto } from "./generated/PriceImportDto";
import type { PriceOverrideDto } from "./generated/PriceOverrideDto";
import type { PriceStatus } from "./generated/PriceStatus";
import { invoke } from "./invoke";

/** The shipped snapshot's date, the latest catalog import, and the user's own prices. */
export function priceStatus(): Promise<PriceStatus> {
  return invoke<PriceStatus>("price_status");
}

/** Reads the public catalog and applies the prices that changed, from now on; a failure changes nothing. */
export function updatePrices(): Promise<PriceImportDto> {
  return invoke<PriceImportDto>("update_prices");
}

/** Sets the user's price for a provider and model (it wins over every catalog price). */
export async function setPriceOverride(price: PriceOverrideDto): Promise<void> {
  await invoke<null>("set_price_override", { price });
}

export async function deletePriceOverride(provider: string, model: string): Promise<void> {
  await invoke<null>("delete_price_override", { provider, model });
}
