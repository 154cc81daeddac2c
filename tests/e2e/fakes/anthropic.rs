//! The fake Anthropic: Messages, plain and streamed.

use super::*;

fn anthropic_event(name: &str, data: &str) -> String {
    format!("event: {name}\ndata: {data}\n\n")
}

#[tokio::test]
async fn anthropic_stream_matches_the_documented_events_byte_for_byte() {
    let fake = FakeUpstream::start(FakeKind::Anthropic).await;
    let response = generate(&fake, "m", true, "hi").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream; charset=utf-8");
    let mut expected = anthropic_event(
        "message_start",
        r#"{"type":"message_start","message":{"id":"msg_fake","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":8,"cache_creation_input_tokens":0,"cache_read_input_tokens":4,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":1}}}"#,
    );
    expected += &anthropic_event(
        "content_block_start",
        r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
    );
    expected += &anthropic_event("ping", r#"{"type":"ping"}"#);
    for piece in ["Hello ", "from ", "anthropic ", "m: ", "hi"] {
        expected += &anthropic_event(
            "content_block_delta",
            &format!(r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"{piece}"}}}}"#),
        );
    }
    expected += &anthropic_event("content_block_stop", r#"{"type":"content_block_stop","index":0}"#);
    expected += &anthropic_event(
        "message_delta",
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":7}}"#,
    );
    expected += &anthropic_event("message_stop", r#"{"type":"message_stop"}"#);
    assert_eq!(response.text().await.unwrap(), expected);
}

#[tokio::test]
async fn anthropic_plain_tools_thinking_and_stop_reasons() {
    let fake = FakeUpstream::start(FakeKind::Anthropic).await;
    let (status, body) = json_of(generate(&fake, "claude-x", false, "hi").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["content"], json!([{"type": "text", "text": "Hello from anthropic claude-x: hi"}]));
    assert_eq!(
        body["usage"],
        json!({"input_tokens": 8, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 4,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0}, "output_tokens": 7})
    );

    let text = generate(&fake, "tools", true, "hi").send().await.unwrap().text().await.unwrap();
    let mut inputs = vec![String::new(); 2];
    let mut fragments = [0; 2];
    let mut starts = vec![];
    for (name, data) in events(&text) {
        let data: Value = serde_json::from_str(&data).unwrap();
        assert_eq!(data["type"], name.as_deref().unwrap(), "event name = data type");
        if data["type"] == "content_block_start" {
            starts.push(data["content_block"].clone());
        }
        if data["delta"]["type"] == "input_json_delta" {
            let index = data["index"].as_u64().unwrap() as usize;
            inputs[index].push_str(data["delta"]["partial_json"].as_str().unwrap());
            fragments[index] += 1;
        }
    }
    assert_eq!(
        starts,
        [
            json!({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}),
            json!({"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}}),
        ]
    );
    assert_eq!(inputs, [r#"{"city":"Paris"}"#, r#"{"tz":"CET"}"#]);
    assert!(fragments.iter().all(|n| *n >= 3), "{fragments:?}");
    assert!(text.contains(r#""stop_reason":"tool_use""#));

    let text = generate(&fake, "thinking", true, "hi").send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#""delta":{"type":"signature_delta","signature":"sig-fake-123"}"#), "{text}");
    let (_, body) = json_of(generate(&fake, "thinking", false, "hi").send().await.unwrap()).await;
    assert_eq!(
        body["content"][0],
        json!({"type": "thinking", "thinking": "Let me think.", "signature": "sig-fake-123"})
    );
    assert_eq!(body["content"][1]["text"], "Answer.");

    let (_, body) = json_of(generate(&fake, "stop-sequence", false, "hi").send().await.unwrap()).await;
    assert_eq!((&body["stop_reason"], &body["stop_sequence"]), (&json!("stop_sequence"), &json!("END")));
    let (_, body) = json_of(generate(&fake, "max-tokens", false, "hi").send().await.unwrap()).await;
    assert_eq!(body["stop_reason"], "max_tokens");

    let client = reqwest::Client::new();
    let count = client
        .post(format!("{}/v1/messages/count_tokens", fake.api_base()))
        .json(&json!({"model": "m", "messages": []}));
    let (_, body) = json_of(authed(&fake, count, FAKE_KEY).send().await.unwrap()).await;
    assert_eq!(body, json!({"input_tokens": 12}));
    let (_, models) =
        json_of(authed(&fake, client.get(format!("{}/v1/models", fake.api_base())), FAKE_KEY).send().await.unwrap())
            .await;
    assert_eq!(models["data"][0]["type"], "model");
    assert_eq!(models["has_more"], false);
    assert_eq!(models["first_id"], models["data"][0]["id"]);
}
