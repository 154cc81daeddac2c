import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";

import type { ClientDto } from "../api/generated/ClientDto";
import type { ImportPreview } from "../api/generated/ImportPreview";
import type { PriceStatus } from "../api/generated/PriceStatus";
import type { SettingsDto } from "../api/generated/SettingsDto";
import type { SettingsInput } from "../api/generated/SettingsInput";
import { clientDto } from "../test/fixtures";
import { core, emit, listenerCount, listening, portTaken, resetTauriMocks } from "../test/tauri-mocks";
import { SettingsPage } from "./SettingsPage";

vi.mock("@tauri-apps/api/core", async () => (await import("../test/tauri-mocks")).core);
vi.mock("@tauri-apps/api/event", async () => (await import("../test/tauri-mocks")).event);

const SETTINGS: SettingsInput = {
  port: 7352,
  bind: "127.0.0.1",
  allowedHosts: [],
  allowedOrigins: [],
  loggingBodies: false,
  retentionDays: 7,
  theme: "system",
  overallBudget: null,
};

function dto(settings: SettingsInput, portFromEnv: number | null = null): SettingsDto {
  return { settings, portFromEnv, dataDir: "/home/me/.local/share/dev.switchboard.desktop", logDir: "/home/me/logs" };
}

const PREVIEW: ImportPreview = {
  path: "/home/me/Downloads/switchboard.toml",
  providers: { added: 1, changed: 0, removed: 1, unchanged: 1 },
  aliases: { added: 0, changed: 2, removed: 0, unchanged: 2 },
  apps: { added: 1, changed: 0, removed: 0, unchanged: 1 },
  settingsChanged: false,
  missingKeys: [{ provider: "openai", label: "default" }],
  appsNeedingToken: ["Cursor"],
};

const loginItem = { on: false };

/** Clients the "update connected clients" offer sees after a port change. */
const connectedClients: { current: ClientDto[] } = { current: [] };
const IMPORT = {
  version: "catalog#1 2026-12-07",
  effectiveMs: new Date(2026, 11, 7).getTime(),
  source: "https://models.dev/api.json",
  models: 900,
  modelsAdded: 40,
  pricesChanged: 3,
  summary: "40 models added, 3 prices changed, in effect from 2026-12-07 10:00 UTC",
};
const NO_PRICES: PriceStatus = {
  shippedVersion: "2026-11-25",
  lastImport: null,
  catalogUrl: "https://models.dev/api.json",
  overrides: [{ provider: "oa", model: "house", input: 1, output: 2, cachedInput: null, cacheWrite: null, cacheWrite1h: null }],
};
const prices: { status: PriceStatus; failing: boolean } = { status: NO_PRICES, failing: false };

function backend(portFromEnv: number | null = null) {
  const saved: SettingsInput[] = [];
  core.invoke.mockImplementation((cmd: string, args?: unknown) => {
    const a = (args ?? {}) as Record<string, unknown>;
    switch (cmd) {
      case "gateway_status":
        return Promise.resolve(listening);
      case "get_settings":
        return Promise.resolve(dto(SETTINGS, portFromEnv));
      case "save_settings": {
        const s = a.settings as SettingsInput;
        if (s.bind === "nope") return Promise.reject({ kind: "invalid", message: '"nope" is not an IP address; use 127.0.0.1 (this machine only) or 0.0.0.0' });
        saved.push(s);
        return Promise.resolve(dto(s, portFromEnv));
      }
      case "reset_settings":
        return Promise.resolve(dto(SETTINGS, portFromEnv));
      case "get_launch_at_login":
        return Promise.resolve(loginItem.on);
      case "set_launch_at_login":
        loginItem.on = a.enabled as boolean;
        return Promise.resolve(loginItem.on);
      case "price_status":
        return Promise.resolve(prices.status);
      case "update_prices":
        if (prices.failing) {
          return Promise.reject({
            kind: "upstream",
            message: "the price catalog is not valid: EOF while parsing an object at line 9 column 0; nothing was changed",
          });
        }
        prices.status = { ...prices.status, lastImport: IMPORT };
        return Promise.resolve(IMPORT);
      case "delete_price_override":
        prices.status = { ...prices.status, overrides: [] };
        return Promise.resolve(null);
      case "default_export_path":
        return Promise.resolve(`/home/me/Downloads/${a.name as string}`);
      case "export_config":
        return Promise.resolve({ path: a.path, providers: 2, aliases: 3, apps: 1 });
      case "preview_config_import":
      case "import_config":
        if (a.path === "/bad.toml") {
          return Promise.reject({ kind: "store", message: "config file /bad.toml is not valid: TOML parse error at line 4, column 12" });
        }
        return Promise.resolve(PREVIEW);
      case "list_clients":
        return Promise.resolve({ endpoint: "http://127.0.0.1:7400", clients: connectedClients.current });
      case "update_connected_clients":
        return Promise.resolve([
          { id: "claude-code", name: "Claude Code", ok: true, message: "now points at http://127.0.0.1:7400" },
          { id: "codex", name: "Codex CLI", ok: false, message: "its file no longer holds its app's token: use Reconnect on the Clients page" },
        ]);
      default:
        return Promise.reject({ kind: "unknownCommand", message: `no mock for ${cmd}` });
    }
  });
  return saved;
}

beforeEach(() => {
  resetTauriMocks();
  loginItem.on = false;
  delete document.documentElement.dataset.theme;
});

describe("SettingsPage", () => {
  it("saves the port, logging, budget and theme, and applies the theme", async () => {
    const saved = backend();
    render(<SettingsPage />);
    const port = await screen.findByTestId("settings-port");
    expect(screen.getByTestId("settings-data-dir")).toHaveTextContent("dev.switchboard.desktop");
    await userEvent.clear(port);
    await userEvent.type(port, "7400");
    await userEvent.click(screen.getByTestId("settings-logging"));
    await userEvent.clear(screen.getByTestId("settings-retention"));
    await userEvent.type(screen.getByTestId("settings-retention"), "3");
    await userEvent.type(screen.getByTestId("settings-daily"), "5");
    await userEvent.click(screen.getByTestId("theme-dark"));
    await userEvent.click(screen.getByTestId("settings-save"));
    expect(await screen.findByTestId("settings-saved")).toBeInTheDocument();
    expect(saved[0]).toMatchObject({
      port: 7400,
      loggingBodies: true,
      retentionDays: 3,
      theme: "dark",
      overallBudget: { dailyUsd: 5, monthlyUsd: null, action: "warn" },
    });
    expect(document.documentElement.dataset.theme).toBe("dark");
  });

  it("offers to update the connected clients a port change left behind, and says how each went", async () => {
    backend();
    connectedClients.current = [
      clientDto({ state: { kind: "drifted", reason: "port 7352" }, app: "Claude Code" }),
      clientDto({ id: "codex", name: "Codex CLI", state: { kind: "drifted", reason: "port 7352" }, app: "Codex CLI" }),
      clientDto({ id: "zed", name: "Zed", state: { kind: "connected" }, app: "Zed" }),
    ];
    render(<SettingsPage />);
    const port = await screen.findByTestId("settings-port");
    await userEvent.clear(port);
    await userEvent.type(port, "7400");
    await userEvent.click(screen.getByTestId("settings-save"));
    const offer = await screen.findByTestId("settings-clients-offer");
    expect(offer).toHaveTextContent("2 connected clients still point at the old port: Claude Code, Codex CLI.");
    await userEvent.click(screen.getByTestId("settings-update-clients"));
    const updated = await screen.findByTestId("settings-clients-updated");
    expect(updated).toHaveTextContent("Claude Code: now points at http://127.0.0.1:7400");
    expect(updated).toHaveTextContent("Codex CLI: its file no longer holds its app's token");
    expect(screen.queryByTestId("settings-clients-offer")).toBeNull();
    connectedClients.current = [];
  });

  it("shows a mistake next to Save without calling the backend, and the backend's refusal too", async () => {
    const saved = backend();
    render(<SettingsPage />);
    const port = await screen.findByTestId("settings-port");
    await userEvent.clear(port);
    await userEvent.type(port, "99999");
    await userEvent.click(screen.getByTestId("settings-save"));
    expect(screen.getByTestId("settings-error")).toHaveTextContent("from 1 to 65535");
    expect(saved).toHaveLength(0);

    await userEvent.clear(port);
    await userEvent.type(port, "7352");
    await userEvent.clear(screen.getByTestId("settings-bind"));
    await userEvent.type(screen.getByTestId("settings-bind"), "nope");
    await userEvent.click(screen.getByTestId("settings-save"));
    expect(await screen.findByTestId("settings-error")).toHaveTextContent("use 127.0.0.1");
  });

  it("shows a taken port with its fix, and says when SWITCHBOARD_PORT overrides the port", async () => {
    backend(9911);
    render(<SettingsPage />);
    expect(await screen.findByTestId("settings-port-env")).toHaveTextContent("SWITCHBOARD_PORT=9911");
    await waitFor(() => expect(listenerCount("gateway-status")).toBeGreaterThan(0));
    emit("gateway-status", portTaken);
    const banner = await screen.findByTestId("settings-endpoint-error");
    expect(banner).toHaveTextContent("port 7352 is already in use");
    expect(banner).toHaveTextContent("pick another port in Settings");
  });

  it("resets after confirming", async () => {
    backend();
    render(<SettingsPage />);
    await screen.findByTestId("settings-port");
    await userEvent.click(screen.getByTestId("settings-reset"));
    await userEvent.click(await screen.findByRole("button", { name: "Reset settings" }));
    expect(core.invoke.mock.calls.some(([c]) => c === "reset_settings")).toBe(true);
  });

  it("shows launch at login as the system has it, and changes it at once", async () => {
    backend();
    loginItem.on = true;
    render(<SettingsPage />);
    const toggle = await screen.findByTestId("settings-launch-at-login");
    await waitFor(() => expect(toggle).toBeChecked());
    await userEvent.click(toggle);
    await waitFor(() => expect(toggle).not.toBeChecked());
    expect(loginItem.on).toBe(false);
    expect(core.invoke.mock.calls.some(([c]) => c === "save_settings")).toBe(false);
  });

  it("exports the configuration, and imports a file only after showing what changes", async () => {
    backend();
    render(<SettingsPage />);
    const path = await screen.findByTestId("config-path");
    await waitFor(() => expect(path).toHaveValue("/home/me/Downloads/switchboard.toml"));
    await userEvent.click(screen.getByTestId("config-export"));
    expect(await screen.findByTestId("config-exported")).toHaveTextContent("2 providers, 3 aliases and 1 app");

    await userEvent.click(screen.getByTestId("config-preview"));
    expect(await screen.findByTestId("config-preview-providers")).toHaveTextContent("1 added, 1 removed");
    expect(screen.getByTestId("config-preview-aliases")).toHaveTextContent("2 changed");
    expect(screen.getByTestId("config-preview-settings")).toHaveTextContent("no change");
    expect(screen.getByTestId("config-preview-followups")).toHaveTextContent("add the key on the Providers page");
    expect(core.invoke.mock.calls.some(([c]) => c === "import_config")).toBe(false);

    await userEvent.click(screen.getByTestId("config-import"));
    const done = await screen.findByTestId("config-imported");
    expect(done).toHaveTextContent("openai: its key is not in this computer's keychain");
    expect(done).toHaveTextContent("Cursor: a new app; rotate its token on the Apps page");
    expect(core.invoke.mock.calls.filter(([c]) => c === "get_settings").length).toBe(2);

    await userEvent.clear(path);
    await userEvent.type(path, "/bad.toml");
    await userEvent.click(screen.getByTestId("config-preview"));
    expect(await screen.findByTestId("config-error")).toHaveTextContent("line 4, column 12");
    expect(screen.queryByTestId("config-preview-result")).toBeNull();
  });

  it("updates prices from the catalog, says why a failed update changed nothing, and removes the user's price", async () => {
    prices.status = NO_PRICES;
    prices.failing = true;
    backend();
    render(<SettingsPage />);
    expect(await screen.findByTestId("prices-shipped")).toHaveTextContent("2026-11-25");
    expect(screen.getByTestId("prices-last-update")).toHaveTextContent("never");
    expect(screen.getByTestId("price-overrides")).toHaveTextContent("oa/house $1.00 in / $2.00 out per million tokens");

    await userEvent.click(screen.getByTestId("update-prices"));
    expect(await screen.findByTestId("prices-error")).toHaveTextContent("nothing was changed");
    prices.failing = false;
    await userEvent.click(screen.getByTestId("update-prices"));
    expect(await screen.findByTestId("prices-updated")).toHaveTextContent("40 models added, 3 prices changed");
    await waitFor(() => expect(screen.getByTestId("prices-last-update")).toHaveTextContent("catalog#1 2026-12-07"));

    await userEvent.click(screen.getByRole("button", { name: "Remove your price for oa/house" }));
    await waitFor(() => expect(screen.queryByTestId("price-overrides")).toBeNull());
  });

  it("shows the user's own price for hour-long cache writes", async () => {
    const own = { provider: "anthropic", model: "claude-house", input: 3, output: 15, cachedInput: null, cacheWrite: null, cacheWrite1h: 6 };
    prices.status = { ...NO_PRICES, overrides: [own] };
    prices.failing = false;
    backend();
    render(<SettingsPage />);
    expect(await screen.findByTestId("price-overrides")).toHaveTextContent(
      "anthropic/claude-house $3.00 in / $15.00 out / $6.00 cache write 1h per million tokens",
    );
  });
});
