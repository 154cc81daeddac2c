//! Tests of `protocol/anthropic/`, kept apart so the converter reads on its own.

use serde_json::json;

use super::response::{decode_usage, encode_usage};
use super::*;
use crate::protocol::neutral::{
    CacheHint, ChatRequest, ChatResponse, Choice, ImageSource, Message, Part, Reasoning, ResponseFormat, Role,
    StopReason, SystemBlock, Tool, ToolChoice, Usage,
};
use crate::protocol::openai_chat;

fn text(t: &str) -> Part {
    Part::Text { text: t.into(), cache: None }
}

fn ephemeral() -> Option<CacheHint> {
    Some(CacheHint { kind: "ephemeral".into(), ttl: None })
}

#[test]
fn claude_code_shaped_request() {
    let body = json!({
        "model": "my-local-model",
        "max_tokens": 32000,
        "stream": true,
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1"},
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.",
                "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Tool policy…", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
        ],
        "messages": [
            {"role": "system", "content": "Extra system note"},
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
                {"type": "text", "text": "what's in the screenshot?", "cache_control": {"type": "ephemeral"}}
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Look at it.", "signature": "EqQBsig"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy"},
                {"type": "text", "text": "Reading it."},
                {"type": "tool_use", "id": "toolu_01", "name": "Read", "input": {"file_path": "/tmp/s.png"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": [
                    {"type": "text", "text": "Image read"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
                ], "cache_control": {"type": "ephemeral"}},
                {"type": "tool_result", "tool_use_id": "toolu_02", "content": "<tool_use_error>nope</tool_use_error>",
                    "is_error": true}
            ]}
        ],
        "tools": [
            {"name": "Read", "description": "Reads a file", "input_schema": {"type": "object",
                "properties": {"file_path": {"type": "string"}}, "required": ["file_path"]}},
            {"name": "Bash", "description": "Runs a command", "input_schema": {"type": "object",
                "properties": {"command": {"type": "string"}}}, "cache_control": {"type": "ephemeral"}},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 5},
            {"type": "custom", "name": "Edit", "input_schema": {"type": "object"}}
        ],
        "tool_choice": {"type": "auto"},
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "metadata": {"user_id": "user_abc_account__session_123"}
    });
    let r = decode_request(&body).unwrap();
    assert_eq!(r.model, "my-local-model");
    assert_eq!(r.max_tokens, Some(32000));
    assert!(r.stream && r.stream_usage);
    assert_eq!(
        r.system,
        vec![
            SystemBlock { text: "x-anthropic-billing-header: cc_version=2.1".into(), cache: None },
            SystemBlock {
                text: "You are Claude Code, Anthropic's official CLI for Claude.".into(),
                cache: ephemeral()
            },
            SystemBlock {
                text: "Tool policy…".into(),
                cache: Some(CacheHint { kind: "ephemeral".into(), ttl: Some("1h".into()) })
            },
            SystemBlock { text: "Extra system note".into(), cache: None },
        ]
    );
    assert_eq!(r.messages.len(), 3);
    assert_eq!(r.messages[0].content[1], Part::Text { text: "what's in the screenshot?".into(), cache: ephemeral() });
    assert_eq!(
        r.messages[1].content,
        vec![
            Part::Thinking { text: "Look at it.".into(), signature: Some("EqQBsig".into()) },
            Part::RedactedThinking { data: "EmwKAhgBEgy".into() },
            text("Reading it."),
            Part::ToolCall {
                id: "toolu_01".into(),
                name: "Read".into(),
                arguments: r#"{"file_path":"/tmp/s.png"}"#.into()
            },
        ]
    );
    assert_eq!(
        r.messages[2].content,
        vec![
            Part::ToolResult {
                call_id: "toolu_01".into(),
                name: Some("Read".into()),
                content: vec![
                    text("Image read"),
                    Part::Image {
                        source: ImageSource::Base64 { media_type: "image/png".into(), data: "iVBORw0KGgo=".into() },
                        detail: None,
                        cache: None
                    },
                ],
                is_error: false,
                cache: ephemeral(),
            },
            Part::ToolResult {
                call_id: "toolu_02".into(),
                name: None,
                content: vec![text("<tool_use_error>nope</tool_use_error>")],
                is_error: true,
                cache: None,
            },
        ]
    );
    assert_eq!(r.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["Read", "Bash", "Edit"]);
    assert_eq!(r.tools[1].cache, ephemeral());
    assert_eq!(r.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(r.reasoning, Some(Reasoning { effort: Some("high".into()), budget_tokens: None, enabled: true }));
    assert_eq!(r.user.as_deref(), Some("user_abc_account__session_123"));

    // The same request, sent on to an OpenAI-compatible upstream.
    let upstream = openai_chat::encode_request(&r);
    let messages = upstream["messages"].as_array().unwrap();
    assert!(messages[0]["content"].as_str().unwrap().ends_with("Extra system note"));
    assert_eq!(messages[2]["tool_calls"][0]["function"]["arguments"], r#"{"file_path":"/tmp/s.png"}"#);
    assert_eq!(messages[3], json!({"role": "tool", "tool_call_id": "toolu_01", "content": "Image read"}));
    assert_eq!(messages[4]["content"], "Error: <tool_use_error>nope</tool_use_error>");
    assert_eq!(messages[5]["content"][0]["image_url"]["url"], "data:image/png;base64,iVBORw0KGgo=");
    assert_eq!(upstream["reasoning_effort"], "high");
    assert_eq!(upstream["max_completion_tokens"], 32000);
}

#[test]
fn request_fields_decode() {
    let body = json!({
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.3, "top_p": 0.9, "top_k": 40, "stop_sequences": ["\n\nHuman:", "END"],
        "tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": true},
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "image_url_test": {"ignored": true}
    });
    let r = decode_request(&body).unwrap();
    assert_eq!((r.temperature, r.top_p, r.top_k), (Some(0.3), Some(0.9), Some(40)));
    assert_eq!(r.stop, vec!["\n\nHuman:".to_owned(), "END".to_owned()]);
    assert_eq!(r.tool_choice, Some(ToolChoice::Named("f".into())));
    assert_eq!(r.parallel_tool_calls, Some(false));
    assert_eq!(r.reasoning, Some(Reasoning { effort: None, budget_tokens: Some(2048), enabled: true }));
    assert_eq!(r.max_tokens, None);
    assert!(!r.stream);

    let table = [
        (json!({"type": "auto"}), ToolChoice::Auto),
        (json!({"type": "any"}), ToolChoice::Required),
        (json!({"type": "none"}), ToolChoice::None),
    ];
    for (wire, neutral) in table {
        let r =
            decode_request(&json!({"messages": [], "tool_choice": wire, "thinking": {"type": "disabled"}})).unwrap();
        assert_eq!(r.tool_choice, Some(neutral));
        assert_eq!(r.parallel_tool_calls, None);
        assert!(!r.reasoning.unwrap().enabled);
    }
    let image = json!({"messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "url", "url": "https://x/y.jpg"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "skipped"}}
    ]}]});
    assert_eq!(
        decode_request(&image).unwrap().messages[0].content,
        vec![Part::Image { source: ImageSource::Url("https://x/y.jpg".into()), detail: None, cache: None }]
    );
}

#[test]
fn bad_requests_name_the_field() {
    let cases = [
        (json!("hi"), None),
        (json!({"model": "m"}), Some("messages")),
        (json!({"messages": "hi"}), Some("messages")),
        (json!({"messages": [], "max_tokens": "lots"}), Some("max_tokens")),
        (json!({"messages": [], "temperature": "warm"}), Some("temperature")),
        (json!({"messages": [], "system": 5}), Some("system")),
        (json!({"messages": [], "system": [{"type": "text"}]}), Some("system[0].text")),
        (json!({"messages": [], "stop_sequences": "END"}), Some("stop_sequences")),
        (json!({"messages": [], "stop_sequences": ["a", 2]}), Some("stop_sequences[1]")),
        (json!({"messages": [], "tools": [{"description": "no name"}]}), Some("tools[0].name")),
        (json!({"messages": [], "tools": [{"name": "f", "input_schema": "{}"}]}), Some("tools[0].input_schema")),
        (json!({"messages": [], "tool_choice": {"type": "maybe"}}), Some("tool_choice.type")),
        (json!({"messages": [], "tool_choice": {"type": "tool"}}), Some("tool_choice.name")),
        (json!({"messages": [], "thinking": {"type": "deep"}}), Some("thinking.type")),
        (
            json!({"messages": [], "thinking": {"type": "enabled", "budget_tokens": "big"}}),
            Some("thinking.budget_tokens"),
        ),
        (json!({"messages": [], "metadata": {"user_id": 7}}), Some("metadata.user_id")),
        (json!({"messages": [{"role": "bot", "content": "x"}]}), Some("messages[0].role")),
        (json!({"messages": [{"role": "user", "content": {"text": "x"}}]}), Some("messages[0].content")),
        (json!({"messages": [{"role": "user", "content": [{"text": "x"}]}]}), Some("messages[0].content[0].type")),
        (
            json!({"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "a", "name": "f", "input": "{}"}]}]}),
            Some("messages[0].content[0].input"),
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]}),
            Some("messages[0].content[0].tool_use_id"),
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "a", "content": [{"type": "text", "text": 1}]}]}]}),
            Some("messages[0].content[0].content[0].text"),
        ),
        (
            json!({"messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "file", "file_id": "f"}}]}]}),
            Some("messages[0].content[0].source.type"),
        ),
    ];
    for (body, param) in cases {
        let error = decode_request(&body).expect_err(&body.to_string());
        assert_eq!(error.param.as_deref(), param, "{body}: {}", error.message);
    }
}

fn sample_request() -> ChatRequest {
    ChatRequest {
        model: "claude-sonnet-4-5".into(),
        system: vec![
            SystemBlock { text: "Be brief.".into(), cache: None },
            SystemBlock { text: "Cached part.".into(), cache: ephemeral() },
        ],
        messages: vec![
            Message {
                role: Role::User,
                content: vec![
                    Part::Text { text: "weather?".into(), cache: ephemeral() },
                    Part::Image { source: ImageSource::Url("https://x/y.png".into()), detail: None, cache: None },
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Thinking { text: "Use the tool.".into(), signature: Some("sig".into()) },
                    Part::RedactedThinking { data: "opaque".into() },
                    text("Let me check."),
                    Part::ToolCall { id: "t1".into(), name: "weather".into(), arguments: r#"{"city":"Oslo"}"#.into() },
                ],
            },
            Message {
                role: Role::User,
                content: vec![
                    Part::ToolResult {
                        call_id: "t1".into(),
                        name: Some("weather".into()),
                        content: vec![text("-3C")],
                        is_error: true,
                        cache: ephemeral(),
                    },
                    text("thanks"),
                ],
            },
        ],
        tools: vec![Tool {
            name: "weather".into(),
            description: Some("Weather by city".into()),
            parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            strict: None,
            cache: ephemeral(),
        }],
        tool_choice: Some(ToolChoice::Auto),
        parallel_tool_calls: Some(false),
        max_tokens: Some(1000),
        temperature: Some(0.5),
        top_p: Some(0.9),
        top_k: Some(20),
        stop: vec!["END".into()],
        stream: true,
        stream_usage: true,
        user: Some("u1".into()),
        ..ChatRequest::default()
    }
}

#[test]
fn requests_round_trip() {
    let request = sample_request();
    assert_eq!(decode_request(&encode_request(&request)).unwrap(), request);
    let mut thinking = sample_request();
    thinking.temperature = None;
    thinking.top_k = None;
    thinking.top_p = Some(0.95);
    thinking.max_tokens = Some(10_000);
    thinking.reasoning = Some(Reasoning { effort: None, budget_tokens: Some(2000), enabled: true });
    assert_eq!(decode_request(&encode_request(&thinking)).unwrap(), thinking);
}

#[test]
fn encoded_requests_fit_anthropic() {
    // Defaults: max_tokens, no optional fields.
    let body = encode_request(&ChatRequest { model: "m".into(), ..ChatRequest::default() });
    assert_eq!(body, json!({"model": "m", "max_tokens": DEFAULT_MAX_TOKENS, "messages": []}));

    // Thinking: budget from effort, max_tokens raised above it, temperature and top_k left out.
    let mut request = sample_request();
    request.max_tokens = Some(4000);
    request.reasoning = Some(Reasoning { effort: Some("high".into()), budget_tokens: None, enabled: true });
    let body = encode_request(&request);
    assert_eq!(body["thinking"], json!({"type": "enabled", "budget_tokens": 16_384}));
    assert_eq!(body["max_tokens"], 16_384 + DEFAULT_MAX_TOKENS);
    for key in ["temperature", "top_k", "top_p"] {
        assert!(body.get(key).is_none(), "{key}");
    }
    // Adaptive thinking with no budget or effort → 4096; a forced tool turns thinking off.
    request.reasoning = Some(Reasoning { effort: None, budget_tokens: None, enabled: true });
    request.max_tokens = None;
    let body = encode_request(&request);
    assert_eq!(body["thinking"]["budget_tokens"], 4096);
    assert_eq!(body["max_tokens"], DEFAULT_MAX_TOKENS);
    request.tool_choice = Some(ToolChoice::Required);
    let body = encode_request(&request);
    assert!(body.get("thinking").is_none());
    assert_eq!(body["tool_choice"], json!({"type": "any", "disable_parallel_tool_use": true}));
    assert_eq!(body["temperature"], 0.5);
    request.reasoning = Some(Reasoning { effort: None, budget_tokens: None, enabled: false });
    assert_eq!(encode_request(&request)["thinking"], json!({"type": "disabled"}));

    // Turns: merged, alternating, starting with user; tool results first; unsigned thinking and empty text gone.
    let messages = vec![
        Message {
            role: Role::Assistant,
            content: vec![
                Part::Thinking { text: "from DeepSeek".into(), signature: None },
                text(""),
                Part::ToolCall { id: "c1".into(), name: "f".into(), arguments: "not json".into() },
            ],
        },
        Message::text(Role::User, "first"),
        Message {
            role: Role::User,
            content: vec![Part::ToolResult {
                call_id: "c1".into(),
                name: None,
                content: vec![],
                is_error: false,
                cache: None,
            }],
        },
        Message { role: Role::Assistant, content: vec![Part::Thinking { text: "x".into(), signature: None }] },
        Message::text(Role::User, "second"),
    ];
    let request = ChatRequest {
        messages,
        temperature: Some(1.7),
        n: Some(3),
        seed: Some(1),
        response_format: Some(ResponseFormat::JsonSchema {
            name: "answer".into(),
            schema: json!({"type": "object"}),
            strict: Some(true),
            description: None,
        }),
        ..ChatRequest::default()
    };
    let body = encode_request(&request);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "(continue)"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "f", "input": {}}]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "c1"},
                {"type": "text", "text": "first"},
                {"type": "text", "text": "second"}
            ]}
        ])
    );
    assert_eq!(body["temperature"], 1.0, "clamped to Anthropic's range");
    for key in ["n", "seed", "tool_choice", "tools"] {
        assert!(body.get(key).is_none(), "{key}");
    }
    let instruction = body["system"][0]["text"].as_str().unwrap();
    assert!(
        instruction.contains("JSON")
            && instruction.contains("\"answer\"")
            && instruction.contains(r#"{"type":"object"}"#)
    );
    let json_object = ChatRequest { response_format: Some(ResponseFormat::JsonObject), ..ChatRequest::default() };
    assert!(encode_request(&json_object)["system"][0]["text"].as_str().unwrap().contains("JSON object"));
    let text_format = ChatRequest { response_format: Some(ResponseFormat::Text), ..ChatRequest::default() };
    assert!(encode_request(&text_format).get("system").is_none());
}

#[test]
fn stop_reasons_map_both_ways() {
    let table = [
        ("end_turn", None, StopReason::EndTurn),
        ("max_tokens", None, StopReason::MaxTokens),
        ("stop_sequence", Some("END"), StopReason::StopSequence(Some("END".into()))),
        ("tool_use", None, StopReason::ToolUse),
        ("pause_turn", None, StopReason::PauseTurn),
        ("refusal", None, StopReason::ContentFilter),
    ];
    for (wire, sequence, neutral) in table {
        assert_eq!(stop_reason(wire, sequence), neutral);
        assert_eq!(encode_stop(&neutral), (wire, sequence));
    }
    let other = stop_reason("model_context_window_exceeded", None);
    assert_eq!(other, StopReason::Other("model_context_window_exceeded".into()));
    assert_eq!(encode_stop(&other), ("end_turn", None));
}

#[test]
fn usage_counts_cache_tokens_as_input() {
    let wire = json!({"input_tokens": 50, "output_tokens": 300, "cache_creation_input_tokens": 2000,
        "cache_read_input_tokens": 10000,
        "cache_creation": {"ephemeral_5m_input_tokens": 2000, "ephemeral_1h_input_tokens": 0}});
    let usage = decode_usage(wire.as_object().unwrap());
    let want = Usage { input: 12_050, cached_input: 10_000, cache_write: 2000, output: 300, ..Usage::default() };
    assert_eq!(usage, want);
    assert_eq!(encode_usage(&usage), wire);
    // Counts from another protocol that do not add up never go negative.
    let odd = Usage { input: 10, cached_input: 20, output: 1, ..Usage::default() };
    assert_eq!(encode_usage(&odd)["input_tokens"], 0);
}

#[test]
fn responses_decode_encode_and_round_trip() {
    // The documented shape.
    let body = json!({
        "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hi! My name is Claude."}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 2095, "output_tokens": 503, "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}}
    });
    let r = decode_response(&body).unwrap();
    assert_eq!(r.id, "msg_013Zva2CMHLNnXjNJJKqJ2EF");
    assert_eq!(r.created, 0);
    assert_eq!(
        r.choices,
        vec![Choice { index: 0, content: vec![text("Hi! My name is Claude.")], stop: Some(StopReason::EndTurn) }]
    );
    assert_eq!(
        r.usage,
        Some(Usage { input: 2095, cached_input: 0, cache_write: 0, cache_write_1h: 0, output: 503, reasoning: 0 })
    );
    assert_eq!(encode_response(&r), body);

    let response = ChatResponse {
        id: "msg_1".into(),
        model: "claude".into(),
        created: 0,
        choices: vec![Choice {
            index: 0,
            content: vec![
                Part::Thinking { text: "hmm".into(), signature: Some("sig".into()) },
                Part::RedactedThinking { data: "opaque".into() },
                text("Calling."),
                Part::ToolCall { id: "toolu_1".into(), name: "f".into(), arguments: r#"{"a":[1,2]}"#.into() },
            ],
            stop: Some(StopReason::StopSequence(Some("END".into()))),
        }],
        usage: Some(Usage {
            input: 100,
            cached_input: 60,
            cache_write: 30,
            cache_write_1h: 0,
            output: 5,
            reasoning: 0,
        }),
        cost_usd: None,
    };
    let body = encode_response(&response);
    assert_eq!(body["content"][3], json!({"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1, 2]}}));
    assert_eq!((body["stop_reason"].as_str(), body["stop_sequence"].as_str()), (Some("stop_sequence"), Some("END")));
    assert_eq!(body["usage"]["input_tokens"], 10);
    assert_eq!(decode_response(&body).unwrap(), response);

    // From an OpenAI upstream: unsigned thinking keeps an empty signature; no usage reads as zeros.
    let from_openai = openai_chat::decode_response(&json!({"id": "c", "model": "deepseek", "choices": [{"index": 0,
        "message": {"role": "assistant", "content": "4", "reasoning_content": "2+2"}, "finish_reason": "stop"}]}))
    .unwrap();
    let body = encode_response(&from_openai);
    assert_eq!(body["content"][0], json!({"type": "thinking", "thinking": "2+2", "signature": ""}));
    assert_eq!(body["usage"]["output_tokens"], 0);

    let error = json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    assert_eq!(decode_response(&error).unwrap_err().message, "Overloaded");
}

/// Found by the conformance matrix (`matrix::messages::{openai,gemini}::json_mode`): a client's structured-output
/// request was ignored, so translated upstreams answered in prose.
#[test]
fn output_format_becomes_a_json_schema() {
    let schema = json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]});
    for body in [
        json!({"model": "m", "max_tokens": 5, "messages": [], "output_format": {"type": "json_schema", "schema": schema}}),
        json!({"model": "m", "max_tokens": 5, "messages": [],
               "output_config": {"effort": "low", "format": {"type": "json_schema", "schema": schema}}}),
    ] {
        let request = decode_request(&body).unwrap();
        let Some(ResponseFormat::JsonSchema { schema: got, .. }) = &request.response_format else {
            panic!("{:?}", request.response_format)
        };
        assert_eq!(got, &schema);
        let openai = openai_chat::encode_request(&request);
        assert_eq!(openai["response_format"]["json_schema"]["schema"], schema);
    }
    let no_format = json!({"model": "m", "max_tokens": 5, "messages": [], "output_config": {"effort": "low"}});
    assert_eq!(decode_request(&no_format).unwrap().response_format, None);
    let bad = json!({"model": "m", "max_tokens": 5, "messages": [], "output_format": {"type": "xml"}});
    assert_eq!(decode_request(&bad).unwrap_err().param.as_deref(), Some("output_format.type"));
}

/// A client is shown thinking whoever signed it, with the signature as it is, so it comes back next turn to the
/// provider that made it (a whole answer as a stream's `signature_delta` does); only Anthropic upstreams drop it.
#[test]
fn clients_see_every_provider_s_thinking() {
    let response = ChatResponse {
        id: "resp_1".into(),
        model: "gpt-5".into(),
        created: 0,
        choices: vec![Choice {
            index: 0,
            content: vec![
                Part::Thinking { text: "Plan.".into(), signature: Some("openai:gAAAA".into()) },
                Part::Thinking { text: "".into(), signature: Some("gemini:CiQB".into()) },
                Part::Thinking { text: "Mine.".into(), signature: Some("EqQB".into()) },
                Part::Thinking { text: "Bare.".into(), signature: None },
                text("Hi."),
            ],
            stop: Some(StopReason::EndTurn),
        }],
        usage: None,
        cost_usd: None,
    };
    assert_eq!(
        encode_response(&response)["content"],
        json!([
            { "type": "thinking", "thinking": "Plan.", "signature": "openai:gAAAA" },
            { "type": "thinking", "thinking": "", "signature": "gemini:CiQB" },
            { "type": "thinking", "thinking": "Mine.", "signature": "EqQB" },
            { "type": "thinking", "thinking": "Bare.", "signature": "" },
            { "type": "text", "text": "Hi." }
        ])
    );
    let back = decode_request(&json!({"model": "m", "max_tokens": 5, "messages": [
        { "role": "user", "content": "q" },
        { "role": "assistant", "content": encode_response(&response)["content"] },
        { "role": "user", "content": "more" }
    ]}))
    .unwrap();
    assert_eq!(back.messages[1].content[..3], response.choices[0].content[..3], "handed back as they were");
    // The unsigned one comes back with the empty signature it was shown with (routing reads that as unsigned).
    assert_eq!(back.messages[1].content[3], Part::Thinking { text: "Bare.".into(), signature: Some(String::new()) });
}

/// Found by the conformance matrix: thinking signed by Gemini (marked in the neutral form) must not reach Anthropic,
/// which rejects signatures it did not make; its own are kept.
#[test]
fn only_anthropic_signatures_go_to_anthropic() {
    let request = ChatRequest {
        messages: vec![
            Message::text(Role::User, "q"),
            Message {
                role: Role::Assistant,
                content: vec![
                    Part::Thinking { text: "from Gemini".into(), signature: Some("gemini:CiQB".into()) },
                    Part::Thinking { text: "from Claude".into(), signature: Some("EqQB".into()) },
                    text("Hi."),
                ],
            },
            Message::text(Role::User, "more"),
        ],
        ..Default::default()
    };
    let body = encode_request(&request);
    assert_eq!(
        body["messages"][1]["content"],
        json!([
            { "type": "thinking", "thinking": "from Claude", "signature": "EqQB" },
            { "type": "text", "text": "Hi." }
        ])
    );
}

/// Found by the conformance matrix (`matrix::messages::anthropic::client_shaped`): Claude Code's `role: "system"`
/// message went through passthrough unchanged, and the Anthropic API refuses that role inside `messages`.
#[test]
fn system_messages_are_lifted_for_passthrough() {
    let mut body = json!({
        "model": "m", "max_tokens": 5, "x_unknown": 1,
        "system": [{"type": "text", "text": "first", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "system", "content": "second"},
            {"role": "user", "content": "hi"},
            {"role": "system", "content": [{"type": "text", "text": "third"}]}
        ]
    });
    lift_system_messages(&mut body);
    assert_eq!(
        body,
        json!({
            "model": "m", "max_tokens": 5, "x_unknown": 1,
            "system": [
                {"type": "text", "text": "first", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "second"},
                {"type": "text", "text": "third"}
            ],
            "messages": [{"role": "user", "content": "hi"}]
        })
    );
    // A string system prompt becomes a block; bodies without system messages are left exactly as they were.
    let mut body = json!({"system": "s", "messages": [{"role": "system", "content": "t"}]});
    lift_system_messages(&mut body);
    assert_eq!(body["system"], json!([{"type": "text", "text": "s"}, {"type": "text", "text": "t"}]));
    let untouched = json!({"system": "s", "messages": [{"role": "user", "content": "hi"}]});
    let mut same = untouched.clone();
    lift_system_messages(&mut same);
    assert_eq!(same, untouched);
}
