import { describe, expect, it } from "vitest";

import type { ImportPreview } from "../api/generated/ImportPreview";
import { changesAnything, countOf, describeCounts, followUps, previewLines } from "./configView";

const none = { added: 0, changed: 0, removed: 0, unchanged: 0 };

function preview(over: Partial<ImportPreview> = {}): ImportPreview {
  return {
    path: "/home/me/switchboard.toml",
    providers: none,
    aliases: none,
    apps: none,
    settingsChanged: false,
    missingKeys: [],
    appsNeedingToken: [],
    ...over,
  };
}

describe("configView", () => {
  it("counts what moves and leaves out what stays", () => {
    expect(describeCounts({ added: 2, changed: 1, removed: 1, unchanged: 5 })).toBe("2 added, 1 changed, 1 removed");
    expect(describeCounts({ ...none, unchanged: 3 })).toBe("no change");
    expect(previewLines(preview({ aliases: { ...none, removed: 1 }, settingsChanged: true }))).toEqual([
      { label: "Providers", text: "no change" },
      { label: "Aliases", text: "1 removed" },
      { label: "Apps", text: "no change" },
      { label: "Settings", text: "changed" },
    ]);
  });

  it("counts in words", () => {
    expect([countOf(1, "app"), countOf(2, "alias", "aliases"), countOf(0, "provider")]).toEqual(["1 app", "2 aliases", "0 providers"]);
  });

  it("knows when a file changes nothing", () => {
    expect(changesAnything(preview({ providers: { ...none, unchanged: 2 } }))).toBe(false);
    expect(changesAnything(preview({ apps: { ...none, added: 1 } }))).toBe(true);
    expect(changesAnything(preview({ settingsChanged: true }))).toBe(true);
  });

  it("says where to add missing keys and new apps' tokens", () => {
    const lines = followUps(
      preview({
        missingKeys: [
          { provider: "openai", label: "default" },
          { provider: "openai", label: "backup" },
        ],
        appsNeedingToken: ["Cursor"],
      }),
    );
    expect(lines).toEqual([
      "openai: its key is not in this computer's keychain; add the key on the Providers page.",
      "openai: the key “backup” is not in this computer's keychain; add the key on the Providers page.",
      "Cursor: a new app; rotate its token on the Apps page and give the new token to the app.",
    ]);
  });
});
