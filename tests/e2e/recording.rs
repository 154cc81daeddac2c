//! The ledger wired into the running gateway: every request served is recorded (tokens, cost, attempts, the
//! alias and target), a clean stop loses nothing, a spent budget blocks the next request, and a warn budget warns
//! once.

use std::process::Command;
use std::time::Duration;

use e2e::fake::{FakeKind, FakeUpstream};
use e2e::{FAKE_KEY, FAKE_TOKEN, Gateway, workspace_bin};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_gateway::ledger::{DATABASE_FILE, queries};
use switchboard_gateway::store::Store;

fn config(fake: &FakeUpstream) -> String {
    format!(
        "[[providers]]\nid = \"oa\"\nkind = \"openai\"\nbase_url = \"{}\"\nkey_env = \"UP_KEY\"\n\
         [[aliases]]\nname = \"general\"\ntargets = [\"oa/error-500\", \"oa/gpt-4o-mini\"]\n\
         [[apps]]\nname = \"scripts\"\ntoken_env = \"T\"\n",
        fake.api_base()
    )
}

async fn chat(gateway: &Gateway, stream: bool) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let body = json!({ "model": "general", "stream": stream, "messages": [{ "role": "user", "content": "hi" }] });
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", gateway.root()))
        .bearer_auth(FAKE_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_recorded_and_a_clean_stop_loses_nothing() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let config = config(&fake);
    let mut gateway =
        tokio::task::spawn_blocking(move || Gateway::start(&config, &[("UP_KEY", FAKE_KEY), ("T", FAKE_TOKEN)]))
            .await
            .unwrap()
            .unwrap();
    for stream in [false, true, false] {
        let (status, _, body) = chat(&gateway, stream).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // SIGTERM: the gateway stops cleanly, flushing the ledger after the listener; the exit says it is done.
    let status = gateway.terminate(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{}", gateway.stderr());

    let output = Command::new(workspace_bin("switchboard-gateway"))
        .args(["usage", "--json", "--since", "all", "--data-dir"])
        .arg(gateway.data())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let text = report.to_string();
    assert!(text.contains("\"scripts\"") && text.contains("\"general\""), "{report}");

    // The rows themselves: three requests, the target that answered, its fallback attempts, tokens and a cost.
    let store = Store::open(&gateway.data().join(DATABASE_FILE)).unwrap();
    let rows =
        queries::requests(&store, &queries::RequestFilter::default(), queries::Page { limit: 10, before_id: None })
            .unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    for row in &rows {
        assert_eq!((row.app_name.as_str(), row.alias.as_deref()), ("scripts", Some("general")));
        assert_eq!((row.provider_id.as_deref(), row.model.as_deref()), (Some("oa"), Some("gpt-4o-mini")));
        assert_eq!(row.status, 200);
        assert_eq!((row.input_tokens, row.cached_input_tokens, row.output_tokens), (Some(12), Some(4), Some(7)));
        assert!(row.cost_usd.is_some_and(|c| c > 0.0), "priced from the shipped table: {row:?}");
        assert_eq!(row.cost_source.as_deref(), Some("prices"));
    }
    // Newest first. The first two requests tried error-500 twice each (one retry) before the answer; its third
    // failure in a row cooled it down, so the third request went straight to the answering target.
    let targets = |row: &queries::RequestRow| row.attempts.iter().map(|a| a.target.clone()).collect::<Vec<_>>();
    assert_eq!(targets(&rows[2]), ["oa/error-500", "oa/error-500", "oa/gpt-4o-mini"]);
    assert_eq!(targets(&rows[1]), ["oa/error-500", "oa/error-500", "oa/gpt-4o-mini"]);
    assert_eq!(targets(&rows[0]), ["oa/gpt-4o-mini"]);
    assert_eq!(rows.iter().filter(|r| r.stream).count(), 1);
    assert!(rows.iter().filter(|r| r.stream).all(|r| r.ttft_ms.is_some()));
    assert!(!format!("{rows:?}").contains(FAKE_KEY) && !format!("{rows:?}").contains(FAKE_TOKEN));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_budget_blocks_the_next_request() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let gateway = with_daily_budget(&fake, "block").await;
    let (status, _, body) = chat(&gateway, false).await;
    assert_eq!(status, StatusCode::OK, "the first request is within budget: {body}");
    let mut last = (StatusCode::OK, String::new());
    for _ in 0..30 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (status, headers, body) = chat(&gateway, false).await;
        last = (status, body);
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(headers.get("retry-after").is_some());
            break;
        }
    }
    assert_eq!(last.0, StatusCode::TOO_MANY_REQUESTS, "{}", last.1);
    let body: Value = serde_json::from_str(&last.1).unwrap();
    assert_eq!(body["error"]["code"], "budget_exceeded");
    assert!(body["error"]["message"].as_str().unwrap().contains("resets in"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warn_budget_warns_exactly_once_however_many_requests_pass_it() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let gateway = with_daily_budget(&fake, "warn").await;
    let mut warned_headers = 0;
    for _ in 0..6 {
        let (status, headers, body) = chat(&gateway, false).await;
        assert_eq!(status, StatusCode::OK, "a warn budget never refuses: {body}");
        warned_headers += usize::from(headers.get("x-switchboard-budget").is_some());
        // Past the ledger's batch interval, so each row is written (and counted) before the next request.
        tokio::time::sleep(Duration::from_millis(350)).await;
    }
    assert!(warned_headers >= 4, "the requests after the first carry the warning header ({warned_headers})");
    let warnings = gateway.stderr().matches("budget warning").count();
    assert_eq!(warnings, 1, "one warning for the day, not one per request:\n{}", gateway.stderr());
    assert!(gateway.stderr().contains("of the $0.00 daily overall budget"), "{}", gateway.stderr());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_request_logging_on_the_ledger_keeps_what_was_asked_and_what_came_back() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let config = format!("{}[logging]\nbodies = true\nretention_days = 3\n", config(&fake));
    let mut gateway =
        tokio::task::spawn_blocking(move || Gateway::start(&config, &[("UP_KEY", FAKE_KEY), ("T", FAKE_TOKEN)]))
            .await
            .unwrap()
            .unwrap();
    let (_, _, whole) = chat(&gateway, false).await;
    let (_, _, streamed) = chat(&gateway, true).await;
    // The ledger is flushed after the listener stops: only the exit says every row is written.
    let status = gateway.terminate(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{}", gateway.stderr());

    let store = Store::open(&gateway.data().join(DATABASE_FILE)).unwrap();
    let rows =
        queries::requests(&store, &queries::RequestFilter::default(), queries::Page { limit: 10, before_id: None })
            .unwrap();
    assert_eq!(rows.len(), 2);
    for (row, answer) in rows.iter().zip([&streamed, &whole]) {
        let bodies = queries::request_detail(&store, row.id).unwrap().unwrap().bodies.expect("bodies were kept");
        let request: Value = serde_json::from_str(bodies.request.as_deref().unwrap()).unwrap();
        assert_eq!(request["model"], "general", "the body as the client sent it, before routing rewrote it");
        assert_eq!(request["messages"][0]["content"], "hi");
        assert_eq!(bodies.response.as_deref(), Some(answer.as_str()), "what the client received, byte for byte");
        assert!(!bodies.truncated);
    }
    let all = format!("{rows:?}");
    assert!(!all.contains(FAKE_KEY) && !all.contains(FAKE_TOKEN), "bodies never hold keys or tokens");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_request_logging_no_body_is_kept() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let config = config(&fake);
    let mut gateway =
        tokio::task::spawn_blocking(move || Gateway::start(&config, &[("UP_KEY", FAKE_KEY), ("T", FAKE_TOKEN)]))
            .await
            .unwrap()
            .unwrap();
    chat(&gateway, false).await;
    chat(&gateway, true).await;
    // The ledger is flushed after the listener stops: only the exit says every row is written.
    let status = gateway.terminate(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{}", gateway.stderr());
    let store = Store::open(&gateway.data().join(DATABASE_FILE)).unwrap();
    let rows =
        queries::requests(&store, &queries::RequestFilter::default(), queries::Page { limit: 10, before_id: None })
            .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| queries::request_detail(&store, r.id).unwrap().unwrap().bodies.is_none()));
}

/// A gateway whose overall daily budget (a millionth of a dollar) is spent by its first request.
async fn with_daily_budget(fake: &FakeUpstream, action: &'static str) -> Gateway {
    let config = config(fake);
    tokio::task::spawn_blocking(move || {
        Gateway::start_prepared(&config, &[("UP_KEY", FAKE_KEY), ("T", FAKE_TOKEN)], |data| {
            let store = Store::open(&data.join(DATABASE_FILE)).unwrap();
            store.set_setting("budget", &json!({ "daily_usd": 0.000001, "action": action })).unwrap();
        })
    })
    .await
    .unwrap()
    .unwrap()
}
