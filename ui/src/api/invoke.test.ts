import { beforeEach, describe, expect, it, vi } from "vitest";

import { answer, core, resetTauriMocks } from "../test/tauri-mocks";
import { copyEndpoint, gatewayStatus } from "./gateway";
import { CommandError, NOT_IN_APP, invoke, toCommandError } from "./invoke";

vi.mock("@tauri-apps/api/core", async () => (await import("../test/tauri-mocks")).core);
vi.mock("@tauri-apps/api/event", async () => (await import("../test/tauri-mocks")).event);

beforeEach(() => {
  resetTauriMocks();
});

describe("invoke", () => {
  it("turns the backend's { kind, message } into a CommandError", async () => {
    answer({ copy_endpoint: () => Promise.reject({ kind: "clipboard", message: "no clipboard on this display" }) });

    const err: unknown = await copyEndpoint().catch((e: unknown) => e);

    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ kind: "clipboard", message: "no clipboard on this display" });
  });

  it("passes the answer through untouched", async () => {
    const status = { state: "starting", endpoint: "http://127.0.0.1:7352/v1", port: 7352, bind: "127.0.0.1", error: null };
    answer({ gateway_status: () => Promise.resolve(status) });
    await expect(gatewayStatus()).resolves.toEqual(status);
  });

  it("rejects without calling Tauri outside the app", async () => {
    core.isTauri.mockReturnValue(false);
    await expect(invoke("gateway_status")).rejects.toMatchObject({ kind: NOT_IN_APP });
    expect(core.invoke).not.toHaveBeenCalled();
  });

  it.each([
    [new Error("boom"), "unknown", "boom"],
    ["plain string", "unknown", "plain string"],
    [42, "unknown", "the backend returned an unexpected error"],
    [{ kind: 1, message: "not ours" }, "unknown", "the backend returned an unexpected error"],
  ])("wraps odd rejections: %o", (input, kind, message) => {
    expect(toCommandError(input)).toMatchObject({ kind, message });
  });
});
