//! The desktop app's own footprint: the release binary and `.deb` sizes, the time from launch to a live endpoint,
//! and the whole app's memory (the window process and its WebKit helpers) idle after start and after load.
//!
//! The app runs as the e2e window tests run it: on a private Xvfb display, with a private HOME and D-Bus session
//! holding an unlocked gnome-keyring. The e2e crate's harness is not reused, because it would pull tokio, reqwest,
//! WebDriver and the gateway into the xtask; the three daemons are started the same way here. Before the first
//! launch `seed-app` writes a provider pointed at the bench's fake upstream, an alias and an app into that HOME's
//! store, so the load goes through the app's real endpoint with a real token. The last reading follows chat turns
//! typed into the window's Chat page: WebKitWebDriver launches the app, and `webdriver.rs` drives it.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::Target;
use super::load::first_chunk;
use super::servers::free_port;
use super::webdriver::{ENTER, Session};
use crate::cmd;

/// Launches timed for the start-up figure (its median is reported).
pub(super) const LAUNCHES: usize = 5;
/// Requests through the app's endpoint before the second memory reading.
pub(super) const REQUESTS: usize = 1_000;
/// Turns of one conversation on the Chat page before the third.
pub(super) const CHAT_TURNS: usize = 20;
/// How long the app is left alone before a memory reading: the window's first paint and the UI's first calls are
/// over well within this on the build machine.
const SETTLE: Duration = Duration::from_secs(5);
/// How long one launch may take to answer `/health`.
const LAUNCH_LIMIT: Duration = Duration::from_secs(60);
/// The folder under the private HOME where the app keeps its data (`tauri.conf.json`'s identifier).
const APP_DATA: &str = "share/dev.switchboard.desktop";

/// What the footprint measured.
pub(super) struct Footprint {
    pub(super) binary_bytes: u64,
    /// The `.deb` and its size, when one built from this commit exists.
    pub(super) deb: Option<(PathBuf, u64)>,
    /// Each launch's time to a `/health` answer, sorted.
    pub(super) launches: Vec<Duration>,
    pub(super) idle: Memory,
    pub(super) loaded: Memory,
    /// After [`CHAT_TURNS`] turns in the window (the app launched by WebKitWebDriver).
    pub(super) chatted: Memory,
}

/// The app's processes and their proportional set sizes.
pub(super) struct Memory {
    /// Each process's name and PSS in KiB, the app's own first.
    pub(super) processes: Vec<(String, u64)>,
}

impl Memory {
    pub(super) fn total_mb(&self) -> f64 {
        kib_to_mb(self.processes.iter().map(|(_, kib)| kib).sum())
    }

    /// Each process's PSS, summed by name ("WebKitWebProcess 61.2 MB, …").
    pub(super) fn breakdown(&self) -> String {
        let mut by_name: Vec<(String, u64, usize)> = Vec::new();
        for (name, kib) in &self.processes {
            match by_name.iter_mut().find(|(known, _, _)| known == name) {
                Some(entry) => {
                    entry.1 += kib;
                    entry.2 += 1;
                }
                None => by_name.push((name.clone(), *kib, 1)),
            }
        }
        let parts: Vec<String> = by_name
            .iter()
            .map(|(name, kib, count)| {
                let count = if *count > 1 { format!(" ×{count}") } else { String::new() };
                format!("{name}{count} {:.1} MB", kib_to_mb(*kib))
            })
            .collect();
        parts.join(", ")
    }
}

impl Footprint {
    /// Measures the app built at `app`, against the fake upstream on `upstream_port`, in `scratch`.
    pub(super) fn measure(
        app: &Path,
        seed: &Path,
        deb: Option<(PathBuf, u64)>,
        upstream_port: u16,
        scratch: &Path,
    ) -> Result<Footprint> {
        let binary_bytes = fs::metadata(app).with_context(|| format!("cannot read {}", app.display()))?.len();
        let desktop = Desktop::start(&scratch.join("home"))?;
        let token = desktop.seed(seed, upstream_port)?;

        let mut launches = Vec::with_capacity(LAUNCHES);
        for launch in 1..=LAUNCHES {
            eprintln!("==> footprint: launch {launch} of {LAUNCHES} until /health answers");
            let running = RunningApp::launch(app, &desktop)?;
            launches.push(running.started);
        }
        launches.sort();

        eprintln!("==> footprint: idle memory {}s after start", SETTLE.as_secs());
        let running = RunningApp::launch(app, &desktop)?;
        thread::sleep(SETTLE);
        let idle = running.memory()?;
        eprintln!("==> footprint: {REQUESTS} streamed requests through the app's endpoint");
        let target = Target { name: "app", addr: running.addr(), path: "/v1/chat/completions", model: "bench", token };
        first_chunk(&target, REQUESTS)?;
        thread::sleep(SETTLE);
        let loaded = running.memory()?;
        drop(running);
        eprintln!("==> footprint: {CHAT_TURNS} chat turns in the window, driven through WebKitWebDriver");
        let chatted = chat_turns(app, &desktop)?;
        Ok(Footprint { binary_bytes, deb, launches, idle, loaded, chatted })
    }

    pub(super) fn median_launch(&self) -> Duration {
        self.launches[(self.launches.len() - 1) / 2]
    }
}

/// A private display, session bus and unlocked keychain, and a private HOME: the e2e harness's `Display` and
/// `Session`, without its dependencies.
struct Desktop {
    home: PathBuf,
    display: String,
    bus_address: String,
    _daemons: Vec<Guarded>,
}

impl Desktop {
    fn start(home: &Path) -> Result<Desktop> {
        for dir in ["run", "share", "config", "cache"] {
            fs::create_dir_all(home.join(dir)).with_context(|| format!("cannot create {}", home.display()))?;
        }
        let (xvfb, display) = first_line(
            Command::new("Xvfb").args(["-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"]),
            "Xvfb (apt-get install xvfb)",
        )?;
        let (bus, bus_address) = first_line(
            Command::new("dbus-daemon").args(["--session", "--nofork", "--nopidfile", "--print-address=1"]),
            "dbus-daemon (apt-get install dbus)",
        )?;
        let mut desktop =
            Desktop { home: home.to_owned(), display: format!(":{display}"), bus_address, _daemons: vec![xvfb, bus] };
        let mut keyring = desktop
            .command("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("could not start gnome-keyring-daemon (apt-get install gnome-keyring)")?;
        // --unlock reads the new keyring's password from stdin.
        let mut stdin = keyring.stdin.take().context("gnome-keyring stdin")?;
        stdin.write_all(b"bench-password")?;
        drop(stdin);
        desktop._daemons.push(Guarded(keyring));
        wait_for("the Secret Service on the private bus", Duration::from_secs(10), || {
            let reply = desktop
                .command("dbus-send")
                .args([
                    "--session",
                    "--print-reply",
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .stderr(Stdio::null())
                .output()
                .ok()?;
            String::from_utf8_lossy(&reply.stdout).contains("boolean true").then_some(())
        })?;
        Ok(desktop)
    }

    /// A command inside this desktop: its display, bus, HOME and XDG folders.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env("DISPLAY", &self.display)
            .env_remove("WAYLAND_DISPLAY")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address)
            .env("HOME", &self.home)
            .env("XDG_RUNTIME_DIR", self.home.join("run"))
            .env("XDG_DATA_HOME", self.home.join("share"))
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("XDG_CACHE_HOME", self.home.join("cache"));
        command
    }

    /// `program` (the app, or the driver that launches it) with the app's environment: its port, a quiet log,
    /// and WebKit told to draw in software as Xvfb needs (as in the e2e harness).
    fn app_command(&self, program: &Path, port: u16) -> Command {
        let mut command = self.command(program);
        command
            .env("SWITCHBOARD_PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
    }

    /// Writes the provider, alias and app into the app's store; returns the app's token.
    fn seed(&self, seed: &Path, upstream_port: u16) -> Result<String> {
        let db = self.home.join(APP_DATA).join("switchboard.db");
        let mut command = self.command(seed);
        command.arg("--db").arg(&db).args(["--upstream", &format!("http://127.0.0.1:{upstream_port}/v1")]);
        command.args(["--key", super::UPSTREAM_KEY]);
        cmd::announce(&command);
        let token = cmd::output(&mut command)?.trim().to_owned();
        if token.is_empty() {
            bail!("seed-app printed no token");
        }
        Ok(token)
    }
}

/// The release app, launched in a desktop on a free port; killed with its helpers when dropped.
struct RunningApp {
    child: Guarded,
    port: u16,
    /// From spawn to the first 200 from `/health`.
    started: Duration,
}

impl RunningApp {
    fn launch(app: &Path, desktop: &Desktop) -> Result<RunningApp> {
        let port = free_port()?;
        let mut command = desktop.app_command(app, port);
        let spawned = Instant::now();
        let child = command.spawn().with_context(|| format!("could not start {}", app.display()))?;
        let mut child = Guarded(child);
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        loop {
            if let Some(status) = child.0.try_wait()? {
                bail!("the app exited before its endpoint answered ({status}); run it by hand to see why");
            }
            if health(addr) {
                break;
            }
            if spawned.elapsed() > LAUNCH_LIMIT {
                bail!("the app's /health did not answer within {}s", LAUNCH_LIMIT.as_secs());
            }
            thread::sleep(Duration::from_millis(5));
        }
        Ok(RunningApp { started: spawned.elapsed(), child, port })
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// The PSS of the app and every process descended from it (WebKit's web and network processes).
    fn memory(&self) -> Result<Memory> {
        let root = self.child.0.id();
        memory_of(std::iter::once(root).chain(descendants(root)))
    }
}

/// The PSS of each of `pids`, the first first.
fn memory_of(pids: impl Iterator<Item = u32>) -> Result<Memory> {
    let mut processes = Vec::new();
    for pid in pids {
        // A helper that exits between the listing and the reading is simply not counted.
        let Ok(kib) = pss_kib(pid) else { continue };
        processes.push((process_name(pid), kib));
    }
    if processes.is_empty() {
        bail!("could not read the app's /proc/PID/smaps_rollup");
    }
    Ok(Memory { processes })
}

/// Launches the app through WebKitWebDriver, types [`CHAT_TURNS`] questions into one conversation on the Chat page
/// (each answered, streamed, by the fake upstream through the seeded alias), and reads the memory of the app and its
/// helpers (not the driver's).
fn chat_turns(app: &Path, desktop: &Desktop) -> Result<Memory> {
    let (port, driver_port) = (free_port()?, free_port()?);
    let mut command = desktop.app_command(Path::new("WebKitWebDriver"), port);
    // The app lets WebKit's automation in only when asked (tauri-driver sets the same).
    command.arg(format!("--port={driver_port}")).env("TAURI_WEBVIEW_AUTOMATION", "true");
    let driver =
        Guarded(command.spawn().context("could not start WebKitWebDriver (apt-get install webkit2gtk-driver)")?);
    let driver_pid = driver.0.id();
    let capabilities = json!({ "webkitgtk:browserOptions": { "binary": app, "args": [] } });
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, driver_port));
    let session = Session::start(addr, &capabilities, LAUNCH_LIMIT)?;
    let text = |id: &str| {
        format!("const e = document.querySelector(\"[data-testid='{id}']\"); return e ? e.textContent : null;")
    };
    session.until("the gateway to listen", &text("gateway-status"), LAUNCH_LIMIT, |v| v == "Listening")?;
    session.click(&session.find("[data-testid='nav-chat']")?)?;
    let model = session.find("[data-testid='chat-model']")?;
    session.clear(&model)?;
    session.type_text(&model, &format!("bench{ENTER}"))?;
    let value = "return document.querySelector(\"[data-testid='chat-model']\").value;";
    session.until("the model to stick", value, Duration::from_secs(10), |v| v == "bench")?;
    // The page may keep only the newest messages in the DOM, so each turn is found by its words, not by counting.
    // Whether the newest question is turn N's, whether an answer follows it, and whether the composer is idle and
    // empty.
    let state = |turn: usize| {
        format!(
            "const all = [...document.querySelectorAll(\"[data-testid='message']\")]; \
             const users = all.filter(e => e.dataset.role === 'user'); \
             const last = all[all.length - 1]; \
             const input = document.querySelector(\"[data-testid='composer-input']\"); \
             return [users.length > 0 && users[users.length - 1].textContent.includes('Turn {turn}:'), \
             !!last && last.dataset.role === 'assistant' && last.textContent.trim().length > 0, \
             !document.querySelector(\"[data-testid='composer-stop']\"), !!input && input.value.length === 0];"
        )
    };
    for turn in 1..=CHAT_TURNS {
        let input = session.find("[data-testid='composer-input']")?;
        session.type_text(&input, &format!("Turn {turn}: tell me something new."))?;
        // The composer ignores Enter while it is busy (the last answer being stored, say): press it until the
        // question is among the messages.
        let started = Instant::now();
        loop {
            session.type_text(&session.find("[data-testid='composer-input']")?, &ENTER.to_string())?;
            let now = session.until("the composer", &state(turn), Duration::from_secs(10), |_| true)?;
            if now[0] == true {
                break;
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("question {turn} was never sent; last: {now}");
            }
            thread::sleep(Duration::from_millis(300));
        }
        session.until(&format!("answer {turn}"), &state(turn), Duration::from_secs(60), |v| {
            v[0] == true && v[1] == true && v[2] == true
        })?;
    }
    thread::sleep(SETTLE);
    let memory = memory_of(descendants(driver_pid).into_iter());
    let helpers = descendants(driver_pid);
    drop(session);
    drop(driver);
    for pid in helpers {
        let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
    }
    memory
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        // The helpers are listed while the app still parents them, and killed after it, so that it cannot start a
        // new one in between.
        let helpers = descendants(self.child.0.id());
        let _ = self.child.0.kill();
        let _ = self.child.0.wait();
        for pid in helpers {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
        }
    }
}

/// Whether `GET /health` at `addr` answers 200.
fn health(addr: SocketAddr) -> bool {
    let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let answer = TcpStream::connect_timeout(&addr, Duration::from_millis(200)).and_then(|mut stream| {
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.write_all(request.as_bytes())?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        Ok(answer)
    });
    answer.is_ok_and(|answer| answer.starts_with(b"HTTP/1.1 200"))
}

/// Every live process whose parent chain leads to `root`, from `/proc/*/stat`.
fn descendants(root: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    let parents: Vec<(u32, u32)> = entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, parent_of(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?)))
        .collect();
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        found.extend(parents.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
        next += 1;
    }
    found.split_off(1)
}

/// The parent pid in a `/proc/PID/stat` line: the second field after the command name, which is in parentheses
/// and may itself hold spaces or parentheses.
fn parent_of(stat: &str) -> Option<u32> {
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The file name of the process's executable (`comm` cuts names at 15 characters: "WebKitNetworkPr").
fn process_name(pid: u32) -> String {
    fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|exe| Some(exe.file_name()?.to_string_lossy().into_owned()))
        .unwrap_or_else(|| fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_owned())
}

/// The `Pss:` line of `/proc/PID/smaps_rollup`, in KiB.
fn pss_kib(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/smaps_rollup");
    let text = fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    parse_pss(&text).with_context(|| format!("no Pss line in {path}"))
}

fn parse_pss(smaps_rollup: &str) -> Option<u64> {
    smaps_rollup.lines().find_map(|line| line.strip_prefix("Pss:")?.trim().strip_suffix("kB")?.trim().parse().ok())
}

#[expect(clippy::cast_precision_loss, reason = "a size for people to read")]
fn kib_to_mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

/// Starts `command` and reads the first line it prints (Xvfb's display number, dbus-daemon's address).
fn first_line(command: &mut Command, what: &str) -> Result<(Guarded, String)> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("could not start {what}"))?;
    let stdout = child.stdout.take().context("child stdout")?;
    let child = Guarded(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).with_context(|| format!("reading {what}'s first line"))?;
    let line = line.trim().to_owned();
    if line.is_empty() {
        bail!("{what} printed nothing");
    }
    Ok((child, line))
}

/// Polls `check` every 50 ms until it returns `Some`, or fails after `limit` naming `what`.
fn wait_for<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> Result<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return Ok(value);
        }
        if start.elapsed() > limit {
            bail!("timed out after {}s waiting for {what}", limit.as_secs());
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// A child process, killed and reaped when dropped.
struct Guarded(Child);

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::{parent_of, parse_pss};

    #[test]
    fn reads_the_parent_past_a_command_name_with_spaces_and_parentheses() {
        assert_eq!(parent_of("4242 (WebKitWebProcess) S 4200 4242 4200 0 -1"), Some(4200));
        assert_eq!(parent_of("7 (a (b) c) R 1 7 7"), Some(1));
        assert_eq!(parent_of("garbage"), None);
    }

    #[test]
    fn reads_pss_from_smaps_rollup() {
        let text = "55d0-7ffd ---p 00000000 00:00 0 [rollup]\nRss:              123456 kB\nPss:               \
                    98765 kB\nPss_Anon:          50000 kB\n";
        assert_eq!(parse_pss(text), Some(98765));
        assert_eq!(parse_pss("Rss: 1 kB\n"), None);
    }
}
