import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";

import type { CheckEvent } from "../api/generated/CheckEvent";
import type { ClientDto } from "../api/generated/ClientDto";
import type { Alias, App } from "../api/types";
import { clientDto, request } from "../test/fixtures";
import { core, listening, resetTauriMocks } from "../test/tauri-mocks";
import { NO_LIMITS } from "./apps/limitsForm";
import { ClientsPage } from "./ClientsPage";

vi.mock("@tauri-apps/api/core", async () => (await import("../test/tauri-mocks")).core);
vi.mock("@tauri-apps/api/event", async () => (await import("../test/tauri-mocks")).event);

const CHAT: App = { id: 1, name: "Chat window", builtin: true, enabled: true, allowedAliases: null, budget: null, limits: NO_LIMITS, lastLimitHit: null, hasToken: false, createdAt: 0, lastUsedAt: null };

function alias(name: string): Alias {
  return { name, description: null, strategy: "fallback", settings: {}, targets: [] };
}

const CODEX = clientDto({
  id: "codex",
  name: "Codex CLI",
  protocol: "responses",
  slots: [{ id: "model", label: "Model", defaultAlias: "code" }],
  files: ["/home/me/.codex/config.toml"],
  state: { kind: "unreadable", path: "/home/me/.codex/config.toml", line: 4, column: 1, message: "expected a table" },
});

interface Backend {
  clients: ClientDto[];
  calls: { cmd: string; args: Record<string, unknown> }[];
  /** Check's channel, once check_client is called. */
  channel: { onmessage: (event: CheckEvent) => void } | null;
}

function backend(clients: ClientDto[], apps: App[] = [CHAT], token = "new"): Backend {
  const state: Backend = { clients, calls: [], channel: null };
  core.invoke.mockImplementation((cmd: string, args?: unknown) => {
    const a = (args ?? {}) as Record<string, unknown>;
    state.calls.push({ cmd, args: a });
    switch (cmd) {
      case "gateway_status":
        return Promise.resolve(listening);
      case "list_clients":
        return Promise.resolve({ endpoint: "http://127.0.0.1:7352", clients: state.clients });
      case "list_apps":
        return Promise.resolve(apps);
      case "list_aliases":
        return Promise.resolve([alias("code"), alias("fast"), alias("general")]);
      case "client_version":
        return Promise.resolve("2.1.332 (Claude Code)");
      case "connect_plan":
        return Promise.resolve({ appName: "Claude Code", token, files: ["/home/me/.claude/settings.json"] });
      case "connect_client":
        state.clients = state.clients.map((c) =>
          c.id === a.client ? { ...c, state: { kind: "connected" }, app: "Claude Code", appId: 2, aliases: { main: "code", haiku: "fast" } } : c,
        );
        return Promise.resolve({
          appName: "Claude Code",
          appId: 2,
          token: "new",
          files: ["/home/me/.claude/settings.json"],
          changed: true,
          warnings: ["claude is not on PATH: the config is written, and applies once Claude Code is installed"],
          tokenToPaste: null,
        });
      case "test_client":
        return Promise.resolve({
          alias: "code",
          baseUrl: "http://127.0.0.1:7352",
          result: {
            text: "Hello from anthropic claude-sonnet-4-5: <b>hi</b>",
            target: "anthropic/claude-sonnet-4-5",
            error: null,
            request: request(9, { alias: "code", providerId: "anthropic", model: "claude-sonnet-4-5" }),
            elapsedMs: 200,
          },
        });
      case "check_client":
        state.channel = a.onEvent as Backend["channel"];
        return new Promise(() => undefined);
      case "cancel_check":
        return Promise.resolve(null);
      case "disconnect_client":
        state.clients = state.clients.map((c) => (c.id === a.client ? { ...c, state: { kind: "notConnected" }, app: null, appId: null } : c));
        return Promise.resolve({ files: [{ path: "/home/me/.claude/settings.json", restored: "exactly" }] });
      default:
        return Promise.reject({ kind: "unknownCommand", message: `no mock for ${cmd}` });
    }
  });
  return state;
}

beforeEach(() => resetTauriMocks());

describe("ClientsPage", () => {
  it("shows each client's state, and the line a broken file is wrong at, with no Connect", async () => {
    backend([clientDto({ binary: "/usr/bin/claude" }), CODEX]);
    render(<ClientsPage />);
    const claude = await screen.findByTestId("client-card-claude-code");
    expect(within(claude).getByTestId("client-state-claude-code")).toHaveTextContent("Not connected");
    await waitFor(() => expect(within(claude).getByTestId("client-installed-claude-code")).toHaveTextContent("/usr/bin/claude (2.1.332"));
    const codex = screen.getByTestId("client-card-codex");
    expect(within(codex).getByTestId("client-state-detail-codex")).toHaveTextContent("/home/me/.codex/config.toml, line 4, column 1: expected a table");
    expect(within(codex).queryByTestId("connect-codex")).toBeNull();
    // Cline and Roo Code, by hand; Cursor can't.
    expect(screen.getByTestId("snippet-cline")).toHaveTextContent("http://127.0.0.1:7352/v1");
    expect(screen.getByTestId("cursor-note")).toHaveTextContent("Cursor can’t use Switchboard");
  });

  it("connects with a new app named after the client, then tests, checks and disconnects", async () => {
    const state = backend([clientDto()]);
    const user = userEvent.setup();
    render(<ClientsPage />);
    await user.click(await screen.findByTestId("connect-claude-code"));
    const dialog = await screen.findByTestId("connect-dialog");
    expect(within(dialog).getByTestId("connect-app")).toHaveDisplayValue("Create “Claude Code” (recommended)");
    expect(await within(dialog).findByTestId("connect-plan")).toHaveTextContent("A new app “Claude Code” is made");
    expect(within(dialog).getByTestId("connect-alias-main")).toHaveValue("code");
    expect(within(dialog).getByTestId("connect-alias-haiku")).toHaveValue("fast");
    expect(within(dialog).getByTestId("connect-files")).toHaveTextContent("/home/me/.claude/settings.json");
    await user.click(within(dialog).getByTestId("connect-submit"));

    const connect = state.calls.find((c) => c.cmd === "connect_client");
    expect(connect?.args).toEqual({ client: "claude-code", input: { app: { kind: "create" }, aliases: { main: "code", haiku: "fast" } } });
    expect(await screen.findByTestId("client-state-claude-code")).toHaveTextContent("Connected");
    expect(screen.getByTestId("client-warnings-claude-code")).toHaveTextContent("claude is not on PATH");
    expect(screen.getByTestId("client-aliases-claude-code")).toHaveTextContent("Main model: code · Haiku-class (fast) model: fast");

    // Test: the answer as text, who answered, tokens.
    await user.click(screen.getByTestId("test-claude-code"));
    expect(await screen.findByTestId("try-answer-client-claude-code")).toHaveTextContent("Hello from anthropic claude-sonnet-4-5: <b>hi</b>");
    expect(document.querySelector("b")).toBeNull();
    expect(screen.getByTestId("try-target-client-claude-code")).toHaveTextContent("anthropic/claude-sonnet-4-5");
    expect(screen.getByTestId("try-tokens-client-claude-code")).toHaveTextContent("12 in · 34 out");

    // Check: cells fill in as they come; Stop cancels.
    await user.click(screen.getByTestId("check-claude-code"));
    await waitFor(() => expect(state.channel).not.toBeNull());
    const send = (event: CheckEvent) => state.channel?.onmessage(event);
    send({ type: "started", alias: "code", rows: [{ model: "anthropic/claude-sonnet-4-5", note: null }], cases: [{ id: "plain", label: "Plain" }, { id: "tools", label: "Tool call" }] });
    send({ type: "cell", row: 0, case: "plain", outcome: "pass", detail: "answered: hi", elapsedMs: 120 });
    const plain = await screen.findByTestId("check-cell-claude-code-0-plain");
    await waitFor(() => expect(plain).toHaveAttribute("data-outcome", "pass"));
    expect(screen.getByTestId("check-cell-claude-code-0-tools")).toHaveAttribute("data-outcome", "waiting");
    send({ type: "cell", row: 0, case: "tools", outcome: "fail", detail: "no tool call came back", elapsedMs: 90 });
    await waitFor(() => expect(screen.getByTestId("check-failures-claude-code")).toHaveTextContent("Tool call: no tool call came back"));
    await user.click(screen.getByTestId("stop-check-claude-code"));
    expect(state.calls.some((c) => c.cmd === "cancel_check")).toBe(true);
    send({ type: "done", cancelled: true });
    await waitFor(() => expect(screen.getByTestId("check-summary-claude-code")).toHaveTextContent("Stopped after 2 of 2"));
  });

  it("says what Disconnect restored", async () => {
    backend([clientDto({ state: { kind: "connected" }, app: "Claude Code", appId: 2, aliases: { main: "code" } })]);
    const user = userEvent.setup();
    render(<ClientsPage />);
    await user.click(await screen.findByTestId("disconnect-claude-code"));
    expect(await screen.findByTestId("client-notice-claude-code")).toHaveTextContent("/home/me/.claude/settings.json: back exactly as it was");
    await waitFor(() => expect(screen.getByTestId("client-state-claude-code")).toHaveTextContent("Not connected"));
  });

  it("offers Reconnect for a drifted client, and says when a rotation is coming", async () => {
    const mine: App = { ...CHAT, id: 2, name: "Claude Code", builtin: false, hasToken: true };
    const drifted = clientDto({ state: { kind: "drifted", reason: "ANTHROPIC_BASE_URL points at http://127.0.0.1:9999" }, app: "Claude Code", appId: 2 });
    const state = backend([drifted], [CHAT, mine], "rotate");
    const user = userEvent.setup();
    render(<ClientsPage />);
    expect(await screen.findByTestId("client-state-detail-claude-code")).toHaveTextContent("points at http://127.0.0.1:9999. Reconnect");
    const reconnect = screen.getByTestId("connect-claude-code");
    expect(reconnect).toHaveTextContent("Reconnect…");
    await user.click(reconnect);
    const dialog = await screen.findByTestId("connect-dialog");
    expect(within(dialog).getByTestId("connect-app")).toHaveDisplayValue("Claude Code");
    expect(await within(dialog).findByTestId("connect-plan")).toHaveTextContent("token is rotated");
    expect(state.calls.find((c) => c.cmd === "connect_plan")?.args).toEqual({ client: "claude-code", app: { kind: "existing", id: 2 } });
  });
});
