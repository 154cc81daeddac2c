import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";

import type { UsageReport } from "../api/generated/UsageReport";
import type { UsageTotals } from "../api/generated/UsageTotals";
import { core, emit, listenerCount, resetTauriMocks } from "../test/tauri-mocks";
import { UsagePage } from "./UsagePage";

vi.mock("@tauri-apps/api/core", async () => (await import("../test/tauri-mocks")).core);
vi.mock("@tauri-apps/api/event", async () => (await import("../test/tauri-mocks")).event);
// jsdom has no canvas: the chart stands in as a list of its points.
vi.mock("./UsageChart", () => ({
  UsageChart: ({ data }: { data: { cost: number[] } }) => <div data-testid="chart">{data.cost.filter((c) => c > 0).length} buckets with spend</div>,
}));

function totals(key: string | null, costUsd: number, requests = 1): UsageTotals {
  return { key, requests, errors: 0, inputTokens: 1200, cachedInputTokens: 0, outputTokens: 300, reasoningTokens: 0, costUsd, unpriced: 0, avgLatencyMs: 250 };
}

function report(over: Partial<UsageReport> = {}): UsageReport {
  return {
    overall: totals(null, 1.5, 3),
    series: [{ bucketStartMs: Math.floor(Date.now() / 86_400_000) * 86_400_000, requests: 3, costUsd: 1.5, inputTokens: 1200, outputTokens: 300 }],
    byApp: [totals("scripts", 1.2, 2), totals("zed", 0.3)],
    byAlias: [totals("general", 1.5, 3)],
    byProvider: [totals("fake", 1.5, 3)],
    byModel: [totals("chat-model", 1.5, 3)],
    budgets: [{ app: null, period: "daily", spentUsd: 1.5, limitUsd: 2, action: "block" }],
    unpriced: [],
    ...over,
  };
}

function backend(answer: () => UsageReport) {
  core.invoke.mockImplementation((cmd: string, args?: unknown) => {
    const a = (args ?? {}) as Record<string, unknown>;
    switch (cmd) {
      case "usage_report":
        return Promise.resolve(answer());
      case "set_price_override":
        return Promise.resolve(null);
      case "default_export_path":
        return Promise.resolve(`/home/me/Downloads/${a.name as string}`);
      case "export_usage_csv":
        return a.path === "/nope/x.csv"
          ? Promise.reject({ kind: "invalid", message: "cannot write /nope/x.csv: No such file or directory; choose a folder you can write to" })
          : Promise.resolve({ path: a.path, rows: 3 });
      default:
        return Promise.reject({ kind: "unknownCommand", message: `no mock for ${cmd}` });
    }
  });
}

beforeEach(() => resetTauriMocks());

describe("UsagePage", () => {
  it("shows spend, a chart, budgets and a breakdown for the last 7 days", async () => {
    backend(() => report());
    render(<UsagePage />);
    expect(await screen.findByTestId("usage-spend")).toHaveTextContent("$1.50");
    expect(screen.getByTestId("chart")).toHaveTextContent("1 buckets with spend");
    const bar = screen.getByTestId("budget-bar");
    expect(bar).toHaveTextContent("All apps · today");
    expect(bar).toHaveTextContent("$1.50 of $2.00 · blocks when reached");
    expect(within(bar).getByRole("meter")).toHaveAttribute("aria-valuenow", "75");
    const table = screen.getByTestId("breakdown-table");
    expect(table).toHaveTextContent("scripts");
    await userEvent.click(screen.getByTestId("breakdown-byModel"));
    expect(screen.getByTestId("breakdown-table")).toHaveTextContent("chat-model");
    const query = core.invoke.mock.calls.find(([c]) => c === "usage_report")?.[1] as { query: { bucket: string } };
    expect(query.query.bucket).toBe("day");
  });

  it("asks for hours when the range is today, and says what to do when it is empty", async () => {
    backend(() => report({ overall: totals(null, 0, 0), series: [], byApp: [], byAlias: [], byProvider: [], byModel: [], budgets: [] }));
    render(<UsagePage />);
    await userEvent.click(screen.getByTestId("range-today"));
    expect(await screen.findByTestId("usage-empty")).toHaveTextContent("Apps");
    expect(screen.getByTestId("budgets-empty")).toHaveTextContent("Settings");
    const last = core.invoke.mock.calls.filter(([c]) => c === "usage_report").at(-1)?.[1] as { query: { bucket: string } };
    expect(last.query.bucket).toBe("hour");
  });

  it("refreshes when new requests land", async () => {
    let spend = 1.5;
    backend(() => report({ overall: totals(null, spend, 3) }));
    render(<UsagePage />);
    expect(await screen.findByTestId("usage-spend")).toHaveTextContent("$1.50");
    spend = 2.25;
    await waitFor(() => expect(listenerCount("ledger-written")).toBeGreaterThan(0));
    emit("ledger-written", 9);
    await waitFor(() => expect(screen.getByTestId("usage-spend")).toHaveTextContent("$2.25"), { timeout: 4000 });
  });

  it("exports CSV to a path it proposes, and shows a failure where it happened", async () => {
    backend(() => report());
    render(<UsagePage />);
    await screen.findByTestId("usage-spend");
    await userEvent.click(screen.getByTestId("export-csv"));
    const path = await screen.findByTestId("export-path");
    await waitFor(() => expect((path as HTMLInputElement).value).toMatch(/^\/home\/me\/Downloads\/switchboard-usage-.*\.csv$/));
    await userEvent.clear(path);
    await userEvent.type(path, "/nope/x.csv");
    await userEvent.click(screen.getByTestId("export-save"));
    expect(await screen.findByTestId("export-error")).toHaveTextContent("choose a folder you can write to");
    await userEvent.clear(path);
    await userEvent.type(path, "/tmp/u.csv");
    await userEvent.click(screen.getByTestId("export-save"));
    expect(await screen.findByTestId("export-done")).toHaveTextContent("Saved 3 requests to /tmp/u.csv");
  });

  it("lists requests to models with no price, marks the costs that leave them out, and adds a price", async () => {
    const user = userEvent.setup();
    const priced = { ...totals(null, 1.5, 5), unpriced: 2 };
    backend(() =>
      report({
        overall: priced,
        byApp: [{ ...totals("scripts", 1.5, 5), unpriced: 2 }],
        unpriced: [{ providerId: "oa", model: "gpt-9-preview", requests: 2 }],
      }),
    );
    render(<UsagePage />);
    expect(await screen.findByTestId("usage-spend")).toHaveTextContent("$1.50*");
    expect(screen.getByTestId("unpriced-summary")).toHaveTextContent("2 requests to 1 model have no price");
    expect(screen.getByTestId("breakdown-cost")).toHaveTextContent("$1.50*");
    expect(screen.getByTestId("breakdown-unpriced-note")).toBeInTheDocument();

    await user.click(screen.getByTestId("add-price-oa-gpt-9-preview"));
    await user.click(screen.getByTestId("add-price-save"));
    expect(screen.getByTestId("add-price-error")).toHaveTextContent("enter the input price");
    await user.type(screen.getByTestId("price-input"), "1.25");
    await user.type(screen.getByTestId("price-output"), "10");
    await user.type(screen.getByTestId("price-cache-write-1h"), "abc");
    await user.click(screen.getByTestId("add-price-save"));
    expect(screen.getByTestId("add-price-error")).toHaveTextContent("cache write (1 hour)");
    await user.clear(screen.getByTestId("price-cache-write-1h"));
    await user.type(screen.getByTestId("price-cache-write-1h"), "2.5");
    await user.click(screen.getByTestId("add-price-save"));
    expect(await screen.findByTestId("price-added")).toHaveTextContent("priced from now on");
    const sent = core.invoke.mock.calls.find(([c]) => c === "set_price_override")?.[1];
    expect(sent).toEqual({
      price: { provider: "oa", model: "gpt-9-preview", input: 1.25, output: 10, cachedInput: null, cacheWrite: null, cacheWrite1h: 2.5 },
    });
  });
});
