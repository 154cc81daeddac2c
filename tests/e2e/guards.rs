//! The guard chain as a browser page and a hostile client meet it, against the real headless binary: CORS for an
//! allow-listed origin only, bounds on request headers, and secrets kept out of even a `RUST_LOG=trace` log.

use e2e::Gateway;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const TOKEN: &str = "sb-test-token-guards-0000000000000000";
const PAGE: &str = "http://localhost:5173";
const CONFIG: &str = r#"
[server]
allowed_origins = ["http://localhost:5173"]

[[apps]]
name = "t"
token_env = "T_TOKEN"
"#;

fn start(extra_env: &[(&str, &str)]) -> Gateway {
    let mut env = vec![("T_TOKEN", TOKEN)];
    env.extend_from_slice(extra_env);
    Gateway::start(CONFIG, &env).unwrap()
}

async fn read(response: reqwest::Response) -> (StatusCode, HeaderMap, String) {
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

fn json(status: StatusCode, body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON ({status}): {body:?}"))
}

/// An OpenAI-shaped error: `{"error":{"message","type","code","param":null}}` with a non-empty message.
fn assert_openai_error(body: &Value, kind: &str, code: &str) {
    let error = &body["error"];
    assert_eq!(error["type"], kind, "{body}");
    assert_eq!(error["code"], code, "{body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(error.get("param"), Some(&Value::Null), "param should be present and null: {body}");
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|v| v.to_str().unwrap())
}

fn no_cors_headers(headers: &HeaderMap) -> bool {
    headers.keys().all(|name| !name.as_str().starts_with("access-control-"))
}

/// Every `Vary` value, split and lower-cased.
fn vary(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("vary")
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .collect()
}

#[tokio::test]
async fn an_allow_listed_page_gets_cors_and_still_needs_the_token() {
    let gateway = start(&[]);
    let client = reqwest::Client::new();
    let chat = format!("{}/v1/chat/completions", gateway.root());

    // The preflight carries no token, as browsers send it, and is answered anyway.
    let asked = "Authorization, Content-Type, X-Stainless-OS, x-stainless-retry-count, anthropic-version";
    let (status, headers, body) = read(
        client
            .request(Method::OPTIONS, &chat)
            .header("origin", PAGE)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", asked)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, "");
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(PAGE));
    assert_eq!(header(&headers, "access-control-allow-methods"), Some("GET, POST, OPTIONS"));
    let allowed: Vec<&str> =
        header(&headers, "access-control-allow-headers").unwrap().split(',').map(str::trim).collect();
    for name in [
        "authorization",
        "content-type",
        "x-api-key",
        "api-key",
        "anthropic-version",
        "anthropic-beta",
        "x-stainless-os",
        "x-stainless-retry-count",
    ] {
        assert!(allowed.contains(&name), "{name} should be allowed: {allowed:?}");
    }
    assert_eq!(allowed.iter().filter(|n| **n == "authorization").count(), 1, "no repeats: {allowed:?}");
    assert_eq!(header(&headers, "access-control-max-age"), Some("600"));
    assert!(vary(&headers).contains(&"origin".to_owned()), "{headers:?}");
    assert!(headers.get("access-control-allow-credentials").is_none());

    // A requested name that is not a token is not echoed (the browser then refuses the request itself).
    let (status, headers, _) = read(
        client
            .request(Method::OPTIONS, &chat)
            .header("origin", PAGE)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "x-good, bad(name)")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let allowed = header(&headers, "access-control-allow-headers").unwrap();
    assert!(allowed.contains("x-good") && !allowed.contains("bad"), "{allowed}");

    // The actual request from the page: with the token it is served, with CORS headers naming the page.
    let models = format!("{}/v1/models", gateway.root());
    let (status, headers, body) =
        read(client.get(&models).header("origin", PAGE).bearer_auth(TOKEN).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(json(status, &body)["object"], "list");
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(PAGE));
    assert!(vary(&headers).contains(&"origin".to_owned()), "{headers:?}");
    assert!(header(&headers, "access-control-expose-headers").unwrap().contains("x-request-id"));

    // Without the token it is the usual 401, still readable by the page.
    let (status, headers, body) = read(client.get(&models).header("origin", PAGE).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_openai_error(&json(status, &body), "authentication_error", "invalid_api_key");
    assert_eq!(header(&headers, "access-control-allow-origin"), Some(PAGE));

    // Preflight or not, the Host check comes first.
    let (status, headers, body) = read(
        client
            .request(Method::OPTIONS, &chat)
            .header("host", "evil.example")
            .header("origin", PAGE)
            .header("access-control-request-method", "POST")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_openai_error(&json(status, &body), "permission_error", "host_not_allowed");
    assert!(no_cors_headers(&headers), "{headers:?}");
}

#[tokio::test]
async fn foreign_and_null_origins_get_a_403_without_cors_headers() {
    let gateway = start(&[]);
    let client = reqwest::Client::new();
    let chat = format!("{}/v1/chat/completions", gateway.root());
    // Near misses of the allow-listed origin are foreign too: the match is exact.
    for origin in
        ["https://evil.example", "null", "http://localhost:5174", "https://localhost:5173", "http://localhost:5173/"]
    {
        let (status, headers, body) = read(
            client
                .request(Method::OPTIONS, &chat)
                .header("origin", origin)
                .header("access-control-request-method", "POST")
                .header("access-control-request-headers", "authorization, content-type")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin}");
        assert_openai_error(&json(status, &body), "permission_error", "origin_not_allowed");
        assert!(no_cors_headers(&headers), "{origin}: {headers:?}");

        // The actual request fails the same way, token or not.
        let (status, headers, body) =
            read(client.get(&chat).header("origin", origin).bearer_auth(TOKEN).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin}");
        assert_openai_error(&json(status, &body), "permission_error", "origin_not_allowed");
        assert!(no_cors_headers(&headers), "{origin}: {headers:?}");
    }
    // Two Origin headers, one of them allow-listed: no browser sends that, so it is refused.
    let (status, headers, body) = read(
        client
            .get(format!("{}/health", gateway.root()))
            .header("origin", PAGE)
            .header("origin", "https://evil.example")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_openai_error(&json(status, &body), "permission_error", "origin_not_allowed");
    assert!(no_cors_headers(&headers), "{headers:?}");
}

#[tokio::test]
async fn header_floods_get_a_431_and_the_server_stays_up() {
    let gateway = start(&[]);
    let models = format!("{}/v1/models", gateway.root());
    let health = format!("{}/health", gateway.root());
    let flood = |request: reqwest::RequestBuilder, count: usize, value: &str| {
        (0..count).fold(request, |request, i| request.header(format!("x-flood-{i}"), value))
    };

    // 120 small headers over HTTP/2 reach the guard: our 431, in OpenAI's shape.
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let (status, _, body) = read(flood(h2.get(&models).bearer_auth(TOKEN), 120, "x").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "{body}");
    assert_openai_error(&json(status, &body), "invalid_request_error", "headers_too_large");
    // 90 (plus the token and the client's own few) are still fine.
    let (status, _, body) = read(flood(h2.get(&models).bearer_auth(TOKEN), 90, "x").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Over 64 KiB of headers, in few enough fields for hyper to pass them on: our 431 over HTTP/1 too.
    let h1 = reqwest::Client::builder().http1_only().build().unwrap();
    let big = "v".repeat(4096);
    let (status, _, body) = read(flood(h1.get(&models).bearer_auth(TOKEN), 20, &big).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "{body}");
    assert_openai_error(&json(status, &body), "invalid_request_error", "headers_too_large");

    // 120 headers over HTTP/1: hyper stops at 100 header lines itself, with a bare 431 (or ours, if that limit is
    // ever raised above ours). Either way a 431, and the server carries on.
    let (status, _, body) = read(flood(h1.get(&health), 120, "x").send().await.unwrap()).await;
    assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, "{body}");
    if !body.is_empty() {
        assert_openai_error(&json(status, &body), "invalid_request_error", "headers_too_large");
    }

    for client in [&h1, &h2, &reqwest::Client::new()] {
        let (status, _, body) = read(client.get(&health).send().await.unwrap()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(json(status, &body)["status"], "ok");
    }
}

#[tokio::test]
async fn key_headers_never_reach_a_trace_log() {
    let gateway = start(&[("RUST_LOG", "trace")]);
    let canary = "fake-CANARY-x-goog-api-key-0000000000";
    let query_canary = "fake-CANARY-query-key-0000000000";
    let h1 = reqwest::Client::builder().http1_only().build().unwrap();
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    for client in [&h1, &h2] {
        let (status, _, body) = read(
            client
                .get(format!("{}/v1/models", gateway.root()))
                .bearer_auth(TOKEN)
                .header("x-goog-api-key", canary)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        // Refused requests are logged too (a warning), and a Gemini-style `?key=` must not appear either.
        let (status, _, body) = read(
            client
                .get(format!("{}/v1/nope?key={query_canary}", gateway.root()))
                .header("x-goog-api-key", canary)
                .header("origin", "https://evil.example")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_openai_error(&json(status, &body), "permission_error", "origin_not_allowed");
    }
    let log = e2e::wait_for("the trace log to show both requests", std::time::Duration::from_secs(5), || {
        let log = gateway.stderr();
        (log.matches("/v1/nope").count() >= 2).then_some(log)
    })
    .unwrap();
    for secret in [canary, query_canary, TOKEN, "CANARY"] {
        assert!(!log.contains(secret), "{secret} reached the log:\n{log}");
    }
}
