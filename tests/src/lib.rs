//! The harness behind the black-box tests: real processes on loopback, each test in its own world.
//!
//! - `Gateway`: the headless `switchboard-gateway` binary with a config file, on a free port.
//! - `Session`: a private D-Bus session bus with an unlocked gnome-keyring (the real Secret Service), and a private
//!   HOME, so nothing a test does touches the user's keychain or files.
//! - `Display`: an Xvfb display.
//! - `Driver`: tauri-driver (which runs WebKitWebDriver) on that display and bus, for the real app window.
//!
//! Every child process is killed when its guard drops, so a failing test leaves nothing running.

pub mod fake;
pub mod postgres;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A fake provider key: obviously not real, easy to search for in files and logs.
pub const FAKE_KEY: &str = "fake-provider-key-SWITCHBOARD-0000";
/// A fake app token.
pub const FAKE_TOKEN: &str = "sb-test-token-scripts-0000000000000000";

/// This package's folder (`tests/`), from the environment `cargo test` gives the test process rather than baked in at
/// compile time: with a shared target directory, a test binary built in another clone of the same commit is not
/// rebuilt, and would otherwise read that clone's fixtures.
pub fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

/// The directory holding this workspace's built binaries (`target/debug`), found from the running test binary.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    // target/debug/deps/e2e-<hash> → target/debug
    exe.parent().and_then(Path::parent).expect("the test binary lives in target/<profile>/deps").to_path_buf()
}

/// A workspace binary, which must have been built first (`cargo xtask test` builds them).
pub fn workspace_bin(name: &str) -> PathBuf {
    let path = bin_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build -p {} --bins` (cargo xtask test does)",
        path.display(),
        if name == "switchboard" { "switchboard" } else { "switchboard-gateway" },
    );
    path
}

/// A loopback port no one listens on, for a server a test starts next (the app, the headless gateway,
/// tauri-driver), never the same one twice in a test process.
///
/// It is chosen below the kernel's ephemeral range (`ip_local_port_range`), because a port from that range, even one
/// found free a moment ago, can be taken as the local end of any outgoing connection before the server binds it:
/// with the whole suite running in parallel threads, opening hundreds of connections, that happened (the window's
/// gateway once failed to listen, "Not listening", in `window_manage`). Ports below the range are only ever taken by
/// a `bind`. Each process starts at its own offset, so concurrent test processes rarely try the same ports.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let (low, high) = ephemeral_range();
    // The ports to hand out: below the ephemeral range when there is room there, else above it.
    let (first, last) = if low > 12_000 { (10_000, u32::from(low) - 1) } else { (u32::from(high) + 1, 65_535) };
    let span = last - first + 1;
    let offset = std::process::id().wrapping_mul(7919) % span;
    for _ in 0..span {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = u16::try_from(first + (offset + n) % span).expect("a port number");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between {first} and {last}")
}

/// The kernel's range for the local ports of outgoing connections (Linux's default when it cannot be read).
fn ephemeral_range() -> (u16, u16) {
    let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    let mut numbers = text.split_whitespace().filter_map(|n| n.parse::<u16>().ok());
    match (numbers.next(), numbers.next()) {
        (Some(low), Some(high)) if low <= high => (low, high),
        _ => (32_768, 60_999),
    }
}

/// Polls `check` every 50 ms until it returns `Some`, or fails after `timeout` naming `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> anyhow::Result<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if Instant::now() > deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process that is killed (and reaped) on drop.
pub struct Guarded(pub Child);

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A blocking HTTP GET that returns status and body, or `None` when nothing answers.
pub fn http_get(url: &str) -> Option<(u16, String)> {
    let response = reqwest_blocking_get(url)?;
    Some(response)
}

fn reqwest_blocking_get(url: &str) -> Option<(u16, String)> {
    let url = url.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
        rt.block_on(async {
            let response = reqwest::Client::new().get(&url).timeout(Duration::from_secs(2)).send().await.ok()?;
            let status = response.status().as_u16();
            Some((status, response.text().await.ok()?))
        })
    })
    .join()
    .ok()
    .flatten()
}

/// The headless gateway, started from a config document.
pub struct Gateway {
    pub port: u16,
    pub data_dir: tempfile::TempDir,
    child: Guarded,
    stderr_log: PathBuf,
}

impl Gateway {
    /// Starts `switchboard-gateway --config <config> --port <free>` with `env`, and waits until `/health` answers.
    pub fn start(config: &str, env: &[(&str, &str)]) -> anyhow::Result<Gateway> {
        Gateway::start_prepared(config, env, |_| {})
    }

    /// As `start`, after `prepare` has had the (empty) data folder, e.g. to seed its database.
    pub fn start_prepared(config: &str, env: &[(&str, &str)], prepare: impl FnOnce(&Path)) -> anyhow::Result<Gateway> {
        Gateway::start_binary(&workspace_bin("switchboard-gateway"), config, env, prepare)
    }

    /// As `start_prepared`, with the gateway binary given (a release build, say).
    pub fn start_binary(
        binary: &Path,
        config: &str,
        env: &[(&str, &str)],
        prepare: impl FnOnce(&Path),
    ) -> anyhow::Result<Gateway> {
        let data_dir = tempfile::tempdir()?;
        std::fs::create_dir_all(data_dir.path().join("data"))?;
        prepare(&data_dir.path().join("data"));
        let config_path = data_dir.path().join("switchboard.toml");
        std::fs::write(&config_path, config)?;
        let port = free_port();
        let stderr_log = data_dir.path().join("stderr.log");
        let child = Command::new(binary)
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(data_dir.path().join("data"))
            .arg("--port")
            .arg(port.to_string())
            .envs(env.iter().copied())
            .env_remove("SWITCHBOARD_PORT")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_log)?)
            .spawn()
            .context("spawning switchboard-gateway")?;
        let mut gateway = Gateway { port, data_dir, child: Guarded(child), stderr_log };
        let health = format!("{}/health", gateway.root());
        let started = wait_for("the gateway's /health", Duration::from_secs(15), || {
            if let Ok(Some(status)) = gateway.child.0.try_wait() {
                return Some(Err(status));
            }
            http_get(&health).map(|_| Ok(()))
        })?;
        if let Err(status) = started {
            bail!("switchboard-gateway exited with {status}: {}", gateway.stderr());
        }
        Ok(gateway)
    }

    pub fn root(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// The folder given as `--data-dir`.
    pub fn data(&self) -> PathBuf {
        self.data_dir.path().join("data")
    }

    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }

    /// Stops the gateway as a service manager would (SIGTERM) and waits up to `grace` for it to exit.
    pub fn terminate(&mut self, grace: Duration) -> anyhow::Result<std::process::ExitStatus> {
        let sent = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status()?;
        if !sent.success() {
            bail!("kill -TERM {} failed", self.pid());
        }
        wait_for("the gateway to exit after SIGTERM", grace, || self.child.0.try_wait().ok().flatten())
    }
}

/// A private D-Bus session with an unlocked gnome-keyring answering as the Secret Service, and a private HOME.
pub struct Session {
    pub bus_address: String,
    pub home: tempfile::TempDir,
    _bus: Guarded,
    _keyring: Guarded,
}

impl Session {
    pub fn start() -> anyhow::Result<Session> {
        let home = tempfile::tempdir()?;
        let runtime_dir = home.path().join("run");
        std::fs::create_dir_all(&runtime_dir)?;
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting dbus-daemon (apt-get install dbus)")?;
        let mut address = String::new();
        BufReader::new(bus.stdout.take().context("dbus-daemon stdout")?).read_line(&mut address)?;
        let bus = Guarded(bus);
        let bus_address = address.trim().to_owned();
        if bus_address.is_empty() {
            bail!("dbus-daemon printed no address");
        }
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &bus_address)
            .env("HOME", home.path())
            .env("XDG_RUNTIME_DIR", &runtime_dir)
            .env("XDG_DATA_HOME", home.path().join("share"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting gnome-keyring-daemon (apt-get install gnome-keyring)")?;
        // --unlock reads the new keyring's password from stdin.
        let mut stdin = keyring.stdin.take().context("gnome-keyring stdin")?;
        stdin.write_all(b"test-password")?;
        drop(stdin);
        let keyring = Guarded(keyring);
        let session = Session { bus_address, home, _bus: bus, _keyring: keyring };
        wait_for("the Secret Service on the private bus", Duration::from_secs(10), || {
            let owned = session
                .command("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .output()
                .ok()?;
            String::from_utf8_lossy(&owned.stdout).contains("boolean true").then_some(())
        })?;
        Ok(session)
    }

    /// A command that runs inside this session: its bus, its HOME, its XDG folders.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        for (key, value) in self.env() {
            command.env(key, value);
        }
        command
    }

    pub fn env(&self) -> Vec<(&'static str, String)> {
        let home = self.home.path();
        vec![
            ("DBUS_SESSION_BUS_ADDRESS", self.bus_address.clone()),
            ("HOME", home.display().to_string()),
            ("XDG_RUNTIME_DIR", home.join("run").display().to_string()),
            ("XDG_DATA_HOME", home.join("share").display().to_string()),
            ("XDG_CONFIG_HOME", home.join("config").display().to_string()),
            ("XDG_CACHE_HOME", home.join("cache").display().to_string()),
        ]
    }
}

/// An Xvfb display.
pub struct Display {
    pub name: String,
    _xvfb: Guarded,
}

impl Display {
    pub fn start() -> anyhow::Result<Display> {
        let mut xvfb = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("starting Xvfb (apt-get install xvfb)")?;
        let mut number = String::new();
        BufReader::new(xvfb.stdout.take().context("Xvfb stdout")?).read_line(&mut number)?;
        let xvfb = Guarded(xvfb);
        let number = number.trim();
        if number.is_empty() {
            bail!("Xvfb printed no display number");
        }
        Ok(Display { name: format!(":{number}"), _xvfb: xvfb })
    }
}

/// tauri-driver on a display and session, ready for a WebDriver client.
pub struct Driver {
    pub url: String,
    _child: Guarded,
}

impl Driver {
    pub fn start(display: &Display, session: &Session, app_env: &[(&str, &str)]) -> anyhow::Result<Driver> {
        let port = free_port();
        let native_port = free_port();
        let tauri_driver = which("tauri-driver").context(
            "tauri-driver is not installed: run `cargo install tauri-driver --locked` (cargo xtask test does)",
        )?;
        let child = session
            .command(tauri_driver)
            .args(["--port", &port.to_string(), "--native-port", &native_port.to_string()])
            .env("DISPLAY", &display.name)
            .env_remove("WAYLAND_DISPLAY")
            // WebKit's sandbox and GPU paths need things Xvfb and CI machines lack.
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .envs(app_env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting tauri-driver")?;
        let driver = Driver { url: format!("http://127.0.0.1:{port}"), _child: Guarded(child) };
        let status = format!("{}/status", driver.url);
        wait_for("tauri-driver's /status", Duration::from_secs(20), || http_get(&status))?;
        Ok(driver)
    }
}

/// Finds a program on PATH or in `~/.cargo/bin`.
pub fn which(program: &str) -> Option<PathBuf> {
    let cargo_bin = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo/bin"));
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(cargo_bin)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_outside_the_ephemeral_range_and_never_repeat() {
        let (low, high) = ephemeral_range();
        let ports: Vec<u16> = (0..50).map(|_| free_port()).collect();
        assert!(ports.iter().all(|p| *p < low || *p > high), "{ports:?} vs {low}-{high}");
        let distinct: std::collections::HashSet<_> = ports.iter().collect();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
        // A port someone listens on is skipped.
        let next = free_port();
        let _taken = TcpListener::bind(("127.0.0.1", next + 1)).ok();
        assert_ne!(free_port(), next + 1);
    }
}
