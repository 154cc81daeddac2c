// Ready-to-paste setup for the clients in `/work/shared/CLIENTS.md`, filled with the real endpoint, token and aliases.

export const TOKEN_PLACEHOLDER = "<your token>";
export const ALIAS_PLACEHOLDER = "<alias>";

export type ClientId = "curl" | "python" | "js" | "continue" | "cline" | "zed" | "claude-code" | "codex";

export interface SnippetBlock {
  /** Where it goes, e.g. `~/.codex/config.toml`. */
  caption: string;
  code: string;
}

export interface Snippet {
  id: ClientId;
  label: string;
  /** One sentence on where to put it. */
  note: string;
  blocks: SnippetBlock[];
}

export interface SnippetInput {
  /** The OpenAI-style base URL, e.g. `http://127.0.0.1:7352/v1`. */
  endpoint: string;
  /** `null` when the token is not known (an existing app): a placeholder goes in. */
  token: string | null;
  /** The alias apps should ask for by default. */
  model: string;
  /** A cheaper alias for background work; the same as `model` when there is none. */
  fastModel: string;
}

/** `http://127.0.0.1:7352/v1` → `http://127.0.0.1:7352`: Anthropic-style clients append `/v1/messages` themselves. */
export function rootUrl(endpoint: string): string {
  return endpoint.replace(/\/+$/, "").replace(/\/v1$/, "");
}

/**
 * The aliases to put in snippets, among those the app may use: `general`, else the first that isn't `fast`;
 * and `fast` for background work, else the same.
 */
export function pickAliases(all: readonly string[], allowed: readonly string[] | null): { model: string; fastModel: string } {
  const usable = allowed ? allowed.filter((a) => all.includes(a)) : [...all];
  const candidates = usable.length > 0 ? usable : (allowed ?? []);
  const model = candidates.includes("general")
    ? "general"
    : (candidates.find((a) => a !== "fast") ?? candidates[0] ?? ALIAS_PLACEHOLDER);
  const fastModel = candidates.includes("fast") ? "fast" : model;
  return { model, fastModel };
}

const json = (value: unknown) => JSON.stringify(value);

export function buildSnippets({ endpoint, token, model, fastModel }: SnippetInput): Snippet[] {
  const base = endpoint.replace(/\/+$/, "");
  const root = rootUrl(endpoint);
  const key = token ?? TOKEN_PLACEHOLDER;
  const models = fastModel === model ? [model] : [model, fastModel];

  return [
    {
      id: "curl",
      label: "curl",
      note: "A quick check from a terminal.",
      blocks: [
        {
          caption: "Terminal",
          code: [
            `curl ${base}/chat/completions \\`,
            `  -H "Authorization: Bearer ${key}" \\`,
            `  -H "Content-Type: application/json" \\`,
            `  -d '${json({ model, messages: [{ role: "user", content: "Say hello" }] })}'`,
          ].join("\n"),
        },
      ],
    },
    {
      id: "python",
      label: "Python",
      note: "With the official openai package (pip install openai).",
      blocks: [
        {
          caption: "Python",
          code: [
            "from openai import OpenAI",
            "",
            `client = OpenAI(base_url=${json(base)}, api_key=${json(key)})`,
            "reply = client.chat.completions.create(",
            `    model=${json(model)},`,
            `    messages=[{"role": "user", "content": "Say hello"}],`,
            ")",
            "print(reply.choices[0].message.content)",
          ].join("\n"),
        },
      ],
    },
    {
      id: "js",
      label: "JavaScript",
      note: "With the official openai package (npm install openai).",
      blocks: [
        {
          caption: "JavaScript / TypeScript",
          code: [
            'import OpenAI from "openai";',
            "",
            `const client = new OpenAI({ baseURL: ${json(base)}, apiKey: ${json(key)} });`,
            "const reply = await client.chat.completions.create({",
            `  model: ${json(model)},`,
            '  messages: [{ role: "user", content: "Say hello" }],',
            "});",
            "console.log(reply.choices[0].message.content);",
          ].join("\n"),
        },
      ],
    },
    {
      id: "continue",
      label: "Continue",
      note: "Add the model to Continue’s config.yaml (the gear in the Continue panel opens it).",
      blocks: [
        {
          caption: "~/.continue/config.yaml",
          code: [
            "models:",
            ...models.flatMap((m) => [
              `  - name: Switchboard ${m}`,
              "    provider: openai",
              `    model: ${m}`,
              `    apiBase: ${base}`,
              `    apiKey: ${key}`,
            ]),
          ].join("\n"),
        },
      ],
    },
    {
      id: "cline",
      label: "Cline / Roo Code",
      note: "In the extension’s settings choose the API provider “OpenAI Compatible” and fill in:",
      blocks: [
        {
          caption: "Settings",
          code: [`Base URL:  ${base}`, `API Key:   ${key}`, `Model ID:  ${model}`].join("\n"),
        },
      ],
    },
    {
      id: "zed",
      label: "Zed",
      note: "Zed keeps keys out of settings.json: paste the token under Agent settings → LLM Providers → Switchboard, or start Zed with SWITCHBOARD_API_KEY set. max_tokens is the context window Zed assumes; set it to your model’s.",
      blocks: [
        {
          caption: "settings.json",
          code: JSON.stringify(
            {
              language_models: {
                openai_compatible: {
                  Switchboard: {
                    api_url: base,
                    available_models: models.map((m) => ({ name: m, display_name: m, max_tokens: 128000 })),
                  },
                },
              },
            },
            null,
            2,
          ),
        },
        { caption: "Or in the shell that starts Zed", code: `export SWITCHBOARD_API_KEY=${json(key)}` },
      ],
    },
    {
      id: "claude-code",
      label: "Claude Code",
      note: "Claude Code speaks the Anthropic API, so it gets the root URL without /v1. Set these before running claude.",
      blocks: [
        {
          caption: "Terminal",
          code: [
            `export ANTHROPIC_BASE_URL=${json(root)}`,
            `export ANTHROPIC_AUTH_TOKEN=${json(key)}`,
            `export ANTHROPIC_MODEL=${json(model)}`,
            // Claude Code asks for its Opus/Sonnet/Haiku tiers and sub-agents by these names (the older
            // ANTHROPIC_SMALL_FAST_MODEL for releases before 2.x): each must name an alias, not a Claude model.
            `export ANTHROPIC_DEFAULT_OPUS_MODEL=${json(model)}`,
            `export ANTHROPIC_DEFAULT_SONNET_MODEL=${json(model)}`,
            `export ANTHROPIC_DEFAULT_HAIKU_MODEL=${json(fastModel)}`,
            `export CLAUDE_CODE_SUBAGENT_MODEL=${json(model)}`,
            `export ANTHROPIC_SMALL_FAST_MODEL=${json(fastModel)}`,
            "export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
            "claude",
          ].join("\n"),
        },
      ],
    },
    {
      id: "codex",
      label: "Codex CLI",
      note: "Codex reads the token from the environment variable named by env_key.",
      blocks: [
        {
          caption: "~/.codex/config.toml",
          code: [
            'model_provider = "switchboard"',
            `model = ${json(model)}`,
            "",
            "[model_providers.switchboard]",
            'name = "Switchboard"',
            `base_url = ${json(base)}`,
            'env_key = "SWITCHBOARD_TOKEN"',
            'wire_api = "responses"',
          ].join("\n"),
        },
        { caption: "Terminal", code: [`export SWITCHBOARD_TOKEN=${json(key)}`, "codex"].join("\n") },
      ],
    },
  ];
}
