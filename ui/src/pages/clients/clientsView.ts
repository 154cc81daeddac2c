// The Clients page without React: what each card says, the Connect dialog's defaults, and the Check grid.
import type { AppChoice } from "../../api/generated/AppChoice";
import type { CellOutcome } from "../../api/generated/CellOutcome";
import type { CheckEvent } from "../../api/generated/CheckEvent";
import type { ClientDto } from "../../api/generated/ClientDto";
import type { RestoredFile } from "../../api/generated/RestoredFile";
import type { TokenPlan } from "../../api/generated/TokenPlan";
import type { TryError } from "../../api/generated/TryError";
import type { App } from "../../api/types";

export type Tone = "ok" | "warn" | "error" | "muted";

export interface StateView {
  /** `Connected`, `Drifted`, `Can’t read its file`, `Not connected`. */
  label: string;
  tone: Tone;
  /** The sentence under it, when there is one: why it drifted, which line is wrong. */
  detail: string | null;
}

export function stateView(client: ClientDto): StateView {
  const state = client.state;
  switch (state.kind) {
    case "connected":
      return { label: "Connected", tone: "ok", detail: null };
    case "drifted":
      return { label: "Drifted", tone: "warn", detail: `${state.reason}. Reconnect points it here again.` };
    case "unreadable": {
      const where = [state.path, state.line !== null ? `line ${state.line}` : null, state.column !== null ? `column ${state.column}` : null]
        .filter((part): part is string => part !== null && part !== "")
        .join(", ");
      const fix = "Fix the file by hand; Switchboard never overwrites a file it can’t read.";
      return { label: "Can’t read its file", tone: "error", detail: `${where ? `${where}: ` : ""}${state.message}. ${fix}` };
    }
    case "notConnected":
      return { label: "Not connected", tone: "muted", detail: null };
  }
}

/** Whether the card offers Disconnect, Test and Check (something of Switchboard's is in its files). */
export function isConnected(client: ClientDto): boolean {
  return client.state.kind === "connected" || client.state.kind === "drifted";
}

/** `claude found at /usr/bin/claude (2.1.3)`, or what was found instead. `version` is `undefined` while asked. */
export function installedText(client: ClientDto, version: string | null | undefined): string {
  if (client.binary) {
    const shown = version ? ` (${version})` : "";
    return `${client.binary}${shown}`;
  }
  if (client.configDir) return "Its config folder is here, but its program isn’t on PATH";
  return "Not found on this computer (Connect still writes its config)";
}

/** The app named after the client when there is one, else a new app named after it. */
export function defaultAppChoice(client: ClientDto, apps: readonly App[]): AppChoice {
  const byRecord = client.appId !== null ? apps.find((a) => a.id === client.appId) : undefined;
  const named = byRecord ?? apps.find((a) => !a.builtin && a.name === client.name);
  return named ? { kind: "existing", id: named.id } : { kind: "create" };
}

/** The apps a client may connect as: every app but Switchboard's own chat window. */
export function connectableApps(apps: readonly App[]): App[] {
  return apps.filter((a) => !a.builtin);
}

/**
 * An alias per slot: what its file already names (when that alias still exists), else the slot's default, else
 * the first slot's pick, else `general` or the first alias there is.
 */
export function defaultAliases(client: ClientDto, aliasNames: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const fallback = aliasNames.includes("general") ? "general" : (aliasNames[0] ?? "");
  const first = client.slots[0]?.id;
  for (const slot of client.slots) {
    const written = client.aliases[slot.id];
    const pick =
      written !== undefined && aliasNames.includes(written)
        ? written
        : aliasNames.includes(slot.defaultAlias)
          ? slot.defaultAlias
          : first !== undefined && out[first]
            ? out[first]
            : fallback;
    out[slot.id] = pick;
  }
  return out;
}

/** The keys Switchboard writes in each client's files, as a person would look for them there. */
const OWNED_KEYS: Record<string, readonly string[]> = {
  "claude-code": [
    "env.ANTHROPIC_BASE_URL",
    "env.ANTHROPIC_AUTH_TOKEN",
    "env.ANTHROPIC_MODEL and the opus, sonnet, haiku and subagent model keys",
    "env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
  ],
  codex: ["model_provider", "model", "[model_providers.switchboard] with base_url, wire_api and the token"],
  "gemini-cli": ["GOOGLE_GEMINI_BASE_URL, GEMINI_API_KEY (.env)", "security.auth.selectedType, model.name (settings.json)"],
  opencode: ["provider.switchboard (base URL, token, models)", "model", "small_model"],
  continue: ["a “Switchboard” entry in models (apiBase, apiKey, model)"],
  zed: ["language_models.openai_compatible.Switchboard (api_url, models)", "agent.default_model"],
  "qwen-code": ["security.auth (selectedType, baseUrl, apiKey)", "model.name"],
};

export function ownedKeys(clientId: string): readonly string[] {
  return OWNED_KEYS[clientId] ?? [];
}

/** What Connect will do with the app's token, in one sentence. */
export function tokenPlanText(plan: TokenPlan, appName: string): string {
  switch (plan) {
    case "new":
      return `A new app “${appName}” is made, with its own token.`;
    case "reuse":
      return `The file already holds “${appName}”’s token; it is kept.`;
    case "rotate":
      return `“${appName}”’s token is rotated: anything else still using its old token stops working until you paste the new one.`;
    case "elsewhere":
      return `No token is written: this client keeps its key in its own settings. Paste “${appName}”’s token there.`;
  }
}

/** What Disconnect did, one line per file. */
export function restoredText(file: RestoredFile): string {
  switch (file.restored) {
    case "exactly":
      return `${file.path}: back exactly as it was`;
    case "removed":
      return `${file.path}: removed (it did not exist before)`;
    case "keysOnly":
      return `${file.path}: edited since, so only Switchboard’s keys were taken out`;
    case "untouched":
      return `${file.path}: nothing to undo`;
  }
}

/** What to do about a failed Test, by what broke. */
export function testHint(error: TryError): string {
  const { status, message } = error;
  if (/nothing answered/.test(message)) return "Its file points where nothing listens: Reconnect it to this endpoint.";
  if (status === 401) return "The token in its file isn’t one of this Switchboard’s apps: Reconnect it.";
  if (status === 403) return "Its app may not use this alias: allow it on the Apps page, or connect with another alias.";
  if (status === 404) return "Its file names a model that isn’t an alias here: Reconnect with an existing alias.";
  if (/budget/i.test(message)) return "Its app’s budget is spent: raise it on the Apps page.";
  if (status === 200) return "The answer broke off part-way: Test again, or add a fallback target to the alias.";
  return "Every target failed; the attempts say why. Check shows which target works for this client.";
}

export interface Cell {
  outcome: CellOutcome;
  detail: string;
  elapsedMs: number;
}

export interface Grid {
  alias: string;
  rows: { model: string; note: string | null }[];
  cases: { id: string; label: string }[];
  /** By `row:case`. */
  cells: Record<string, Cell>;
  done: boolean;
  cancelled: boolean;
}

export const EMPTY_GRID: Grid = { alias: "", rows: [], cases: [], cells: {}, done: false, cancelled: false };

export function cellKey(row: number, caseId: string): string {
  return `${row}:${caseId}`;
}

/** The grid after one event from the check. */
export function applyCheckEvent(grid: Grid, event: CheckEvent): Grid {
  switch (event.type) {
    case "started":
      return { ...EMPTY_GRID, alias: event.alias, rows: event.rows, cases: event.cases };
    case "cell":
      return {
        ...grid,
        cells: {
          ...grid.cells,
          [cellKey(event.row, event.case)]: { outcome: event.outcome, detail: event.detail, elapsedMs: event.elapsedMs },
        },
      };
    case "done":
      return { ...grid, done: true, cancelled: event.cancelled };
  }
}

/** `3 of 8 cases passed · 1 failed · 4 skipped`, or how far it got. */
export function gridSummary(grid: Grid): string {
  const cells = Object.values(grid.cells);
  const total = grid.rows.length * grid.cases.length;
  const count = (o: CellOutcome) => cells.filter((c) => c.outcome === o).length;
  const [pass, fail, skip] = [count("pass"), count("fail"), count("skip")];
  const parts = [`${pass} of ${total - skip} passed`];
  if (fail > 0) parts.push(`${fail} failed`);
  if (skip > 0) parts.push(`${skip} skipped`);
  if (!grid.done) return `Checking… ${cells.length} of ${total} done`;
  if (grid.cancelled) return `Stopped after ${cells.length} of ${total}: ${parts.join(" · ")}`;
  return parts.join(" · ");
}

/** Clients Switchboard connected (its record names an app) that still point here or drifted: a port change moves them. */
export function connectedClients(clients: readonly ClientDto[]): ClientDto[] {
  return clients.filter((c) => c.app !== null && isConnected(c));
}
