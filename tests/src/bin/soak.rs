//! `soak --gateway <switchboard-gateway> [--seconds N] [--clients N]`: load and faults for `cargo xtask soak`.
//!
//! A fake OpenAI upstream (in this process, counting the responses it has open) sits behind the given gateway with
//! aliases whose targets fail in each way the fake knows: 429s and 500s before a good target, a slow first byte,
//! a connection dropped mid-stream, a stream that stalls for good. `--clients` concurrent clients mix streams and
//! non-streams over them for `--seconds`, some leaving mid-stream. Then it checks, and prints a summary:
//!
//! - no request outlived its alias's total timeout (plus slack);
//! - nothing fell back after the first byte (a broken stream ends with an in-band error, never the next target's
//!   answer, and says `x-switchboard-attempts: 1`);
//! - the upstream's responses are all closed within a second of the last client leaving, and 8 stalled streams
//!   abandoned at once close upstream within 500 ms (sooner than the idle timeout: the gateway cancelled them);
//! - the gateway's RSS at the end is at most 1.2 × its RSS after warm-up;
//! - after a clean SIGTERM stop, the ledger holds exactly as many requests as the clients saw answered.
//!
//! Exits 1 when a check fails.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use e2e::Gateway;
use e2e::fake::{self, FakeKind};
use futures_util::StreamExt;
use switchboard_gateway::ledger::{DATABASE_FILE, queries};
use switchboard_gateway::store::Store;

const USAGE: &str = "usage: soak --gateway <switchboard-gateway binary> [--seconds N] [--clients N]";
const TOKEN: &str = "sb-soak-token-0000000000000000";
/// Every alias's timeouts: a stalled stream ends after `IDLE` s; nothing may take longer than `TOTAL` s.
const FIRST_TOKEN: u64 = 1;
const IDLE: u64 = 3;
const TOTAL: u64 = 8;
/// Scheduling on a busy 2-core machine.
const SLACK: Duration = Duration::from_secs(2);
/// RSS at the end may be at most this multiple of RSS after warm-up.
const MAX_RSS_GROWTH: f64 = 1.2;

/// What one client request does.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// 429, then 500, then a good answer (until cooldowns skip the faulty targets).
    Mixed,
    MixedStream,
    /// The first target takes 2 s to answer, past the 1 s first-token timeout: fallback before the first byte.
    SlowStream,
    /// The first target drops its connection after two chunks: an in-band error, no fallback.
    BrokenStream,
    /// The target stalls after two chunks: the idle timeout ends it.
    StalledStream,
    /// As `StalledStream`, but the client leaves after the first chunk.
    LeaveStalled,
    /// As `MixedStream`, but the client leaves after the first chunk.
    LeaveMixed,
}

const PLAN: [Kind; 8] = [
    Kind::Mixed,
    Kind::Mixed,
    Kind::MixedStream,
    Kind::SlowStream,
    Kind::BrokenStream,
    Kind::StalledStream,
    Kind::LeaveStalled,
    Kind::LeaveMixed,
];

impl Kind {
    fn alias(self) -> &'static str {
        match self {
            Kind::Mixed | Kind::MixedStream | Kind::LeaveMixed => "mixed",
            Kind::SlowStream => "slow",
            Kind::BrokenStream => "broken",
            Kind::StalledStream | Kind::LeaveStalled => "stalled",
        }
    }

    fn stream(self) -> bool {
        !matches!(self, Kind::Mixed)
    }

    fn leaves(self) -> bool {
        matches!(self, Kind::LeaveStalled | Kind::LeaveMixed)
    }
}

#[derive(Default)]
struct Tally {
    sent: AtomicU64,
    answered: AtomicU64,
    left: AtomicU64,
    failed: AtomicU64,
    slowest_ms: AtomicU64,
    problems: std::sync::Mutex<Vec<String>>,
}

impl Tally {
    fn problem(&self, text: String) {
        let mut problems = self.problems.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if problems.len() < 20 {
            problems.push(text);
        }
    }
}

struct Args {
    gateway: PathBuf,
    seconds: u64,
    clients: usize,
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)).and_then(soak) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("soak: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let (mut gateway, mut seconds, mut clients) = (None, 120, 16);
    while let Some(arg) = args.next() {
        let mut value = || args.next().context(USAGE);
        match arg.as_str() {
            "--gateway" => gateway = Some(PathBuf::from(value()?)),
            "--seconds" => seconds = value()?.parse().context("--seconds takes a whole number")?,
            "--clients" => clients = value()?.parse().context("--clients takes a whole number")?,
            other => bail!("unexpected argument {other:?}\n{USAGE}"),
        }
    }
    Ok(Args { gateway: gateway.context(USAGE)?, seconds, clients })
}

fn soak(args: Args) -> anyhow::Result<bool> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    let open = Arc::new(AtomicUsize::new(0));
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let upstream = listener.local_addr()?;
    runtime.spawn(fake::serve_counting(FakeKind::OpenAi, listener, open.clone()));

    let timeouts = format!("timeouts = {{ first_token = {FIRST_TOKEN}, idle = {IDLE}, total = {TOTAL} }}");
    let config = format!(
        r#"
        [[providers]]
        id = "up"
        kind = "openai"
        base_url = "http://{upstream}/v1"
        key_env = "UP_KEY"
        [[aliases]]
        name = "mixed"
        targets = ["up/rate-limit", "up/error-500", "up/chat-model"]
        {timeouts}
        [[aliases]]
        name = "slow"
        targets = ["up/slow-first-byte", "up/chat-model"]
        {timeouts}
        [[aliases]]
        name = "broken"
        targets = ["up/drop-mid-stream", "up/chat-model"]
        {timeouts}
        [[aliases]]
        name = "stalled"
        targets = ["up/stall-mid-stream"]
        {timeouts}
        [[apps]]
        name = "soak"
        token_env = "SOAK_TOKEN"
        "#
    );
    let mut gateway = Gateway::start_binary(
        &args.gateway,
        &config,
        &[("UP_KEY", "soak-upstream-key"), ("SOAK_TOKEN", TOKEN)],
        |_| {},
    )?;
    let root = gateway.root();
    let pid = gateway.pid();
    println!(
        "soak: {} clients for {} s against {} (pid {pid}), upstream {upstream}",
        args.clients,
        args.seconds,
        args.gateway.display()
    );

    let tally = Arc::new(Tally::default());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let warm_up = Duration::from_secs((args.seconds / 6).clamp(5, 20));
    let (rss_warm, rss_end, rss_peak) = runtime.block_on(async {
        let client = reqwest::Client::builder().pool_max_idle_per_host(args.clients).build()?;
        let workers: Vec<_> = (0..args.clients)
            .map(|n| tokio::spawn(client_loop(n, client.clone(), root.clone(), tally.clone(), deadline)))
            .collect();
        tokio::time::sleep(warm_up).await;
        let rss_warm = rss_kib(pid)?;
        let mut rss_peak = rss_warm;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_secs(1)).await;
            rss_peak = rss_peak.max(rss_kib(pid)?);
        }
        for worker in workers {
            let _ = worker.await;
        }
        let rss_end = rss_kib(pid)?;
        anyhow::Ok((rss_warm, rss_end, rss_peak.max(rss_end)))
    })?;
    let ran = started.elapsed();

    // Every client has finished or left; the gateway must have closed its upstream calls at once.
    std::thread::sleep(Duration::from_secs(1));
    let still_open = open.load(Ordering::SeqCst);
    let (probe_held, probe_left) = runtime.block_on(leave_probe(&root, &open))?;

    let exit = gateway.terminate(Duration::from_secs(20))?;
    let store = Store::open(&gateway.data().join(DATABASE_FILE)).context("opening the ledger after the stop")?;
    let rows = queries::overall(&store, i64::MIN, i64::MAX)?.requests;
    let integrity = store.integrity_check()?;

    let sent = tally.sent.load(Ordering::SeqCst);
    let answered = tally.answered.load(Ordering::SeqCst);
    let left = tally.left.load(Ordering::SeqCst);
    let failed = tally.failed.load(Ordering::SeqCst);
    let slowest = Duration::from_millis(tally.slowest_ms.load(Ordering::SeqCst));
    let growth = rss_end as f64 / rss_warm as f64;
    let mut checks = vec![
        (
            "no request outlived its timeout",
            slowest <= Duration::from_secs(TOTAL) + SLACK,
            format!("slowest {slowest:?}, total timeout {TOTAL} s + {SLACK:?}"),
        ),
        (
            "every request was answered",
            failed == 0 && answered == sent,
            format!("{sent} sent, {answered} answered, {failed} failed"),
        ),
        (
            "upstream calls closed when their clients left",
            still_open == 0 && probe_held == PROBE && probe_left == 0,
            format!(
                "{still_open} upstream responses open 1 s after the last client; {PROBE} stalled streams held \
                 {probe_held} upstream responses, {probe_left} still open {PROBE_WAIT:?} after their clients left \
                 (idle timeout {IDLE} s)"
            ),
        ),
        (
            "memory stayed flat",
            growth <= MAX_RSS_GROWTH,
            format!(
                "RSS {} KiB after {warm_up:?} warm-up, {} KiB at the end ({growth:.2}×), peak {} KiB",
                rss_warm, rss_end, rss_peak
            ),
        ),
        (
            "the ledger holds exactly the requests served",
            rows == answered + PROBE as u64,
            format!("{rows} rows, {answered} answered + {PROBE} in the leave probe"),
        ),
        (
            "the gateway stopped cleanly",
            exit.success() && integrity == ["ok"],
            format!("{exit}, integrity {integrity:?}"),
        ),
    ];
    let problems = tally.problems.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    checks.push((
        "no fallback after the first byte, no stray status",
        problems.is_empty(),
        format!("{} problems", problems.len()),
    ));
    println!(
        "soak: {sent} requests in {ran:.0?} ({:.1}/s), {left} clients left mid-stream",
        sent as f64 / ran.as_secs_f64()
    );
    let mut ok = true;
    for (name, passed, detail) in &checks {
        println!("  [{}] {name}: {detail}", if *passed { "ok" } else { "FAIL" });
        ok &= passed;
    }
    for problem in problems {
        println!("    {problem}");
    }
    if !ok {
        println!("soak: the gateway's log is {}", gateway.data_dir.path().join("stderr.log").display());
        std::mem::forget(gateway.data_dir);
    }
    Ok(ok)
}

async fn client_loop(n: usize, client: reqwest::Client, root: String, tally: Arc<Tally>, deadline: Instant) {
    let mut i = n;
    while Instant::now() < deadline {
        let kind = PLAN[i % PLAN.len()];
        i += 1;
        tally.sent.fetch_add(1, Ordering::SeqCst);
        let started = Instant::now();
        // Far past any timeout: a request still running then is a failure, not a hang.
        let outcome = tokio::time::timeout(Duration::from_secs(TOTAL * 4), one(kind, &client, &root, &tally)).await;
        let took = started.elapsed();
        tally.slowest_ms.fetch_max(took.as_millis() as u64, Ordering::SeqCst);
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tally.failed.fetch_add(1, Ordering::SeqCst);
                tally.problem(format!("{kind:?}: {error:#}"));
            }
            Err(_) => {
                tally.failed.fetch_add(1, Ordering::SeqCst);
                tally.problem(format!("{kind:?}: no end after {took:?}"));
            }
        }
    }
}

async fn one(kind: Kind, client: &reqwest::Client, root: &str, tally: &Tally) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "model": kind.alias(),
        "stream": kind.stream(),
        "messages": [{"role": "user", "content": "soak"}],
    });
    let response = client.post(format!("{root}/v1/chat/completions")).bearer_auth(TOKEN).json(&body).send().await?;
    tally.answered.fetch_add(1, Ordering::SeqCst);
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        bail!("status {status}: {}", response.text().await.unwrap_or_default());
    }
    let attempts =
        response.headers().get("x-switchboard-attempts").and_then(|v| v.to_str().ok()).unwrap_or("?").to_owned();
    if !kind.stream() {
        response.bytes().await?;
        return Ok(());
    }
    let mut chunks = response.bytes_stream();
    let mut text = Vec::new();
    while let Some(chunk) = chunks.next().await {
        let Ok(chunk) = chunk else { break };
        text.extend_from_slice(&chunk);
        if kind.leaves() {
            tally.left.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
    }
    let text = String::from_utf8_lossy(&text);
    match kind {
        Kind::BrokenStream => {
            if attempts != "1" || text.contains("chat-model") || !text.contains("upstream_stream_broken") {
                bail!("fell back after the first byte or ended without an error (attempts {attempts}): {text}");
            }
        }
        Kind::StalledStream => {
            if !text.contains("\"error\"") {
                bail!("a stalled stream ended without an in-band error: {text}");
            }
        }
        _ => {
            if !text.contains("[DONE]") {
                bail!("the stream did not finish (attempts {attempts}): {text}");
            }
        }
    }
    Ok(())
}

/// Stalled streams opened, then abandoned, by the leave probe; how long after they may still be open upstream.
const PROBE: usize = 8;
const PROBE_WAIT: Duration = Duration::from_millis(500);

/// Opens [`PROBE`] stalled streams at once and reads their first chunk, counts the upstream responses open, drops
/// the clients and counts again after [`PROBE_WAIT`] (well inside the idle timeout, which would also close them).
async fn leave_probe(root: &str, open: &AtomicUsize) -> anyhow::Result<(usize, usize)> {
    let client = reqwest::Client::new();
    let body = serde_json::json!({"model": "stalled", "stream": true, "messages": [{"role": "user", "content": "x"}]});
    let mut streams = Vec::new();
    for _ in 0..PROBE {
        let response = client.post(format!("{root}/v1/chat/completions")).bearer_auth(TOKEN).json(&body).send().await?;
        let mut chunks = response.bytes_stream();
        chunks.next().await.context("a stalled stream sent nothing")??;
        streams.push(chunks);
    }
    let held = open.load(Ordering::SeqCst);
    drop(streams);
    drop(client);
    tokio::time::sleep(PROBE_WAIT).await;
    Ok((held, open.load(Ordering::SeqCst)))
}

/// The process's resident set, from `/proc/<pid>/status`.
fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS in /proc/<pid>/status")
}
