//! The load: oha (or wrk) for the request rates and latencies, and a stopwatch for the first streamed chunk.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::{Load, Stats, Target};
use crate::{cmd, deps};

/// The load generator: oha, or wrk with a Lua script when oha cannot be installed.
pub(super) enum LoadTool {
    Oha(PathBuf),
    Wrk(PathBuf),
}

impl LoadTool {
    pub(super) fn ensure() -> Result<LoadTool> {
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
    pub(super) fn version(&self) -> String {
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

    /// A short run of each request kind (streaming or not), so connections, pools and caches are warm before
    /// measuring.
    pub(super) fn warm_up(&self, target: &Target, scratch: &Path, kinds: &[bool]) -> Result<()> {
        for &stream in kinds {
            self.measure(target, Load { concurrency: 4, stream }, Duration::from_secs(1), scratch)?;
        }
        Ok(())
    }

    pub(super) fn measure(&self, target: &Target, load: Load, duration: Duration, scratch: &Path) -> Result<Stats> {
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
pub(super) fn first_chunk(target: &Target, requests: usize) -> Result<Stats> {
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
