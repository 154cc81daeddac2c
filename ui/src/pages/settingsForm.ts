// The Settings form: what the fields hold (text, as typed) and how it becomes the command's input.
import type { BudgetActionDto } from "../api/generated/BudgetActionDto";
import type { BudgetDto } from "../api/generated/BudgetDto";
import type { PriceOverrideDto } from "../api/generated/PriceOverrideDto";
import type { SettingsInput } from "../api/generated/SettingsInput";
import type { Theme } from "../api/generated/Theme";
import { usd } from "../lib/money";

export interface SettingsForm {
  port: string;
  bind: string;
  /** One per line. */
  allowedHosts: string;
  allowedOrigins: string;
  loggingBodies: boolean;
  retentionDays: string;
  theme: Theme;
  dailyUsd: string;
  monthlyUsd: string;
  action: BudgetActionDto;
}

export function toForm(s: SettingsInput): SettingsForm {
  const amount = (v: number | null | undefined) => (v === null || v === undefined ? "" : String(v));
  return {
    port: String(s.port),
    bind: s.bind,
    allowedHosts: s.allowedHosts.join("\n"),
    allowedOrigins: s.allowedOrigins.join("\n"),
    loggingBodies: s.loggingBodies,
    retentionDays: String(s.retentionDays),
    theme: s.theme,
    dailyUsd: amount(s.overallBudget?.dailyUsd),
    monthlyUsd: amount(s.overallBudget?.monthlyUsd),
    action: s.overallBudget?.action ?? "warn",
  };
}

function lines(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

/** A USD amount as typed (`""` is none), or an error sentence. */
export function parseAmount(text: string, what: string): number | null | string {
  const t = text.trim().replace(/^\$/, "");
  if (t === "") return null;
  const n = Number(t);
  if (!Number.isFinite(n) || n < 0) return `the ${what} limit must be an amount in USD, such as 5 or 2.50`;
  return n;
}

/** The budget fields as a budget, `null` when both limits are empty, or an error sentence. */
export function parseBudget(daily: string, monthly: string, action: BudgetActionDto): BudgetDto | null | string {
  const d = parseAmount(daily, "daily");
  if (typeof d === "string") return d;
  const m = parseAmount(monthly, "monthly");
  if (typeof m === "string") return m;
  if (d === null && m === null) return null;
  return { dailyUsd: d, monthlyUsd: m, action };
}

/** The form as the command's input, or the first mistake as a sentence that says what to enter. */
export function fromForm(f: SettingsForm): SettingsInput | string {
  const port = Number(f.port.trim());
  if (!Number.isInteger(port) || port < 1 || port > 65535) return "the port must be a whole number from 1 to 65535";
  const retention = Number(f.retentionDays.trim());
  if (!Number.isInteger(retention) || retention < 1 || retention > 3650) return "keep request bodies for 1 to 3650 days";
  const budget = parseBudget(f.dailyUsd, f.monthlyUsd, f.action);
  if (typeof budget === "string") return budget;
  return {
    port,
    bind: f.bind.trim(),
    allowedHosts: lines(f.allowedHosts),
    allowedOrigins: lines(f.allowedOrigins),
    loggingBodies: f.loggingBodies,
    retentionDays: retention,
    theme: f.theme,
    overallBudget: budget,
  };
}

/**
 * `$0.15 in / $0.60 out per million tokens`, leaving out the parts the user kept from the catalog (hour-long cache
 * writes left out cost twice the input price).
 */
export function overrideLine(o: PriceOverrideDto): string {
  const parts = [
    o.input !== null ? `${usd(o.input)} in` : null,
    o.output !== null ? `${usd(o.output)} out` : null,
    o.cachedInput !== null ? `${usd(o.cachedInput)} cached` : null,
    o.cacheWrite !== null ? `${usd(o.cacheWrite)} cache write` : null,
    o.cacheWrite1h !== null ? `${usd(o.cacheWrite1h)} cache write 1h` : null,
  ].filter((p): p is string => p !== null);
  return `${parts.join(" / ")} per million tokens`;
}
