//! The routing decision as a table: capabilities, strategy, cooldowns and stickiness → the order tried.

use std::sync::Arc;

use serde_json::Value;

use super::*;
use crate::providers::{Call, Preset, UpstreamError, presets};

struct Stub {
    id: &'static str,
    preset: &'static Preset,
}

impl Provider for Stub {
    fn id(&self) -> &str {
        self.id
    }
    fn preset(&self) -> &'static Preset {
        self.preset
    }
    fn build(&self, _call: Call<'_>) -> Result<reqwest::RequestBuilder, UpstreamError> {
        unreachable!("routing never sends")
    }
    fn models_request(&self) -> Option<reqwest::RequestBuilder> {
        None
    }
    fn parse_models(&self, _body: &Value) -> Vec<String> {
        Vec::new()
    }
    fn endpoint(&self) -> &crate::providers::Endpoint {
        unreachable!("routing never reads keys")
    }
}

/// `target("a", "openai", caps)` with weight 1.
fn target(id: &'static str, kind: &str, caps: Capabilities) -> Target {
    let preset = presets::find(kind).unwrap();
    Target { provider: Arc::new(Stub { id, preset }), model: "m".into(), weight: 1, capabilities: caps }
}

fn caps(window: Option<u64>, tools: Option<bool>, vision: Option<bool>) -> Capabilities {
    Capabilities { context_window: window, tools, vision, ..Capabilities::default() }
}

fn labels(result: Result<Vec<Target>, Vec<String>>) -> Result<Vec<String>, Vec<String>> {
    result.map(|targets| targets.iter().map(Target::label).collect())
}

#[test]
fn routing_decisions() {
    let unknown = Capabilities::default();
    let small = caps(Some(8_000), Some(true), Some(false));
    let big = caps(Some(200_000), Some(true), Some(true));
    let no_tools = caps(Some(200_000), Some(false), Some(true));
    let plain = Needs::default();
    let long = Needs { input_tokens: 50_000, ..Needs::default() };
    let image = Needs { vision: true, ..Needs::default() };
    let tools = Needs { tools: true, ..Needs::default() };
    let none_cooling = |_: &str| false;

    struct Case<'a> {
        name: &'a str,
        targets: Vec<Target>,
        needs: Needs,
        strategy: Strategy,
        cooling: &'a dyn Fn(&str) -> bool,
        sticky: Option<&'a str>,
        unit: f64,
        expect: Result<Vec<&'a str>, &'a str>,
    }
    let cases = [
        Case {
            name: "fallback keeps the configured order",
            targets: vec![target("a", "openai", small), target("b", "anthropic", big)],
            needs: plain,
            strategy: Strategy::Fallback,
            cooling: &none_cooling,
            sticky: None,
            unit: 0.0,
            expect: Ok(vec!["a/m", "b/m"]),
        },
        Case {
            name: "a long prompt skips the small window",
            targets: vec![target("a", "openai", small), target("b", "anthropic", big)],
            needs: long,
            strategy: Strategy::Fallback,
            cooling: &none_cooling,
            sticky: None,
            unit: 0.0,
            expect: Ok(vec!["b/m"]),
        },
        Case {
            name: "images skip targets without vision, unknown capability is kept",
            targets: vec![target("a", "openai", small), target("b", "gemini", unknown), target("c", "openai", big)],
            needs: image,
            strategy: Strategy::Fallback,
            cooling: &none_cooling,
            sticky: None,
            unit: 0.0,
            expect: Ok(vec!["b/m", "c/m"]),
        },
        Case {
            name: "when none fits, the error says why for each",
            targets: vec![target("a", "openai", small), target("b", "openai", no_tools)],
            needs: Needs { tools: true, input_tokens: 50_000, ..Needs::default() },
            strategy: Strategy::Fallback,
            cooling: &none_cooling,
            sticky: None,
            unit: 0.0,
            expect: Err("a/m has a 8000-token window, too small for about 50000 tokens; b/m does not support tools"),
        },
        Case {
            name: "tools skip targets that lack them",
            targets: vec![target("a", "openai", no_tools), target("b", "openai", big)],
            needs: tools,
            strategy: Strategy::Fallback,
            cooling: &none_cooling,
            sticky: None,
            unit: 0.0,
            expect: Ok(vec!["b/m"]),
        },
        Case {
            name: "a cooling target moves last",
            targets: vec![target("a", "openai", big), target("b", "openai", big), target("c", "openai", big)],
            needs: plain,
            strategy: Strategy::Fallback,
            cooling: &|t: &str| t == "a/m",
            sticky: None,
            unit: 0.0,
            expect: Ok(vec!["b/m", "c/m", "a/m"]),
        },
        Case {
            name: "all cooling still tries them, in order",
            targets: vec![target("a", "openai", big), target("b", "openai", big)],
            needs: plain,
            strategy: Strategy::Fallback,
            cooling: &|_: &str| true,
            sticky: None,
            unit: 0.0,
            expect: Ok(vec!["a/m", "b/m"]),
        },
        Case {
            name: "weighted draws the first by weight (low draw → first)",
            targets: vec![target("a", "openai", big), Target { weight: 3, ..target("b", "openai", big) }],
            needs: plain,
            strategy: Strategy::Weighted,
            cooling: &none_cooling,
            sticky: None,
            unit: 0.2,
            expect: Ok(vec!["a/m", "b/m"]),
        },
        Case {
            name: "weighted draws the first by weight (high draw → heavier)",
            targets: vec![target("a", "openai", big), Target { weight: 3, ..target("b", "openai", big) }],
            needs: plain,
            strategy: Strategy::Weighted,
            cooling: &none_cooling,
            sticky: None,
            unit: 0.3,
            expect: Ok(vec!["b/m", "a/m"]),
        },
        Case {
            name: "weighted never draws a cooling target",
            targets: vec![Target { weight: 100, ..target("a", "openai", big) }, target("b", "openai", big)],
            needs: plain,
            strategy: Strategy::Weighted,
            cooling: &|t: &str| t == "a/m",
            sticky: None,
            unit: 0.0,
            expect: Ok(vec!["b/m", "a/m"]),
        },
        Case {
            name: "signed thinking stays with the target that signed it",
            targets: vec![target("a", "openai", big), target("b", "anthropic", big), target("c", "gemini", big)],
            needs: Needs { signed_thinking: true, ..Needs::default() },
            strategy: Strategy::Fallback,
            cooling: &none_cooling,
            sticky: Some("b/m"),
            unit: 0.0,
            expect: Ok(vec!["b/m"]),
        },
    ];
    for case in cases {
        let got = labels(order(&case.targets, &case.needs, case.strategy, case.sticky, case.cooling, case.unit));
        let expect = case.expect.map(|v| v.into_iter().map(str::to_owned).collect()).map_err(|e| vec![e.to_owned()]);
        let got = got.map_err(|reasons| vec![reasons.join("; ")]);
        assert_eq!(got, expect, "{}", case.name);
    }
}

#[test]
fn needs_are_read_from_the_request() {
    use crate::protocol::neutral::{ImageSource, Message, Role, Tool};
    let mut request = ChatRequest::default();
    request.messages.push(Message::text(Role::User, "x".repeat(4000)));
    assert_eq!(Needs::of(&request), Needs { input_tokens: 1000, ..Needs::default() });
    request.messages[0].content.push(Part::Image {
        source: ImageSource::Url("https://example.com/a.png".into()),
        detail: None,
        cache: None,
    });
    request.tools.push(Tool {
        name: "t".into(),
        description: None,
        parameters: serde_json::json!({}),
        strict: None,
        cache: None,
    });
    request.messages.push(Message {
        role: Role::Assistant,
        content: vec![Part::Thinking { text: "hm".into(), signature: Some("sig".into()) }],
    });
    let needs = Needs::of(&request);
    assert!(needs.vision && needs.tools && needs.signed_thinking);
}

/// The providers a configuration with these `(id, base_url)` providers of kind `openai` builds.
fn openai_registry(providers: &[(&str, &str)]) -> Registry {
    let toml: String = providers
        .iter()
        .map(|(id, url)| format!("[[providers]]\nid = \"{id}\"\nkind = \"openai\"\nbase_url = \"{url}\"\n"))
        .collect();
    let config = crate::config::Config::from_toml(&toml, "test").unwrap();
    let secrets = crate::secrets::EnvSecrets::default();
    let settings = crate::providers::HttpSettings::default();
    Registry::from_config(&config.providers, &secrets, &reqwest::Client::new(), &settings).unwrap()
}

#[test]
fn hosts_without_the_responses_api_are_remembered_while_their_address_stays() {
    let memory = Memory::default();
    let providers = [("oa", "http://127.0.0.1:9/v1"), ("other", "http://127.0.0.1:10/v1")];
    let offers = |registry: &Registry, id: &str| registry.get(id).unwrap().offers_responses();
    let first = openai_registry(&providers);
    assert!(offers(&first, "oa"));
    memory.note_no_responses(first.get("oa").unwrap().as_ref());
    assert!(!offers(&first, "oa") && offers(&first, "other"));

    // A reload builds new providers: the one at the same address keeps the mark.
    let second = openai_registry(&providers);
    assert!(offers(&second, "oa"), "a fresh provider knows nothing by itself");
    memory.restore(&second);
    assert!(!offers(&second, "oa") && offers(&second, "other"));

    // A new address gets its own chance, and the old one is forgotten with it.
    let moved = openai_registry(&[("oa", "http://127.0.0.1:11/v1")]);
    memory.restore(&moved);
    assert!(offers(&moved, "oa"));
    let back = openai_registry(&providers);
    memory.restore(&back);
    assert!(offers(&back, "oa"));
}
