//! The headless binary, as a server operator or CI would run it: from the documented config shape, over loopback.

use std::process::Command;

use e2e::{FAKE_KEY, FAKE_TOKEN, Gateway, free_port, workspace_bin};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// The shape the README documents and later issues must keep working.
const CONFIG: &str = r#"
[server]
port = 7352

[[providers]]
id = "mock"
kind = "openai"
base_url = "http://127.0.0.1:8090/v1"
key_env = "MOCK_KEY"

[[aliases]]
name = "general"
targets = ["mock/gpt-4o-mini"]

[[apps]]
name = "scripts"
token_env = "SCRIPTS_TOKEN"
"#;

fn start() -> Gateway {
    Gateway::start(CONFIG, &[("MOCK_KEY", FAKE_KEY), ("SCRIPTS_TOKEN", FAKE_TOKEN)]).unwrap()
}

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    let json = serde_json::from_str(&body).unwrap_or_else(|_| panic!("not JSON ({status}): {body}"));
    (status, json)
}

/// An OpenAI-shaped error: `{"error":{"message","type","code","param"}}` with a non-empty message.
fn assert_openai_error(body: &Value, kind: &str, code: &str) {
    let error = &body["error"];
    assert_eq!(error["type"], kind, "{body}");
    assert_eq!(error["code"], code, "{body}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(error.get("param").is_some(), "param should be present (null): {body}");
}

#[tokio::test]
async fn health_answers_without_a_token() {
    let gateway = start();
    let (status, body) = send(reqwest::Client::new().get(format!("{}/health", gateway.root()))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn models_lists_aliases_and_targets_in_openai_shape() {
    let gateway = start();
    let client = reqwest::Client::new();
    let (status, body) = send(client.get(format!("{}/v1/models", gateway.root())).bearer_auth(FAKE_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["object"], "list");
    let ids: Vec<&str> = body["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["general", "mock/gpt-4o-mini"]);
    assert_eq!(body["data"][0], json!({"id": "general", "object": "model", "created": 0, "owned_by": "switchboard"}));

    let (status, body) =
        send(client.get(format!("{}/v1/models/mock/gpt-4o-mini", gateway.root())).bearer_auth(FAKE_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["owned_by"], "mock");

    let (status, body) = send(client.get(format!("{}/v1/models/nope", gateway.root())).bearer_auth(FAKE_TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_openai_error(&body, "not_found_error", "model_not_found");
}

#[tokio::test]
async fn every_v1_request_needs_a_known_app_token() {
    let gateway = start();
    let client = reqwest::Client::new();
    let models = format!("{}/v1/models", gateway.root());
    for request in [
        client.get(&models),
        client.get(&models).bearer_auth("sb-wrong"),
        client.get(&models).header("authorization", "Basic c2NyaXB0czp4"),
        client.get(&models).header("x-api-key", "sb-wrong"),
    ] {
        let (status, body) = send(request).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_openai_error(&body, "authentication_error", "invalid_api_key");
    }
    // Anthropic- and Azure-style clients send the token in their own headers.
    for header in ["x-api-key", "api-key"] {
        let (status, _) = send(client.get(&models).header(header, FAKE_TOKEN)).await;
        assert_eq!(status, StatusCode::OK, "{header}");
    }
}

#[tokio::test]
async fn foreign_hosts_and_web_origins_are_refused() {
    let gateway = start();
    let client = reqwest::Client::new();
    let models = format!("{}/v1/models", gateway.root());
    // DNS rebinding: the page's own name arrives as Host, even with a valid token in hand.
    let (status, body) = send(client.get(&models).bearer_auth(FAKE_TOKEN).header("host", "evil.example:7352")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_openai_error(&body, "permission_error", "host_not_allowed");
    // /health too: it is open to tools, not to web pages.
    let health = format!("{}/health", gateway.root());
    let (status, _) = send(client.get(&health).header("host", "evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = send(client.get(&health).header("origin", "https://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_openai_error(&body, "permission_error", "origin_not_allowed");
    // No CORS headers are offered to anyone by default.
    let response = client
        .request(reqwest::Method::OPTIONS, &models)
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get("access-control-allow-origin").is_none());
    // `localhost` works as well as the address.
    let (status, _) =
        send(client.get(&models).bearer_auth(FAKE_TOKEN).header("host", format!("localhost:{}", gateway.port))).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_and_methods_get_openai_shaped_errors() {
    let gateway = start();
    let client = reqwest::Client::new();
    let (status, body) = send(client.get(format!("{}/v2/nothing", gateway.root()))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_openai_error(&body, "not_found_error", "unknown_url");
    let (status, body) = send(client.delete(format!("{}/health", gateway.root()))).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_openai_error(&body, "invalid_request_error", "method_not_allowed");
}

#[tokio::test]
async fn secrets_stay_out_of_the_log() {
    let gateway = start();
    let client = reqwest::Client::new();
    let _ = client.get(format!("{}/v1/models", gateway.root())).bearer_auth(FAKE_TOKEN).send().await.unwrap();
    let log = gateway.stderr();
    assert!(log.contains("gateway listening"), "the log should say where it listens: {log}");
    assert!(!log.contains(FAKE_TOKEN) && !log.contains(FAKE_KEY), "a secret reached the log: {log}");
}

#[test]
fn sigterm_stops_it_cleanly() {
    let mut gateway = start();
    let status = gateway.terminate(std::time::Duration::from_secs(10)).unwrap();
    assert!(status.success(), "a SIGTERM is a clean stop, exit status 0: {status}");
    assert!(gateway.stderr().contains("gateway stopped"), "{}", gateway.stderr());
}

fn run_gateway(args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(workspace_bin("switchboard-gateway"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("SWITCHBOARD_PORT")
        .output()
        .unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_taken_port_is_reported_with_the_fix() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let data = tempfile::tempdir().unwrap();
    let (ok, stderr) = run_gateway(&["--port", &port, "--data-dir", data.path().to_str().unwrap()], &[]);
    assert!(!ok);
    assert!(stderr.contains(&format!("port {port} on 127.0.0.1 is already in use")), "{stderr}");
    assert!(stderr.contains("--port N"), "the fix should be named: {stderr}");
}

#[test]
fn config_mistakes_stop_startup_with_a_pointed_message() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let port = free_port().to_string();

    let typo = dir.path().join("typo.toml");
    std::fs::write(&typo, "[server]\nprot = 7352\n").unwrap();
    let (ok, stderr) = run_gateway(&["--config", typo.to_str().unwrap(), "--data-dir", data, "--port", &port], &[]);
    assert!(!ok);
    assert!(stderr.contains("typo.toml") && stderr.contains("unknown field `prot`"), "{stderr}");

    let config = dir.path().join("apps.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let (ok, stderr) = run_gateway(&["--config", config.to_str().unwrap(), "--data-dir", data, "--port", &port], &[]);
    assert!(!ok);
    assert!(stderr.contains("SCRIPTS_TOKEN is not set"), "{stderr}");

    let (ok, stderr) = run_gateway(&["--config", "/nonexistent/switchboard.toml", "--port", &port], &[]);
    assert!(!ok);
    assert!(stderr.contains("cannot read config file /nonexistent/switchboard.toml"), "{stderr}");
}
