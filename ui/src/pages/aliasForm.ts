// The alias editor's form state and its round trip to the `save_alias` payload. Settings keys the editor does not
// show (say `params.top_p`) are carried through untouched.
import type { Alias, AliasParams, AliasSettings, AliasStrategy, AliasTarget } from "../api/types";

/** Names the empty state suggests; the user still picks the providers and models. */
export const SUGGESTED_ALIASES = ["general", "fast", "code", "long-context"] as const;

export const REASONING_EFFORTS = ["minimal", "low", "medium", "high"] as const;

export interface TargetForm {
  /** Stable React key; never sent. */
  key: number;
  providerId: string;
  model: string;
  weight: string;
}

/** The three request fields the editor offers, as typed (strings; empty = unset). */
export interface ParamsForm {
  temperature: string;
  maxTokens: string;
  reasoningEffort: string;
}

export interface AliasForm {
  name: string;
  description: string;
  strategy: AliasStrategy;
  targets: TargetForm[];
  params: ParamsForm;
  forced: ParamsForm;
  systemPrefix: string;
  firstToken: string;
  idle: string;
  total: string;
}

let nextKey = 1;

export function newTarget(providerId = ""): TargetForm {
  return { key: nextKey++, providerId, model: "", weight: "1" };
}

function str(value: unknown): string {
  return typeof value === "number" || typeof value === "string" ? String(value) : "";
}

function paramsForm(params: AliasParams | undefined): ParamsForm {
  return {
    temperature: str(params?.temperature),
    maxTokens: str(params?.max_tokens),
    reasoningEffort: str(params?.reasoning_effort),
  };
}

export function emptyForm(name = "", providerId = ""): AliasForm {
  return {
    name,
    description: "",
    strategy: "fallback",
    targets: [newTarget(providerId)],
    params: paramsForm(undefined),
    forced: paramsForm(undefined),
    systemPrefix: "",
    firstToken: "",
    idle: "",
    total: "",
  };
}

export function formFromAlias(alias: Alias): AliasForm {
  const s = alias.settings;
  return {
    name: alias.name,
    description: alias.description ?? "",
    strategy: alias.strategy,
    targets: alias.targets.map((t) => ({ ...newTarget(t.providerId), model: t.model, weight: String(t.weight) })),
    params: paramsForm(s.params),
    forced: paramsForm(s.forced_params),
    systemPrefix: s.system_prefix ?? "",
    firstToken: str(s.timeouts?.first_token),
    idle: str(s.timeouts?.idle),
    total: str(s.timeouts?.total),
  };
}

/** Swaps target `index` with its neighbour (`-1` up, `+1` down); out of range leaves the list as is. */
export function moveTarget(targets: readonly TargetForm[], index: number, by: -1 | 1): TargetForm[] {
  const other = index + by;
  const a = targets[index];
  const b = targets[other];
  if (!a || !b) return [...targets];
  const out = [...targets];
  out[index] = b;
  out[other] = a;
  return out;
}

export type Built = { ok: true; alias: Alias } | { ok: false; error: string };

class Invalid extends Error {}

function number(text: string, what: string, check: (n: number) => boolean, rule: string): number | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  const n = Number(t);
  if (!Number.isFinite(n) || !check(n)) throw new Invalid(`${what} must be ${rule}.`);
  return n;
}

/** Sets or removes `key` so an empty field leaves no trace in the JSON. */
function put(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (value === undefined || value === "") Reflect.deleteProperty(obj, key);
  else obj[key] = value;
}

function buildParams(original: AliasParams | undefined, form: ParamsForm, what: string): AliasParams | undefined {
  const out: AliasParams = { ...original };
  put(out, "temperature", number(form.temperature, `${what} temperature`, (n) => n >= 0 && n <= 2, "between 0 and 2"));
  put(
    out,
    "max_tokens",
    number(form.maxTokens, `${what} max tokens`, (n) => Number.isInteger(n) && n > 0, "a whole number above 0"),
  );
  put(out, "reasoning_effort", form.reasoningEffort);
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Checks the form and turns it into the `save_alias` payload, keeping `original`'s other settings. */
export function buildAlias(form: AliasForm, original: Alias | null, existing: readonly string[]): Built {
  try {
    const name = form.name.trim();
    if (name === "") throw new Invalid("Give the alias a name, e.g. general.");
    if (name.includes("/")) throw new Invalid("An alias name can’t contain “/”.");
    if (!original && existing.includes(name)) throw new Invalid(`There is already an alias called “${name}”.`);
    if (form.targets.length === 0) throw new Invalid("Add at least one target.");

    const targets: AliasTarget[] = form.targets.map((t, i) => {
      if (t.providerId === "") throw new Invalid(`Pick a provider for target ${i + 1}.`);
      const model = t.model.trim();
      if (model === "") throw new Invalid(`Give target ${i + 1} a model.`);
      const weight =
        form.strategy === "weighted"
          ? number(t.weight, `The weight of target ${i + 1}`, (n) => Number.isInteger(n) && n >= 1, "a whole number, 1 or more")
          : undefined;
      return { providerId: t.providerId, model, weight: weight ?? 1 };
    });

    const settings: AliasSettings = { ...original?.settings };
    put(settings, "params", buildParams(original?.settings.params, form.params, "Default"));
    put(settings, "forced_params", buildParams(original?.settings.forced_params, form.forced, "Forced"));
    put(settings, "system_prefix", form.systemPrefix.trim() === "" ? undefined : form.systemPrefix);
    const secs = (text: string, what: string) => number(text, `The ${what} timeout`, (n) => n > 0, "a number of seconds above 0");
    const timeouts: Record<string, unknown> = { ...original?.settings.timeouts };
    put(timeouts, "first_token", secs(form.firstToken, "first token"));
    put(timeouts, "idle", secs(form.idle, "idle"));
    put(timeouts, "total", secs(form.total, "total"));
    put(settings, "timeouts", Object.keys(timeouts).length > 0 ? timeouts : undefined);

    return {
      ok: true,
      alias: {
        name,
        description: form.description.trim() || null,
        strategy: form.strategy,
        settings,
        targets,
      },
    };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: err.message };
    throw err;
  }
}

/** Moves target `from` to position `to` (a drag and drop), shifting the ones between; out of range leaves the list. */
export function moveTargetTo(targets: readonly TargetForm[], from: number, to: number): TargetForm[] {
  const out = [...targets];
  if (from < 0 || to < 0 || from >= out.length || to >= out.length) return out;
  out.splice(to, 0, ...out.splice(from, 1));
  return out;
}

/** What a screen reader hears while a target is dragged: its number and model, and the position it is over. */
export function dragAnnouncements(targets: readonly TargetForm[]): {
  onDragStart: (e: { active: { id: unknown } }) => string;
  onDragOver: (e: { active: { id: unknown }; over: { id: unknown } | null }) => string;
  onDragEnd: (e: { active: { id: unknown }; over: { id: unknown } | null }) => string;
  onDragCancel: (e: { active: { id: unknown } }) => string;
} {
  const position = (id: unknown) => targets.findIndex((t) => t.key === id) + 1;
  const name = (id: unknown) => {
    const target = targets.find((t) => t.key === id);
    const model = target ? `${target.providerId || "no provider"}/${target.model || "no model"}` : "";
    return `target ${position(id)}${model ? ` (${model})` : ""}`;
  };
  return {
    onDragStart: ({ active }) => `Picked up ${name(active.id)}.`,
    onDragOver: ({ active, over }) =>
      over ? `${name(active.id)} is over position ${position(over.id)}.` : `${name(active.id)} is over no position.`,
    onDragEnd: ({ active, over }) =>
      over ? `Dropped ${name(active.id)} at position ${position(over.id)}.` : `Dropped ${name(active.id)}.`,
    onDragCancel: ({ active }) => `Moving ${name(active.id)} was cancelled; it stays where it was.`,
  };
}
