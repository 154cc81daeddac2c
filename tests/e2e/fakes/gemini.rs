//! The fake Gemini: generateContent and streamGenerateContent, and the key where Gemini clients put it.

use super::*;

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
