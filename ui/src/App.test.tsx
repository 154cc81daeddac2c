import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";

import { App } from "./App";
import { answer, listening, resetTauriMocks } from "./test/tauri-mocks";

vi.mock("@tauri-apps/api/core", async () => (await import("./test/tauri-mocks")).core);
vi.mock("@tauri-apps/api/event", async () => (await import("./test/tauri-mocks")).event);

const NAV = ["Chat", "Providers", "Aliases", "Apps", "Clients", "Usage", "Logs", "Settings"];
const BUILT = ["Chat", "Providers", "Aliases", "Apps"];
/** Built pages whose empty state shows numbers the backend gave (a $0.00 spend, the stored port, the endpoint). */
const BUILT_WITH_NUMBERS = ["Clients", "Usage", "Logs", "Settings"];

const EMPTY_TOTALS = {
  key: null,
  requests: 0,
  errors: 0,
  inputTokens: 0,
  cachedInputTokens: 0,
  outputTokens: 0,
  reasoningTokens: 0,
  costUsd: 0,
  unpriced: 0,
  avgLatencyMs: null,
};

beforeEach(() => {
  resetTauriMocks();
  // A fresh install: nothing configured yet.
  answer({
    gateway_status: () => Promise.resolve(listening),
    list_presets: () => Promise.resolve([]),
    list_providers: () => Promise.resolve([]),
    list_aliases: () => Promise.resolve([]),
    list_apps: () => Promise.resolve([]),
    list_clients: () => Promise.resolve({ endpoint: "http://127.0.0.1:7352", clients: [] }),
    list_conversations: () => Promise.resolve([]),
    chat_models: () => Promise.resolve([]),
    list_requests: () => Promise.resolve([]),
    price_status: () =>
      Promise.resolve({ shippedVersion: "2026-11-25", lastImport: null, catalogUrl: "https://models.dev/api.json", overrides: [] }),
    provider_balances: () => Promise.resolve([]),
    log_facets: () => Promise.resolve({ apps: [], aliases: [], providers: [], models: [] }),
    usage_report: () =>
      Promise.resolve({ overall: EMPTY_TOTALS, series: [], byApp: [], byAlias: [], byProvider: [], byModel: [], budgets: [], unpriced: [] }),
    get_settings: () =>
      Promise.resolve({
        settings: {
          port: 7352,
          bind: "127.0.0.1",
          allowedHosts: [],
          allowedOrigins: [],
          loggingBodies: false,
          retentionDays: 7,
          theme: "system",
          overallBudget: null,
        },
        portFromEnv: null,
        dataDir: "/home/me/.local/share/dev.switchboard.desktop",
        logDir: "/home/me/.local/share/dev.switchboard.desktop/logs",
      }),
  });
  window.location.hash = "";
});

describe("App", () => {
  it("lists the pages in order and opens on Chat", async () => {
    render(<App />);
    const items = within(screen.getByRole("navigation")).getAllByRole("button");
    expect(items.map((b) => b.textContent)).toEqual(NAV);
    expect(items.map((b) => b.dataset.testid)).toEqual(NAV.map((n) => `nav-${n.toLowerCase()}`));
    expect(screen.getByTestId("page-title")).toHaveTextContent("Chat");
    expect(await screen.findByTestId("chat-empty")).toBeInTheDocument();
    await screen.findByText("Listening");
  });

  it("switches the page title from the sidebar", async () => {
    render(<App />);

    await userEvent.click(screen.getByTestId("nav-usage"));
    expect(screen.getByTestId("page-title")).toHaveTextContent(/^Usage$/);
    expect(await screen.findByTestId("usage-empty")).toBeInTheDocument();
    expect(screen.getByTestId("nav-usage")).toHaveAttribute("aria-current", "page");
    expect(screen.getByTestId("nav-chat")).not.toHaveAttribute("aria-current");
    expect(window.location.hash).toBe("#/usage");

    await userEvent.click(screen.getByTestId("nav-providers"));
    expect(screen.getByTestId("page-title")).toHaveTextContent(/^Providers$/);
    expect(await screen.findByTestId("providers-empty")).toBeInTheDocument();
    expect(screen.queryByTestId("page-not-built")).not.toBeInTheDocument();

    await userEvent.click(screen.getByTestId("nav-settings"));
    expect(screen.getByTestId("page-title")).toHaveTextContent(/^Settings$/);
    expect(await screen.findByTestId("settings-port")).toHaveValue("7352");
  });

  it("opens the page named in the URL hash", () => {
    window.location.hash = "#/logs";
    render(<App />);
    expect(screen.getByTestId("page-title")).toHaveTextContent("Logs");
  });

  it("shows no made-up data on any page", async () => {
    render(<App />);
    for (const name of NAV) {
      await userEvent.click(screen.getByTestId(`nav-${name.toLowerCase()}`));
      const main = screen.getByRole("main");
      if (BUILT_WITH_NUMBERS.includes(name)) {
        // Only what the (empty) backend said.
        if (name === "Settings") expect(await within(main).findByTestId("settings-port")).toHaveValue("7352");
        else expect(await within(main).findByTestId(`${name.toLowerCase()}-empty`)).toBeInTheDocument();
        continue;
      }
      if (BUILT.includes(name)) {
        // Only what the (empty) backend said: an empty state, no rows.
        expect(await within(main).findByTestId(`${name.toLowerCase()}-empty`)).toBeInTheDocument();
      } else {
        expect(main).toHaveTextContent(`${name} — not built yet.`);
      }
      expect(main.textContent).not.toMatch(/\d/);
      expect(within(main).queryAllByRole("table")).toHaveLength(0);
      expect(within(main).queryAllByRole("listitem")).toHaveLength(0);
    }
  });
});
