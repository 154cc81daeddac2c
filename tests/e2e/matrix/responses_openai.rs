//! Responses clients onto OpenAI beyond the grid: the passed-through target fails and a translated one answers,
//! `previous_response_id` goes only where responses are stored, alias settings arrive in Responses names, and an
//! OpenAI-compatible host (Groq's kind) is still reached through chat completions.

use super::*;

/// The providers and aliases these tests use, added to the matrix gateway's configuration.
pub(super) fn config(openai_base: &str) -> String {
    format!(
        r#"[[providers]]
id = "gq"
kind = "groq"
base_url = "{openai_base}"
key_env = "UP_KEY"
[[aliases]]
name = "resp-fallback"
targets = ["oa/error-500+resp-fallback", "an/text+resp-fallback"]
[[aliases]]
name = "resp-stored"
targets = ["an/text+resp-stored", "oa/text+resp-stored"]
[[aliases]]
name = "resp-settings"
targets = ["oa/text+resp-settings"]
system_prefix = "Answer in French."
[aliases.params]
temperature = 0.3
top_p = 0.5
[aliases.forced_params]
max_tokens = 99
"#
    )
}

/// A Responses request as Codex sends it: status, the routing target header, and the body.
fn post(world: &World, body: &Value) -> (StatusCode, Option<String>, String) {
    world.runtime.block_on(async {
        let request = world.client.post(format!("{}/v1/responses", world.root)).bearer_auth(FAKE_TOKEN).json(body);
        let response = request.timeout(Duration::from_secs(30)).send().await.expect("the gateway answers");
        let status = response.status();
        let target = response.headers().get("x-switchboard-target").and_then(|v| v.to_str().ok()).map(str::to_owned);
        (status, target, response.text().await.expect("a whole body"))
    })
}

fn paths(requests: &[RecordedRequest]) -> Vec<&str> {
    requests.iter().map(|r| r.path.as_str()).collect()
}

#[test]
fn a_failing_openai_target_falls_back_to_anthropic_by_translation() {
    let world = world();
    let body = json!({ "model": "resp-fallback", "stream": true, "store": false,
        "input": [{ "type": "message", "role": "user", "content": [{ "type": "input_text", "text": "hi there friend" }] }] });
    let (status, target, text) = post(world, &body);
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(target.as_deref(), Some("an/text+resp-fallback"));
    let outcome = responses_stream(&text);
    assert_eq!(outcome.text, "Hello from anthropic text+resp-fallback: hi there friend", "{text}");
    assert_eq!(outcome.usage.map(|u| (u.input, u.cached, u.output)), Some((12, 4, 7)), "{text}");

    let failed = world.upstream_requests(Upstream::OpenAi, "error-500+resp-fallback");
    assert_eq!(paths(&failed), ["/v1/responses", "/v1/responses"], "OpenAI was asked twice, through its Responses API");
    let translated = world.upstream_requests(Upstream::Anthropic, "text+resp-fallback");
    assert_eq!(paths(&translated), ["/v1/messages"]);
    assert!(translated[0].json.as_ref().is_some_and(|b| b["max_tokens"].is_u64()), "a Messages body: {translated:?}");
    let rows = world.ledger_rows("text+resp-fallback", 1);
    assert_eq!(rows[0].provider_id.as_deref(), Some("an"), "{rows:?}");
    assert_eq!(rows[0].attempts.len(), 3, "two OpenAI attempts, then Anthropic: {rows:?}");
    assert_eq!(rows[0].input_tokens, Some(12), "{rows:?}");
}

#[test]
fn stored_objects_are_reached_only_at_openai() {
    let world = world();
    // `previous_response_id` straight to OpenAI: passed through, and the fake's response echoes it.
    let body = json!({ "model": "oa/text+prev-id", "previous_response_id": "resp_earlier", "input": "and then?" });
    let (status, _, text) = post(world, &body);
    assert_eq!(status, StatusCode::OK, "{text}");
    let answer: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(answer["previous_response_id"], "resp_earlier", "{text}");
    let sent = world.upstream_requests(Upstream::OpenAi, "text+prev-id");
    assert_eq!(paths(&sent), ["/v1/responses"]);
    assert_eq!(sent[0].json.as_ref().expect("JSON")["previous_response_id"], "resp_earlier");

    // An alias whose first target would translate: that target is skipped, OpenAI serves the turn.
    let body = json!({ "model": "resp-stored", "previous_response_id": "resp_earlier", "input": "and then?" });
    let (status, target, text) = post(world, &body);
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(target.as_deref(), Some("oa/text+resp-stored"));
    assert!(world.upstream_requests(Upstream::Anthropic, "text+resp-stored").is_empty(), "Anthropic is not tried");

    // Nowhere to continue it: a clear 400 naming the field, and no upstream is called.
    for model in ["an/text+prev-refused", "gq/text+prev-refused"] {
        let body = json!({ "model": model, "previous_response_id": "resp_earlier", "input": "and then?" });
        let (status, _, text) = post(world, &body);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{model}: {text}");
        let error: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(error["error"]["param"], "previous_response_id", "{text}");
        assert_eq!(error["error"]["code"], "needs_openai_upstream", "{text}");
        let message = error["error"]["message"].as_str().expect("a message");
        assert!(message.contains("resend the whole conversation") && message.contains("openai"), "{message}");
    }
    assert!(world.upstream_requests(Upstream::Anthropic, "text+prev-refused").is_empty());
    // A conversation stored at OpenAI likewise.
    let body = json!({ "model": "oa/text+conversation", "conversation": "conv_1", "input": "and then?" });
    let (status, _, text) = post(world, &body);
    assert_eq!(status, StatusCode::OK, "{text}");
    let sent = world.upstream_requests(Upstream::OpenAi, "text+conversation");
    assert_eq!(sent[0].json.as_ref().expect("JSON")["conversation"], "conv_1");
    let body = json!({ "model": "ge/text+conversation", "conversation": "conv_1", "input": "and then?" });
    let (status, _, text) = post(world, &body);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    assert!(text.contains("\"param\":\"conversation\""), "{text}");
    assert!(world.upstream_requests(Upstream::OpenAi, "text+prev-refused").is_empty());
}

#[test]
fn alias_settings_reach_a_passed_through_body_in_responses_names() {
    let world = world();
    let body =
        json!({ "model": "resp-settings", "instructions": "Be kind.", "top_p": 0.9, "input": "hi there friend" });
    let (status, _, text) = post(world, &body);
    assert_eq!(status, StatusCode::OK, "{text}");
    let sent = world.upstream_requests(Upstream::OpenAi, "text+resp-settings");
    assert_eq!(paths(&sent), ["/v1/responses"]);
    let sent = sent[0].json.clone().expect("JSON");
    assert_eq!(
        sent,
        json!({ "model": "text+resp-settings", "instructions": "Answer in French.\n\nBe kind.", "top_p": 0.9,
            "temperature": 0.3, "max_output_tokens": 99, "input": "hi there friend" }),
        "the prefix leads the instructions, defaults fill gaps, the client's own values win, forced ones replace"
    );
}

#[test]
fn compatible_hosts_are_still_reached_through_chat_completions() {
    let world = world();
    let body = json!({ "model": "gq/text+groq-kind", "stream": true, "input": "hi there friend" });
    let (status, _, text) = post(world, &body);
    assert_eq!(status, StatusCode::OK, "{text}");
    let outcome = responses_stream(&text);
    assert_eq!(outcome.text, "Hello from openai text+groq-kind: hi there friend", "{text}");
    let sent = world.upstream_requests(Upstream::OpenAi, "text+groq-kind");
    assert_eq!(paths(&sent), ["/v1/chat/completions"], "a Groq-kind host is never asked for /responses");
    let sent = sent[0].json.clone().expect("JSON");
    assert!(sent["messages"].to_string().contains("hi there friend"), "chat messages: {sent}");
    assert_eq!(sent["stream_options"]["include_usage"], true, "{sent}");
    let rows = world.ledger_rows("text+groq-kind", 1);
    assert_eq!((rows[0].provider_id.as_deref(), rows[0].input_tokens), (Some("gq"), Some(12)), "{rows:?}");
}
