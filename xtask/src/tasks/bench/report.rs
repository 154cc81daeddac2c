//! The report: the tables, each target met or missed, the desktop app's footprint, and the machine it was measured on.

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};

use super::footprint::{CHAT_TURNS, Footprint, LAUNCHES, REQUESTS};
use super::{FIRST_CHUNK_REQUESTS, GatewayReport, LEDGER_ROWS, MANY, ROUNDS, Stats};
use super::{MAX_ADDED_P50_MS, MAX_PEAK_RSS_MB, MAX_QUERY_MS, MIN_INGEST_ROWS_PER_S, MIN_THROUGHPUT_SHARE};
use crate::cmd;

/// What the numbers were measured on.
pub(super) struct Machine {
    cores: String,
    cpu: String,
    kernel: String,
    os: String,
}

impl Machine {
    pub(super) fn read() -> Machine {
        let cores = cmd::output(&mut Command::new("nproc"))
            .map(|out| out.trim().to_owned())
            .unwrap_or_else(|_| thread::available_parallelism().map_or("?".into(), |n| n.to_string()));
        let file = |path| std::fs::read_to_string(path).unwrap_or_default();
        let cpu = file("/proc/cpuinfo")
            .lines()
            .find_map(|line| line.strip_prefix("model name")?.split_once(':').map(|(_, name)| name.trim().to_owned()))
            .unwrap_or_else(|| "unknown CPU".into());
        let kernel = file("/proc/sys/kernel/osrelease").trim().to_owned();
        let os = file("/etc/os-release")
            .lines()
            .find_map(|line| line.strip_prefix("PRETTY_NAME="))
            .map(|name| name.trim_matches('"').to_owned())
            .unwrap_or_default();
        Machine { cores, cpu, kernel, os }
    }
}

/// What `examples/ledger_bench.rs` reports.
pub(super) struct LedgerStats {
    ingest_rows_per_s: f64,
    /// Each dashboard query's median time in ms.
    queries: Vec<(String, f64)>,
}

impl LedgerStats {
    pub(super) fn measure(bin: &Path) -> Result<LedgerStats> {
        let output = cmd::output(Command::new(bin).args(["--json", "--rows", &LEDGER_ROWS.to_string()]))?;
        let report: serde_json::Value = serde_json::from_str(output.trim()).context("ledger_bench's JSON")?;
        let ingest_rows_per_s = report["ingest_rows_per_s"].as_f64().context("ingest_rows_per_s")?;
        let queries = report["queries"]
            .as_array()
            .context("queries")?
            .iter()
            .map(|q| Some((q["name"].as_str()?.to_owned(), q["ms"].as_f64()?)))
            .collect::<Option<Vec<_>>>()
            .context("each query's name and ms")?;
        Ok(LedgerStats { ingest_rows_per_s, queries })
    }
}

/// The gateway's tables and targets, and how the load was made.
pub(super) fn print_report(gateway: &GatewayReport, seconds: u64) {
    let GatewayReport { rows, peak_rss_mb, ledger, tool } = gateway;
    let peak_rss_mb = *peak_rss_mb;
    let ms = |value: f64| format!("{value:.3}");
    let per_second = |stats: &Stats| stats.per_second.map_or("–".into(), |value| format!("{value:.0}"));
    println!();
    println!(
        "| Scenario | direct p50 | direct p90 | direct p99 | gateway p50 | gateway p90 | gateway p99 | added p50 \
         | direct req/s | gateway req/s | gateway/direct |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for row in rows {
        let ratio = match (row.direct.per_second, row.gateway.per_second) {
            (Some(direct), Some(gateway)) if direct > 0.0 => format!("{:.2}×", gateway / direct),
            _ => "–".into(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:+.3} | {} | {} | {ratio} |",
            row.scenario,
            ms(row.direct.p50),
            ms(row.direct.p90),
            ms(row.direct.p99),
            ms(row.gateway.p50),
            ms(row.gateway.p90),
            ms(row.gateway.p99),
            row.gateway.p50 - row.direct.p50,
            per_second(&row.direct),
            per_second(&row.gateway),
        );
    }
    println!();
    println!("Latencies in ms, each the median of {ROUNDS} rounds.");
    println!("Gateway peak RSS (VmHWM after all runs): {peak_rss_mb:.1} MB");
    println!();
    println!(
        "The floor: the same server, client and runtime proxying the same request with none of the gateway's work."
    );
    println!();
    println!(
        "| Scenario | floor p50 | floor added p50 | gateway added p50 | floor req/s | floor/direct | gateway/floor |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|");
    for row in rows {
        let Some(floor) = &row.floor else { continue };
        let share = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
            _ => "–".into(),
        };
        println!(
            "| {} | {} | {:+.3} | {:+.3} | {} | {} | {} |",
            row.scenario,
            ms(floor.p50),
            floor.p50 - row.direct.p50,
            row.gateway.p50 - row.direct.p50,
            per_second(floor),
            share(floor.per_second, row.direct.per_second),
            share(row.gateway.per_second, floor.per_second),
        );
    }
    println!();
    println!("| Ledger | median |");
    println!("|---|--:|");
    println!("| ingest through the writer | {:.0} rows/s |", ledger.ingest_rows_per_s);
    for (name, ms) in &ledger.queries {
        println!("| {name}, {LEDGER_ROWS} rows | {ms:.2} ms |");
    }
    println!();
    let slowest = ledger.queries.iter().max_by(|a, b| a.1.total_cmp(&b.1));

    let find = |scenario: &str| rows.iter().find(|row| row.scenario == scenario);
    let added = find("non-streaming, c=1").map_or(f64::NAN, |row| row.gateway.p50 - row.direct.p50);
    let share = find("non-streaming, c=32")
        .and_then(|row| Some(row.gateway.per_second? / row.direct.per_second?))
        .unwrap_or(f64::NAN);
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    let targets = [
        (format!("added p50 at c=1 ≤ {MAX_ADDED_P50_MS} ms: {added:+.3} ms"), added <= MAX_ADDED_P50_MS),
        (
            format!(
                "gateway req/s at c={MANY} ≥ {:.0}% of direct: {:.0}%",
                MIN_THROUGHPUT_SHARE * 100.0,
                share * 100.0
            ),
            share >= MIN_THROUGHPUT_SHARE,
        ),
        (format!("gateway peak RSS ≤ {MAX_PEAK_RSS_MB} MB: {peak_rss_mb:.1} MB"), peak_rss_mb <= MAX_PEAK_RSS_MB),
        (
            format!("ledger ingest ≥ {MIN_INGEST_ROWS_PER_S:.0} rows/s: {:.0} rows/s", ledger.ingest_rows_per_s),
            ledger.ingest_rows_per_s >= MIN_INGEST_ROWS_PER_S,
        ),
        (
            format!(
                "every dashboard query ≤ {MAX_QUERY_MS} ms: slowest {} {:.2} ms",
                slowest.map_or("–", |q| q.0.as_str()),
                slowest.map_or(f64::NAN, |q| q.1)
            ),
            slowest.is_some_and(|q| q.1 <= MAX_QUERY_MS),
        ),
    ];
    println!("Targets:");
    for (text, met) in &targets {
        println!("- {text} — {}", verdict(*met));
    }
    let missed = targets.iter().filter(|(_, met)| !met).count();
    println!();
    println!(
        "Load: {} ({seconds}s per run, medians of {ROUNDS} alternating rounds), first chunk: \
         {FIRST_CHUNK_REQUESTS} sequential requests",
        tool.version(),
    );
    if missed == 0 {
        println!("All targets met.");
    } else {
        println!("MISSED: {missed} of {} targets", targets.len());
    }
}

/// The desktop app's sizes, start-up time and memory.
pub(super) fn print_footprint(footprint: &Footprint) {
    #[expect(clippy::cast_precision_loss, reason = "a size for people to read")]
    let mb = |bytes: u64| format!("{:.1} MB", bytes as f64 / 1e6);
    let ms = |time: Duration| format!("{:.0} ms", time.as_secs_f64() * 1000.0);
    println!();
    println!("| Desktop app | measured |");
    println!("|---|--:|");
    println!("| release binary (`switchboard`) | {} |", mb(footprint.binary_bytes));
    match &footprint.deb {
        Some((path, bytes)) => {
            let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
            println!("| `.deb` ({name}) | {} |", mb(*bytes));
        }
        None => println!("| `.deb` | not built from this commit (`--deb` builds it) |"),
    }
    let (fastest, slowest) = (footprint.launches[0], footprint.launches[footprint.launches.len() - 1]);
    println!(
        "| launch to `/health` answering, median of {LAUNCHES} | {} ({}–{}) |",
        ms(footprint.median_launch()),
        ms(fastest),
        ms(slowest)
    );
    println!("| PSS idle after start (app + WebKit helpers) | {:.1} MB |", footprint.idle.total_mb());
    println!("| PSS after {REQUESTS} requests through the endpoint | {:.1} MB |", footprint.loaded.total_mb());
    println!("| PSS after {CHAT_TURNS} chat turns in the window | {:.1} MB |", footprint.chatted.total_mb());
    println!();
    println!("Idle: {}.", footprint.idle.breakdown());
    println!("After {REQUESTS} requests: {}.", footprint.loaded.breakdown());
    println!("After {CHAT_TURNS} chat turns: {}.", footprint.chatted.breakdown());
    println!(
        "Under Xvfb with a private HOME and D-Bus session; PSS summed from /proc/PID/smaps_rollup over the app and its \
         descendants; requests streamed one at a time through an app token to the fake upstream; chat turns typed \
         into one conversation of the Chat page through WebKitWebDriver (which launched that instance), each \
         streamed answer waited for."
    );
}

/// The machine and the date, last.
pub(super) fn print_machine(machine: &Machine) {
    let date = cmd::output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"])).unwrap_or_default();
    println!();
    println!(
        "Machine: {} cores, {}, Linux {}{}; measured {}",
        machine.cores,
        machine.cpu,
        machine.kernel,
        if machine.os.is_empty() { String::new() } else { format!(", {}", machine.os) },
        date.trim(),
    );
}
