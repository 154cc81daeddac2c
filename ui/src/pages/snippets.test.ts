import { describe, expect, it } from "vitest";

import { buildSnippets, pickAliases, rootUrl, type ClientId } from "./snippets";

function code(id: ClientId, token: string | null = "tok_1"): string {
  const s = buildSnippets({ endpoint: "http://127.0.0.1:7352/v1", token, model: "general", fastModel: "fast" });
  return (s.find((x) => x.id === id)?.blocks ?? []).map((b) => b.code).join("\n");
}

describe("snippets", () => {
  it.each([
    ["http://127.0.0.1:7352/v1", "http://127.0.0.1:7352"],
    ["http://127.0.0.1:7352/v1/", "http://127.0.0.1:7352"],
    ["http://localhost:9000", "http://localhost:9000"],
  ])("root of %s is %s", (endpoint, root) => {
    expect(rootUrl(endpoint)).toBe(root);
  });

  it.each([
    [["general", "fast", "code"], null, "general", "fast"],
    [["code", "fast"], null, "code", "fast"],
    [["general", "fast", "code"], ["code"], "code", "code"],
    [["general", "fast", "code"], ["fast", "code"], "code", "fast"],
    [["fast"], null, "fast", "fast"],
    [[], null, "<alias>", "<alias>"],
  ] as const)("picks aliases from %o allowed %o", (all, allowed, model, fastModel) => {
    expect(pickAliases(all, allowed)).toEqual({ model, fastModel });
  });

  it("gives Claude Code the root URL and all of its variables", () => {
    expect(code("claude-code")).toBe(
      [
        'export ANTHROPIC_BASE_URL="http://127.0.0.1:7352"',
        'export ANTHROPIC_AUTH_TOKEN="tok_1"',
        'export ANTHROPIC_MODEL="general"',
        'export ANTHROPIC_DEFAULT_OPUS_MODEL="general"',
        'export ANTHROPIC_DEFAULT_SONNET_MODEL="general"',
        'export ANTHROPIC_DEFAULT_HAIKU_MODEL="fast"',
        'export CLAUDE_CODE_SUBAGENT_MODEL="general"',
        'export ANTHROPIC_SMALL_FAST_MODEL="fast"',
        "export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
        "claude",
      ].join("\n"),
    );
  });

  it("writes Codex's config.toml with top-level keys before the provider table", () => {
    expect(code("codex")).toBe(
      [
        'model_provider = "switchboard"',
        'model = "general"',
        "",
        "[model_providers.switchboard]",
        'name = "Switchboard"',
        'base_url = "http://127.0.0.1:7352/v1"',
        'env_key = "SWITCHBOARD_TOKEN"',
        'wire_api = "responses"',
        'export SWITCHBOARD_TOKEN="tok_1"',
        "codex",
      ].join("\n"),
    );
  });

  it("writes valid JSON for Zed with the models, and no key in it", () => {
    const settings = code("zed").split("\nexport ")[0] ?? "";
    expect(JSON.parse(settings)).toEqual({
      language_models: {
        openai_compatible: {
          Switchboard: {
            api_url: "http://127.0.0.1:7352/v1",
            available_models: [
              { name: "general", display_name: "general", max_tokens: 128000 },
              { name: "fast", display_name: "fast", max_tokens: 128000 },
            ],
          },
        },
      },
    });
  });

  it("uses a placeholder when the token isn't known", () => {
    for (const id of ["curl", "python", "js", "continue", "cline", "zed", "claude-code", "codex"] as const) {
      expect(code(id, null)).toContain("<your token>");
    }
    expect(code("continue", null)).toContain("provider: openai\n    model: general\n    apiBase: http://127.0.0.1:7352/v1");
  });
});
