//! System packages (Debian/Ubuntu) and developer tools the tasks need.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd;

/// What building and running the desktop app needs (Tauri 2 on WebKitGTK 4.1).
const RUN_PACKAGES: &[&str] = &[
    "libwebkit2gtk-4.1-dev",
    "build-essential",
    "libxdo-dev",
    "libssl-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "pkg-config",
];

/// What the tests add on top: a virtual display, screenshots, WebDriver, a private keychain, a notification daemon.
const TEST_TOOLS: &[&str] = &[
    "curl",
    "wget",
    "file",
    "xvfb",
    "xauth",
    "imagemagick",
    "webkit2gtk-driver",
    "gnome-keyring",
    "libsecret-tools",
    "dbus-x11",
    "python3-venv",
    // The desktop notification a warn budget shows (window_manage), and dbus-monitor to see it sent.
    "notification-daemon",
    "dbus-bin",
    // The shared store of headless replicas (e2e `postgres`): the harness runs its initdb and postgres itself.
    "postgresql",
];

#[derive(Clone, Copy)]
pub enum Need {
    /// Build and run the app.
    Run,
    /// Build, run and test it.
    Test,
}

impl Need {
    fn packages(self) -> Vec<&'static str> {
        match self {
            Need::Run => RUN_PACKAGES.to_vec(),
            Need::Test => [RUN_PACKAGES, TEST_TOOLS].concat(),
        }
    }
}

/// Install the missing system packages as root, or say how to.
pub fn ensure_system(need: Need) -> Result<()> {
    let packages = need.packages();
    let Some(missing) = missing_packages(&packages)? else {
        eprintln!(
            "warning: no dpkg-query here (not Debian/Ubuntu?); make sure these packages or your system's \
             equivalents are installed: {}",
            packages.join(" ")
        );
        return Ok(());
    };
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    if !is_root()? {
        println!("sudo apt-get install -y --no-install-recommends {list}");
        bail!("missing system packages: {list}; install them with the line above, then rerun");
    }
    eprintln!("installing missing system packages: {list}");
    cmd::run(Command::new("apt-get").arg("update"))?;
    cmd::run(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing),
    )
}

/// The packages that are not installed, or `None` when `dpkg-query` is not available.
fn missing_packages(packages: &[&'static str]) -> Result<Option<Vec<&'static str>>> {
    let mut missing = Vec::new();
    for &package in packages {
        let output = Command::new("dpkg-query").args(["-W", "-f=${Status}", package]).output();
        match output {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error).context("could not run dpkg-query"),
            // An unknown package makes dpkg-query fail: it is missing too.
            Ok(output) => {
                if !is_installed(&String::from_utf8_lossy(&output.stdout)) {
                    missing.push(package);
                }
            }
        }
    }
    Ok(Some(missing))
}

/// `${Status}` is "want flag state", e.g. "install ok installed"; only the state matters.
fn is_installed(status: &str) -> bool {
    status.split_whitespace().nth(2) == Some("installed")
}

fn is_root() -> Result<bool> {
    let uid = cmd::output(Command::new("id").arg("-u")).context("could not tell the user id")?;
    Ok(uid.trim() == "0")
}

/// Where `cargo install` puts binaries: `$CARGO_HOME/bin`, by default `~/.cargo/bin`.
pub fn cargo_bin_dir() -> Option<PathBuf> {
    match std::env::var_os("CARGO_HOME") {
        Some(home) if !home.is_empty() => Some(PathBuf::from(home).join("bin")),
        _ => std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo/bin")),
    }
}

/// `PATH` with cargo's bin directory added, so children find `cargo install`ed tools.
pub fn path_with_cargo_bin() -> std::ffi::OsString {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|path| std::env::split_paths(&path).collect()).unwrap_or_default();
    if let Some(bin) = cargo_bin_dir()
        && !dirs.contains(&bin)
    {
        dirs.push(bin);
    }
    // An entry that cannot be joined (one holding ':') leaves PATH as it was.
    std::env::join_paths(dirs).unwrap_or_else(|_| std::env::var_os("PATH").unwrap_or_default())
}

/// `tauri-driver` (the WebDriver server for Tauri apps), installed with cargo when missing.
pub fn ensure_tauri_driver() -> Result<PathBuf> {
    let installed = || {
        cmd::which("tauri-driver")
            .or_else(|| cargo_bin_dir().map(|bin| bin.join("tauri-driver")).filter(|path| cmd::is_executable(path)))
    };
    if let Some(path) = installed() {
        return Ok(path);
    }
    cmd::run(cmd::cargo().args(["install", "tauri-driver", "--locked"]))?;
    installed().context("`cargo install tauri-driver` succeeded but tauri-driver is not in cargo's bin directory")
}

/// `WebKitWebDriver`, which tauri-driver starts; it comes with the `webkit2gtk-driver` package.
pub fn webkit_webdriver() -> Result<PathBuf> {
    cmd::which("WebKitWebDriver").context(
        "WebKitWebDriver is not on PATH; install the `webkit2gtk-driver` package \
         (`cargo xtask test` does this when run as root)",
    )
}

/// `node` and `npm`, which build the UI.
pub fn ensure_node() -> Result<()> {
    for tool in ["node", "npm"] {
        if cmd::which(tool).is_none() {
            bail!("`{tool}` is not on PATH; install Node.js 20 or newer (with npm), then rerun");
        }
    }
    let version = cmd::output(Command::new("node").arg("--version"))?;
    let major = version.trim().trim_start_matches('v').split('.').next().unwrap_or("");
    match major.parse::<u32>() {
        Ok(major) if major >= 20 => Ok(()),
        _ => bail!("Switchboard needs Node.js 20 or newer, found `{}`", version.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpkg_status() {
        assert!(is_installed("install ok installed"));
        assert!(is_installed("hold ok installed"));
        assert!(!is_installed("deinstall ok config-files"));
        assert!(!is_installed("install ok half-installed"));
        assert!(!is_installed(""));
    }

    #[test]
    fn test_needs_everything_run_needs() {
        let test = Need::Test.packages();
        assert!(Need::Run.packages().iter().all(|p| test.contains(p)));
        assert!(test.contains(&"webkit2gtk-driver"));
    }
}
