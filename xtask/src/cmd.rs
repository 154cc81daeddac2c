//! Paths and small helpers around `std::process::Command`.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::thread;

use anyhow::{Context, Result, bail};

/// The workspace root (the parent of `xtask/`). Read from the environment `cargo run` gives this process, not
/// baked in at compile time: with a shared target directory, an xtask built in another clone of the same commit is
/// not rebuilt, and would otherwise work on that other clone.
pub fn root() -> PathBuf {
    let manifest =
        std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `cargo`, the same one that runs this xtask when possible, in the workspace root.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(program);
    command.current_dir(root());
    command
}

/// The directory cargo builds into: `$CARGO_TARGET_DIR` or `<root>/target`.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// A readable one-line form of a command, for logs and errors.
pub fn describe(command: &Command) -> String {
    let program = Path::new(command.get_program()).file_name().unwrap_or(command.get_program());
    let mut line = program.to_string_lossy().into_owned();
    for arg in command.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Announce a command before running it.
pub fn announce(command: &Command) {
    match command.get_current_dir() {
        Some(dir) if dir != root() => {
            let dir = dir.strip_prefix(root()).unwrap_or(dir);
            eprintln!("==> {} (in {})", describe(command), dir.display());
        }
        _ => eprintln!("==> {}", describe(command)),
    }
}

/// Run with inherited stdio and return the exit status.
pub fn status(command: &mut Command) -> Result<ExitStatus> {
    announce(command);
    command.status().with_context(|| format!("could not start `{}`", describe(command)))
}

/// Run with inherited stdio; fail unless it exits successfully.
pub fn run(command: &mut Command) -> Result<()> {
    let status = status(command)?;
    if !status.success() {
        bail!("`{}` failed ({status})", describe(command));
    }
    Ok(())
}

/// Run, capturing stdout (stderr is inherited); fail unless it exits successfully.
pub fn output(command: &mut Command) -> Result<String> {
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start `{}`", describe(command)))?;
    if !output.status.success() {
        bail!("`{}` failed ({})", describe(command), output.status);
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Run like `tee`: stream stdout and stderr live to ours while capturing both (stdout first, then stderr).
pub fn tee(command: &mut Command) -> Result<(ExitStatus, String)> {
    announce(command);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{}`", describe(command)))?;
    let stdout = child.stdout.take().context("child stdout")?;
    let stderr = child.stderr.take().context("child stderr")?;
    let err_thread = thread::spawn(move || copy_lines(stderr, std::io::stderr()));
    let mut captured = copy_lines(stdout, std::io::stdout());
    let status = child.wait().context("waiting for child")?;
    match err_thread.join() {
        Ok(err_text) => captured.push_str(&err_text),
        Err(_) => bail!("the stderr reader of `{}` panicked", describe(command)),
    }
    Ok((status, captured))
}

/// Copy `from` to `to` line by line as lines arrive, returning everything read (lossy UTF-8).
fn copy_lines(from: impl Read, mut to: impl Write) -> String {
    let mut reader = BufReader::new(from);
    let mut captured = String::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                // A closed terminal must not stop the child or the capture.
                let _ = to.write_all(&line).and_then(|()| to.flush());
                captured.push_str(&String::from_utf8_lossy(&line));
            }
        }
    }
    captured
}

/// The process exit code for a child's status (1 when it has none, e.g. killed by a signal).
pub fn exit_code(status: ExitStatus) -> ExitCode {
    match status.code() {
        Some(0) => ExitCode::SUCCESS,
        Some(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        None => ExitCode::FAILURE,
    }
}

/// Find an executable on `PATH`, like `which`.
pub fn which(name: impl AsRef<OsStr>) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name.as_ref())).find(|candidate| is_executable(candidate))
}

pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}
