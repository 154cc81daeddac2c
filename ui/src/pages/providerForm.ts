import type { AmountDto } from "../api/generated/AmountDto";
import type { LocalServerDto } from "../api/generated/LocalServerDto";
import type { Preset, Provider, ProviderInput } from "../api/types";
import { usd } from "../lib/money";

/** Attributes every API-key field gets: masked, and kept away from autofill and spell checkers. */
export const keyInputProps = {
  type: "password",
  autoComplete: "off",
  spellCheck: false,
  autoCapitalize: "off",
  autoCorrect: "off",
  placeholder: "Paste the API key",
} as const;

/** The preset's id, or `<id>-2`, `<id>-3`… when it is taken. */
export function suggestProviderId(kind: string, providers: readonly Provider[]): string {
  const taken = new Set(providers.map((p) => p.id));
  if (!taken.has(kind)) return kind;
  for (let n = 2; ; n++) {
    const id = `${kind}-${n}`;
    if (!taken.has(id)) return id;
  }
}

/** Why `id` can't be used, or `null`. `own` is the id this form already saved under, which may be reused. */
export function providerIdProblem(id: string, providers: readonly Provider[], own: string | null): string | null {
  if (id === "") return "Give the provider an id, e.g. openai.";
  if (/[\s/]/.test(id)) return "The id can’t contain spaces or “/”.";
  if (id !== own && providers.some((p) => p.id === id)) return `There is already a provider called “${id}”; pick another id.`;
  return null;
}

/** What `save_provider` needs to write `provider` back unchanged. */
export function toInput(provider: Provider): ProviderInput {
  return {
    id: provider.id,
    kind: provider.kind,
    name: provider.name,
    baseUrl: provider.baseUrl,
    apiVersion: provider.apiVersion,
    enabled: provider.enabled,
  };
}

/** A short line under the preset's name: its host, "local", or that the user brings the URL. */
export function presetHost(preset: Preset): string {
  if (preset.baseUrl === null) return "you give the URL";
  try {
    const host = new URL(preset.baseUrl).hostname;
    return host === "localhost" || host === "127.0.0.1" ? "on this computer" : host;
  } catch {
    return preset.baseUrl;
  }
}

export function presetOf(kind: string, presets: readonly Preset[]): Preset | undefined {
  return presets.find((p) => p.id === kind);
}

export function displayName(provider: Provider, presets: readonly Preset[]): string {
  return provider.name ?? presetOf(provider.kind, presets)?.name ?? provider.id;
}

/** The provider a found local server becomes: its preset's kind, a free id, the preset's URL stored as "default". */
export function localServerInput(
  server: LocalServerDto,
  presets: readonly Preset[],
  providers: readonly Provider[],
): ProviderInput {
  const preset = presetOf(server.kind, presets);
  return {
    id: suggestProviderId(server.kind, providers),
    kind: server.kind,
    name: null,
    baseUrl: server.baseUrl === preset?.baseUrl ? null : server.baseUrl,
    apiVersion: null,
    enabled: true,
  };
}

/** `Credits: $74.75 left of $100.50`, `Balance: 110.00 CNY left (10.00 granted, 100.00 topped up)`. */
export function balanceAmount(a: AmountDto): string {
  const money = (n: number) => (a.currency === "USD" ? usd(n) : `${n.toFixed(2)} ${a.currency}`);
  const of = a.total !== null ? ` of ${money(a.total)}` : "";
  const note = a.note ? ` (${a.note})` : "";
  return `${a.label}: ${money(a.remaining)} left${of}${note}`;
}
