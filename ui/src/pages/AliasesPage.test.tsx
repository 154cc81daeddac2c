import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, onTestFinished, vi } from "vitest";

import type { RequestDto } from "../api/generated/RequestDto";
import type { TryResult } from "../api/generated/TryResult";
import type { Alias, Provider } from "../api/types";
import { answer, core, resetTauriMocks } from "../test/tauri-mocks";
import { AliasesPage } from "./AliasesPage";

vi.mock("@tauri-apps/api/core", async () => (await import("../test/tauri-mocks")).core);
vi.mock("@tauri-apps/api/event", async () => (await import("../test/tauri-mocks")).event);

function provider(id: string): Provider {
  return { id, kind: id, name: null, baseUrl: null, apiVersion: null, enabled: true, keys: [] };
}

const GENERAL: Alias = {
  name: "general",
  description: "everyday chat",
  strategy: "fallback",
  settings: { params: { top_p: 0.9, temperature: 0.7 }, custom: true },
  targets: [
    { providerId: "openai", model: "gpt-4.1", weight: 1 },
    { providerId: "anthropic", model: "claude-sonnet-4", weight: 1 },
  ],
};

function backend(aliases: Alias[]) {
  answer({
    list_aliases: () => Promise.resolve(aliases),
    list_providers: () => Promise.resolve([provider("openai"), provider("anthropic")]),
    test_provider: () => Promise.resolve({ models: ["gpt-4.1", "gpt-4.1-mini"], latencyMs: 80 }),
    save_alias: () => Promise.resolve(null),
  });
}

const ROW: RequestDto = {
  id: 7,
  tsMs: 1_700_000_000_000,
  appName: "Chat window",
  alias: "general",
  providerId: "anthropic",
  model: "claude-sonnet-4",
  clientProtocol: "openai-chat",
  stream: true,
  status: 200,
  error: null,
  attempts: [
    { target: "openai/gpt-4.1", result: "429", elapsedMs: 120 },
    { target: "anthropic/claude-sonnet-4", result: "ok", elapsedMs: 480 },
  ],
  inputTokens: 1234,
  cachedInputTokens: null,
  cacheWriteTokens: null,
  cacheWrite1hTokens: null,
  outputTokens: 7,
  reasoningTokens: null,
  costUsd: 0.0042,
  costSource: "table",
  latencyMs: 612,
  ttftMs: 300,
};

const ANSWERED: TryResult = {
  text: "<b>Hello</b> from the fallback",
  target: "anthropic/claude-sonnet-4",
  error: null,
  elapsedMs: 650,
  request: ROW,
};

/**
 * jsdom lays nothing out, so dnd-kit could not measure where a target may go: each target row gets a place, 60 px
 * apart, inside a list as tall as its rows.
 */
function layOutTargets() {
  const rect = (top: number, height: number) =>
    ({ x: 0, y: top, top, left: 0, right: 400, bottom: top + height, width: 400, height, toJSON: () => ({}) }) as DOMRect;
  return vi.spyOn(Element.prototype, "getBoundingClientRect").mockImplementation(function (this: Element) {
    if (this.matches("ol.target-list")) return rect(100, 60 * this.children.length);
    const row = this.closest("li[data-testid^='target-']");
    const index = Number(row?.getAttribute("data-testid")?.replace("target-", "") ?? -1);
    return rect(100 + index * 60, 50);
  });
}

function calls(cmd: string): unknown[] {
  return core.invoke.mock.calls.filter(([c]) => c === cmd).map(([, args]) => args);
}

beforeEach(() => {
  resetTauriMocks();
});

describe("AliasesPage", () => {
  it("suggests general, fast, code and long-context when there are none", async () => {
    backend([]);
    render(<AliasesPage />);
    const empty = await screen.findByTestId("aliases-empty");
    for (const name of ["general", "fast", "code", "long-context"]) {
      expect(within(empty).getByTestId(`suggest-${name}`)).toHaveTextContent(name);
    }
  });

  it("lists each alias with its ordered targets", async () => {
    backend([GENERAL]);
    render(<AliasesPage />);
    const row = await screen.findByTestId("alias-row-general");
    expect(within(row).getAllByRole("listitem").map((li) => li.textContent)).toEqual([
      "openai/gpt-4.1",
      "anthropic/claude-sonnet-4",
    ]);
  });

  it("reorders targets and saves the payload, keeping settings it doesn't show", async () => {
    backend([GENERAL]);
    const user = userEvent.setup();
    render(<AliasesPage />);
    await user.click(await screen.findByTestId("edit-alias-general"));

    await user.click(screen.getByTestId("target-down-0"));
    expect(screen.getByTestId("target-model-0")).toHaveValue("claude-sonnet-4");
    await user.click(screen.getByText("Advanced"));
    await user.clear(screen.getByTestId("params-temperature"));
    await user.type(screen.getByTestId("forced-max-tokens"), "4096");
    await user.selectOptions(screen.getByTestId("params-reasoning-effort"), "low");
    await user.type(screen.getByTestId("timeout-first-token"), "30");
    await user.click(screen.getByTestId("save-alias"));

    await waitFor(() => {
      expect(screen.queryByTestId("alias-editor")).not.toBeInTheDocument();
    });
    expect(calls("save_alias")).toEqual([
      {
        alias: {
          name: "general",
          description: "everyday chat",
          strategy: "fallback",
          settings: {
            params: { top_p: 0.9, reasoning_effort: "low" },
            forced_params: { max_tokens: 4096 },
            timeouts: { first_token: 30 },
            custom: true,
          },
          targets: [
            { providerId: "anthropic", model: "claude-sonnet-4", weight: 1 },
            { providerId: "openai", model: "gpt-4.1", weight: 1 },
          ],
        },
      },
    ]);
  });

  it("reorders targets from the keyboard with the drag handle, and says so to screen readers", async () => {
    const layout = layOutTargets();
    onTestFinished(() => layout.mockRestore());
    backend([GENERAL]);
    const user = userEvent.setup();
    render(<AliasesPage />);
    await user.click(await screen.findByTestId("edit-alias-general"));
    screen.getByTestId("target-handle-0").focus();
    await user.keyboard("[Space]");
    await screen.findByText("target 1 (openai/gpt-4.1) is over position 1.");
    await user.keyboard("[ArrowDown]");
    await screen.findByText("target 1 (openai/gpt-4.1) is over position 2.");
    await user.keyboard("[Space]");
    await waitFor(() => {
      expect(screen.getByTestId("target-model-0")).toHaveValue("claude-sonnet-4");
    });
    expect(screen.getByTestId("target-model-1")).toHaveValue("gpt-4.1");
    expect(await screen.findByText("Dropped target 1 (openai/gpt-4.1) at position 2.")).toBeInTheDocument();
  });

  it("creates a weighted alias with models offered from a provider test", async () => {
    backend([]);
    const user = userEvent.setup();
    render(<AliasesPage />);
    await user.click(await screen.findByTestId("suggest-fast"));
    expect(screen.getByTestId("alias-name")).toHaveValue("fast");

    await user.selectOptions(screen.getByTestId("alias-strategy"), "weighted");
    await user.selectOptions(screen.getByTestId("target-provider-0"), "openai");
    await waitFor(() => {
      expect(screen.getByTestId("target-model-0")).toHaveAttribute("list");
    });
    const listId = screen.getByTestId("target-model-0").getAttribute("list") ?? "";
    const options = Array.from(document.getElementById(listId)?.querySelectorAll("option") ?? []).map((o) => o.value);
    expect(options).toEqual(["gpt-4.1", "gpt-4.1-mini"]);
    expect(calls("test_provider")).toEqual([{ id: "openai" }]);

    await user.type(screen.getByTestId("target-model-0"), "my-own-model");
    await user.clear(screen.getByTestId("target-weight-0"));
    await user.type(screen.getByTestId("target-weight-0"), "3");
    await user.click(screen.getByTestId("add-target"));
    await user.selectOptions(screen.getByTestId("target-provider-1"), "anthropic");
    await user.type(screen.getByTestId("target-model-1"), "claude-haiku-4");
    await user.click(screen.getByTestId("target-up-1"));
    await user.click(screen.getByTestId("save-alias"));

    await waitFor(() => {
      expect(calls("save_alias")).toHaveLength(1);
    });
    expect(calls("save_alias")[0]).toEqual({
      alias: {
        name: "fast",
        description: null,
        strategy: "weighted",
        settings: {},
        targets: [
          { providerId: "anthropic", model: "claude-haiku-4", weight: 1 },
          { providerId: "openai", model: "my-own-model", weight: 3 },
        ],
      },
    });
  });

  it("says what is missing instead of saving, and shows backend errors", async () => {
    backend([GENERAL]);
    const user = userEvent.setup();
    render(<AliasesPage />);
    await user.click(await screen.findByTestId("new-alias"));
    await user.type(screen.getByTestId("alias-name"), "general");
    await user.click(screen.getByTestId("save-alias"));
    expect(screen.getByTestId("form-error")).toHaveTextContent("There is already an alias called “general”.");

    await user.clear(screen.getByTestId("alias-name"));
    await user.type(screen.getByTestId("alias-name"), "code");
    await user.click(screen.getByTestId("save-alias"));
    expect(screen.getByTestId("form-error")).toHaveTextContent("Pick a provider for target 1.");

    await user.selectOptions(screen.getByTestId("target-provider-0"), "openai");
    await user.type(screen.getByTestId("target-model-0"), "gpt-4.1");
    core.invoke.mockImplementation((cmd: string) =>
      cmd === "save_alias"
        ? Promise.reject({ kind: "reload", message: "the gateway could not reload: disk full" })
        : Promise.resolve([]),
    );
    await user.click(screen.getByTestId("save-alias"));
    expect(await screen.findByTestId("form-error")).toHaveTextContent("the gateway could not reload: disk full");
  });

  it("tries an alias: the answer as text, who answered, the attempts, tokens and cost", async () => {
    backend([GENERAL]);
    const inner = core.invoke.getMockImplementation();
    core.invoke.mockImplementation((cmd: string, args?: unknown) =>
      cmd === "try_alias" ? Promise.resolve(ANSWERED) : inner ? inner(cmd, args) : Promise.reject(new Error("no mock")),
    );
    const user = userEvent.setup();
    render(<AliasesPage />);
    await user.click(await screen.findByTestId("try-alias-general"));
    const prompt = screen.getByTestId("try-prompt-general");
    expect(prompt).toHaveFocus();
    await user.clear(prompt);
    await user.type(prompt, "Hi there");
    await user.click(screen.getByTestId("try-send-general"));

    const answer = await screen.findByTestId("try-answer-general");
    // Model output is text: the tags show as typed, no element is made from them.
    expect(answer).toHaveTextContent("<b>Hello</b> from the fallback");
    expect(answer.querySelector("b")).toBeNull();
    expect(screen.getByTestId("try-target-general")).toHaveTextContent("anthropic/claude-sonnet-4");
    expect(screen.getByTestId("try-tokens-general")).toHaveTextContent("1,234 in · 7 out");
    expect(screen.getByTestId("try-cost-general")).toHaveTextContent("$0.0042");
    const attempts = within(screen.getByTestId("try-attempts-general")).getAllByRole("listitem");
    expect(attempts.map((li) => li.textContent)).toEqual([
      "openai/gpt-4.1 — 429 (120 ms)",
      "anthropic/claude-sonnet-4 — ok (480 ms)",
    ]);
    expect(calls("try_alias")).toEqual([{ alias: "general", prompt: "Hi there" }]);
  });

  it("shows a failed try in the box with the next step", async () => {
    backend([GENERAL]);
    const inner = core.invoke.getMockImplementation();
    const failed: TryResult = {
      text: "",
      target: null,
      error: { status: 502, message: "every target of general failed; the last said: connection refused" },
      request: {
        ...ROW,
        status: 502,
        providerId: null,
        model: null,
        inputTokens: null,
        outputTokens: null,
        costUsd: null,
        attempts: [{ target: "openai/gpt-4.1", result: "connect error", elapsedMs: 3 }],
      },
      elapsedMs: 10,
    };
    core.invoke.mockImplementation((cmd: string, args?: unknown) =>
      cmd === "try_alias" ? Promise.resolve(failed) : inner ? inner(cmd, args) : Promise.reject(new Error("no mock")),
    );
    const user = userEvent.setup();
    render(<AliasesPage />);
    await user.click(await screen.findByTestId("try-alias-general"));
    await user.click(screen.getByTestId("try-send-general"));

    const error = await screen.findByTestId("try-error-general");
    expect(error).toHaveTextContent("every target of general failed");
    expect(error).toHaveTextContent("Test the providers on the Providers page");
    expect(screen.getByTestId("try-target-general")).toHaveTextContent("no target");
    expect(screen.getByTestId("try-attempts-general")).toHaveTextContent("openai/gpt-4.1 — connect error");
    expect(screen.queryByTestId("try-answer-general")).not.toBeInTheDocument();
  });

  it("deletes after confirming", async () => {
    backend([GENERAL]);
    const user = userEvent.setup();
    render(<AliasesPage />);
    await user.click(await screen.findByTestId("delete-alias-general"));
    core.invoke.mockImplementation((cmd: string) => Promise.resolve(cmd === "list_aliases" ? [] : null));
    await user.click(within(screen.getByTestId("confirm-dialog")).getByTestId("confirm"));
    await screen.findByTestId("aliases-empty");
    expect(calls("delete_alias")).toEqual([{ name: "general" }]);
  });
});
