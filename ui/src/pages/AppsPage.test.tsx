import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";

import type { AllAppsLimits } from "../api/generated/AllAppsLimits";
import type { Alias, App } from "../api/types";
import { answer, core, emit, listenerCount, listening, resetTauriMocks } from "../test/tauri-mocks";
import { AppsPage } from "./AppsPage";
import { NO_LIMITS } from "./apps/limitsForm";

vi.mock("@tauri-apps/api/core", async () => (await import("../test/tauri-mocks")).core);
vi.mock("@tauri-apps/api/event", async () => (await import("../test/tauri-mocks")).event);

const ENDPOINT = "http://127.0.0.1:9911/v1";
const TOKEN = "sbt_live_4f1c2a9e7b";

const CHAT: App = {
  id: 1,
  name: "Chat window",
  builtin: true,
  enabled: true,
  allowedAliases: null,
  budget: null,
  limits: NO_LIMITS,
  lastLimitHit: null,
  hasToken: false,
  createdAt: Date.UTC(2026, 0, 5),
  lastUsedAt: null,
};

const CONTINUE: App = {
  id: 2,
  name: "VS Code – Continue",
  builtin: false,
  enabled: true,
  allowedAliases: ["code", "fast"],
  budget: null,
  limits: { rpm: 60, tpm: null, concurrent: 4, loopGuard: null },
  lastLimitHit: null,
  hasToken: true,
  createdAt: Date.UTC(2026, 0, 6),
  lastUsedAt: Date.now() - 5 * 60_000,
};

function alias(name: string): Alias {
  return { name, description: null, strategy: "fallback", settings: {}, targets: [] };
}

function backend(apps: App[], allApps: AllAppsLimits = { limits: NO_LIMITS, lastHit: null }) {
  let list = apps;
  answer({
    gateway_status: () => Promise.resolve({ ...listening, endpoint: ENDPOINT }),
    list_apps: () => Promise.resolve(list),
    list_aliases: () => Promise.resolve([alias("general"), alias("fast"), alias("code")]),
    get_all_apps_limits: () => Promise.resolve(allApps),
  });
  const fallback = core.invoke.getMockImplementation();
  core.invoke.mockImplementation((cmd: string, args?: unknown) => {
    const a = args as Record<string, unknown>;
    if (cmd === "create_app") {
      const input = a.app as { name: string; allowedAliases: string[] | null; limits: App["limits"] };
      const app: App = {
        ...CONTINUE,
        id: 9,
        name: input.name,
        allowedAliases: input.allowedAliases,
        limits: input.limits,
        lastUsedAt: null,
      };
      list = [...list, app];
      return Promise.resolve({ app, token: TOKEN });
    }
    if (cmd === "rotate_app_token") {
      const app = list.find((x) => x.id === a.id);
      return Promise.resolve({ app, token: "sbt_rotated_0001" });
    }
    return fallback ? fallback(cmd, args) : Promise.reject(new Error("no mock"));
  });
}

function calls(cmd: string): unknown[] {
  return core.invoke.mock.calls.filter(([c]) => c === cmd).map(([, args]) => args);
}

beforeEach(() => {
  resetTauriMocks();
});

describe("AppsPage", () => {
  it("lists apps with their aliases, creation date and last use", async () => {
    backend([CHAT, CONTINUE]);
    render(<AppsPage />);
    const chat = await screen.findByTestId("app-row-Chat window");
    expect(screen.getByTestId("app-aliases-Chat window")).toHaveTextContent(/^all$/);
    expect(screen.getByTestId("app-last-used-Chat window")).toHaveTextContent(/^never$/);
    expect(screen.getByTestId("app-aliases-VS Code – Continue")).toHaveTextContent("code, fast");
    expect(screen.getByTestId("app-last-used-VS Code – Continue")).toHaveTextContent("5 minutes ago");
    expect(chat).toHaveTextContent("2026");
  });

  it("offers no delete or rotate for the built-in chat window", async () => {
    backend([CHAT, CONTINUE]);
    render(<AppsPage />);
    const chat = await screen.findByTestId("app-row-Chat window");
    expect(within(chat).queryByRole("button", { name: /delete/i })).not.toBeInTheDocument();
    expect(within(chat).queryByRole("button", { name: /rotate/i })).not.toBeInTheDocument();
    expect(within(chat).getByRole("switch")).toBeChecked();

    const other = screen.getByTestId("app-row-VS Code – Continue");
    expect(within(other).getByRole("button", { name: "Delete" })).toBeInTheDocument();
    expect(within(other).getByRole("button", { name: "Rotate token" })).toBeInTheDocument();
  });

  it("creates an app, shows its token once, with snippets for the real endpoint, token and alias", async () => {
    backend([CHAT]);
    const user = userEvent.setup();
    render(<AppsPage />);
    await user.click(await screen.findByTestId("new-app"));
    await user.type(screen.getByTestId("app-name"), "Claude Code");
    await user.click(screen.getByTestId("app-some-aliases"));
    await user.click(screen.getByTestId("allow-general"));
    await user.click(screen.getByTestId("allow-fast"));
    await user.click(screen.getByTestId("create-app"));

    expect(await screen.findByTestId("app-token")).toHaveTextContent(TOKEN);
    expect(screen.getByTestId("token-dialog")).toHaveTextContent("Shown once — copy it now.");
    expect(calls("create_app")).toEqual([
      { app: { name: "Claude Code", allowedAliases: ["general", "fast"], limits: NO_LIMITS } },
    ]);

    const curl = screen.getByTestId("snippet-curl");
    expect(curl).toHaveTextContent(`${ENDPOINT}/chat/completions`);
    expect(curl).toHaveTextContent(`Authorization: Bearer ${TOKEN}`);
    expect(curl).toHaveTextContent('"model":"general"');
    for (const id of ["python", "js", "continue", "cline", "zed", "codex"]) {
      const snippet = screen.getByTestId(`snippet-${id}`);
      expect(snippet.textContent).toContain(ENDPOINT);
      expect(snippet.textContent).toContain(TOKEN);
      expect(snippet.textContent).toContain("general");
    }

    const claude = Array.from(screen.getByTestId("snippet-claude-code").querySelectorAll("pre"))
      .map((pre) => pre.textContent)
      .join("\n");
    expect(claude).toContain('ANTHROPIC_BASE_URL="http://127.0.0.1:9911"\n');
    expect(claude).not.toContain("/v1");
    expect(claude).toContain(`ANTHROPIC_AUTH_TOKEN="${TOKEN}"`);
    expect(claude).toContain('ANTHROPIC_MODEL="general"');
    expect(claude).toContain('ANTHROPIC_SMALL_FAST_MODEL="fast"');
    expect(screen.getByTestId("cursor-note")).toHaveTextContent("Cursor can’t use Switchboard");

    await user.click(screen.getByTestId("snippet-tab-codex"));
    expect(screen.getByTestId("snippet-codex")).toBeVisible();
    expect(screen.getByTestId("snippet-curl")).not.toBeVisible();

    await user.click(screen.getByRole("button", { name: "Done" }));
    expect(screen.queryByTestId("app-token")).not.toBeInTheDocument();
    expect(document.body.textContent).not.toContain(TOKEN);
    await screen.findByTestId("app-row-Claude Code");
  });

  it("copies the token, and falls back to a selectable field when the clipboard refuses", async () => {
    backend([CHAT]);
    const user = userEvent.setup();
    const writeText = vi.spyOn(navigator.clipboard, "writeText");
    render(<AppsPage />);
    await user.click(await screen.findByTestId("new-app"));
    await user.type(screen.getByTestId("app-name"), "script");
    await user.click(screen.getByTestId("create-app"));

    await user.click(await screen.findByTestId("copy-token"));
    expect(writeText).toHaveBeenCalledWith(TOKEN);
    expect(screen.getByTestId("copy-token")).toHaveTextContent("Copied");

    writeText.mockRejectedValueOnce(new Error("denied"));
    await waitFor(() => {
      expect(screen.getByTestId("copy-token")).toHaveTextContent(/^Copy$/);
    }, { timeout: 2500 });
    await user.click(screen.getByTestId("copy-token"));
    expect(await screen.findByTestId("token-fallback")).toHaveValue(TOKEN);
  });

  it("shows placeholders for an existing app and rotates its token after confirming", async () => {
    backend([CHAT, CONTINUE]);
    const user = userEvent.setup();
    render(<AppsPage />);
    await user.click(await screen.findByTestId("setup-app-VS Code – Continue"));

    const curl = screen.getByTestId("snippet-curl");
    expect(curl).toHaveTextContent("Authorization: Bearer <your token>");
    // It may only use code and fast: snippets ask for an alias it is allowed.
    expect(curl).toHaveTextContent('"model":"code"');
    expect(screen.getByTestId("snippet-claude-code")).toHaveTextContent('ANTHROPIC_SMALL_FAST_MODEL="fast"');

    await user.click(screen.getByTestId("setup-rotate"));
    expect(screen.getByTestId("confirm-dialog")).toHaveTextContent("The old token stops working at once");
    await user.click(screen.getByTestId("confirm"));

    expect(await screen.findByTestId("app-token")).toHaveTextContent("sbt_rotated_0001");
    expect(calls("rotate_app_token")).toEqual([{ id: 2 }]);
    expect(screen.getByTestId("snippet-curl")).toHaveTextContent("Bearer sbt_rotated_0001");
  });

  it("shows the backend's message when creating fails", async () => {
    backend([CHAT]);
    const fallback = core.invoke.getMockImplementation();
    core.invoke.mockImplementation((cmd: string, args?: unknown) =>
      cmd === "create_app"
        ? Promise.reject({ kind: "invalid", message: "an app called \"x\" already exists; pick another name" })
        : (fallback?.(cmd, args) ?? Promise.resolve(null)),
    );
    const user = userEvent.setup();
    render(<AppsPage />);
    await user.click(await screen.findByTestId("new-app"));
    await user.type(screen.getByTestId("app-name"), "x");
    await user.click(screen.getByTestId("create-app"));
    expect(await screen.findByTestId("form-error")).toHaveTextContent("already exists; pick another name");
    expect(screen.queryByTestId("app-token")).not.toBeInTheDocument();
  });

  it("disables an app and deletes one after confirming", async () => {
    backend([CHAT, CONTINUE]);
    const fallback = core.invoke.getMockImplementation();
    core.invoke.mockImplementation((cmd: string, args?: unknown) =>
      cmd === "set_app_enabled" || cmd === "delete_app"
        ? Promise.resolve(null)
        : (fallback?.(cmd, args) ?? Promise.resolve(null)),
    );
    const user = userEvent.setup();
    render(<AppsPage />);
    await user.click(await screen.findByTestId("app-enabled-VS Code – Continue"));
    expect(calls("set_app_enabled")).toEqual([{ id: 2, enabled: false }]);

    await user.click(screen.getByTestId("delete-app-VS Code – Continue"));
    await user.click(screen.getByTestId("confirm"));
    await waitFor(() => {
      expect(calls("delete_app")).toEqual([{ id: 2 }]);
    });
  });
});

describe("AppsPage editing", () => {
  beforeEach(() => resetTauriMocks());

  it("limits an app's aliases and sets its budget, and refuses an amount that is not one", async () => {
    backend([CHAT, CONTINUE]);
    const fallback = core.invoke.getMockImplementation();
    const updates: unknown[] = [];
    core.invoke.mockImplementation((cmd: string, args?: unknown) => {
      if (cmd === "update_app") {
        updates.push(args);
        return Promise.resolve({ ...CONTINUE, budget: (args as { app: { budget: unknown } }).app.budget });
      }
      return fallback ? fallback(cmd, args) : Promise.reject(new Error(cmd));
    });
    render(<AppsPage />);
    await userEvent.click(await screen.findByTestId(`edit-app-${CONTINUE.name}`));
    const dialog = await screen.findByTestId("edit-app-dialog");
    await userEvent.type(within(dialog).getByTestId("edit-daily"), "two");
    await userEvent.click(within(dialog).getByTestId("save-app"));
    expect(within(dialog).getByRole("alert")).toHaveTextContent("The daily limit must be an amount in USD");
    expect(updates).toHaveLength(0);

    await userEvent.clear(within(dialog).getByTestId("edit-daily"));
    await userEvent.type(within(dialog).getByTestId("edit-daily"), "2.5");
    await userEvent.selectOptions(within(dialog).getByTestId("edit-action"), "block");
    await userEvent.click(within(dialog).getByTestId("edit-allow-fast"));
    await userEvent.click(within(dialog).getByTestId("save-app"));
    await waitFor(() => expect(updates).toHaveLength(1));
    expect(updates[0]).toEqual({
      id: CONTINUE.id,
      app: {
        name: CONTINUE.name,
        allowedAliases: ["code"],
        budget: { dailyUsd: 2.5, monthlyUsd: null, action: "block" },
        limits: CONTINUE.limits,
      },
    });
  });

  it("changes an app's limits, starting from the ones it has", async () => {
    backend([CHAT, CONTINUE]);
    const fallback = core.invoke.getMockImplementation();
    const updates: unknown[] = [];
    core.invoke.mockImplementation((cmd: string, args?: unknown) => {
      if (cmd === "update_app") {
        updates.push(args);
        return Promise.resolve(CONTINUE);
      }
      return fallback ? fallback(cmd, args) : Promise.reject(new Error(cmd));
    });
    const user = userEvent.setup();
    render(<AppsPage />);
    await user.click(await screen.findByTestId(`edit-app-${CONTINUE.name}`));
    const dialog = await screen.findByTestId("edit-app-dialog");
    expect(within(dialog).getByTestId("edit-limits-rpm")).toHaveValue("60");
    expect(within(dialog).getByTestId("edit-limits-concurrent")).toHaveValue("4");
    await user.clear(within(dialog).getByTestId("edit-limits-concurrent"));
    await user.type(within(dialog).getByTestId("edit-limits-tpm"), "200,000");
    await user.type(within(dialog).getByTestId("edit-limits-loop-guard"), "5");
    await user.click(within(dialog).getByTestId("save-app"));
    await waitFor(() => expect(updates).toHaveLength(1));
    expect((updates[0] as { app: { limits: unknown } }).app.limits).toEqual({
      rpm: 60,
      tpm: 200_000,
      concurrent: null,
      loopGuard: 5,
    });
  });
});

describe("AppsPage limits", () => {
  beforeEach(() => resetTauriMocks());

  it("sets limits when creating an app, and refuses numbers the gateway would", async () => {
    backend([CHAT]);
    const user = userEvent.setup();
    render(<AppsPage />);
    await user.click(await screen.findByTestId("new-app"));
    await user.type(screen.getByTestId("app-name"), "agent");
    await user.type(screen.getByTestId("app-limits-rpm"), "0");
    await user.click(screen.getByTestId("create-app"));
    expect(screen.getByTestId("form-error")).toHaveTextContent(
      "Requests per minute must be a whole number from 1 to 100,000, or empty for no limit.",
    );
    await user.clear(screen.getByTestId("app-limits-rpm"));
    await user.type(screen.getByTestId("app-limits-rpm"), "30");
    await user.type(screen.getByTestId("app-limits-loop-guard"), "1");
    await user.click(screen.getByTestId("create-app"));
    expect(screen.getByTestId("form-error")).toHaveTextContent("The loop guard must be a whole number from 2 to 100");
    expect(calls("create_app")).toEqual([]);

    await user.clear(screen.getByTestId("app-limits-loop-guard"));
    await user.type(screen.getByTestId("app-limits-loop-guard"), "4");
    await user.type(screen.getByTestId("app-limits-concurrent"), "2");
    await user.click(screen.getByTestId("create-app"));
    await screen.findByTestId("app-token");
    expect(calls("create_app")).toEqual([
      { app: { name: "agent", allowedAliases: null, limits: { rpm: 30, tpm: null, concurrent: 2, loopGuard: 4 } } },
    ]);
  });

  it("shows each app's limits and the one it hit last, read again when the ledger writes", async () => {
    const hit = { limit: "60 requests per minute", atMs: Date.now() - 5 * 60_000 };
    let list: App[] = [CHAT, CONTINUE];
    backend([]);
    const fallback = core.invoke.getMockImplementation();
    core.invoke.mockImplementation((cmd: string, args?: unknown) =>
      cmd === "list_apps" ? Promise.resolve(list) : (fallback?.(cmd, args) ?? Promise.resolve(null)),
    );
    render(<AppsPage />);
    expect(await screen.findByTestId(`app-limits-${CONTINUE.name}`)).toHaveTextContent(
      /^60 requests\/min · 4 at once$/,
    );
    expect(screen.getByTestId("app-limits-Chat window")).toHaveTextContent(/^none$/);
    expect(screen.queryByTestId(`app-limit-hit-${CONTINUE.name}`)).not.toBeInTheDocument();

    list = [CHAT, { ...CONTINUE, lastLimitHit: hit }];
    await waitFor(() => expect(listenerCount("ledger-written")).toBe(1));
    emit("ledger-written", 7);
    expect(await screen.findByTestId(`app-limit-hit-${CONTINUE.name}`)).toHaveTextContent(
      "60 requests per minute, 5 minutes ago",
    );
  });

  it("edits the limits of all apps together, without a loop guard", async () => {
    const hit = { limit: "600 requests per minute", atMs: Date.now() - 2 * 3_600_000 };
    backend([CHAT], { limits: { ...NO_LIMITS, rpm: 600 }, lastHit: hit });
    const fallback = core.invoke.getMockImplementation();
    core.invoke.mockImplementation((cmd: string, args?: unknown) =>
      cmd === "set_all_apps_limits"
        ? Promise.resolve({ limits: (args as { limits: unknown }).limits, lastHit: hit })
        : (fallback?.(cmd, args) ?? Promise.resolve(null)),
    );
    const user = userEvent.setup();
    render(<AppsPage />);
    const card = await screen.findByTestId("all-apps-limits");
    expect(within(card).getByTestId("all-apps-limits-text")).toHaveTextContent(/^600 requests\/min$/);
    expect(within(card).getByTestId("all-apps-limit-hit")).toHaveTextContent("600 requests per minute, 2 hours ago");

    await user.click(within(card).getByTestId("edit-all-apps-limits"));
    const dialog = await screen.findByTestId("all-apps-limits-dialog");
    expect(within(dialog).queryByTestId("all-limits-loop-guard")).not.toBeInTheDocument();
    await user.clear(within(dialog).getByTestId("all-limits-rpm"));
    await user.type(within(dialog).getByTestId("all-limits-tpm"), "1000000");
    await user.click(within(dialog).getByTestId("save-all-apps-limits"));
    await waitFor(() => expect(screen.queryByTestId("all-apps-limits-dialog")).not.toBeInTheDocument());
    expect(calls("set_all_apps_limits")).toEqual([{ limits: { ...NO_LIMITS, tpm: 1_000_000 } }]);
  });
});
