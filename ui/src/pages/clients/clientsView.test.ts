import { describe, expect, it } from "vitest";

import type { App } from "../../api/types";
import { clientDto as client } from "../../test/fixtures";
import { NO_LIMITS } from "../apps/limitsForm";
import {
  EMPTY_GRID,
  applyCheckEvent,
  cellKey,
  connectedClients,
  defaultAliases,
  defaultAppChoice,
  gridSummary,
  installedText,
  restoredText,
  stateView,
  testHint,
  tokenPlanText,
} from "./clientsView";

function app(id: number, name: string, over: Partial<App> = {}): App {
  return { id, name, builtin: false, enabled: true, allowedAliases: null, budget: null, limits: NO_LIMITS, lastLimitHit: null, hasToken: true, createdAt: 0, lastUsedAt: null, ...over };
}

describe("a client's card", () => {
  it("says how it is connected, and where an unreadable file is wrong", () => {
    expect(stateView(client())).toEqual({ label: "Not connected", tone: "muted", detail: null });
    expect(stateView(client({ state: { kind: "connected" } })).tone).toBe("ok");
    const drifted = stateView(client({ state: { kind: "drifted", reason: "its base URL points at port 9000" } }));
    expect(drifted).toEqual({ label: "Drifted", tone: "warn", detail: "its base URL points at port 9000. Reconnect points it here again." });
    const broken = stateView(
      client({ state: { kind: "unreadable", path: "/home/me/.claude/settings.json", line: 3, column: 7, message: "expected `,`" } }),
    );
    expect(broken.label).toBe("Can’t read its file");
    expect(broken.detail).toBe(
      "/home/me/.claude/settings.json, line 3, column 7: expected `,`. Fix the file by hand; Switchboard never overwrites a file it can’t read.",
    );
    const unopenable = stateView(client({ state: { kind: "unreadable", path: "", line: null, column: null, message: "permission denied" } }));
    expect(unopenable.detail).toMatch(/^permission denied\. Fix/);
  });

  it("says where it is installed, with its version once known", () => {
    expect(installedText(client({ binary: "/usr/bin/claude" }), undefined)).toBe("/usr/bin/claude");
    expect(installedText(client({ binary: "/usr/bin/claude" }), "2.1.332 (Claude Code)")).toBe("/usr/bin/claude (2.1.332 (Claude Code))");
    expect(installedText(client({ configDir: true }), null)).toMatch(/config folder is here/);
    expect(installedText(client(), null)).toBe("Not found on this computer (Connect still writes its config)");
  });
});

describe("the Connect dialog's defaults", () => {
  const chat = app(1, "Chat window", { builtin: true });

  it("picks the app named after the client, else offers to create one", () => {
    expect(defaultAppChoice(client(), [chat, app(2, "scripts")])).toEqual({ kind: "create" });
    expect(defaultAppChoice(client(), [chat, app(3, "Claude Code")])).toEqual({ kind: "existing", id: 3 });
    // The app of Switchboard's record wins over the name.
    expect(defaultAppChoice(client({ app: "mine", appId: 4 }), [app(3, "Claude Code"), app(4, "mine")])).toEqual({ kind: "existing", id: 4 });
  });

  it("names an alias per slot: the file's, else the slot's default, else the first slot's", () => {
    expect(defaultAliases(client(), ["code", "fast", "general"])).toEqual({ main: "code", haiku: "fast" });
    expect(defaultAliases(client(), ["general", "long-context"])).toEqual({ main: "general", haiku: "general" });
    expect(defaultAliases(client({ aliases: { main: "mine", haiku: "gone" } }), ["mine", "fast"])).toEqual({ main: "mine", haiku: "fast" });
    expect(defaultAliases(client(), [])).toEqual({ main: "", haiku: "" });
  });

  it("says what happens to the token before it happens", () => {
    expect(tokenPlanText("new", "Claude Code")).toBe("A new app “Claude Code” is made, with its own token.");
    expect(tokenPlanText("reuse", "scripts")).toMatch(/already holds “scripts”’s token/);
    expect(tokenPlanText("rotate", "scripts")).toMatch(/rotated: anything else still using its old token stops working/);
    expect(tokenPlanText("elsewhere", "Zed")).toMatch(/No token is written/);
  });
});

describe("after an action", () => {
  it("says per file what Disconnect restored", () => {
    expect(restoredText({ path: "/a", restored: "exactly" })).toBe("/a: back exactly as it was");
    expect(restoredText({ path: "/a", restored: "keysOnly" })).toBe("/a: edited since, so only Switchboard’s keys were taken out");
    expect(restoredText({ path: "/a", restored: "removed" })).toBe("/a: removed (it did not exist before)");
  });

  it("gives a failed Test its next step", () => {
    expect(testHint({ status: 0, message: "nothing answered at http://127.0.0.1:9/v1/messages" })).toMatch(/Reconnect it to this endpoint/);
    expect(testHint({ status: 401, message: "unauthorized" })).toMatch(/isn’t one of this Switchboard’s apps/);
    expect(testHint({ status: 404, message: "no alias" })).toMatch(/isn’t an alias here/);
    expect(testHint({ status: 502, message: "every target failed" })).toMatch(/Check shows which target/);
  });

  it("lists the clients a port change moves", () => {
    const list = [
      client({ id: "a", app: "A", state: { kind: "drifted", reason: "port" } }),
      client({ id: "b", app: null, state: { kind: "connected" } }),
      client({ id: "c", app: "C", state: { kind: "notConnected" } }),
      client({ id: "d", app: "D", state: { kind: "connected" } }),
    ];
    expect(connectedClients(list).map((c) => c.id)).toEqual(["a", "d"]);
  });
});

describe("the Check grid", () => {
  it("fills in cell by cell and sums up", () => {
    let grid = applyCheckEvent(EMPTY_GRID, {
      type: "started",
      alias: "code",
      rows: [
        { model: "anthropic/claude-sonnet-4-5", note: null },
        { model: "anthropic/claude-haiku-4-5", note: null },
      ],
      cases: [
        { id: "plain", label: "Plain" },
        { id: "thinking", label: "Thinking" },
      ],
    });
    expect(gridSummary(grid)).toBe("Checking… 0 of 4 done");
    grid = applyCheckEvent(grid, { type: "cell", row: 0, case: "plain", outcome: "pass", detail: "answered: hi", elapsedMs: 120 });
    grid = applyCheckEvent(grid, { type: "cell", row: 0, case: "thinking", outcome: "pass", detail: "thought", elapsedMs: 300 });
    grid = applyCheckEvent(grid, { type: "cell", row: 1, case: "plain", outcome: "fail", detail: "400: refused", elapsedMs: 20 });
    expect(grid.cells[cellKey(1, "plain")]?.detail).toBe("400: refused");
    grid = applyCheckEvent(grid, { type: "cell", row: 1, case: "thinking", outcome: "skip", detail: "no reasoning", elapsedMs: 0 });
    grid = applyCheckEvent(grid, { type: "done", cancelled: false });
    expect(gridSummary(grid)).toBe("2 of 3 passed · 1 failed · 1 skipped");
    expect(gridSummary({ ...grid, cancelled: true })).toBe("Stopped after 4 of 4: 2 of 3 passed · 1 failed · 1 skipped");
  });
});
