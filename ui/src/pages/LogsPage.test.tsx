import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";

import type { RequestDto } from "../api/generated/RequestDto";
import { request } from "../test/fixtures";
import { core, emit, listenerCount, resetTauriMocks } from "../test/tauri-mocks";
import { LogsPage } from "./LogsPage";

vi.mock("@tauri-apps/api/core", async () => (await import("../test/tauri-mocks")).core);
vi.mock("@tauri-apps/api/event", async () => (await import("../test/tauri-mocks")).event);

/** A ledger of `rows` (newest first) that answers like the backend: filters, keyset pages, details. */
function backend(initial: RequestDto[], loggingOn = false) {
  const state = { rows: initial };
  core.invoke.mockImplementation((cmd: string, args?: unknown) => {
    const a = (args ?? {}) as Record<string, unknown>;
    switch (cmd) {
      case "list_requests": {
        const f = a.filter as { app: string | null; status: string | null };
        const before = a.beforeId as number | null;
        const rows = state.rows
          .filter((r) => (f.app === null || r.appName === f.app) && (f.status !== "errors" || r.status >= 400))
          .filter((r) => before === null || r.id < before)
          .slice(0, a.limit as number);
        return Promise.resolve(rows);
      }
      case "log_facets":
        return Promise.resolve({ apps: ["scripts", "zed"], aliases: ["general"], providers: ["fake"], models: ["chat-model"] });
      case "request_detail": {
        const row = state.rows.find((r) => r.id === a.id);
        const bodies = loggingOn ? { request: '{"model":"general"}', response: '{"id":"x"}', truncated: false } : null;
        return Promise.resolve({ request: row, bodies, loggingOn });
      }
      default:
        return Promise.reject({ kind: "unknownCommand", message: `no mock for ${cmd}` });
    }
  });
  return state;
}

beforeEach(() => resetTauriMocks());

describe("LogsPage", () => {
  it("lists requests with their route, cost and status, and says what to do when there are none", async () => {
    backend([request(2, { status: 429, error: "rate limited", costUsd: null }), request(1)]);
    render(<LogsPage />);
    const row = await screen.findByTestId("log-row-1");
    expect(row).toHaveTextContent("general → chat-model");
    expect(row).toHaveTextContent("$0.00042");
    expect(screen.getByTestId("log-row-2")).toHaveClass("log-row--error");

    resetTauriMocks();
    backend([]);
    render(<LogsPage />);
    expect(await screen.findAllByTestId("logs-empty")).not.toHaveLength(0);
    expect(screen.getAllByTestId("logs-empty")[0]).toHaveTextContent(/Apps/);
  });

  it("filters through the backend and offers to clear the filters", async () => {
    backend([request(3, { appName: "zed" }), request(2), request(1)]);
    render(<LogsPage />);
    await screen.findByTestId("log-row-3");
    await userEvent.selectOptions(screen.getByTestId("filter-app"), "scripts");
    await waitFor(() => expect(screen.queryByTestId("log-row-3")).not.toBeInTheDocument());
    expect(screen.getByTestId("log-row-2")).toBeInTheDocument();
    const call = core.invoke.mock.calls.filter(([c]) => c === "list_requests").at(-1);
    expect(call?.[1]).toMatchObject({ filter: { app: "scripts" }, beforeId: null });

    await userEvent.selectOptions(screen.getByTestId("filter-status"), "errors");
    expect(await screen.findByTestId("logs-empty")).toHaveTextContent("No requests match these filters");
    await userEvent.click(within(screen.getByTestId("logs-empty")).getByRole("button", { name: "Clear filters" }));
    expect(await screen.findByTestId("log-row-3")).toBeInTheDocument();
  });

  it("shows a new request as soon as the ledger writes it", async () => {
    const ledger = backend([request(1)]);
    render(<LogsPage />);
    await screen.findByTestId("log-row-1");
    // The page subscribes after its first render; the backend's events reach it from then on.
    await waitFor(() => expect(listenerCount("ledger-written")).toBe(1));
    ledger.rows = [request(2, { appName: "zed", model: "other-model", alias: "fast" }), request(1)];
    emit("ledger-written", 2);
    expect(await screen.findByTestId("log-row-2")).toHaveTextContent("fast → other-model");
  });

  it("pages older rows by keyset as the list scrolls", async () => {
    const rows = Array.from({ length: 450 }, (_, i) => request(450 - i));
    backend(rows);
    render(<LogsPage />);
    await screen.findByTestId("log-row-450");
    expect(core.invoke.mock.calls.filter(([c]) => c === "list_requests")).toHaveLength(1);
    // Scrolling near the end of what is loaded asks for the page after the last row.
    const list = screen.getByTestId("log-list");
    list.scrollTop = 190 * 36;
    fireEvent.scroll(list);
    await waitFor(() => {
      const pages = core.invoke.mock.calls.filter(([c]) => c === "list_requests");
      expect(pages.some(([, a]) => (a as { beforeId: number | null }).beforeId === 251)).toBe(true);
    });
  });

  it("opens a request's details from the keyboard, with bodies when logging kept them", async () => {
    backend([request(1)], true);
    render(<LogsPage />);
    const row = await screen.findByTestId("log-row-1");
    row.focus();
    await userEvent.keyboard("{Enter}");
    const detail = await screen.findByTestId("request-detail");
    expect(await within(detail).findByTestId("detail-bodies")).toHaveTextContent('"model": "general"');
    expect(within(detail).getByTestId("detail-cost")).toHaveTextContent("$0.00042 (from the price table)");
  });

  it("shows a request's cache writes for five minutes and for an hour apart", async () => {
    backend([request(1, { inputTokens: 3000, cachedInputTokens: 500, cacheWriteTokens: 1400, cacheWrite1hTokens: 400 })]);
    render(<LogsPage />);
    await userEvent.click(await screen.findByTestId("log-row-1"));
    const tokensCell = within(await screen.findByTestId("request-detail")).getByTestId("detail-tokens");
    expect(tokensCell).toHaveTextContent("3,000 in (500 cached, 1,000 / 400 cache write 5m / 1h)");
  });

  it("says how to see bodies when request logging is off", async () => {
    backend([request(1)], false);
    render(<LogsPage />);
    await userEvent.click(await screen.findByTestId("log-row-1"));
    expect(await screen.findByTestId("detail-no-bodies")).toHaveTextContent("Turn it on in Settings");
  });
});
