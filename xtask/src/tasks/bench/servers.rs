//! The processes under test: the fake upstream, the gateway in front of it, and the bare proxy that is the floor.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::{GATEWAY_TOKEN, UPSTREAM_KEY};
use crate::cmd;

/// A child server, killed when dropped so that no error path leaves it running.
pub(super) struct Server {
    name: &'static str,
    child: Child,
    pub(super) port: u16,
    /// Kept open so the child never writes to a closed pipe.
    _stdout: Option<BufReader<ChildStdout>>,
}

impl Server {
    /// `fake-upstream` on a free port, which it reports on its first line.
    pub(super) fn fake_upstream(bin: &Path) -> Result<Server> {
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
    pub(super) fn gateway(bin: &Path, upstream_port: u16, scratch: &Path) -> Result<Server> {
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
        Server::start_healthy("switchboard-gateway", command, port)
    }

    /// `examples/proxy_floor`: the same HTTP server, client, runtime and allocator as the gateway, proxying to the
    /// fake upstream with nothing else (no token, guards, routing, ledger or trace), so the table can show how much
    /// of the gateway's cost is its own work and how much the stack under it. It runs on the gateway's threads.
    pub(super) fn floor(bin: &Path, upstream_port: u16) -> Result<Server> {
        let port = free_port()?;
        let mut command = Command::new(bin);
        command
            .arg(format!("http://127.0.0.1:{upstream_port}/v1"))
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        Server::start_healthy("proxy_floor", command, port)
    }

    /// Runs `command`, which will listen on `port`, and returns once its `/health` answers.
    fn start_healthy(name: &'static str, mut command: Command, port: u16) -> Result<Server> {
        cmd::announce(&command);
        let child = command.spawn().with_context(|| format!("could not start {name}"))?;
        let mut server = Server { name, child, port, _stdout: None };
        server.wait_healthy(Duration::from_secs(30))?;
        Ok(server)
    }

    pub(super) fn addr(&self) -> SocketAddr {
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
    pub(super) fn peak_rss_mb(&self) -> Result<f64> {
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
pub(super) fn free_port() -> Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot bind a loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// A scratch folder for the config, the gateway's data and wrk scripts, removed when dropped.
pub(super) struct Scratch {
    pub(super) path: PathBuf,
}

impl Scratch {
    pub(super) fn create() -> Result<Scratch> {
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
