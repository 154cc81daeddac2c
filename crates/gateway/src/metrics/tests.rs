use axum::body::Body;
use axum::http::{Request, StatusCode};
use secrecy::SecretString;
use tower::ServiceExt;

use super::*;
use crate::ledger::AttemptRecord;
use crate::protocol::neutral::Usage;

const CONFIG: &str = r#"
    [[providers]]
    id = "oa"
    kind = "openai"
    base_url = "http://127.0.0.1:9/v1"
    [[aliases]]
    name = "general"
    targets = ["oa/gpt-4o-mini", "oa/gpt-4o"]
    [[models]]
    id = "oa/o4-mini"
    [[apps]]
    name = "scripts"
"#;

fn config() -> Config {
    Config::from_toml(CONFIG, "test.toml").unwrap()
}

fn route(app: &str, alias: &str, provider: &str, model: &str) -> Route {
    Route {
        app: app.into(),
        alias: alias.into(),
        provider: provider.into(),
        model: model.into(),
        protocol: "anthropic",
    }
}

#[test]
fn label_values_are_the_configurations_names_or_other() {
    let known = Known::from_config(&config());
    let check = |app, alias, provider, model, expect: Route| {
        assert_eq!(
            known.route(app, alias, provider, model, "anthropic"),
            expect,
            "{app} {alias:?} {provider:?} {model:?}"
        );
    };
    check("scripts", Some("general"), Some("oa"), Some("gpt-4o"), route("scripts", "general", "oa", "gpt-4o"));
    // A [[models]] entry counts as a known model too.
    check("scripts", None, Some("oa"), Some("o4-mini"), route("scripts", "", "oa", "o4-mini"));
    // What a client makes up collapses: an alias that is not one, a model only named as `oa/<anything>`.
    check("scripts", Some("made-up"), Some("oa"), Some("gpt-9-ultra"), route("scripts", "other", "oa", "other"));
    // A known model name under another provider is not that target.
    check("nobody", None, Some("elsewhere"), Some("gpt-4o"), route("other", "", "other", "other"));
    // A refusal has no target.
    check("scripts", Some("general"), None, None, route("scripts", "general", "", ""));
}

#[test]
fn a_thousand_invented_models_make_one_series() {
    let metrics = Metrics::new(&config());
    for n in 0..1000 {
        let row = Record {
            provider_id: Some("oa".into()),
            model: Some(format!("invented-{n}")),
            ..Record::new("scripts", "openai-chat")
        };
        metrics.written(&row, None);
    }
    let text = metrics.render();
    let requests: Vec<&str> = text.lines().filter(|l| l.starts_with("switchboard_requests_total{")).collect();
    assert_eq!(requests.len(), 1, "{text}");
    assert!(requests[0].contains(r#"model="other""#) && requests[0].ends_with(" 1000"), "{}", requests[0]);
}

fn attempt(target: &str, failure: Option<FailureKind>) -> AttemptRecord {
    AttemptRecord { target: target.into(), result: String::new(), elapsed_ms: 5, failure }
}

/// A request whose first target answered 500 twice, then fell back to the second, which streamed its answer.
fn fallen_back() -> Record {
    Record {
        alias: Some("general".into()),
        provider_id: Some("oa".into()),
        model: Some("gpt-4o".into()),
        stream: true,
        attempts: vec![
            attempt("oa/gpt-4o-mini", Some(FailureKind::ServerError)),
            attempt("oa/gpt-4o-mini", Some(FailureKind::ServerError)),
            attempt("oa/gpt-4o", None),
        ],
        usage: Some(Usage {
            input: 100,
            cached_input: 40,
            cache_write: 0,
            cache_write_1h: 0,
            output: 20,
            reasoning: 7,
        }),
        latency_ms: 1500,
        ttft_ms: Some(300),
        ..Record::new("scripts", "anthropic")
    }
}

#[test]
fn the_text_has_every_series_of_a_row_in_prometheus_format() {
    let metrics = Metrics::new(&config());
    metrics.written(&fallen_back(), Some(0.25));
    let refused = Record { status: 429, alias: Some("general".into()), ..Record::new("scripts", "anthropic") };
    metrics.written(&refused, None);
    metrics.lost(2);
    let text = metrics.render();
    let route = r#"app="scripts",alias="general",provider="oa",model="gpt-4o",protocol="anthropic""#;
    let first = r#"app="scripts",alias="general",provider="oa",model="gpt-4o-mini",protocol="anthropic""#;
    let refused = r#"app="scripts",alias="general",provider="",model="",protocol="anthropic""#;
    for line in [
        "# TYPE switchboard_requests_total counter".to_owned(),
        format!(r#"switchboard_requests_total{{{route},status_class="2xx",outcome="ok"}} 1"#),
        format!(r#"switchboard_requests_total{{{refused},status_class="4xx",outcome="refused"}} 1"#),
        format!(r#"switchboard_errors_total{{{first},kind="upstream_5xx"}} 2"#),
        format!(r#"switchboard_errors_total{{{refused},kind="refused"}} 1"#),
        format!(r#"switchboard_attempts_total{{{first},result="error"}} 2"#),
        format!(r#"switchboard_attempts_total{{{route},result="ok"}} 1"#),
        format!(r#"switchboard_fallbacks_total{{{route}}} 1"#),
        format!(r#"switchboard_tokens_total{{{route},class="input"}} 100"#),
        format!(r#"switchboard_tokens_total{{{route},class="cached_input"}} 40"#),
        format!(r#"switchboard_tokens_total{{{route},class="reasoning"}} 7"#),
        format!(r#"switchboard_cost_usd_total{{{route}}} 0.25"#),
        "# TYPE switchboard_request_duration_seconds histogram".to_owned(),
        format!(r#"switchboard_request_duration_seconds_bucket{{{route},le="1"}} 0"#),
        format!(r#"switchboard_request_duration_seconds_bucket{{{route},le="2.5"}} 1"#),
        format!(r#"switchboard_request_duration_seconds_bucket{{{route},le="+Inf"}} 1"#),
        format!(r#"switchboard_request_duration_seconds_sum{{{route}}} 1.5"#),
        format!(r#"switchboard_time_to_first_token_seconds_count{{{route}}} 1"#),
        "switchboard_ledger_rows_lost_total 2".to_owned(),
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
    // No token class with nothing in it gets a series.
    assert!(!text.contains(r#"class="cache_write""#), "{text}");
    assert!(!text.contains("# EOF"), "the 0.0.4 text format has no EOF marker");
}

#[test]
fn names_with_quotes_and_backslashes_are_escaped() {
    let mut config = config();
    config.apps[0].name = "ops \"blue\" \\ team".into();
    let metrics = Metrics::new(&config);
    metrics.written(&Record::new("ops \"blue\" \\ team", "openai-chat"), None);
    let text = metrics.render();
    assert!(text.contains(r#"app="ops \"blue\" \\ team""#), "{text}");
}

#[test]
fn outcomes_say_how_a_request_ended() {
    let ok = fallen_back();
    let broken = Record { error: Some("the stream broke".into()), ..fallen_back() };
    let failed = Record { status: 502, error: Some("oa answered 500".into()), ..fallen_back() };
    let refused = Record { status: 429, ..Record::new("scripts", "anthropic") };
    let got: Vec<Outcome> = [ok, broken, failed, refused].iter().map(Outcome::of).collect();
    assert_eq!(got, [Outcome::ok, Outcome::interrupted, Outcome::failed, Outcome::refused]);
}

#[test]
fn a_reload_bounds_new_rows_by_the_new_names() {
    let metrics = Metrics::new(&config());
    let row = || Record { alias: Some("fresh".into()), ..Record::new("scripts", "openai-chat") };
    metrics.written(&row(), None);
    let mut next = config();
    next.aliases[0].name = "fresh".into();
    metrics.set_known(&next);
    metrics.written(&row(), None);
    let text = metrics.render();
    assert!(text.contains(r#"alias="other""#) && text.contains(r#"alias="fresh""#), "{text}");
}

async fn get(app: &axum::Router, path: &str, token: Option<&str>) -> (StatusCode, String, String) {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, content_type, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn scrapes_need_the_token_when_one_is_set_and_only_metrics_is_served() {
    let metrics = Metrics::new(&config());
    metrics.written(&fallen_back(), None);
    let app = server::router(metrics, Scrapers::token(&SecretString::from("scrape-secret")));
    let (status, content_type, body) = get(&app, "/metrics", Some("scrape-secret")).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, CONTENT_TYPE));
    assert!(body.contains("switchboard_requests_total{"), "{body}");
    for token in [None, Some("wrong"), Some("scrape-secre"), Some("scrape-secret2")] {
        let (status, _, body) = get(&app, "/metrics", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert!(body.contains("\"authentication_error\"") && !body.contains("switchboard_"), "{body}");
    }
    let (status, _, _) = get(&app, "/v1/models", Some("scrape-secret")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let open = server::router(Metrics::new(&config()), Scrapers::Anyone);
    assert_eq!(get(&open, "/metrics", None).await.0, StatusCode::OK);
}

#[test]
fn a_token_env_that_is_not_set_refuses_to_start_rather_than_serve_anyone() {
    let config = |token_env: Option<&str>| crate::config::MetricsConfig {
        enabled: true,
        port: 0,
        token_env: token_env.map(str::to_owned),
    };
    let env = |var: &str| (var == "SCRAPE").then(|| " scrape-secret \n".to_owned());
    assert!(matches!(Scrapers::from_config(&config(None), env), Ok(Scrapers::Anyone)));
    let Ok(Scrapers::WithToken(digest)) = Scrapers::from_config(&config(Some("SCRAPE")), env) else { panic!() };
    assert!(matches!(Scrapers::token(&SecretString::from("scrape-secret")), Scrapers::WithToken(d) if d == digest));
    let error = Scrapers::from_config(&config(Some("UNSET")), env).err().unwrap();
    assert!(error.contains("metrics.token_env names UNSET, which is not set"), "{error}");
}

#[test]
fn refusals_are_counted_by_reason_every_reason_shown() {
    let metrics = Metrics::new(&config());
    metrics.refused(Refusal::no_token);
    metrics.refused(Refusal::no_token);
    metrics.refused(Refusal::bad_json);
    let text = metrics.render();
    assert_eq!(text.matches("# TYPE switchboard_refused_total counter").count(), 1, "{text}");
    assert_eq!(text.matches("# HELP switchboard_refused_total ").count(), 1, "{text}");
    for reason in Refusal::ALL {
        let name = format!("{reason:?}");
        let count = match reason {
            Refusal::no_token => 2,
            Refusal::bad_json => 1,
            _ => 0,
        };
        let line = format!(r#"switchboard_refused_total{{reason="{name}"}} {count}"#);
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
    // A refusal is no request row: the ledger's series are untouched.
    assert!(!text.contains("switchboard_requests_total{"), "{text}");
}
