//! `cargo xtask bench`: what the gateway adds over calling its upstream directly.
//!
//! The fake upstream and the gateway run as release binaries on this machine, next to the load generator (`oha`,
//! or `wrk` when oha cannot be installed). Each scenario runs against the fake upstream directly, then through the
//! gateway, and the table shows both side by side. The non-streaming scenarios also run through the *floor*
//! (`examples/proxy_floor.rs`: the gateway's HTTP server, client and runtime with none of its work), which splits
//! what the gateway adds into the stack's share and its own. Only the time to the first streamed chunk is measured
//! here by hand: a sequential stopwatch, not a load loop.
//!
//! The same run measures the desktop app's footprint (`footprint.rs`): its sizes, its start-up time and its memory
//! idle and after load, against the same fake upstream.
//!
//! `load.rs` drives the load tools, `servers.rs` starts the processes, `report.rs` prints the tables.

mod footprint;
mod load;
mod report;
mod servers;
mod webdriver;

use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::tasks::bundle;
use crate::{cmd, deps, ui};
use footprint::Footprint;
use load::{LoadTool, first_chunk};
use report::{LedgerStats, Machine, print_footprint, print_machine, print_report};
use servers::{Scratch, Server};

/// The gateway's budget: added p50 latency at concurrency 1, share of the direct requests/s at concurrency 32,
/// and peak resident memory.
const MAX_ADDED_P50_MS: f64 = 0.15;
const MIN_THROUGHPUT_SHARE: f64 = 0.35;
const MAX_PEAK_RSS_MB: f64 = 40.0;
/// The ledger's budget: rows per second through the writer, and the slowest dashboard query over a million rows.
const MIN_INGEST_ROWS_PER_S: f64 = 100_000.0;
const MAX_QUERY_MS: f64 = 50.0;
const LEDGER_ROWS: u64 = 1_000_000;

/// The high concurrency scenario; concurrency 1 is the other.
const MANY: u32 = 32;
/// Rounds per scenario. Each round runs direct, floor and gateway one after the other, and the table shows each
/// figure's median over the rounds: on a shared virtual machine the speed drifts by tens of percent within a minute,
/// and alternating keeps that drift from landing on one side of a comparison.
const ROUNDS: usize = 3;
/// Sequential requests for the time-to-first-chunk measurement.
const FIRST_CHUNK_REQUESTS: usize = 500;

/// The bearer token the gateway's one app holds, and the key it (and the direct client) sends upstream.
const GATEWAY_TOKEN: &str = "sb-bench-token";
const UPSTREAM_KEY: &str = "bench-upstream-key";

/// What one `cargo xtask bench` run measures.
pub struct Options {
    /// Seconds per load run.
    pub seconds: u64,
    /// Only the desktop app's footprint, not the gateway's latency, throughput and ledger (which need a quiet machine).
    pub footprint_only: bool,
    /// Build the `.deb` (slow) when none built from this commit exists.
    pub deb: bool,
}

/// Measure and print the tables. Exits 0 even when a target is missed: the table says so.
pub fn bench(options: &Options) -> Result<ExitCode> {
    let bins = build()?;
    let deb = if options.deb { Some(bundle::build_deb()?) } else { bundle::current_deb() };
    let deb = deb.map(|path| fs::metadata(&path).map(|meta| (path, meta.len()))).transpose()?;
    let scratch = Scratch::create()?;
    let machine = Machine::read();
    let upstream = Server::fake_upstream(&bins.fake_upstream)?;
    let gateway =
        if options.footprint_only { None } else { Some(measure_gateway(&bins, &upstream, &scratch, options.seconds)?) };
    eprintln!("==> footprint: the desktop app under Xvfb");
    let footprint = Footprint::measure(&bins.app, &bins.seed_app, deb, upstream.port, &scratch.path)?;
    drop(upstream);
    if let Some(gateway) = &gateway {
        print_report(gateway, options.seconds);
    }
    print_footprint(&footprint);
    print_machine(&machine);
    Ok(ExitCode::SUCCESS)
}

/// What the gateway part of the bench measured.
struct GatewayReport {
    rows: Vec<Row>,
    peak_rss_mb: f64,
    ledger: LedgerStats,
    tool: LoadTool,
}

fn measure_gateway(bins: &Binaries, upstream: &Server, scratch: &Scratch, seconds: u64) -> Result<GatewayReport> {
    let tool = LoadTool::ensure()?;
    let gateway = Server::gateway(&bins.gateway, upstream.port, &scratch.path)?;
    let floor_server = Server::floor(&bins.proxy_floor, upstream.port)?;
    let direct = Target {
        name: "direct",
        addr: upstream.addr(),
        path: "/v1/chat/completions",
        model: "gpt-4o-mini",
        token: UPSTREAM_KEY.into(),
    };
    let through = Target {
        name: "gateway",
        addr: gateway.addr(),
        path: "/v1/chat/completions",
        model: "general",
        token: GATEWAY_TOKEN.into(),
    };
    // Non-streaming chat only: the floor parses a JSON answer and relays nothing else.
    let floor = Target {
        name: "floor",
        addr: floor_server.addr(),
        path: "/v1/chat/completions",
        model: "general",
        token: GATEWAY_TOKEN.into(),
    };

    for target in [&direct, &through] {
        eprintln!("==> warming up {}", target.name);
        tool.warm_up(target, &scratch.path, &[false, true])?;
        first_chunk(target, 50)?;
    }
    eprintln!("==> warming up {}", floor.name);
    tool.warm_up(&floor, &scratch.path, &[false])?;

    let duration = Duration::from_secs(seconds);
    let mut rows = Vec::new();
    for (scenario, load) in [
        ("non-streaming, c=1", Load { concurrency: 1, stream: false }),
        ("non-streaming, c=32", Load { concurrency: MANY, stream: false }),
        ("streaming, whole response, c=1", Load { concurrency: 1, stream: true }),
    ] {
        let (mut direct_runs, mut floor_runs, mut gateway_runs) = (Vec::new(), Vec::new(), Vec::new());
        for round in 1..=ROUNDS {
            let measure = |target: &Target| {
                eprintln!("==> {scenario}, round {round} of {ROUNDS}: {} for {seconds}s", target.name);
                tool.measure(target, load, duration, &scratch.path)
            };
            direct_runs.push(measure(&direct)?);
            if !load.stream {
                floor_runs.push(measure(&floor)?);
            }
            gateway_runs.push(measure(&through)?);
        }
        rows.push(Row {
            scenario,
            direct: Stats::median(&direct_runs),
            floor: (!floor_runs.is_empty()).then(|| Stats::median(&floor_runs)),
            gateway: Stats::median(&gateway_runs),
        });
    }
    eprintln!("==> streaming, first chunk: {FIRST_CHUNK_REQUESTS} sequential requests to each");
    rows.push(Row {
        scenario: "streaming, first chunk, c=1",
        direct: first_chunk(&direct, FIRST_CHUNK_REQUESTS)?,
        floor: None,
        gateway: first_chunk(&through, FIRST_CHUNK_REQUESTS)?,
    });

    let peak_rss_mb = gateway.peak_rss_mb()?;
    drop(gateway);
    drop(floor_server);

    eprintln!("==> ledger: ingest through the writer, then each dashboard query over {LEDGER_ROWS} rows");
    let ledger = LedgerStats::measure(&bins.ledger_bench)?;
    Ok(GatewayReport { rows, peak_rss_mb, ledger, tool })
}

/// The release binaries the bench runs.
struct Binaries {
    gateway: PathBuf,
    fake_upstream: PathBuf,
    proxy_floor: PathBuf,
    ledger_bench: PathBuf,
    app: PathBuf,
    seed_app: PathBuf,
}

fn build() -> Result<Binaries> {
    deps::ensure_system(deps::Need::Test)?;
    // The app embeds ui/dist.
    ui::ensure_built()?;
    cmd::run(cmd::cargo().args([
        "build",
        "--release",
        "-p",
        "switchboard-gateway",
        "-p",
        "e2e",
        "-p",
        "switchboard",
        "--bin",
        "switchboard-gateway",
        "--bin",
        "fake-upstream",
        "--bin",
        "seed-app",
        "--bin",
        "switchboard",
        "--example",
        "ledger_bench",
        "--example",
        "proxy_floor",
    ]))?;
    let release = cmd::target_dir().join("release");
    let bins = Binaries {
        gateway: release.join("switchboard-gateway"),
        fake_upstream: release.join("fake-upstream"),
        proxy_floor: release.join("examples").join("proxy_floor"),
        ledger_bench: release.join("examples").join("ledger_bench"),
        app: release.join("switchboard"),
        seed_app: release.join("seed-app"),
    };
    for bin in [&bins.gateway, &bins.fake_upstream, &bins.proxy_floor, &bins.ledger_bench, &bins.app, &bins.seed_app] {
        if !cmd::is_executable(bin) {
            bail!("the build succeeded but {} is missing; check CARGO_TARGET_DIR and rerun", bin.display());
        }
    }
    Ok(bins)
}

/// One endpoint under test: the fake upstream itself, or the gateway in front of it.
struct Target {
    name: &'static str,
    addr: SocketAddr,
    path: &'static str,
    model: &'static str,
    token: String,
}

impl Target {
    fn url(&self) -> String {
        format!("http://{}{}", self.addr, self.path)
    }

    fn body(&self, stream: bool) -> String {
        let stream = if stream { r#","stream":true"# } else { "" };
        format!(r#"{{"model":"{}","messages":[{{"role":"user","content":"hi"}}]{stream}}}"#, self.model)
    }

    fn authorization(&self) -> String {
        format!("Authorization: Bearer {}", self.token)
    }
}

#[derive(Clone, Copy)]
struct Load {
    concurrency: u32,
    stream: bool,
}

/// Latency percentiles in milliseconds, and requests per second where the scenario has a throughput.
#[derive(Debug, PartialEq)]
struct Stats {
    p50: f64,
    p90: f64,
    p99: f64,
    per_second: Option<f64>,
}

impl Stats {
    /// Each figure's median over `runs` (not one run's figures: the median p50 and the median p99 may come from
    /// different rounds). Even counts take the lower middle.
    fn median(runs: &[Stats]) -> Stats {
        let median = |figure: fn(&Stats) -> f64| {
            let mut values: Vec<f64> = runs.iter().map(figure).collect();
            values.sort_by(f64::total_cmp);
            values[(values.len() - 1) / 2]
        };
        Stats {
            p50: median(|s| s.p50),
            p90: median(|s| s.p90),
            p99: median(|s| s.p99),
            per_second: runs
                .iter()
                .all(|s| s.per_second.is_some())
                .then(|| median(|s| s.per_second.unwrap_or_default())),
        }
    }
}

struct Row {
    scenario: &'static str,
    direct: Stats,
    /// The bare proxy on the same stack, for the non-streaming scenarios.
    floor: Option<Stats>,
    gateway: Stats,
}

#[cfg(test)]
mod tests {
    use super::Stats;

    fn run(p50: f64, p99: f64, per_second: Option<f64>) -> Stats {
        Stats { p50, p90: p50 * 2.0, p99, per_second }
    }

    #[test]
    fn median_takes_each_figure_on_its_own() {
        let runs = [run(0.3, 1.0, Some(900.0)), run(0.1, 3.0, Some(1000.0)), run(0.2, 2.0, Some(100.0))];
        assert_eq!(Stats::median(&runs), run(0.2, 2.0, Some(900.0)));
        // Even counts take the lower middle; a run without a rate leaves the rate out.
        let runs = [run(0.4, 1.0, None), run(0.1, 1.0, Some(5.0))];
        assert_eq!(Stats::median(&runs), Stats { p50: 0.1, p90: 0.2, p99: 1.0, per_second: None });
    }
}
