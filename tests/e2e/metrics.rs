//! Prometheus `/metrics` on the headless gateway: requests over a fake upstream (an answer, a 500 that falls back,
//! a stream, a model the client made up), the scrape read by a strict parser of the text format and held against
//! the ledger's rows; requests refused before routing counted by reason, and refusals with a row not counted there;
//! the scrape token; nothing of it on the API's port; off by default.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use e2e::fake::{FakeKind, FakeUpstream};
use e2e::{FAKE_KEY, FAKE_TOKEN, Gateway, free_port};
use reqwest::StatusCode;
use serde_json::json;
use switchboard_gateway::ledger::{DATABASE_FILE, queries};
use switchboard_gateway::store::Store;

const SCRAPE_TOKEN: &str = "sb-test-scrape-token-000000000000";

fn config(fake: &FakeUpstream, metrics: &str) -> String {
    format!(
        "{metrics}\n[[providers]]\nid = \"oa\"\nkind = \"openai\"\nbase_url = \"{}\"\nkey_env = \"UP_KEY\"\n\
         [[aliases]]\nname = \"general\"\ntargets = [\"oa/gpt-4o-mini\"]\n\
         [[aliases]]\nname = \"sturdy\"\ntargets = [\"oa/error-500\", \"oa/gpt-4o-mini\"]\n\
         [[apps]]\nname = \"scripts\"\ntoken_env = \"T\"\n",
        fake.api_base()
    )
}

async fn start(config: String) -> Gateway {
    let env = [("UP_KEY", FAKE_KEY), ("T", FAKE_TOKEN), ("SCRAPE", SCRAPE_TOKEN)];
    tokio::task::spawn_blocking(move || Gateway::start(&config, &env)).await.unwrap().unwrap()
}

async fn scrape(port: u16, token: Option<&str>) -> (StatusCode, String) {
    let mut request = reqwest::Client::new().get(format!("http://127.0.0.1:{port}/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_scrape_counts_what_the_ledger_holds() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let port = free_port();
    let metrics = format!("[metrics]\nenabled = true\nport = {port}\ntoken_env = \"SCRAPE\"\n");
    let mut gateway = start(config(&fake, &metrics)).await;
    let client = reqwest::Client::new();
    let chat = |model: &str, stream: bool| {
        let body = json!({ "model": model, "stream": stream, "messages": [{ "role": "user", "content": "hi" }] });
        client.post(format!("{}/v1/chat/completions", gateway.root())).bearer_auth(FAKE_TOKEN).json(&body)
    };
    for (model, stream) in [("general", false), ("sturdy", false), ("general", true), ("oa/made-up-model", false)] {
        let response = chat(model, stream).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{model}");
        response.text().await.unwrap();
    }

    // The writer counts a row once it is written: wait for all four.
    let mut text = String::new();
    for _ in 0..100 {
        text = scrape(port, Some(SCRAPE_TOKEN)).await.1;
        if parse(&text).sum("switchboard_requests_total", &[]) == 4.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let scraped = parse(&text);
    let status = gateway.terminate(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{}", gateway.stderr());
    let store = Store::open(&gateway.data().join(DATABASE_FILE)).unwrap();
    let page = queries::Page { limit: 100, before_id: None };
    let rows = queries::requests(&store, &queries::RequestFilter::default(), page).unwrap();
    assert_eq!(rows.len(), 4);

    // Requests per route equal the rows per route; the made-up model is `other`.
    let mut per_route: HashMap<(String, String), f64> = HashMap::new();
    for row in &rows {
        let model = row.model.clone().unwrap_or_default();
        let model = if model == "made-up-model" { "other".to_owned() } else { model };
        *per_route.entry((row.alias.clone().unwrap_or_default(), model)).or_default() += 1.0;
    }
    for ((alias, model), n) in &per_route {
        let labels = [("app", "scripts"), ("alias", alias), ("provider", "oa"), ("model", model)];
        let labels = [&labels[..], &[("status_class", "2xx"), ("outcome", "ok")]].concat();
        assert_eq!(scraped.sum("switchboard_requests_total", &labels), *n, "{alias} {model}\n{text}");
    }
    assert!(!text.contains("made-up-model"), "{text}");

    let attempts: Vec<_> = rows.iter().flat_map(|r| &r.attempts).collect();
    assert_eq!(scraped.sum("switchboard_attempts_total", &[]), attempts.len() as f64);
    let fives = attempts.iter().filter(|a| a.result.contains("answered 500")).count();
    assert!(fives >= 1, "{attempts:?}");
    assert_eq!(
        scraped.sum("switchboard_errors_total", &[("kind", "upstream_5xx"), ("model", "error-500")]),
        fives as f64
    );
    assert_eq!(scraped.sum("switchboard_errors_total", &[]), fives as f64, "no other errors");
    assert_eq!(scraped.sum("switchboard_fallbacks_total", &[("alias", "sturdy"), ("model", "gpt-4o-mini")]), 1.0);

    let tokens = |f: fn(&queries::RequestRow) -> Option<u64>| rows.iter().filter_map(f).sum::<u64>() as f64;
    for (class, expect) in [
        ("input", tokens(|r| r.input_tokens)),
        ("cached_input", tokens(|r| r.cached_input_tokens)),
        ("cache_write", tokens(|r| r.cache_write_tokens)),
        ("cache_write_1h", tokens(|r| r.cache_write_1h_tokens)),
        ("output", tokens(|r| r.output_tokens)),
        ("reasoning", tokens(|r| r.reasoning_tokens)),
    ] {
        assert_eq!(scraped.sum("switchboard_tokens_total", &[("class", class)]), expect, "{class}");
    }
    assert!(tokens(|r| r.input_tokens) > 0.0);
    let cost: f64 = rows.iter().filter_map(|r| r.cost_usd).sum();
    assert!(cost > 0.0, "gpt-4o-mini has a shipped price");
    let scraped_cost = scraped.sum("switchboard_cost_usd_total", &[]);
    assert!((scraped_cost - cost).abs() < 1e-12, "{scraped_cost} vs {cost}");

    assert_eq!(scraped.sum("switchboard_request_duration_seconds_count", &[]), 4.0);
    let latency: f64 = rows.iter().filter_map(|r| r.latency_ms).sum::<u64>() as f64 / 1000.0;
    assert!((scraped.sum("switchboard_request_duration_seconds_sum", &[]) - latency).abs() < 1e-9);
    let streamed = rows.iter().filter(|r| r.ttft_ms.is_some()).count();
    assert_eq!(streamed, 1);
    assert_eq!(scraped.sum("switchboard_time_to_first_token_seconds_count", &[("alias", "general")]), 1.0);
    assert_eq!(scraped.sum("switchboard_ledger_rows_lost_total", &[]), 0.0);
    assert_eq!(scraped.sum("switchboard_refused_total", &[]), 0.0, "answered requests are no refusals");
}

#[tokio::test]
async fn refusals_before_routing_are_counted_by_reason_and_rows_are_not() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let port = free_port();
    // One request a minute for all apps: the second good request is refused by the limit, which makes a row.
    let metrics = format!("[server]\nmax_body_mb = 1\n[limits]\nrpm = 1\n[metrics]\nenabled = true\nport = {port}\n");
    let mut gateway = start(config(&fake, &metrics)).await;
    // A connection per request: the server closes the one a refused body was left unread on, and a pooled request
    // sent on it meanwhile would fail.
    let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let url = format!("{}/v1/chat/completions", gateway.root());
    let good = json!({ "model": "general", "messages": [{ "role": "user", "content": "hi" }] }).to_string();
    let post = |token: Option<&str>, body: String| {
        let request = client.post(&url).header("content-type", "application/json").body(body);
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    };
    let huge = format!(r#"{{"model":"general","messages":[{{"role":"user","content":"{}"}}]}}"#, "x".repeat(2 << 20));
    let unknown = json!({ "model": "nobody-configured-this", "messages": [] }).to_string();
    let no_model = json!({ "messages": [{ "role": "user", "content": "hi" }] }).to_string();
    // (what is sent, its status, its reason, how many times)
    let cases = [
        (post(None, good.clone()), StatusCode::UNAUTHORIZED, "no_token", 2),
        (post(Some("sb-not-a-token-anybody-has"), good.clone()), StatusCode::UNAUTHORIZED, "bad_token", 1),
        (post(Some(FAKE_TOKEN), "{\"model\": \"general\",".into()), StatusCode::BAD_REQUEST, "bad_json", 3),
        (post(Some(FAKE_TOKEN), huge), StatusCode::PAYLOAD_TOO_LARGE, "body_too_large", 1),
        (post(Some(FAKE_TOKEN), unknown), StatusCode::NOT_FOUND, "unknown_model", 1),
        (post(Some(FAKE_TOKEN), no_model), StatusCode::BAD_REQUEST, "invalid_request", 1),
        (post(Some(FAKE_TOKEN), good.clone()).header("host", "evil.example"), StatusCode::FORBIDDEN, "host", 1),
        (
            post(Some(FAKE_TOKEN), good.clone()).header("origin", "https://evil.example"),
            StatusCode::FORBIDDEN,
            "origin",
            1,
        ),
    ];
    for (request, status, reason, times) in &cases {
        for _ in 0..*times {
            let response = request.try_clone().unwrap().send().await;
            let response = response.unwrap_or_else(|e| panic!("{reason}: {e:?}"));
            assert_eq!(response.status(), *status, "{reason}");
            response.text().await.unwrap();
        }
    }
    for status in [StatusCode::OK, StatusCode::TOO_MANY_REQUESTS] {
        let response = post(Some(FAKE_TOKEN), good.clone()).send().await.unwrap();
        assert_eq!(response.status(), status);
        response.text().await.unwrap();
    }

    let mut text = String::new();
    for _ in 0..100 {
        text = scrape(port, None).await.1;
        if parse(&text).sum("switchboard_requests_total", &[]) == 2.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let scraped = parse(&text);
    for (_, _, reason, times) in &cases {
        let counted = scraped.sum("switchboard_refused_total", &[("reason", reason)]);
        assert_eq!(counted, f64::from(*times), "{reason}\n{text}");
    }
    let sent: i32 = cases.iter().map(|c| c.3).sum();
    assert_eq!(scraped.sum("switchboard_refused_total", &[]), f64::from(sent), "nothing else is counted\n{text}");
    for reason in ["headers_too_large", "body_timeout", "model_not_allowed"] {
        assert_eq!(scraped.sum("switchboard_refused_total", &[("reason", reason)]), 0.0, "{reason} is shown at 0");
    }
    // The two requests with a row are in the ledger's series only, the rate-limited one as `refused` there.
    let status = gateway.terminate(Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{}", gateway.stderr());
    let store = Store::open(&gateway.data().join(DATABASE_FILE)).unwrap();
    let page = queries::Page { limit: 100, before_id: None };
    let rows = queries::requests(&store, &queries::RequestFilter::default(), page).unwrap();
    assert_eq!(rows.len(), 2, "refusals before routing make no row");
    assert_eq!(scraped.sum("switchboard_requests_total", &[]), 2.0);
    assert_eq!(scraped.sum("switchboard_requests_total", &[("outcome", "refused"), ("status_class", "4xx")]), 1.0);
    assert_eq!(scraped.sum("switchboard_errors_total", &[("kind", "refused")]), 1.0);
    assert!(fake.requests().iter().filter(|r| r.method == "POST").count() == 1, "only the first good one went up");
}

#[tokio::test]
async fn scrapes_need_the_token_and_the_api_port_has_no_metrics() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let port = free_port();
    let metrics = format!("[metrics]\nenabled = true\nport = {port}\ntoken_env = \"SCRAPE\"\n");
    let gateway = start(config(&fake, &metrics)).await;
    for token in [None, Some("wrong"), Some(FAKE_TOKEN)] {
        let (status, body) = scrape(port, token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"]["type"], "authentication_error");
    }
    let (status, text) = scrape(port, Some(SCRAPE_TOKEN)).await;
    assert_eq!(status, StatusCode::OK);
    parse(&text);
    let client = reqwest::Client::new();
    for token in [None, Some(FAKE_TOKEN), Some(SCRAPE_TOKEN)] {
        let mut request = client.get(format!("{}/metrics", gateway.root()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{token:?}");
        assert!(!response.text().await.unwrap().contains("switchboard_"));
    }
}

#[tokio::test]
async fn metrics_are_off_unless_enabled() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let port = free_port();
    let gateway = start(config(&fake, &format!("[metrics]\nport = {port}\n"))).await;
    assert!(e2e::http_get(&format!("{}/health", gateway.root())).is_some());
    let refused = reqwest::Client::new().get(format!("http://127.0.0.1:{port}/metrics")).send().await;
    assert!(refused.is_err_and(|e| e.is_connect()), "nothing listens on the metrics port");
}

#[tokio::test]
async fn an_unset_scrape_token_stops_the_start() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let metrics = format!("[metrics]\nenabled = true\nport = {}\ntoken_env = \"UNSET_SCRAPE\"\n", free_port());
    let config = config(&fake, &metrics);
    let env = [("UP_KEY", FAKE_KEY), ("T", FAKE_TOKEN)];
    let error = tokio::task::spawn_blocking(move || Gateway::start(&config, &env).err()).await.unwrap();
    let error = error.expect("the gateway refuses to start").to_string();
    assert!(error.contains("metrics.token_env names UNSET_SCRAPE, which is not set"), "{error}");
}

#[tokio::test]
async fn a_busy_metrics_port_stops_the_start_and_says_which_port() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let port = free_port();
    let _taken = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let config = config(&fake, &format!("[metrics]\nenabled = true\nport = {port}\n"));
    let env = [("UP_KEY", FAKE_KEY), ("T", FAKE_TOKEN)];
    let error = tokio::task::spawn_blocking(move || Gateway::start(&config, &env).err()).await.unwrap();
    let error = error.expect("the gateway refuses to start").to_string();
    assert!(error.contains(&format!("port {port} on 127.0.0.1 is already in use (metrics.port)")), "{error}");
}

/// A scrape, read strictly: every family has one `# TYPE` before its samples, every sample belongs to a declared
/// family (a histogram's as `_bucket`, `_sum`, `_count`), no series appears twice, names and labels are well
/// formed, values are numbers, and each histogram's buckets rise to its `+Inf` bucket, which equals its count.
struct Scrape {
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    /// The sum of `name`'s samples whose labels include `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let matches =
            |l: &BTreeMap<String, String>| labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(v));
        self.samples.iter().filter(|(n, l, _)| n == name && matches(l)).map(|s| s.2).sum()
    }
}

fn parse(text: &str) -> Scrape {
    assert!(text.ends_with('\n'), "the text ends with a newline");
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helps = HashSet::new();
    let mut seen = HashSet::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# ") {
            let (keyword, rest) = rest.split_once(' ').unwrap_or_else(|| panic!("bad comment {line:?}"));
            let (name, value) = rest.split_once(' ').unwrap_or_else(|| panic!("bad {keyword} {line:?}"));
            assert!(is_name(name, true), "bad metric name in {line:?}");
            match keyword {
                "HELP" => assert!(helps.insert(name.to_owned()), "HELP twice for {name}"),
                "TYPE" => {
                    assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&value), "{line:?}");
                    assert!(types.insert(name.to_owned(), value.to_owned()).is_none(), "TYPE twice for {name}");
                }
                _ => panic!("unknown comment {line:?}"),
            }
            continue;
        }
        assert!(!line.is_empty() && !line.starts_with('#'), "bad line {line:?}");
        let (name, labels, value) = sample(line);
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| types.get(*f).is_some_and(|t| t == "histogram")))
            .unwrap_or(&name);
        assert!(types.contains_key(family), "{name} has no TYPE before it");
        assert!(seen.insert(format!("{name}{labels:?}")), "{line:?} appears twice");
        samples.push((name, labels, value));
    }
    let scrape = Scrape { samples };
    for (family, _) in types.iter().filter(|(_, t)| *t == "histogram") {
        let bucket = format!("{family}_bucket");
        let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        for (_, labels, value) in scrape.samples.iter().filter(|(n, _, _)| *n == bucket) {
            let mut rest = labels.clone();
            let le = rest.remove("le").expect("a bucket has le");
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().expect("le is a number") };
            series.entry(rest).or_default().push((le, *value));
        }
        for (labels, buckets) in series {
            assert!(buckets.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "{family} {labels:?}");
            let count = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>();
            let total = scrape.sum(&format!("{family}_count"), &count);
            assert_eq!(buckets.last().map(|b| (b.0, b.1)), Some((f64::INFINITY, total)), "{family} {labels:?}");
        }
    }
    scrape
}

/// `name{a="x",b="y"} value` or `name value`; label values with `\\`, `\"` and `\n` escapes only.
fn sample(line: &str) -> (String, BTreeMap<String, String>, f64) {
    let chars: Vec<char> = line.chars().collect();
    let mut i = chars.iter().position(|c| *c == '{' || *c == ' ').unwrap_or_else(|| panic!("no value in {line:?}"));
    let name: String = chars[..i].iter().collect();
    assert!(is_name(&name, true), "bad metric name in {line:?}");
    let mut labels = BTreeMap::new();
    if chars[i] == '{' {
        i += 1;
        loop {
            let start = i;
            while chars.get(i).is_some_and(|c| *c != '=') {
                i += 1;
            }
            let key: String = chars[start..i].iter().collect();
            assert!(is_name(&key, false), "bad label name {key:?} in {line:?}");
            assert_eq!(chars.get(i + 1), Some(&'"'), "unquoted value in {line:?}");
            i += 2;
            let mut value = String::new();
            loop {
                match chars.get(i) {
                    Some('\\') => {
                        value.push(match chars.get(i + 1) {
                            Some('\\') => '\\',
                            Some('"') => '"',
                            Some('n') => '\n',
                            other => panic!("bad escape {other:?} in {line:?}"),
                        });
                        i += 2;
                    }
                    Some('"') => break,
                    Some(c) => {
                        value.push(*c);
                        i += 1;
                    }
                    None => panic!("unterminated label value in {line:?}"),
                }
            }
            assert!(labels.insert(key.clone(), value).is_none(), "label {key} twice in {line:?}");
            i += 1;
            match chars.get(i) {
                Some(',') => i += 1,
                Some('}') => {
                    i += 1;
                    break;
                }
                _ => panic!("bad labels in {line:?}"),
            }
        }
    }
    let rest: String = chars[i..].iter().collect();
    let value = rest.strip_prefix(' ').unwrap_or_else(|| panic!("no value in {line:?}"));
    assert!(!value.contains(' '), "timestamps are not expected: {line:?}");
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        number => number.parse().unwrap_or_else(|_| panic!("bad value in {line:?}")),
    };
    (name, labels, value)
}

fn is_name(name: &str, colons: bool) -> bool {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || (colons && c == ':');
    name.chars().next().is_some_and(|c| !c.is_ascii_digit() && ok(c)) && name.chars().all(ok)
}
