//! The floor under the gateway's overhead: the least a JSON proxy built from the same parts (axum, reqwest, tokio,
//! mimalloc) costs per request. It reads the body, rewrites `model`, forwards it, reads the answer's JSON and
//! returns it, and nothing else: no token, no Host/Origin check, no routing, no ledger, no trace.
//!
//! `cargo run --release -p switchboard-gateway --example proxy_floor -- http://127.0.0.1:PORT/v1 [LISTEN_PORT]`
//! listens on 127.0.0.1:LISTEN_PORT (7399 if not given), with the gateway's threads: one, unless
//! `SWITCHBOARD_THREADS` says N workers (`0`: one per core). `cargo xtask bench` runs it as the "floor" next to the
//! gateway; by hand, compare the CPU time per request (from `/proc/PID/stat`) of this and of `switchboard-gateway`
//! under the same load from the fake upstream (`fake-upstream --kind openai`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use serde_json::Value;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Clone)]
struct Upstream {
    http: reqwest::Client,
    url: reqwest::Url,
}

async fn chat(State(upstream): State<Upstream>, body: Bytes) -> Response {
    let Ok(mut request) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    request["model"] = Value::String("gpt-4o-mini".into());
    let Ok(body) = serde_json::to_vec(&request) else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    let sent = upstream
        .http
        .post(upstream.url.clone())
        .bearer_auth("k")
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let Ok(answer) = sent else { return StatusCode::BAD_GATEWAY.into_response() };
    let status = answer.status();
    let Ok(bytes) = answer.bytes().await else { return StatusCode::BAD_GATEWAY.into_response() };
    if serde_json::from_slice::<Value>(&bytes).is_err() {
        return StatusCode::BAD_GATEWAY.into_response();
    }
    (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "http://127.0.0.1:8080/v1".to_owned());
    let port: u16 = args.next().map_or(Ok(7399), |port| port.parse())?;
    let runtime = switchboard_gateway::runtime::from_env()?;
    runtime.block_on(async {
        let http = reqwest::Client::builder().tcp_nodelay(true).build()?;
        let upstream = Upstream { http, url: reqwest::Url::parse(&format!("{base}/chat/completions"))? };
        let app = Router::new()
            .route("/health", get(|| async { "ok" }))
            .route("/v1/chat/completions", post(chat))
            .with_state(upstream);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app).await?;
        Ok(())
    })
}
