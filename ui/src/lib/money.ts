/**
 * `$0.00`, `$12.34`; below a dollar four decimals (`$0.0123`), and below a cent two significant digits
 * (`$0.0000015`), so a cheap request never reads as free.
 */
export function usd(amount: number | null): string {
  if (amount === null) return "—";
  if (amount > 0 && amount < 0.01) return `$${amount.toFixed(Math.min(12, Math.ceil(-Math.log10(amount)) + 1))}`;
  if (amount > 0 && amount < 1) return `$${amount.toFixed(4)}`;
  return `$${amount.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/** `1,234`; `—` when unknown. */
export function count(n: number | null): string {
  return n === null ? "—" : n.toLocaleString("en-US");
}

/** `1.2k`, `3.4M` for axis labels and tight cells. */
export function compact(n: number): string {
  if (n < 1000) return String(Math.round(n));
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** `340 ms`, `1.2 s`; `—` when unknown. */
export function duration(ms: number | null): string {
  if (ms === null) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
}
