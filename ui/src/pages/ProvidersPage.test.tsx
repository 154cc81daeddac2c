import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";

import type { Preset, Provider } from "../api/types";
import { answer, core, keychainLocked, listening, resetTauriMocks } from "../test/tauri-mocks";
import { ProvidersPage } from "./ProvidersPage";

vi.mock("@tauri-apps/api/core", async () => (await import("../test/tauri-mocks")).core);
vi.mock("@tauri-apps/api/event", async () => (await import("../test/tauri-mocks")).event);

const PRESETS: Preset[] = [
  { id: "openai", name: "OpenAI", baseUrl: "https://api.openai.com/v1", needsKey: true },
  { id: "azure", name: "Azure OpenAI", baseUrl: null, needsKey: true },
  { id: "ollama", name: "Ollama", baseUrl: "http://localhost:11434/v1", needsKey: false },
];

const SECRET = "sk-test-0123456789abcd";

function openai(keys: Provider["keys"] = []): Provider {
  return { id: "openai", kind: "openai", name: null, baseUrl: null, apiVersion: null, enabled: true, keys };
}

/** A tiny in-memory backend: enough state for save → list round trips. */
function backend(initial: Provider[] = []) {
  let providers = initial;
  answer({
    gateway_status: () => Promise.resolve(listening),
    list_presets: () => Promise.resolve(PRESETS),
    list_providers: () => Promise.resolve(providers),
  });
  const fallback = core.invoke.getMockImplementation();
  core.invoke.mockImplementation((cmd: string, args?: unknown) => {
    const a = args as Record<string, unknown>;
    if (cmd === "save_provider") {
      const p = a.provider as Omit<Provider, "keys">;
      const old = providers.find((x) => x.id === p.id);
      providers = [...providers.filter((x) => x.id !== p.id), { ...p, keys: old?.keys ?? [] }];
      return Promise.resolve(null);
    }
    if (cmd === "set_provider_key") {
      const label = (a.label as string | null) ?? "default";
      const hint = `…${(a.key as string).slice(-4)}`;
      providers = providers.map((x) =>
        x.id === a.providerId ? { ...x, keys: [...x.keys.filter((k) => k.label !== label), { label, hint }] } : x,
      );
      return Promise.resolve({ label, hint });
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

describe("ProvidersPage", () => {
  it("offers a local server that answers and adds it with one click, no key asked", async () => {
    backend();
    const inner = core.invoke.getMockImplementation();
    core.invoke.mockImplementation((cmd: string, args?: unknown) => {
      if (cmd === "detect_local_providers") {
        const added = calls("save_provider").length > 0;
        const ollama = { kind: "ollama", name: "Ollama", baseUrl: "http://localhost:11434/v1", models: 12 };
        return Promise.resolve(added ? [] : [ollama]);
      }
      return inner ? inner(cmd, args) : Promise.reject(new Error("no mock"));
    });
    const user = userEvent.setup();
    render(<ProvidersPage />);

    const offer = await screen.findByTestId("local-offer");
    expect(offer).toHaveTextContent("Found on this computer:Ollama (12 models)");
    await user.click(within(offer).getByTestId("add-local-ollama"));

    await screen.findByTestId("provider-row-ollama");
    expect(calls("save_provider")).toEqual([
      { provider: { id: "ollama", kind: "ollama", name: null, baseUrl: null, apiVersion: null, enabled: true } },
    ]);
    expect(calls("set_provider_key")).toEqual([]);
    await waitFor(() => {
      expect(screen.queryByTestId("local-offer")).not.toBeInTheDocument();
    });
  });

  it("explains itself when there are no providers", async () => {
    backend();
    render(<ProvidersPage />);
    const empty = await screen.findByTestId("providers-empty");
    expect(empty).toHaveTextContent("No providers yet");
    expect(within(empty).getByTestId("add-provider")).toBeInTheDocument();
  });

  it("adds a provider: save_provider, then set_provider_key, and the key is never shown again", async () => {
    backend();
    const user = userEvent.setup();
    render(<ProvidersPage />);

    await user.click(await screen.findByTestId("add-provider"));
    await user.click(screen.getByTestId("preset-openai"));
    expect(screen.getByTestId("provider-id")).toHaveValue("openai");
    expect(screen.getByTestId("provider-base-url")).toHaveValue("https://api.openai.com/v1");
    const keyField = screen.getByTestId("provider-key");
    expect(keyField).toHaveAttribute("type", "password");
    expect(keyField).toHaveAttribute("autocomplete", "off");
    expect(keyField).toHaveAttribute("spellcheck", "false");

    await user.type(keyField, SECRET);
    await user.click(screen.getByTestId("save-provider"));

    const row = await screen.findByTestId("provider-row-openai");
    expect(calls("save_provider")).toEqual([
      {
        provider: { id: "openai", kind: "openai", name: null, baseUrl: null, apiVersion: null, enabled: true },
      },
    ]);
    expect(calls("set_provider_key")).toEqual([{ providerId: "openai", label: null, key: SECRET }]);
    const order = core.invoke.mock.calls.map(([c]) => c);
    expect(order.indexOf("save_provider")).toBeLessThan(order.indexOf("set_provider_key"));

    expect(row).toHaveTextContent("default…abcd");
    expect(screen.queryByTestId("provider-key")).not.toBeInTheDocument();
    expect(document.body.innerHTML).not.toContain(SECRET);
  });

  it("clears the key field after adding another labelled key and shows only its hint", async () => {
    backend([openai([{ label: "default", hint: "…1111" }])]);
    const user = userEvent.setup();
    render(<ProvidersPage />);
    const row = await screen.findByTestId("provider-row-openai");

    await user.click(within(row).getByRole("button", { name: "Add another key" }));
    expect(screen.getByTestId("key-label")).toHaveValue("");
    await user.type(screen.getByTestId("key-label"), "work");
    await user.type(screen.getByTestId("provider-key"), SECRET);
    await user.click(screen.getByTestId("save-key"));

    await waitFor(() => {
      expect(row).toHaveTextContent("work…abcd");
    });
    expect(calls("set_provider_key")).toEqual([{ providerId: "openai", label: "work", key: SECRET }]);
    expect(screen.queryByTestId("provider-key")).not.toBeInTheDocument();
    expect(document.body.innerHTML).not.toContain(SECRET);
  });

  it("requires a base URL for presets without one and shows the API version for Azure", async () => {
    backend();
    const user = userEvent.setup();
    render(<ProvidersPage />);
    await user.click(await screen.findByTestId("add-provider"));
    await user.click(screen.getByTestId("preset-azure"));

    expect(screen.getByTestId("provider-base-url")).toHaveValue("");
    expect(screen.getByTestId("provider-api-version")).toBeInTheDocument();
    await user.click(screen.getByTestId("save-provider"));
    expect(screen.getByTestId("form-error")).toHaveTextContent("Azure OpenAI needs a base URL.");
    expect(calls("save_provider")).toHaveLength(0);
  });

  it("has no key field for presets that need none, and refuses an id that is taken", async () => {
    backend([{ ...openai(), id: "ollama", kind: "ollama" }]);
    const user = userEvent.setup();
    render(<ProvidersPage />);
    await user.click(await screen.findByTestId("add-provider"));
    await user.click(screen.getByTestId("preset-ollama"));

    expect(screen.queryByTestId("provider-key")).not.toBeInTheDocument();
    expect(screen.getByTestId("provider-id")).toHaveValue("ollama-2");
    await user.clear(screen.getByTestId("provider-id"));
    await user.type(screen.getByTestId("provider-id"), "ollama");
    await user.click(screen.getByTestId("save-provider"));
    expect(screen.getByTestId("form-error")).toHaveTextContent("There is already a provider called “ollama”");
  });

  it("shows the backend's message when saving fails, and keeps the dialog open", async () => {
    backend();
    const fallback = core.invoke.getMockImplementation();
    core.invoke.mockImplementation((cmd: string, args?: unknown) =>
      cmd === "save_provider"
        ? Promise.reject({ kind: "invalid", message: "\"ftp://x\" is not a URL: start it with https:// or http://" })
        : (fallback?.(cmd, args) ?? Promise.resolve(null)),
    );
    const user = userEvent.setup();
    render(<ProvidersPage />);
    await user.click(await screen.findByTestId("add-provider"));
    await user.click(screen.getByTestId("preset-openai"));
    await user.click(screen.getByTestId("save-provider"));

    expect(await screen.findByTestId("form-error")).toHaveTextContent("is not a URL: start it with https:// or http://");
    expect(screen.getByTestId("save-provider")).toBeEnabled();
    expect(calls("set_provider_key")).toHaveLength(0);
  });

  it("tests a provider and shows the model count and latency, or the provider's error", async () => {
    backend([openai()]);
    const fallback = core.invoke.getMockImplementation();
    let fail = false;
    core.invoke.mockImplementation((cmd: string, args?: unknown) => {
      if (cmd !== "test_provider") return fallback?.(cmd, args) ?? Promise.resolve(null);
      return fail
        ? Promise.reject({ kind: "upstream", message: "openai answered 401 Unauthorized: Incorrect API key provided" })
        : Promise.resolve({ models: ["gpt-4.1", "gpt-4.1-mini", "o4-mini"], latencyMs: 123 });
    });
    const user = userEvent.setup();
    render(<ProvidersPage />);

    await user.click(await screen.findByTestId("test-provider-openai"));
    expect(await screen.findByTestId("test-result-openai")).toHaveTextContent("3 models · 123 ms");
    expect(calls("test_provider")).toEqual([{ id: "openai" }]);

    fail = true;
    await user.click(screen.getByTestId("test-provider-openai"));
    await waitFor(() => {
      expect(screen.getByTestId("test-result-openai")).toHaveTextContent("Incorrect API key provided");
    });
  });

  it("deletes after a confirmation that mentions the keychain", async () => {
    backend([openai([{ label: "default", hint: "…1111" }])]);
    const fallback = core.invoke.getMockImplementation();
    core.invoke.mockImplementation((cmd: string, args?: unknown) =>
      cmd === "delete_provider" ? Promise.resolve(null) : (fallback?.(cmd, args) ?? Promise.resolve(null)),
    );
    const user = userEvent.setup();
    render(<ProvidersPage />);
    await user.click(await screen.findByTestId("delete-provider-openai"));

    const dialog = screen.getByTestId("confirm-dialog");
    expect(dialog).toHaveTextContent("deletes its key from the OS keychain");
    expect(calls("delete_provider")).toHaveLength(0);
    await user.click(within(dialog).getByTestId("confirm"));
    await waitFor(() => {
      expect(screen.queryByTestId("confirm-dialog")).not.toBeInTheDocument();
    });
    expect(calls("delete_provider")).toEqual([{ id: "openai" }]);
  });

  it("closes the dialog on Escape and gives focus back", async () => {
    backend([openai()]);
    const user = userEvent.setup();
    render(<ProvidersPage />);
    const add = await screen.findByTestId("add-provider");
    await user.click(add);
    expect(screen.getByRole("dialog")).toBeInTheDocument();
    expect(screen.getByRole("dialog")).toContainElement(document.activeElement as HTMLElement);

    await user.keyboard("{Escape}");
    expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
    expect(add).toHaveFocus();
  });

  it("warns next to the key field when the keychain can't be used", async () => {
    backend([openai()]);
    const fallback = core.invoke.getMockImplementation();
    core.invoke.mockImplementation((cmd: string, args?: unknown) =>
      cmd === "gateway_status" ? Promise.resolve(keychainLocked) : (fallback?.(cmd, args) ?? Promise.resolve(null)),
    );
    const user = userEvent.setup();
    render(<ProvidersPage />);
    await user.click(await screen.findByRole("button", { name: "Add key" }));
    expect(await screen.findByTestId("provider-keychain-error")).toHaveTextContent(
      "start gnome-keyring or KWallet, then restart Switchboard",
    );
  });

  it("shows a provider's balance and when it was read, and a refresh that fails says why", async () => {
    const user = userEvent.setup();
    const router: Provider = {
      id: "or",
      kind: "openrouter",
      name: null,
      baseUrl: null,
      apiVersion: null,
      enabled: true,
      keys: [{ label: "default", hint: "…abcd" }],
    };
    answer({
      gateway_status: () => Promise.resolve(listening),
      list_presets: () => Promise.resolve(PRESETS),
      list_providers: () => Promise.resolve([router]),
      provider_balances: () =>
        Promise.resolve([
          {
            providerId: "or",
            readAtMs: Date.now(),
            amounts: [{ label: "Credits", remaining: 3.5, total: 10, currency: "USD", note: null }],
            usable: true,
            error: null,
            low: true,
            lowBelow: 5,
          },
        ]),
      refresh_balance: () =>
        Promise.reject({ kind: "upstream", message: "or refused the balance request (401): check that the key is valid" }),
    });
    render(<ProvidersPage />);
    const balance = await screen.findByTestId("balance-or");
    expect(balance).toHaveTextContent("Credits: $3.50 left of $10.00");
    expect(balance).toHaveTextContent("read just now");
    expect(balance.querySelector(".balance-low")).not.toBeNull();
    await user.click(screen.getByTestId("refresh-balance-or"));
    await waitFor(() => expect(screen.getByTestId("balance-or")).toHaveTextContent("check that the key is valid"));
  });
});
