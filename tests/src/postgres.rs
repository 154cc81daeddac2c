//! A real PostgreSQL server for one test: Debian's `postgresql` package's `initdb` and `postgres`, a cluster in a
//! temporary folder, listening on a free loopback port with password (SCRAM) authentication, fsync off.
//!
//! PostgreSQL refuses to run as root, and CI runs as root: then the cluster belongs to the `postgres` user the
//! package made, and the server runs as that user. The server can be stopped the hard way (an immediate shutdown,
//! as a crash would leave it) and started again on the same port and folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::{Guarded, free_port, wait_for};

/// The database user and database the tests use.
pub const PG_USER: &str = "switchboard";
/// Its password: fake, and easy to search for in logs.
pub const PG_PASSWORD: &str = "pg-test-password-SWITCHBOARD-0000";

pub struct PgServer {
    pub port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// The user and group the server runs as (when the tests run as root).
    owner: Option<(u32, u32)>,
    child: Option<Guarded>,
}

impl PgServer {
    /// Makes a cluster with the user [`PG_USER`] (password [`PG_PASSWORD`]) and its database, and starts it.
    pub fn start() -> anyhow::Result<PgServer> {
        let bin = server_bin()?;
        let dir = tempfile::Builder::new().prefix("switchboard-pg-").tempdir()?;
        let owner = if is_root() { Some(postgres_user()?) } else { None };
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, format!("{PG_PASSWORD}\n"))?;
        if let Some((uid, gid)) = owner {
            for path in [dir.path(), &pwfile] {
                std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
            }
        }
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(dir.path().join("data"))
            .args(["-U", PG_USER, "--auth=scram-sha-256", "-E", "UTF8", "--no-sync", "--no-instructions"])
            .arg(format!("--pwfile={}", pwfile.display()));
        let output = as_owner(&mut initdb, owner).output().context("running initdb")?;
        if !output.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let mut server = PgServer { port: free_port(), bin, dir, owner, child: None };
        server.start_again()?;
        server.psql("postgres", &format!("CREATE DATABASE {PG_USER}"))?;
        Ok(server)
    }

    /// Starts the server (again) on its port and folder, and waits until it accepts connections.
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        let log = std::fs::File::create(self.dir.path().join(format!("server-{}.log", self.port)))?;
        let mut postgres = Command::new(self.bin.join("postgres"));
        postgres
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-p", &self.port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.path().display()))
            .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
            .stdout(Stdio::null())
            .stderr(log);
        let child = as_owner(&mut postgres, self.owner).spawn().context("starting postgres")?;
        self.child = Some(Guarded(child));
        let ready = self.bin.join("pg_isready");
        let port = self.port.to_string();
        wait_for("PostgreSQL to accept connections", Duration::from_secs(30), || {
            let status = Command::new(&ready)
                .args(["-q", "-h", "127.0.0.1", "-p", &port])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .ok()?;
            status.success().then_some(())
        })
    }

    /// An immediate shutdown (SIGQUIT: every connection dropped, no checkpoint, crash recovery at the next start),
    /// waiting until the server has exited.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else { return Ok(()) };
        let pid = child.0.id().to_string();
        Command::new("kill").args(["-QUIT", &pid]).status()?;
        wait_for("PostgreSQL to stop", Duration::from_secs(30), || child.0.try_wait().ok().flatten())?;
        Ok(())
    }

    /// `postgres://switchboard@127.0.0.1:PORT/switchboard`, without the password.
    pub fn url(&self) -> String {
        format!("postgres://{PG_USER}@127.0.0.1:{}/{PG_USER}", self.port)
    }

    /// Runs `sql` in `database` with psql and returns what it printed (unaligned, tuples only).
    pub fn psql(&self, database: &str, sql: &str) -> anyhow::Result<String> {
        let output = Command::new(self.bin.join("psql"))
            .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", PG_USER, "-d", database, "-c", sql])
            .env("PGPASSWORD", PG_PASSWORD)
            .output()
            .context("running psql")?;
        if !output.status.success() {
            bail!("psql {sql:?}: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// One number from the test database.
    pub fn count(&self, sql: &str) -> anyhow::Result<i64> {
        let text = self.psql(PG_USER, sql)?;
        text.parse().with_context(|| format!("{sql:?} gave {text:?}"))
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("server-{}.log", self.port))).unwrap_or_default()
    }
}

fn as_owner(command: &mut Command, owner: Option<(u32, u32)>) -> &mut Command {
    use std::os::unix::process::CommandExt;
    if let Some((uid, gid)) = owner {
        command.uid(uid).gid(gid).env("HOME", "/tmp");
    }
    command
}

/// The newest installed server's programs: `/usr/lib/postgresql/<version>/bin` (Debian's layout).
fn server_bin() -> anyhow::Result<PathBuf> {
    let root = Path::new("/usr/lib/postgresql");
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .with_context(|| format!("{} is missing: install Debian's postgresql package", root.display()))?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).context("no PostgreSQL server under /usr/lib/postgresql: install postgresql")
}

fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|ids| ids.split_whitespace().nth(1)) == Some("0")
}

/// The `postgres` user's uid and gid, from /etc/passwd.
fn postgres_user() -> anyhow::Result<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    let line = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .context("running as root and there is no postgres user to run PostgreSQL as: install postgresql")?;
    let fields: Vec<&str> = line.split(':').collect();
    Ok((fields[2].parse()?, fields[3].parse()?))
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Stopped as PostgreSQL expects, so no backend outlives its folder.
        let _ = self.kill();
    }
}
