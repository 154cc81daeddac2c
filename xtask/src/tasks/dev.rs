//! `cargo xtask dev`: the Vite dev server with hot reload, and the app pointed at it.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{cmd, deps, ui};

/// `server.port` in ui/vite.config.ts (with `strictPort`).
const DEV_PORT: u16 = 1420;

pub fn dev(args: &[String]) -> Result<ExitCode> {
    deps::ensure_system(deps::Need::Run)?;
    ui::ensure_installed()?;
    // Vite itself rather than `npm run dev`: npm's shell would not pass our SIGTERM on, leaving Vite running.
    // Being our direct child in our process group, it also stops on Ctrl-C.
    let mut server =
        Command::new(ui::bin("vite")?).current_dir(ui::dir()).spawn().context("could not start the Vite dev server")?;
    let result = run_app(&mut server, args);
    stop(&mut server);
    result
}

fn run_app(server: &mut Child, args: &[String]) -> Result<ExitCode> {
    wait_for_port(server, DEV_PORT, Duration::from_secs(30))?;
    // tauri-build and generate_context! merge TAURI_CONFIG (JSON merge patch) over tauri.conf.json,
    // so this debug build loads the dev server instead of embedding ui/dist.
    let config = format!(r#"{{"build":{{"devUrl":"http://127.0.0.1:{DEV_PORT}"}}}}"#);
    let status =
        cmd::status(cmd::cargo().args(["run", "-p", "switchboard", "--"]).args(args).env("TAURI_CONFIG", config))?;
    Ok(cmd::exit_code(status))
}

fn wait_for_port(server: &mut Child, port: u16, timeout: Duration) -> Result<()> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        if let Some(status) = server.try_wait()? {
            bail!("the UI dev server exited ({status}); is port {port} already taken?");
        }
        if start.elapsed() > timeout {
            bail!("the UI dev server did not listen on {address} within {timeout:?}");
        }
        thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

/// Ask the dev server to stop (SIGTERM), then insist.
fn stop(server: &mut Child) {
    let _ = Command::new("kill").arg(server.id().to_string()).status();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if let Ok(Some(_)) = server.try_wait() {
            return;
        }
        thread::sleep(Duration::from_millis(100));
    }
    let _ = server.kill();
    let _ = server.wait();
}
