//! The fake upstreams themselves, hit directly: if they drift from the providers' wire formats, every gateway test
//! built on them proves less. At least one stream per protocol is compared byte for byte with the documented shape.

use std::process::{Command, Stdio};
use std::time::Duration;

use e2e::FAKE_KEY;
use e2e::fake::{FakeKind, FakeUpstream, RECEIVED_MODEL_HEADER};
use futures_util::StreamExt;
use futures_util::future::join_all;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

/// A request with the key in the header each provider expects.
fn authed(fake: &FakeUpstream, request: RequestBuilder, key: &str) -> RequestBuilder {
    match fake.kind {
        FakeKind::OpenAi => request.bearer_auth(key),
        FakeKind::Anthropic => request.header("x-api-key", key).header("anthropic-version", "2023-06-01"),
        FakeKind::Gemini => request.header("x-goog-api-key", key),
    }
}

/// The provider's own "generate" request for `model`, asking `user_text`.
fn generate(fake: &FakeUpstream, model: &str, stream: bool, user_text: &str) -> RequestBuilder {
    authed(fake, generate_without_key(fake, model, stream, user_text), FAKE_KEY)
}

fn generate_without_key(fake: &FakeUpstream, model: &str, stream: bool, user_text: &str) -> RequestBuilder {
    let client = reqwest::Client::new();
    match fake.kind {
        FakeKind::OpenAi => client.post(format!("{}/chat/completions", fake.api_base())).json(&json!({
            "model": model,
            "stream": stream,
            "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": user_text}],
        })),
        FakeKind::Anthropic => client.post(format!("{}/v1/messages", fake.api_base())).json(&json!({
            "model": model,
            "max_tokens": 64,
            "stream": stream,
            "messages": [{"role": "user", "content": [{"type": "text", "text": user_text}]}],
        })),
        FakeKind::Gemini => {
            let method = if stream { "streamGenerateContent?alt=sse" } else { "generateContent" };
            client
                .post(format!("{}/models/{model}:{method}", fake.api_base()))
                .json(&json!({"contents": [{"role": "user", "parts": [{"text": user_text}]}]}))
        }
    }
}

async fn json_of(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}")))
}

/// SSE events as (event name, data), split on blank lines whether LF or CRLF framed.
fn events(body: &str) -> Vec<(Option<String>, String)> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut name = None;
            let mut data = String::new();
            for line in block.lines() {
                if let Some(value) = line.strip_prefix("event: ") {
                    name = Some(value.to_owned());
                } else if let Some(value) = line.strip_prefix("data: ") {
                    data.push_str(value);
                }
            }
            (name, data)
        })
        .collect()
}

fn datas(body: &str) -> Vec<Value> {
    events(body)
        .into_iter()
        .filter(|(_, data)| data != "[DONE]")
        .map(|(_, data)| serde_json::from_str(&data).unwrap())
        .collect()
}

/// Reads a body until it ends, fails, or goes quiet for `quiet`: (text so far, how it stopped).
async fn read_until_quiet(response: Response, quiet: Duration) -> (String, &'static str) {
    let mut stream = response.bytes_stream();
    let mut text = String::new();
    loop {
        match tokio::time::timeout(quiet, stream.next()).await {
            Err(_) => return (text, "quiet"),
            Ok(None) => return (text, "ended"),
            Ok(Some(Err(_))) => return (text, "failed"),
            Ok(Some(Ok(bytes))) => text.push_str(&String::from_utf8_lossy(&bytes)),
        }
    }
}

fn openai_chunk(delta: &str, finish: &str) -> String {
    format!(
        "data: {{\"id\":\"chatcmpl-fake\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,\"model\":\"m\",\
         \"system_fingerprint\":\"fp_fake\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"logprobs\":null,\
         \"finish_reason\":{finish}}}]}}\n\n"
    )
}

#[tokio::test]
async fn openai_stream_matches_the_documented_chunks_byte_for_byte() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let response = generate(&fake, "m", true, "hi").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream; charset=utf-8");
    assert_eq!(response.headers()[RECEIVED_MODEL_HEADER], "m");
    let mut expected = openai_chunk(r#"{"role":"assistant","content":"","refusal":null}"#, "null");
    for piece in ["Hello ", "from ", "openai ", "m: ", "hi"] {
        expected += &openai_chunk(&format!(r#"{{"content":"{piece}"}}"#), "null");
    }
    expected += &openai_chunk("{}", r#""stop""#);
    expected += "data: [DONE]\n\n";
    assert_eq!(response.text().await.unwrap(), expected);
}

#[tokio::test]
async fn openai_plain_reply_and_usage_chunk_only_when_asked() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let (status, body) = json_of(generate(&fake, "gpt-4o-mini", false, "hi there").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["content"], "Hello from openai gpt-4o-mini: hi there");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["usage"]["prompt_tokens"], 12);
    assert_eq!(body["usage"]["completion_tokens"], 7);
    assert_eq!(body["usage"]["total_tokens"], 19);
    assert_eq!(body["usage"]["prompt_tokens_details"]["cached_tokens"], 4);

    let request = reqwest::Client::new().post(format!("{}/chat/completions", fake.api_base())).json(&json!({
        "model": "gpt-4o-mini",
        "stream": true,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
    }));
    let text = authed(&fake, request, FAKE_KEY).send().await.unwrap().text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    let chunks = datas(&text);
    let (last, rest) = chunks.split_last().unwrap();
    assert_eq!(last["choices"], json!([]));
    assert_eq!(last["usage"]["total_tokens"], 19);
    assert!(rest.iter().all(|chunk| chunk["usage"].is_null() && chunk.get("usage").is_some()));
    let content: String = rest.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(content, "Hello from openai gpt-4o-mini: a b");

    let recorded = fake.requests();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].method, "POST");
    assert_eq!(recorded[0].path, "/v1/chat/completions");
    assert_eq!(recorded[0].header("Authorization"), Some(format!("Bearer {FAKE_KEY}").as_str()));
    assert_eq!(recorded[1].json.as_ref().unwrap()["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn openai_tool_calls_stream_in_fragments_per_index() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let text = generate(&fake, "tools", true, "weather?").send().await.unwrap().text().await.unwrap();
    let chunks = datas(&text);
    let mut calls = vec![(String::new(), String::new(), String::new(), 0); 2];
    for chunk in &chunks {
        for delta in chunk["choices"][0]["delta"]["tool_calls"].as_array().into_iter().flatten() {
            let call = &mut calls[delta["index"].as_u64().unwrap() as usize];
            if let Some(id) = delta["id"].as_str() {
                call.0 = id.to_owned();
                call.1 = delta["function"]["name"].as_str().unwrap().to_owned();
            }
            let fragment = delta["function"]["arguments"].as_str().unwrap();
            call.2.push_str(fragment);
            call.3 += usize::from(!fragment.is_empty());
        }
    }
    assert_eq!(
        calls,
        [
            ("call_1".into(), "get_weather".into(), r#"{"city":"Paris"}"#.into(), 3),
            ("call_2".into(), "get_time".into(), r#"{"tz":"CET"}"#.into(), 3),
        ]
    );
    assert_eq!(chunks.last().unwrap()["choices"][0]["finish_reason"], "tool_calls");

    let (_, body) = json_of(generate(&fake, "tools", false, "weather?").send().await.unwrap()).await;
    let message = &body["choices"][0]["message"];
    assert_eq!(message["content"], Value::Null);
    assert_eq!(message["tool_calls"][1]["id"], "call_2");
    assert_eq!(message["tool_calls"][1]["function"]["arguments"], r#"{"tz":"CET"}"#);
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn openai_thinking_length_stop_and_json_scenarios() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let (_, body) = json_of(generate(&fake, "thinking", false, "q").send().await.unwrap()).await;
    assert_eq!(body["choices"][0]["message"]["reasoning_content"], "Let me think.");
    assert_eq!(body["choices"][0]["message"]["content"], "Answer.");
    assert_eq!(body["usage"]["completion_tokens_details"]["reasoning_tokens"], 3);
    let text = generate(&fake, "thinking", true, "q").send().await.unwrap().text().await.unwrap();
    let reasoning: String =
        datas(&text).iter().filter_map(|c| c["choices"][0]["delta"]["reasoning_content"].as_str()).collect();
    assert_eq!(reasoning, "Let me think.");

    for (model, finish, content) in
        [("max-tokens", "length", None), ("stop-sequence", "stop", None), ("json", "stop", Some(r#"{"ok":true}"#))]
    {
        let (_, body) = json_of(generate(&fake, model, false, "q").send().await.unwrap()).await;
        assert_eq!(body["choices"][0]["finish_reason"], finish, "{model}");
        if let Some(content) = content {
            assert_eq!(body["choices"][0]["message"]["content"], content);
        }
    }
}

#[tokio::test]
async fn openai_completions_embeddings_and_models() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let client = reqwest::Client::new();
    let completion =
        |body: Value| authed(&fake, client.post(format!("{}/completions", fake.api_base())).json(&body), FAKE_KEY);
    let (_, body) = json_of(
        completion(json!({"model": "gpt-3.5-turbo-instruct", "prompt": "Say", "suffix": "!"})).send().await.unwrap(),
    )
    .await;
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["choices"][0]["text"], "Hello from openai gpt-3.5-turbo-instruct: Say [suffix: !]");
    let text =
        completion(json!({"model": "i", "prompt": "p", "stream": true})).send().await.unwrap().text().await.unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let joined: String = datas(&text).iter().filter_map(|c| c["choices"][0]["text"].as_str()).collect();
    assert_eq!(joined, "Hello from openai i: p");

    let embed =
        |body: Value| authed(&fake, client.post(format!("{}/embeddings", fake.api_base())).json(&body), FAKE_KEY);
    let (_, first) =
        json_of(embed(json!({"model": "text-embedding-3-small", "input": ["a", "b"]})).send().await.unwrap()).await;
    let (_, again) =
        json_of(embed(json!({"model": "text-embedding-3-small", "input": "a"})).send().await.unwrap()).await;
    assert_eq!(first["data"].as_array().unwrap().len(), 2);
    assert_eq!(first["data"][0]["embedding"].as_array().unwrap().len(), 8);
    assert_eq!(first["data"][0]["embedding"], again["data"][0]["embedding"], "deterministic");
    assert_ne!(first["data"][0]["embedding"], first["data"][1]["embedding"]);
    let (_, encoded) = json_of(
        embed(json!({"model": "text-embedding-3-small", "input": "a", "encoding_format": "base64"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(encoded["data"][0]["embedding"].as_str().unwrap().len(), 44, "8 f32 = 32 bytes = 44 base64 chars");

    let (status, models) =
        json_of(authed(&fake, client.get(format!("{}/models", fake.api_base())), FAKE_KEY).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = models["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert!(ids.contains(&"gpt-4o-mini") && ids.contains(&"text-embedding-3-small"), "{ids:?}");
}

/// A Responses API request to the fake OpenAI.
fn responses(fake: &FakeUpstream, body: Value) -> RequestBuilder {
    reqwest::Client::new().post(format!("{}/responses", fake.api_base())).bearer_auth(FAKE_KEY).json(&body)
}

#[tokio::test]
async fn openai_responses_stream_matches_the_documented_events_byte_for_byte() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let body = json!({"model": "m", "stream": true, "input": [{"role": "user", "content": "hi"}]});
    let response = responses(&fake, body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream; charset=utf-8");
    let text = response.text().await.unwrap();
    let names: Vec<String> = events(&text).into_iter().map(|(name, _)| name.unwrap()).collect();
    let mut want = vec!["response.created", "response.in_progress", "response.output_item.added"];
    want.extend(["response.content_part.added"]);
    want.extend(["response.output_text.delta"; 5]);
    want.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(names, want, "{text}");
    let delta = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\
        \"sequence_number\":4,\"item_id\":\"msg_fake_0\",\"output_index\":0,\"content_index\":0,\
        \"delta\":\"Hello \",\"logprobs\":[]}\n\n";
    assert!(text.contains(delta), "{text}");
    let done = "event: response.output_text.done\ndata: {\"type\":\"response.output_text.done\",\
        \"sequence_number\":9,\"item_id\":\"msg_fake_0\",\"output_index\":0,\"content_index\":0,\
        \"text\":\"Hello from openai m: hi\",\"logprobs\":[]}\n\n";
    assert!(text.contains(done), "{text}");
    let datas = datas(&text);
    for (i, data) in datas.iter().enumerate() {
        assert_eq!(data["sequence_number"], i, "{text}");
    }
    let created = &datas[0]["response"];
    assert_eq!((created["id"].as_str(), created["status"].as_str()), (Some("resp_fake"), Some("in_progress")));
    assert_eq!(created["usage"], Value::Null);
    let completed = &datas.last().unwrap()["response"];
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["output"][0]["content"][0]["text"], "Hello from openai m: hi");
    assert_eq!(
        completed["usage"],
        json!({"input_tokens": 12, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 7,
            "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 19})
    );
}

#[tokio::test]
async fn openai_responses_whole_tools_thinking_and_incomplete() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let input = json!([{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hey"}]}]);
    let (status, whole) =
        json_of(responses(&fake, json!({"model": "m", "input": input, "store": false})).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((whole["object"].as_str(), whole["store"].as_bool()), (Some("response"), Some(false)));
    assert_eq!(whole["output"][0]["type"], "message");
    assert_eq!(whole["output"][0]["content"][0]["text"], "Hello from openai m: hey");

    let (_, tools) = json_of(responses(&fake, json!({"model": "tools", "input": "x"})).send().await.unwrap()).await;
    let calls: Vec<(&str, &str, &str)> = tools["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (item["type"].as_str().unwrap(), item["call_id"].as_str().unwrap(), item["arguments"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        calls,
        [("function_call", "call_1", r#"{"city":"Paris"}"#), ("function_call", "call_2", r#"{"tz":"CET"}"#)]
    );

    let body = json!({"model": "tools", "input": "x", "stream": true});
    let text = responses(&fake, body).send().await.unwrap().text().await.unwrap();
    let arguments: String = datas(&text)
        .iter()
        .filter(|d| d["type"] == "response.function_call_arguments.delta" && d["output_index"] == 0)
        .map(|d| d["delta"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(arguments, r#"{"city":"Paris"}"#);

    let (_, thinking) =
        json_of(responses(&fake, json!({"model": "thinking", "input": "x"})).send().await.unwrap()).await;
    assert_eq!(thinking["output"][0]["type"], "reasoning");
    assert_eq!(thinking["output"][0]["summary"][0]["text"], "Let me think.");
    assert_eq!(thinking["usage"]["output_tokens_details"]["reasoning_tokens"], 3);

    let body = json!({"model": "max-tokens", "input": "x", "stream": true, "previous_response_id": "resp_0"});
    let text = responses(&fake, body).send().await.unwrap().text().await.unwrap();
    let last = datas(&text).pop().unwrap();
    assert_eq!(last["type"], "response.incomplete");
    assert_eq!(last["response"]["incomplete_details"]["reason"], "max_output_tokens");
    assert_eq!(last["response"]["previous_response_id"], "resp_0", "the request's settings are echoed");

    let (status, error) =
        json_of(responses(&fake, json!({"model": "error-500", "input": "x"})).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(error["error"]["type"], "server_error");
}

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
        r#"{"type":"message_start","message":{"id":"msg_fake","type":"message","role":"assistant","model":"m","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":8,"cache_creation_input_tokens":0,"cache_read_input_tokens":4,"output_tokens":1}}}"#,
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
        json!({"input_tokens": 8, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 4, "output_tokens": 7})
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

#[tokio::test]
async fn gemini_sse_matches_the_documented_chunks_byte_for_byte() {
    let fake = FakeUpstream::start(FakeKind::Gemini).await;
    let response = generate(&fake, "m", true, "hi").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()[RECEIVED_MODEL_HEADER], "m");
    let pieces = ["Hello ", "from ", "gemini ", "m: ", "hi"];
    let mut expected = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        let (finish, usage) = if i + 1 < pieces.len() {
            (
                "",
                r#"{"promptTokenCount":12,"totalTokenCount":12,"promptTokensDetails":[{"modality":"TEXT","tokenCount":12}]}"#,
            )
        } else {
            (
                r#""finishReason":"STOP","#,
                r#"{"promptTokenCount":12,"candidatesTokenCount":7,"totalTokenCount":19,"cachedContentTokenCount":4,"promptTokensDetails":[{"modality":"TEXT","tokenCount":12}],"cacheTokensDetails":[{"modality":"TEXT","tokenCount":4}]}"#,
            )
        };
        expected += &format!(
            "data: {{\"candidates\":[{{\"content\":{{\"parts\":[{{\"text\":\"{piece}\"}}],\"role\":\"model\"}},{finish}\
             \"index\":0}}],\"usageMetadata\":{usage},\"modelVersion\":\"m\",\"responseId\":\"fake-response-id\"}}\r\n\r\n"
        );
    }
    assert_eq!(response.text().await.unwrap(), expected);
}

#[tokio::test]
async fn gemini_plain_tools_thinking_models_and_key_in_url() {
    let fake = FakeUpstream::start(FakeKind::Gemini).await;
    let (status, body) = json_of(generate(&fake, "gemini-2.5-flash", false, "hi").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["candidates"][0]["content"],
        json!({"parts": [{"text": "Hello from gemini gemini-2.5-flash: hi"}], "role": "model"})
    );
    assert_eq!(body["candidates"][0]["finishReason"], "STOP");
    assert_eq!(body["usageMetadata"]["cachedContentTokenCount"], 4);

    let text = generate(&fake, "tools", true, "hi").send().await.unwrap().text().await.unwrap();
    assert!(!text.contains("[DONE]"));
    let calls: Vec<Value> = datas(&text)
        .iter()
        .flat_map(|c| c["candidates"][0]["content"]["parts"].as_array().unwrap().clone())
        .map(|part| part["functionCall"].clone())
        .collect();
    assert_eq!(
        calls,
        [json!({"name": "get_weather", "args": {"city": "Paris"}}), json!({"name": "get_time", "args": {"tz": "CET"}})]
    );

    let (_, body) = json_of(generate(&fake, "thinking", false, "hi").send().await.unwrap()).await;
    let parts = &body["candidates"][0]["content"]["parts"];
    assert_eq!(parts[0]["thought"], true);
    assert_eq!(parts[0]["text"], "Let me think.");
    assert!(parts[0]["thoughtSignature"].is_string());
    assert_eq!(parts[1], json!({"text": "Answer."}));
    assert_eq!(body["usageMetadata"]["thoughtsTokenCount"], 3);
    let (_, body) = json_of(generate(&fake, "max-tokens", false, "hi").send().await.unwrap()).await;
    assert_eq!(body["candidates"][0]["finishReason"], "MAX_TOKENS");

    let client = reqwest::Client::new();
    let (_, models) =
        json_of(authed(&fake, client.get(format!("{}/models", fake.api_base())), FAKE_KEY).send().await.unwrap()).await;
    assert_eq!(models["models"][0]["name"], "models/gemini-2.5-flash");
    assert!(models["models"][0]["supportedGenerationMethods"].as_array().unwrap().contains(&json!("generateContent")));

    // A key in the URL is refused even alongside a good header, and the leak is on record.
    let leaky = client
        .post(format!("{}/models/gemini-2.5-flash:generateContent?key=AIzaLEAK", fake.api_base()))
        .header("x-goog-api-key", FAKE_KEY)
        .json(&json!({"contents": []}));
    let (status, body) = json_of(leaky.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    assert!(body["error"]["message"].as_str().unwrap().contains("key in URL"));
    assert!(fake.requests().iter().any(|r| r.path.ends_with(":generateContent?key=AIzaLEAK")));
}

#[tokio::test]
async fn keys_are_checked_the_providers_way() {
    for kind in FakeKind::ALL {
        let fake = FakeUpstream::start(kind).await;
        let bad = authed(&fake, generate_without_key(&fake, "m", false, "hi"), "bad-key");
        let (status, body) = json_of(bad.send().await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{kind:?}");
        match kind {
            FakeKind::OpenAi => assert_eq!(body["error"]["code"], "invalid_api_key"),
            FakeKind::Anthropic => {
                assert_eq!((&body["type"], &body["error"]["type"]), (&json!("error"), &json!("authentication_error")));
            }
            FakeKind::Gemini => assert_eq!(body["error"]["status"], "UNAUTHENTICATED"),
        }
        let anonymous = reqwest::Client::new().post(format!("{}/anything", fake.base_url)).send().await.unwrap();
        assert!(anonymous.status().is_client_error(), "{kind:?}: {}", anonymous.status());
        assert_eq!(fake.requests().len(), 2, "refused requests are recorded too");
    }
    let fake = FakeUpstream::start(FakeKind::Anthropic).await;
    let unversioned = reqwest::Client::new()
        .post(format!("{}/v1/messages", fake.base_url))
        .header("x-api-key", FAKE_KEY)
        .json(&json!({"model": "m", "max_tokens": 1, "messages": []}));
    let (status, body) = json_of(unversioned.send().await.unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["type"], "invalid_request_error");
}

#[tokio::test]
async fn faults_answer_in_each_providers_error_shape() {
    for kind in FakeKind::ALL {
        let fake = FakeUpstream::start(kind).await;
        for (model, status) in [("error-500", 500), ("error-400", 400), ("overloaded", 0), ("rate-limit", 429)] {
            let response = generate(&fake, model, true, "hi").send().await.unwrap();
            assert_eq!(response.headers()[RECEIVED_MODEL_HEADER], model);
            let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            let (got, body) = json_of(response).await;
            let expected = match (model, kind) {
                ("overloaded", FakeKind::Anthropic) => 529,
                ("overloaded", _) => 503,
                _ => status,
            };
            assert_eq!(got.as_u16(), expected, "{kind:?} {model}");
            assert_eq!(retry_after.as_deref(), (model == "rate-limit").then_some("1"), "{kind:?} {model}");
            match kind {
                FakeKind::OpenAi => assert!(body["error"]["message"].is_string() && body["error"]["type"].is_string()),
                FakeKind::Anthropic => assert_eq!(body["type"], "error"),
                FakeKind::Gemini => assert_eq!(body["error"]["code"], expected),
            }
            if kind == FakeKind::Anthropic {
                let expected_type = match model {
                    "error-500" => "api_error",
                    "error-400" => "invalid_request_error",
                    "overloaded" => "overloaded_error",
                    _ => "rate_limit_error",
                };
                assert_eq!(body["error"]["type"], expected_type);
            }
        }
        let garbage = generate(&fake, "garbage", false, "hi").send().await.unwrap();
        assert_eq!(garbage.status(), StatusCode::OK);
        assert_eq!(garbage.headers()["content-type"], "application/json");
        assert_eq!(garbage.text().await.unwrap(), "<html>oops</html>");
    }
}

/// The event that says a stream is complete, per protocol.
fn terminator(kind: FakeKind) -> &'static str {
    match kind {
        FakeKind::OpenAi => "data: [DONE]",
        FakeKind::Anthropic => "event: message_stop",
        FakeKind::Gemini => "\"finishReason\"",
    }
}

#[tokio::test]
async fn drop_mid_stream_breaks_the_connection_before_the_terminator() {
    for kind in FakeKind::ALL {
        let fake = FakeUpstream::start(kind).await;
        let response = generate(&fake, "drop-mid-stream", true, "hi").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let (text, how) = read_until_quiet(response, Duration::from_secs(2)).await;
        assert_eq!(how, "failed", "{kind:?}: {text}");
        assert!(text.contains("Hello ") && text.contains("from "), "{kind:?}: two content chunks arrive first: {text}");
        assert!(!text.contains(terminator(kind)), "{kind:?}: {text}");
    }
}

#[tokio::test]
async fn stall_mid_stream_goes_quiet_after_two_chunks() {
    join_all(FakeKind::ALL.map(|kind| async move {
        let fake = FakeUpstream::start(kind).await;
        let stream = async {
            let response = generate(&fake, "stall-mid-stream", true, "hi").send().await.unwrap();
            let (text, how) = read_until_quiet(response, Duration::from_millis(300)).await;
            assert_eq!(how, "quiet", "{kind:?}: {text}");
            let complete = text.contains("openai ") || text.contains(terminator(kind));
            assert!(text.contains("from ") && !complete, "{kind:?}: {text}");
        };
        let plain = async {
            let plain =
                generate(&fake, "stall-mid-stream", false, "hi").timeout(Duration::from_millis(300)).send().await;
            assert!(plain.unwrap_err().is_timeout(), "{kind:?}");
        };
        tokio::join!(stream, plain);
    }))
    .await;
}

#[tokio::test]
async fn slow_first_byte_holds_the_headers_for_two_seconds() {
    let early = join_all(FakeKind::ALL.map(|kind| async move {
        let fake = FakeUpstream::start(kind).await;
        let early = generate(&fake, "slow-first-byte", true, "hi").timeout(Duration::from_millis(300)).send().await;
        assert!(early.unwrap_err().is_timeout(), "{kind:?}");
    }));
    let late = async {
        let fake = FakeUpstream::start(FakeKind::OpenAi).await;
        let started = std::time::Instant::now();
        let (status, _) = json_of(generate(&fake, "slow-first-byte", false, "hi").send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        assert!(started.elapsed() >= Duration::from_secs(2));
    };
    tokio::join!(early, late);
}

#[tokio::test]
async fn malformed_sse_puts_a_broken_line_between_good_chunks() {
    for kind in FakeKind::ALL {
        let fake = FakeUpstream::start(kind).await;
        let text = generate(&fake, "malformed-sse", true, "hi").send().await.unwrap().text().await.unwrap();
        let broken = events(&text).iter().position(|(_, data)| data == "{not json").expect("a broken line");
        let good_before = events(&text)[..broken]
            .iter()
            .filter(|(_, data)| serde_json::from_str::<Value>(data).is_ok_and(|d| d.to_string().contains("Hello ")))
            .count();
        assert_eq!(good_before, 1, "{kind:?}: {text}");
        assert!(text.contains(terminator(kind)), "{kind:?}: the rest follows: {text}");
    }
}

#[tokio::test]
async fn the_binary_serves_one_fake_on_the_port_it_prints() {
    let mut child = e2e::Guarded(
        Command::new(env!("CARGO_BIN_EXE_fake-upstream"))
            .args(["--kind", "gemini"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let base = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let response = reqwest::Client::new()
        .get(format!("{base}/v1beta/models"))
        .header("x-goog-api-key", FAKE_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        Command::new(env!("CARGO_BIN_EXE_fake-upstream")).args(["--kind", "nope"]).output().unwrap().status.code()
            != Some(0)
    );
}
