//! `cargo xtask bench`: what the gateway adds over calling its upstream directly.
//!
//! The fake upstream and the gateway run as release binaries on this machine, next to the load generator (`oha`,
//! or `wrk` when oha cannot be installed). Each scenario runs against the fake upstream directly, then through the
//! gateway, and the table shows both side by side. Only the time to the first streamed chunk is measured here by
//! hand: a sequential stopwatch, not a load loop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{cmd, deps};

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
/// Sequential requests for the time-to-first-chunk measurement.
const FIRST_CHUNK_REQUESTS: usize = 500;

/// The bearer token the gateway's one app holds, and the key it (and the direct client) sends upstream.
const GATEWAY_TOKEN: &str = "sb-bench-token";
const UPSTREAM_KEY: &str = "bench-upstream-key";

/// Measure and print the table. Exits 0 even when a target is missed: the table says so.
pub fn bench(seconds: u64) -> Result<ExitCode> {
    let bins = build()?;
    let tool = LoadTool::ensure()?;
    let scratch = Scratch::create()?;
    let machine = Machine::read();

    let upstream = Server::fake_upstream(&bins.fake_upstream)?;
    let gateway = Server::gateway(&bins.gateway, upstream.port, &scratch.path)?;
    let direct = Target {
        name: "direct",
        addr: upstream.addr(),
        path: "/v1/chat/completions",
        model: "gpt-4o-mini",
        token: UPSTREAM_KEY,
    };
    let through = Target {
        name: "gateway",
        addr: gateway.addr(),
        path: "/v1/chat/completions",
        model: "general",
        token: GATEWAY_TOKEN,
    };

    for target in [&direct, &through] {
        eprintln!("==> warming up {}", target.name);
        tool.warm_up(target, &scratch.path)?;
        first_chunk(target, 50)?;
    }

    let duration = Duration::from_secs(seconds);
    let mut rows = Vec::new();
    for (scenario, load) in [
        ("non-streaming, c=1", Load { concurrency: 1, stream: false }),
        ("non-streaming, c=32", Load { concurrency: MANY, stream: false }),
        ("streaming, whole response, c=1", Load { concurrency: 1, stream: true }),
    ] {
        let measure = |target: &Target| {
            eprintln!("==> {scenario}: {} for {seconds}s", target.name);
            tool.measure(target, load, duration, &scratch.path)
        };
        let direct_stats = measure(&direct)?;
        let gateway_stats = measure(&through)?;
        rows.push(Row { scenario, direct: direct_stats, gateway: gateway_stats });
    }
    eprintln!("==> streaming, first chunk: {FIRST_CHUNK_REQUESTS} sequential requests to each");
    rows.push(Row {
        scenario: "streaming, first chunk, c=1",
        direct: first_chunk(&direct, FIRST_CHUNK_REQUESTS)?,
        gateway: first_chunk(&through, FIRST_CHUNK_REQUESTS)?,
    });

    let peak_rss_mb = gateway.peak_rss_mb()?;
    drop(gateway);
    drop(upstream);

    eprintln!("==> ledger: ingest through the writer, then each dashboard query over {LEDGER_ROWS} rows");
    let ledger = LedgerStats::measure(&bins.ledger_bench)?;
    print_report(&rows, peak_rss_mb, &ledger, &machine, &tool, seconds);
    Ok(ExitCode::SUCCESS)
}

/// The two release binaries the bench runs.
struct Binaries {
    gateway: PathBuf,
    fake_upstream: PathBuf,
    ledger_bench: PathBuf,
}

fn build() -> Result<Binaries> {
    cmd::run(cmd::cargo().args([
        "build",
        "--release",
        "-p",
        "switchboard-gateway",
        "-p",
        "e2e",
        "--bin",
        "switchboard-gateway",
        "--bin",
        "fake-upstream",
        "--example",
        "ledger_bench",
    ]))?;
    let release = cmd::target_dir().join("release");
    let bins = Binaries {
        gateway: release.join("switchboard-gateway"),
        fake_upstream: release.join("fake-upstream"),
        ledger_bench: release.join("examples").join("ledger_bench"),
    };
    for bin in [&bins.gateway, &bins.fake_upstream, &bins.ledger_bench] {
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
    token: &'static str,
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
struct Stats {
    p50: f64,
    p90: f64,
    p99: f64,
    per_second: Option<f64>,
}

struct Row {
    scenario: &'static str,
    direct: Stats,
    gateway: Stats,
}

/// The load generator: oha, or wrk with a Lua script when oha cannot be installed.
enum LoadTool {
    Oha(PathBuf),
    Wrk(PathBuf),
}

impl LoadTool {
    fn ensure() -> Result<LoadTool> {
        let oha = || {
            cmd::which("oha")
                .or_else(|| deps::cargo_bin_dir().map(|bin| bin.join("oha")).filter(|path| cmd::is_executable(path)))
        };
        if let Some(path) = oha() {
            return Ok(LoadTool::Oha(path));
        }
        match cmd::run(cmd::cargo().args(["install", "oha", "--locked"])) {
            Ok(()) => {
                return oha()
                    .map(LoadTool::Oha)
                    .context("`cargo install oha` succeeded but oha is not in cargo's bin directory");
            }
            Err(error) => eprintln!("warning: could not install oha ({error:#}); falling back to wrk"),
        }
        if let Some(path) = cmd::which("wrk") {
            return Ok(LoadTool::Wrk(path));
        }
        let uid = cmd::output(Command::new("id").arg("-u")).unwrap_or_default();
        if uid.trim() != "0" {
            bail!("no load tool: run `cargo install oha --locked` or `sudo apt-get install wrk`, then rerun");
        }
        cmd::run(Command::new("apt-get").arg("update"))?;
        cmd::run(Command::new("apt-get").env("DEBIAN_FRONTEND", "noninteractive").args([
            "install",
            "-y",
            "--no-install-recommends",
            "wrk",
        ]))?;
        cmd::which("wrk").map(LoadTool::Wrk).context("`apt-get install wrk` succeeded but wrk is not on PATH")
    }

    /// The tool's name and version, for the report.
    fn version(&self) -> String {
        let (path, flag) = match self {
            LoadTool::Oha(path) => (path, "--version"),
            LoadTool::Wrk(path) => (path, "-v"),
        };
        // wrk prints its version with exit code 1, so the output is taken whatever the status.
        let text = Command::new(path).arg(flag).output().map(|out| {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            text
        });
        text.ok().and_then(|text| text.lines().next().map(str::trim).map(str::to_owned)).unwrap_or_default()
    }

    /// A short run of both request kinds, so connections, pools and caches are warm before measuring.
    fn warm_up(&self, target: &Target, scratch: &Path) -> Result<()> {
        for stream in [false, true] {
            self.measure(target, Load { concurrency: 4, stream }, Duration::from_secs(1), scratch)?;
        }
        Ok(())
    }

    fn measure(&self, target: &Target, load: Load, duration: Duration, scratch: &Path) -> Result<Stats> {
        match self {
            LoadTool::Oha(path) => oha(path, target, load, duration),
            LoadTool::Wrk(path) => wrk(path, target, load, duration, scratch),
        }
    }
}

fn oha(path: &Path, target: &Target, load: Load, duration: Duration) -> Result<Stats> {
    let mut command = Command::new(path);
    command
        .args(["--no-tui", "--output-format", "json", "--wait-ongoing-requests-after-deadline"])
        .arg("-z")
        .arg(format!("{}s", duration.as_secs()))
        .arg("-c")
        .arg(load.concurrency.to_string())
        .args(["-m", "POST", "-T", "application/json", "-H"])
        .arg(target.authorization())
        .arg("-d")
        .arg(target.body(load.stream))
        .arg(target.url());
    let json = cmd::output(&mut command)?;
    let fail = || format!("unexpected oha output: {json}");
    let statuses = json_object(&json, "statusCodeDistribution").with_context(fail)?;
    if statuses.split(',').any(|entry| !entry.trim().is_empty() && !entry.trim_start().starts_with("\"200\"")) {
        bail!("{} answered something other than 200: {statuses}; run the request by hand to see why", target.name);
    }
    let errors = json_object(&json, "errorDistribution").with_context(fail)?;
    if !errors.trim().is_empty() {
        bail!("requests to {} failed: {errors}", target.name);
    }
    let percentile = |key| json_number(&json, "latencyPercentiles", key).map(|seconds| seconds * 1000.0);
    Ok(Stats {
        p50: percentile("p50").with_context(fail)?,
        p90: percentile("p90").with_context(fail)?,
        p99: percentile("p99").with_context(fail)?,
        per_second: Some(json_number(&json, "summary", "requestsPerSec").with_context(fail)?),
    })
}

/// wrk sends POSTs only from a Lua script; its `done` hook prints one line this parses.
fn wrk(path: &Path, target: &Target, load: Load, duration: Duration, scratch: &Path) -> Result<Stats> {
    let script = scratch.join(format!("{}-{}.lua", target.name, if load.stream { "stream" } else { "plain" }));
    let lua = format!(
        r#"wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %f %f %f %d %d %d\n", latency:percentile(50), latency:percentile(90),
    latency:percentile(99), summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"#,
        body = target.body(load.stream),
        token = target.token,
    );
    std::fs::write(&script, lua).with_context(|| format!("cannot write {}", script.display()))?;
    let threads = load.concurrency.min(2);
    let mut command = Command::new(path);
    command
        .arg(format!("-t{threads}"))
        .arg(format!("-c{}", load.concurrency))
        .arg(format!("-d{}s", duration.as_secs()))
        .arg("-s")
        .arg(&script)
        .arg(target.url());
    let output = cmd::output(&mut command)?;
    let line = output.lines().find_map(|line| line.strip_prefix("BENCH ")).context("wrk printed no results")?;
    let fields: Vec<f64> = line.split_whitespace().filter_map(|field| field.parse().ok()).collect();
    let [p50, p90, p99, requests, micros, errors] = fields[..] else {
        bail!("unexpected wrk result line: {line}");
    };
    if errors > 0.0 {
        bail!("{errors} requests to {} failed or were not 200; run the request by hand to see why", target.name);
    }
    Ok(Stats { p50: p50 / 1000.0, p90: p90 / 1000.0, p99: p99 / 1000.0, per_second: Some(requests / micros * 1e6) })
}

/// The object text (between the braces, exclusive) that follows `"section":`; oha's objects of interest are flat.
fn json_object<'a>(json: &'a str, section: &str) -> Option<&'a str> {
    let start = json.find(&format!("\"{section}\""))? + section.len() + 2;
    let rest = json[start..].trim_start().strip_prefix(':')?.trim_start().strip_prefix('{')?;
    rest.find('}').map(|end| &rest[..end])
}

/// The number under `key` in the flat object `section`.
fn json_number(json: &str, section: &str, key: &str) -> Option<f64> {
    let object = json_object(json, section)?;
    let start = object.find(&format!("\"{key}\""))? + key.len() + 2;
    let value = object[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = value.find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')));
    value[..end.unwrap_or(value.len())].parse().ok()
}

/// Time from sending a streaming request to the first `data:` bytes, over `requests` sequential fresh connections
/// (connecting is not timed); each stream is read to its end and must finish with `[DONE]`.
fn first_chunk(target: &Target, requests: usize) -> Result<Stats> {
    let body = target.body(true);
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\nContent-Type: application/json\r\nAccept: \
         text/event-stream\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n{body}",
        path = target.path,
        addr = target.addr,
        auth = target.authorization(),
        len = body.len(),
    );
    let mut millis = Vec::with_capacity(requests);
    for _ in 0..requests {
        let took = time_first_chunk(target.addr, request.as_bytes())
            .with_context(|| format!("streaming from {} at {}", target.name, target.addr))?;
        millis.push(took.as_secs_f64() * 1000.0);
    }
    millis.sort_by(f64::total_cmp);
    Ok(Stats {
        p50: percentile(&millis, 50.0),
        p90: percentile(&millis, 90.0),
        p99: percentile(&millis, 99.0),
        per_second: None,
    })
}

fn time_first_chunk(addr: SocketAddr, request: &[u8]) -> Result<Duration> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let start = Instant::now();
    stream.write_all(request)?;
    let mut received = Vec::with_capacity(4096);
    let mut buffer = [0; 16 * 1024];
    let mut first = None;
    loop {
        let read = stream.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        received.extend_from_slice(&buffer[..read]);
        if first.is_none() && body_of(&received).is_some_and(|body| contains(body, b"data:")) {
            first = Some(start.elapsed());
        }
    }
    let status = received.split(|&byte| byte == b'\n').next().unwrap_or_default();
    if !status.starts_with(b"HTTP/1.1 200") {
        bail!("expected 200, got `{}`", String::from_utf8_lossy(status).trim());
    }
    if !body_of(&received).is_some_and(|body| contains(body, b"[DONE]")) {
        bail!("the stream ended without `data: [DONE]`");
    }
    first.context("the stream held no `data:` line")
}

/// The bytes after the response head, once the head is complete.
fn body_of(response: &[u8]) -> Option<&[u8]> {
    response.windows(4).position(|window| window == b"\r\n\r\n").map(|end| &response[end + 4..])
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

/// Nearest-rank percentile of sorted, non-empty samples.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// A child server, killed when dropped so that no error path leaves it running.
struct Server {
    name: &'static str,
    child: Child,
    port: u16,
    /// Kept open so the child never writes to a closed pipe.
    _stdout: Option<BufReader<ChildStdout>>,
}

impl Server {
    /// `fake-upstream` on a free port, which it reports on its first line.
    fn fake_upstream(bin: &Path) -> Result<Server> {
        let mut command = Command::new(bin);
        command.args(["--kind", "openai", "--port", "0"]).stdin(Stdio::null()).stdout(Stdio::piped());
        cmd::announce(&command);
        let child = command.spawn().with_context(|| format!("could not start {}", bin.display()))?;
        let mut server = Server { name: "fake-upstream", child, port: 0, _stdout: None };
        let mut stdout = BufReader::new(server.child.stdout.take().context("fake-upstream stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line).context("reading fake-upstream's first line")?;
        server.port = line
            .trim()
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .with_context(|| format!("fake-upstream did not say where it listens (it printed {line:?})"))?;
        server._stdout = Some(stdout);
        Ok(server)
    }

    /// `switchboard-gateway` with one provider (the fake upstream), one alias and one app, in a scratch folder;
    /// returns once `/health` answers.
    fn gateway(bin: &Path, upstream_port: u16, scratch: &Path) -> Result<Server> {
        let config = scratch.join("gateway.toml");
        std::fs::write(
            &config,
            format!(
                r#"[[providers]]
id = "fake"
kind = "openai"
base_url = "http://127.0.0.1:{upstream_port}/v1"
key_env = "FAKE_KEY"

[[aliases]]
name = "general"
targets = ["fake/gpt-4o-mini"]

[[apps]]
name = "bench"
token_env = "BENCH_TOKEN"
"#
            ),
        )
        .with_context(|| format!("cannot write {}", config.display()))?;
        let port = free_port()?;
        let mut command = Command::new(bin);
        command
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(scratch.join("data"))
            .arg("--port")
            .arg(port.to_string())
            .env("RUST_LOG", "warn")
            .env("FAKE_KEY", UPSTREAM_KEY)
            .env("BENCH_TOKEN", GATEWAY_TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd::announce(&command);
        let child = command.spawn().with_context(|| format!("could not start {}", bin.display()))?;
        let mut server = Server { name: "switchboard-gateway", child, port, _stdout: None };
        server.wait_healthy(Duration::from_secs(30))?;
        Ok(server)
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    fn wait_healthy(&mut self, limit: Duration) -> Result<()> {
        let start = Instant::now();
        let request = format!("GET /health HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", self.addr());
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited before it was ready ({status}); its log is above", self.name);
            }
            let answer = TcpStream::connect(self.addr()).and_then(|mut stream| {
                stream.set_read_timeout(Some(Duration::from_secs(2)))?;
                stream.write_all(request.as_bytes())?;
                let mut answer = Vec::new();
                stream.read_to_end(&mut answer)?;
                Ok(answer)
            });
            if answer.is_ok_and(|answer| answer.starts_with(b"HTTP/1.1 200")) {
                return Ok(());
            }
            if start.elapsed() > limit {
                bail!("{} did not answer /health within {}s; its log is above", self.name, limit.as_secs());
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The most memory the process has held resident (`VmHWM`), in MB.
    fn peak_rss_mb(&self) -> Result<f64> {
        let path = format!("/proc/{}/status", self.child.id());
        let status = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no VmHWM line in {path}"))?;
        Ok(kib * 1024.0 / 1e6)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on right now (the OS picks it; the gateway binds it a moment later).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// A scratch folder for the config, the gateway's data and wrk scripts, removed when dropped.
struct Scratch {
    path: PathBuf,
}

impl Scratch {
    fn create() -> Result<Scratch> {
        let path = std::env::temp_dir().join(format!("switchboard-bench-{}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Scratch { path })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// What the numbers were measured on.
struct Machine {
    cores: String,
    cpu: String,
    kernel: String,
    os: String,
}

impl Machine {
    fn read() -> Machine {
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
struct LedgerStats {
    ingest_rows_per_s: f64,
    /// Each dashboard query's median time in ms.
    queries: Vec<(String, f64)>,
}

impl LedgerStats {
    fn measure(bin: &Path) -> Result<LedgerStats> {
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

fn print_report(
    rows: &[Row],
    peak_rss_mb: f64,
    ledger: &LedgerStats,
    machine: &Machine,
    tool: &LoadTool,
    seconds: u64,
) {
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
    println!("Latencies in ms. Gateway peak RSS (VmHWM after all runs): {peak_rss_mb:.1} MB");
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
        "Machine: {} cores, {}, Linux {}{}; load: {} ({seconds}s per run), first chunk: {FIRST_CHUNK_REQUESTS} \
         sequential requests",
        machine.cores,
        machine.cpu,
        machine.kernel,
        if machine.os.is_empty() { String::new() } else { format!(", {}", machine.os) },
        tool.version(),
    );
    if missed == 0 {
        println!("All targets met.");
    } else {
        println!("MISSED: {missed} of {} targets", targets.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OHA: &str = r#"{"summary":{"successRate":1.0,"total":5.0,"requestsPerSec":8123.5},
        "latencyPercentiles":{"p10":0.0001,"p50":0.00012,"p90":0.0002,"p99":0.0005,"p99.9":0.001},
        "rps":{"mean":8000.0,"percentiles":{"p50":7900.0}},
        "statusCodeDistribution":{"200":40617},"errorDistribution":{}}"#;

    #[test]
    fn reads_oha_json() {
        assert_eq!(json_number(OHA, "latencyPercentiles", "p50"), Some(0.00012));
        assert_eq!(json_number(OHA, "latencyPercentiles", "p99"), Some(0.0005));
        assert_eq!(json_number(OHA, "summary", "requestsPerSec"), Some(8123.5));
        assert_eq!(json_object(OHA, "statusCodeDistribution"), Some(r#""200":40617"#));
        assert_eq!(json_object(OHA, "errorDistribution"), Some(""));
        assert_eq!(json_number(OHA, "summary", "missing"), None);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), 50.0);
        assert_eq!(percentile(&samples, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 90.0), 7.0);
    }

    #[test]
    fn finds_the_body() {
        let response = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n1a\r\ndata: {}\r\n";
        assert!(body_of(response).is_some_and(|body| contains(body, b"data:")));
        assert!(body_of(b"HTTP/1.1 200 OK\r\ndata: x").is_none());
    }
}
