//! Headless replicas sharing PostgreSQL (`[store] url`): a real server from Debian's packages (see
//! `e2e::postgres`), two `switchboard-gateway` processes in front of one fake upstream. Requests spread over both
//! land in one ledger and one `usage` report; one budget stops both; a database killed for a while loses no row;
//! a replica stopped and started again loses no row; a database that cannot be reached, or refuses the password,
//! is named at start with what to check.

use std::time::{Duration, Instant};

use e2e::fake::{FakeKind, FakeUpstream};
use e2e::postgres::{PG_PASSWORD, PgServer};
use e2e::{FAKE_KEY, FAKE_TOKEN, Gateway, free_port, workspace_bin};
use reqwest::StatusCode;
use serde_json::{Value, json};
use switchboard_gateway::ledger::{Prices, Record};
use switchboard_gateway::postgres::{Postgres, StoreConfig};
use switchboard_gateway::protocol::neutral::Usage;

/// What one request to `general` costs: the fake answers 12 input tokens (4 of them cached) and 7 output tokens,
/// and gpt-4o-mini's shipped price is $0.15 input, $0.075 cached input, $0.60 output per million.
const ONE_REQUEST_USD: f64 = (8.0 * 0.15 + 4.0 * 0.075 + 7.0 * 0.60) / 1e6;

fn config(fake: &FakeUpstream, url: &str, app_extra: &str) -> String {
    format!(
        "[store]\nurl = \"{url}\"\npassword_env = \"PGPW\"\nbudget_refresh_ms = 200\n\
         [[providers]]\nid = \"oa\"\nkind = \"openai\"\nbase_url = \"{}\"\nkey_env = \"UP_KEY\"\n\
         [[aliases]]\nname = \"general\"\ntargets = [\"oa/gpt-4o-mini\"]\n\
         [[apps]]\nname = \"scripts\"\ntoken_env = \"T\"\n{app_extra}\n",
        fake.api_base()
    )
}

const ENV: [(&str, &str); 3] = [("UP_KEY", FAKE_KEY), ("T", FAKE_TOKEN), ("PGPW", PG_PASSWORD)];

async fn replica(config: &str) -> Gateway {
    let config = config.to_owned();
    tokio::task::spawn_blocking(move || Gateway::start(&config, &ENV)).await.unwrap().unwrap()
}

async fn pg_server() -> PgServer {
    tokio::task::spawn_blocking(PgServer::start).await.unwrap().unwrap()
}

/// One chat request through `gateway`, its status and body.
async fn chat(gateway: &Gateway, stream: bool) -> (StatusCode, String) {
    let body = json!({ "model": "general", "stream": stream, "messages": [{ "role": "user", "content": "hi" }] });
    let response = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", gateway.root()))
        .bearer_auth(FAKE_TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.text().await.unwrap())
}

/// Waits until the database holds `n` request rows.
async fn rows_reach(pg: &PgServer, n: i64, within: Duration) -> i64 {
    let deadline = Instant::now() + within;
    loop {
        let found = pg.count("SELECT count(*) FROM requests").unwrap();
        if found >= n || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every row once, and the rollups saying what the rows say.
fn assert_consistent(pg: &PgServer, n: i64) {
    assert_eq!(pg.count("SELECT count(*) FROM requests").unwrap(), n);
    assert_eq!(pg.count("SELECT count(DISTINCT (replica, seq)) FROM requests").unwrap(), n);
    for rollup in ["usage_hourly", "usage_daily"] {
        assert_eq!(pg.count(&format!("SELECT coalesce(sum(requests), 0) FROM {rollup}")).unwrap(), n, "{rollup}");
        let tokens = pg.count(&format!("SELECT coalesce(sum(output_tokens), 0) FROM {rollup}")).unwrap();
        assert_eq!(tokens, pg.count("SELECT coalesce(sum(output_tokens), 0) FROM requests").unwrap(), "{rollup}");
    }
}

/// `switchboard_ledger_rows_waiting` from the replica's `/metrics` on `port`.
async fn waiting(port: u16) -> i64 {
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap().text().await.unwrap();
    let line = text.lines().find(|l| l.starts_with("switchboard_ledger_rows_waiting ")).expect("the gauge");
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// The CPU time (user + system) process `pid` has used, in ms.
fn cpu_ms(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    // utime and stime are the 14th and 15th fields of the whole line: the 12th and 13th after the command name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    let hz = std::process::Command::new("getconf").arg("CLK_TCK").output().unwrap();
    ticks * 1000 / String::from_utf8_lossy(&hz.stdout).trim().parse::<u64>().unwrap()
}

/// `switchboard-gateway usage --config FILE --since all --json`, as an operator runs it on any machine.
fn usage(config: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(&path, config).unwrap();
    let output = std::process::Command::new(workspace_bin("switchboard-gateway"))
        .args(["usage", "--since", "all", "--json", "--config"])
        .arg(&path)
        .envs(ENV)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_str(&stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_one_ledger_and_one_usage_report_and_a_restart_loses_nothing() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let pg = pg_server().await;
    let config = config(&fake, &pg.url(), "");
    let (mut a, b) = (replica(&config).await, replica(&config).await);
    for i in 0..10 {
        let gateway = if i % 2 == 0 { &a } else { &b };
        let (status, body) = chat(gateway, i % 3 == 0).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(rows_reach(&pg, 10, Duration::from_secs(10)).await, 10, "{}\n{}", a.stderr(), b.stderr());
    assert_eq!(pg.count("SELECT count(DISTINCT replica) FROM requests").unwrap(), 2, "both replicas wrote");
    // One app, one id, whichever replica served it.
    assert_eq!(pg.count("SELECT count(DISTINCT app_id) FROM requests WHERE app_id IS NOT NULL").unwrap(), 1);
    assert_eq!(pg.count("SELECT count(*) FROM requests WHERE app_id IS NULL").unwrap(), 0);
    assert_eq!(pg.count("SELECT count(*) FROM apps WHERE name = 'scripts' AND token_digest IS NOT NULL").unwrap(), 1);
    assert_consistent(&pg, 10);

    let report = usage(&config);
    assert_eq!(report["total"]["requests"], 10, "{report}");
    assert_eq!(report["total"]["output"], 70, "{report}");
    let cost = report["total"]["cost_usd"].as_f64().unwrap();
    assert!((cost - 10.0 * ONE_REQUEST_USD).abs() < 1e-12, "{cost}");
    assert_eq!(report["by_app"][0]["key"], "scripts");
    assert_eq!(report["by_alias"][0]["requests"], 10);

    // A replica stopped right after answering (its rows still in its batch) and started again loses nothing.
    for _ in 0..3 {
        assert_eq!(chat(&a, false).await.0, StatusCode::OK);
    }
    let status = a.terminate(Duration::from_secs(15)).unwrap();
    assert!(status.success(), "{}", a.stderr());
    assert_eq!(pg.count("SELECT count(*) FROM requests").unwrap(), 13, "written before the replica exited");
    let again = replica(&config).await;
    assert_eq!(chat(&again, true).await.0, StatusCode::OK);
    assert_eq!(rows_reach(&pg, 14, Duration::from_secs(10)).await, 14);
    assert_eq!(pg.count("SELECT count(DISTINCT app_id) FROM requests").unwrap(), 1, "the same id after a restart");
    assert_consistent(&pg, 14);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_budget_stops_every_replica() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let pg = pg_server().await;
    // Two requests' worth is over the limit; one is not.
    let budget = format!("budget = {{ daily_usd = {}, action = \"block\" }}", 1.5 * ONE_REQUEST_USD);
    let config = config(&fake, &pg.url(), &budget);
    let a = replica(&config).await;
    // B logs each read of every replica's spend (at debug), so the test can wait for one instead of for a while.
    let b = {
        let (config, mut env) = (config.clone(), ENV.to_vec());
        env.push(("RUST_LOG", "info,switchboard_gateway::ledger::pg_writer=debug"));
        tokio::task::spawn_blocking(move || Gateway::start(&config, &env)).await.unwrap().unwrap()
    };
    for _ in 0..2 {
        let (status, body) = chat(&a, false).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(rows_reach(&pg, 2, Duration::from_secs(10)).await, 2);
    // Two more reads by B: the second began after A's rows were in the database.
    const READ: &str = "read the spend of all replicas";
    let reads = b.stderr().matches(READ).count();
    let deadline = Instant::now() + Duration::from_secs(30);
    while b.stderr().matches(READ).count() < reads + 2 {
        assert!(Instant::now() < deadline, "B never read the spend:\n{}", b.stderr());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // B has spent nothing itself: its refusal comes from A's spend, read from the database.
    let (status, refusal) = chat(&b, false).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refusal}");
    let refusal: Value = serde_json::from_str(&refusal).unwrap();
    assert_eq!(refusal["error"]["code"], "budget_exceeded", "{refusal}");
    let (status, body) = chat(&a, false).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "A refuses too: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_away_for_a_while_loses_no_row() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let mut pg = pg_server().await;
    let config = config(&fake, &pg.url(), "");
    // A serves /metrics, to show the rows waiting for the database.
    let metrics_port = free_port();
    let with_metrics = format!("[metrics]\nenabled = true\nport = {metrics_port}\n{config}");
    let (a, b) = (replica(&with_metrics).await, replica(&config).await);
    assert_eq!(chat(&a, false).await.0, StatusCode::OK);
    assert_eq!(rows_reach(&pg, 1, Duration::from_secs(10)).await, 1);

    tokio::task::block_in_place(|| pg.kill()).unwrap();
    // Requests go on being answered while the database is away, whole and streamed, on both replicas.
    for i in 0..20 {
        let gateway = if i % 2 == 0 { &a } else { &b };
        let (status, body) = chat(gateway, i % 4 == 0).await;
        assert_eq!(status, StatusCode::OK, "request {i} while the database is away: {body}");
    }
    // Both replicas have found the database away (and kept their rows) before it comes back.
    let deadline = Instant::now() + Duration::from_secs(30);
    while ![&a, &b].iter().all(|r| r.stderr().contains("rows in memory and retrying")) {
        assert!(Instant::now() < deadline, "a replica never tried to write:\n{}\n{}", a.stderr(), b.stderr());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Waiting for the database costs no CPU: the writer sleeps between tries (a spinning loop would take a core).
    let before = [cpu_ms(a.pid()), cpu_ms(b.pid())];
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (replica, before) in [&a, &b].into_iter().zip(before) {
        let used = cpu_ms(replica.pid()) - before;
        assert!(used < 300, "{used} ms of CPU in a second of waiting for the database");
    }
    assert_eq!(waiting(metrics_port).await, 10, "A's ten rows wait for the database");
    tokio::task::block_in_place(|| pg.start_again()).unwrap();

    let found = rows_reach(&pg, 21, Duration::from_secs(30)).await;
    assert_eq!(found, 21, "{}\n{}", a.stderr(), b.stderr());
    // Nothing more arrives late, and nothing twice.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_consistent(&pg, 21);
    assert_eq!(waiting(metrics_port).await, 0);
    for replica in [&a, &b] {
        let log = replica.stderr();
        assert!(log.contains("keeping") && log.contains("rows in memory"), "{log}");
        assert!(log.contains("PostgreSQL is answering again"), "{log}");
        assert!(!log.contains("dropping the oldest"), "{log}");
        assert!(!log.contains(PG_PASSWORD), "{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_cannot_be_reached_or_refuses_the_password_is_named_at_start() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    // Nothing listens on this port.
    let closed = free_port();
    let url = format!("postgres://switchboard@127.0.0.1:{closed}/switchboard");
    let config_closed = config(&fake, &url, "");
    let error = tokio::task::spawn_blocking(move || Gateway::start(&config_closed, &ENV).err()).await.unwrap();
    let error = format!("{:#}", error.expect("the gateway must not start without its database"));
    assert!(
        error.contains(&format!("cannot reach PostgreSQL at switchboard@127.0.0.1:{closed}/switchboard")),
        "{error}"
    );
    assert!(error.contains("check that the server is running"), "{error}");

    let pg = pg_server().await;
    let config_wrong = config(&fake, &pg.url(), "");
    let env = [("UP_KEY", FAKE_KEY), ("T", FAKE_TOKEN), ("PGPW", "not-the-password")];
    let error = tokio::task::spawn_blocking(move || Gateway::start(&config_wrong, &env).err()).await.unwrap();
    let error = format!("{:#}", error.expect("a wrong password must stop the start"));
    assert!(error.contains("refused user \"switchboard\""), "{error}");
    assert!(error.contains("password authentication failed"), "{error}");
    assert!(error.contains("check the password"), "{error}");
    assert!(!error.contains("not-the-password"), "{error}");

    let config_unset = config(&fake, &pg.url(), "");
    let env = [("UP_KEY", FAKE_KEY), ("T", FAKE_TOKEN)];
    let error = tokio::task::spawn_blocking(move || Gateway::start(&config_unset, &env).err()).await.unwrap();
    let error = format!("{:#}", error.expect("a missing password variable must stop the start"));
    assert!(error.contains("store.password_env names PGPW, which is not set"), "{error}");
}

/// A batch sent again after its commit's answer was lost (the writer cannot tell whether it landed) inserts only
/// the rows that did not land, and the rollups count each row once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_sent_twice_is_written_once() {
    let server = pg_server().await;
    let store = StoreConfig { url: Some(server.url()), password_env: Some("PGPW".into()), ..StoreConfig::default() };
    let pg = Postgres::connect(&store, |_| Some(PG_PASSWORD.to_owned())).await.unwrap();
    let prices = Prices::shipped().unwrap();
    let row = |output| Record {
        provider_id: Some("oa".into()),
        provider_kind: Some("openai".into()),
        model: Some("gpt-4o-mini".into()),
        usage: Some(Usage { input: 100, output, ..Usage::default() }),
        ..Record::new("scripts", "openai-chat")
    };
    let batch: Vec<(i64, Record)> = (1..=3).map(|seq| (seq, row(10))).collect();
    let first = pg.write_rows(7, &prices, &batch).await.unwrap();
    let mut again = batch.clone();
    again.push((4, row(1)));
    let second = pg.write_rows(7, &prices, &again).await.unwrap();
    assert_eq!(second[..3], first[..], "the rows already there keep their ids");
    assert!(!first.contains(&second[3]));
    assert_eq!(server.count("SELECT count(*) FROM requests").unwrap(), 4);
    assert_eq!(server.count("SELECT sum(requests) FROM usage_daily").unwrap(), 4);
    assert_eq!(server.count("SELECT sum(output_tokens) FROM usage_hourly").unwrap(), 31);
    // Another replica's sequence numbers are its own.
    pg.write_rows(8, &prices, &batch).await.unwrap();
    assert_eq!(server.count("SELECT count(*) FROM requests").unwrap(), 7);
}
