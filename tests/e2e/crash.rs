//! Crash safety: the gateway killed with SIGKILL in the middle of steady traffic leaves a database that opens,
//! passes SQLite's integrity check, and holds every request that finished before the writer's last flush interval
//! (250 ms after a batch's first row, plus the moment it takes to write the batch).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use e2e::fake::{FakeKind, FakeUpstream};
use e2e::{FAKE_KEY, FAKE_TOKEN, Gateway};
use serde_json::json;
use switchboard_gateway::ledger::{DATABASE_FILE, queries};
use switchboard_gateway::store::Store;

/// Requests that finished this long before the kill must be in the database: the batch interval (250 ms) and
/// room for writing the batch on a busy machine.
const MAY_BE_LOST: Duration = Duration::from_millis(750);
const CLIENTS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_load_leaves_a_sound_database_missing_at_most_the_last_flush_interval() {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let config = format!(
        "[[providers]]\nid = \"oa\"\nkind = \"openai\"\nbase_url = \"{}\"\nkey_env = \"UP_KEY\"\n\
         [[aliases]]\nname = \"general\"\ntargets = [\"oa/gpt-4o-mini\"]\n\
         [[apps]]\nname = \"load\"\ntoken_env = \"T\"\n",
        fake.api_base()
    );
    let gateway =
        tokio::task::spawn_blocking(move || Gateway::start(&config, &[("UP_KEY", FAKE_KEY), ("T", FAKE_TOKEN)]))
            .await
            .unwrap()
            .unwrap();
    let url = format!("{}/v1/chat/completions", gateway.root());
    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (url, stop, started, answered) = (url.clone(), stop.clone(), started.clone(), answered.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                // When each request finished, as an offset from `start`.
                let mut finished = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    started.fetch_add(1, Ordering::Relaxed);
                    let body = json!({ "model": "general", "stream": (i + n) % 2 == 0,
                                       "messages": [{ "role": "user", "content": "hi" }] });
                    let done = async { http.post(&url).bearer_auth(FAKE_TOKEN).json(&body).send().await?.text().await };
                    if done.await.is_ok() {
                        finished.push(start.elapsed());
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                }
                finished
            })
        })
        .collect();

    // Load until a good number of requests are answered (a debug build on a busy machine is slow to get there),
    // then long enough that those are all past the flush interval, then the kill.
    while answered.load(Ordering::Relaxed) < 150 && start.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(MAY_BE_LOST + Duration::from_millis(500)).await;
    let kill = std::process::Command::new("kill").args(["-KILL", &gateway.pid().to_string()]).status().unwrap();
    let killed_at = start.elapsed();
    assert!(kill.success());
    stop.store(true, Ordering::Relaxed);
    let mut finished = Vec::new();
    for client in clients {
        finished.extend(client.await.unwrap());
    }
    let sent = started.load(Ordering::Relaxed);
    let before_cutoff = finished.iter().filter(|t| **t + MAY_BE_LOST <= killed_at).count() as u64;
    assert!(before_cutoff > 50, "the load was too light to mean anything: {before_cutoff} requests");

    let store = Store::open(&gateway.data().join(DATABASE_FILE)).expect("the database opens after a SIGKILL");
    assert_eq!(store.integrity_check().unwrap(), ["ok"]);
    let total = queries::overall(&store, i64::MIN, i64::MAX).unwrap();
    assert!(
        total.requests >= before_cutoff,
        "{} rows, but {before_cutoff} requests finished more than {MAY_BE_LOST:?} before the kill",
        total.requests
    );
    assert!(total.requests <= sent, "{} rows for {sent} requests sent", total.requests);
    let rows =
        queries::requests(&store, &queries::RequestFilter::default(), queries::Page { limit: 5, before_id: None })
            .unwrap();
    assert!(rows.iter().all(|r| r.app_name == "load" && r.input_tokens == Some(12)), "{rows:?}");
    eprintln!(
        "crash: {sent} sent, {} finished, {before_cutoff} finished {MAY_BE_LOST:?} before the kill, {} rows",
        finished.len(),
        total.requests
    );
}
