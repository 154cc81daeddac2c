//! The upstreams Switchboard knows by name: where they live, which protocol they speak, and their quirks.
//! Adding an OpenAI-compatible host is one entry here.

use crate::protocol::Protocol;

#[derive(Debug)]
pub struct Preset {
    /// The `kind` in the config.
    pub id: &'static str,
    pub name: &'static str,
    pub protocol: Protocol,
    /// `None` where every user has their own (Azure, a custom URL).
    pub base_url: Option<&'static str>,
    pub needs_key: bool,
    /// Whether a stream may be sent `stream_options.include_usage` (some hosts reject unknown fields).
    pub stream_usage_option: bool,
    /// Whether the host offers OpenAI's Responses API at `{base}/responses` with OpenAI's semantics (stored
    /// responses, `previous_response_id`), so Responses clients are passed through rather than translated onto
    /// chat completions. Only OpenAI's own API (both of its kinds); hosts that copy part of it are reached through
    /// chat completions. A host of kind `openai` found without `/responses` after all (a compatible server declared
    /// `openai`, a proxy) is remembered as such: see `Endpoint::lacks_responses`.
    pub responses_api: bool,
    /// The provider whose table in `data/prices.toml` prices this kind's models: its own id, or the API it is
    /// another way into (`openai-responses` → `openai`).
    pub prices: &'static str,
    /// Models to offer where the upstream has no models endpoint.
    pub shipped_models: &'static [&'static str],
    /// First-run aliases: which model of this provider suits `general`, `fast`, `code` and `long-context`.
    pub suggested: &'static [(&'static str, &'static str)],
}

impl Preset {
    /// The model suggested for a first-run alias, if any.
    pub fn suggested(&self, alias: &str) -> Option<&'static str> {
        self.suggested.iter().find(|(name, _)| *name == alias).map(|(_, model)| *model)
    }
}

const fn openai_compatible(id: &'static str, name: &'static str, base_url: &'static str) -> Preset {
    Preset {
        id,
        name,
        protocol: Protocol::OpenAiChat,
        base_url: Some(base_url),
        needs_key: true,
        stream_usage_option: true,
        responses_api: false,
        prices: id,
        shipped_models: &[],
        suggested: &[],
    }
}

/// The first-run aliases OpenAI's models suit, by either kind.
const OPENAI_SUGGESTED: &[(&str, &str)] =
    &[("general", "gpt-5-mini"), ("fast", "gpt-5-nano"), ("code", "gpt-5"), ("long-context", "gpt-4.1")];

pub static PRESETS: &[Preset] = &[
    // OpenAI's own API is the one host reached through the Responses API as well as chat completions.
    Preset {
        responses_api: true,
        suggested: OPENAI_SUGGESTED,
        ..openai_compatible("openai", "OpenAI", "https://api.openai.com/v1")
    },
    // OpenAI through its Responses API only: every chat request, from any client, goes to `{base}/responses`. Some
    // OpenAI models are offered there and not on chat completions (the Codex models such as `gpt-5-codex`, the
    // `-pro` models such as `o3-pro` and `gpt-5-pro`), and reasoning models keep their encrypted reasoning between
    // turns there. Same key and prices as `openai`.
    Preset {
        protocol: Protocol::Responses,
        responses_api: true,
        prices: "openai",
        suggested: OPENAI_SUGGESTED,
        ..openai_compatible("openai-responses", "OpenAI (Responses API)", "https://api.openai.com/v1")
    },
    Preset {
        id: "anthropic",
        name: "Anthropic",
        protocol: Protocol::Anthropic,
        base_url: Some("https://api.anthropic.com"),
        needs_key: true,
        stream_usage_option: false,
        responses_api: false,
        prices: "anthropic",
        shipped_models: &[],
        suggested: &[
            ("general", "claude-sonnet-4-5"),
            ("fast", "claude-haiku-4-5"),
            ("code", "claude-sonnet-4-5"),
            ("long-context", "claude-sonnet-4-5"),
        ],
    },
    Preset {
        id: "gemini",
        name: "Google Gemini",
        protocol: Protocol::Gemini,
        base_url: Some("https://generativelanguage.googleapis.com/v1beta"),
        needs_key: true,
        stream_usage_option: false,
        responses_api: false,
        prices: "gemini",
        shipped_models: &[],
        suggested: &[
            ("general", "gemini-2.5-flash"),
            ("fast", "gemini-2.5-flash-lite"),
            ("code", "gemini-2.5-pro"),
            ("long-context", "gemini-2.5-pro"),
        ],
    },
    // OpenRouter reports each request's cost in `usage.cost`, which the ledger prefers to its own price table.
    Preset {
        suggested: &[
            ("general", "anthropic/claude-sonnet-4.5"),
            ("fast", "google/gemini-2.5-flash"),
            ("code", "anthropic/claude-sonnet-4.5"),
            ("long-context", "google/gemini-2.5-pro"),
        ],
        ..openai_compatible("openrouter", "OpenRouter", "https://openrouter.ai/api/v1")
    },
    Preset {
        suggested: &[("general", "llama-3.3-70b-versatile"), ("fast", "llama-3.1-8b-instant")],
        ..openai_compatible("groq", "Groq", "https://api.groq.com/openai/v1")
    },
    // DeepSeek's reasoner streams its thinking as `reasoning_content`, which protocol::openai_chat reads.
    Preset {
        suggested: &[("general", "deepseek-chat"), ("fast", "deepseek-chat"), ("code", "deepseek-chat")],
        ..openai_compatible("deepseek", "DeepSeek", "https://api.deepseek.com/v1")
    },
    // Mistral rejects fields it does not know, so no `stream_options`; it sends usage in the last chunk anyway.
    Preset {
        stream_usage_option: false,
        suggested: &[
            ("general", "mistral-large-latest"),
            ("fast", "mistral-small-latest"),
            ("code", "codestral-latest"),
        ],
        ..openai_compatible("mistral", "Mistral", "https://api.mistral.ai/v1")
    },
    openai_compatible("xai", "xAI", "https://api.x.ai/v1"),
    openai_compatible("together", "Together AI", "https://api.together.xyz/v1"),
    openai_compatible("fireworks", "Fireworks", "https://api.fireworks.ai/inference/v1"),
    openai_compatible("cerebras", "Cerebras", "https://api.cerebras.ai/v1"),
    // Moonshot's Kimi models; its documented balance endpoint is read on the Providers page (`balance.rs`).
    openai_compatible("moonshot", "Moonshot (Kimi)", "https://api.moonshot.ai/v1"),
    // Perplexity has no models endpoint and always reports usage.
    Preset {
        stream_usage_option: false,
        shipped_models: &["sonar", "sonar-pro", "sonar-reasoning", "sonar-reasoning-pro", "sonar-deep-research"],
        ..openai_compatible("perplexity", "Perplexity", "https://api.perplexity.ai")
    },
    // Azure: the user's resource URL; the model is a deployment name in the path; `api-key` header. Its Responses
    // API lives on another path scheme (`/openai/v1/responses`) and is not passed through yet: translated instead.
    Preset { base_url: None, ..openai_compatible("azure", "Azure OpenAI", "") },
    Preset { needs_key: false, ..openai_compatible("ollama", "Ollama", "http://127.0.0.1:11434/v1") },
    Preset { needs_key: false, ..openai_compatible("lmstudio", "LM Studio", "http://127.0.0.1:1234/v1") },
    // Any other OpenAI-compatible URL; a key is optional.
    Preset { base_url: None, needs_key: false, ..openai_compatible("custom", "Custom (OpenAI-compatible)", "") },
];

pub fn find(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique() {
        for (i, p) in PRESETS.iter().enumerate() {
            assert!(PRESETS[i + 1..].iter().all(|q| q.id != p.id), "{} twice", p.id);
        }
    }

    #[test]
    fn only_openai_itself_is_reached_through_the_responses_api() {
        let offering: Vec<&str> = PRESETS.iter().filter(|p| p.responses_api).map(|p| p.id).collect();
        assert_eq!(offering, ["openai", "openai-responses"]);
        let speaking: Vec<&str> = PRESETS.iter().filter(|p| p.protocol == Protocol::Responses).map(|p| p.id).collect();
        assert_eq!(speaking, ["openai-responses"]);
    }

    #[test]
    fn every_kind_is_priced_from_a_table_of_its_own_or_its_api() {
        for preset in PRESETS {
            assert!(preset.prices == preset.id || find(preset.prices).is_some(), "{}", preset.id);
        }
        assert_eq!(find("openai-responses").unwrap().prices, "openai");
    }
}
