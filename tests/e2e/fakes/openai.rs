//! The fake OpenAI: chat completions, completions, embeddings, models and the Responses API.

use e2e::fake::ENCRYPTED_REASONING;

use super::*;

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

#[tokio::test]
async fn openai_responses_encrypted_reasoning_and_a_failure_mid_stream() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let asked = json!({"model": "thinking", "input": "x", "include": ["reasoning.encrypted_content"]});
    let (_, whole) = json_of(responses(&fake, asked).send().await.unwrap()).await;
    assert_eq!(whole["output"][0]["encrypted_content"], ENCRYPTED_REASONING);
    let (_, plain) = json_of(responses(&fake, json!({"model": "thinking", "input": "x"})).send().await.unwrap()).await;
    assert!(plain["output"][0].get("encrypted_content").is_none(), "only when asked: {plain}");
    let body = json!({"model": "thinking", "input": "x", "stream": true, "include": ["reasoning.encrypted_content"]});
    let text = responses(&fake, body).send().await.unwrap().text().await.unwrap();
    let done = datas(&text).into_iter().find(|d| d["type"] == "response.output_item.done").unwrap();
    assert_eq!(done["item"]["encrypted_content"], ENCRYPTED_REASONING, "{text}");

    let body = json!({"model": "fail-mid-stream", "input": "x", "stream": true});
    let text = responses(&fake, body).send().await.unwrap().text().await.unwrap();
    let datas = datas(&text);
    for (i, data) in datas.iter().enumerate() {
        assert_eq!(data["sequence_number"], i, "the count goes on into the failure: {text}");
    }
    let deltas = datas.iter().filter(|d| d["type"] == "response.output_text.delta").count();
    assert_eq!(deltas, 2, "{text}");
    let failed = datas.last().unwrap();
    assert_eq!(
        (failed["type"].as_str(), failed["response"]["status"].as_str()),
        (Some("response.failed"), Some("failed"))
    );
    assert_eq!(failed["response"]["error"]["code"], "server_error");
    assert_eq!(failed["response"]["usage"]["input_tokens"], 12, "a failed response reports its usage");
}

#[tokio::test]
async fn an_openai_fake_without_the_responses_api_answers_404_there_only() {
    let fake = FakeUpstream::start_without_responses_api().await;
    let response = responses(&fake, json!({"model": "m", "input": "x"})).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let (_, error) = json_of(response).await;
    assert_eq!(error["error"]["type"], "invalid_request_error");
    let (status, _) = json_of(generate(&fake, "m", false, "hi").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "chat completions are there");
    assert_eq!(fake.requests().len(), 2, "both recorded");
}
