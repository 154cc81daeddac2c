//! Provider keys in the real Secret Service: a gnome-keyring on a private bus, driven through `Keychain` from the
//! `keychain-probe` binary and checked independently with `secret-tool`.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use e2e::{FAKE_KEY, Session};

const SERVICE: &str = "switchboard-e2e";

fn probe(session: &Session, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = session
        .command(env!("CARGO_BIN_EXE_keychain-probe"))
        .arg(SERVICE)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("keychain-probe starts");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn secret_tool_lookup(session: &Session, account: &str) -> Output {
    session
        .command("secret-tool")
        .args(["lookup", "service", SERVICE, "username", account])
        .output()
        .expect("secret-tool runs (apt-get install libsecret-tools)")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn keys_round_trip_through_the_secret_service() {
    let session = Session::start().unwrap();

    let set = probe(&session, &["set", "openai"], Some(FAKE_KEY));
    assert!(set.status.success(), "set failed: {}", text(&set.stderr));

    // The key is really in the Secret Service, filed under our service and the provider's account…
    let stored = secret_tool_lookup(&session, "openai");
    assert_eq!(text(&stored.stdout).trim(), FAKE_KEY, "secret-tool stderr: {}", text(&stored.stderr));

    // …reads back whole, and is shown to a person only as its last four characters.
    let get = probe(&session, &["get", "openai"], None);
    assert!(get.status.success(), "get failed: {}", text(&get.stderr));
    assert_eq!(text(&get.stdout), format!("{FAKE_KEY}\n…0000\n"));

    // Another account is absent, not an error.
    let other = probe(&session, &["get", "anthropic"], None);
    assert_eq!(text(&other.stderr).trim(), "no entry");

    // Deleting removes it from the Secret Service; deleting again is fine.
    let delete = probe(&session, &["delete", "openai"], None);
    assert!(delete.status.success(), "delete failed: {}", text(&delete.stderr));
    assert!(!secret_tool_lookup(&session, "openai").status.success(), "the entry should be gone");
    assert!(probe(&session, &["delete", "openai"], None).status.success());
}

#[test]
fn the_key_never_lands_in_a_file() {
    let session = Session::start().unwrap();
    let set = probe(&session, &["set", "groq"], Some(FAKE_KEY));
    assert!(set.status.success(), "set failed: {}", text(&set.stderr));
    // gnome-keyring encrypts its keyring file; no file under the private HOME may hold the key in plaintext.
    let grep = Command::new("grep").args(["-rl", FAKE_KEY]).arg(session.home.path()).output().unwrap();
    assert!(grep.stdout.is_empty(), "plaintext key found in: {}", text(&grep.stdout));
}

#[test]
fn no_secret_service_is_a_clear_error_not_a_fallback() {
    let home = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_keychain-probe"))
        .args([SERVICE, "set", "openai"])
        .env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}/no-bus", home.path().display()))
        .env("HOME", home.path())
        .env_remove("XDG_RUNTIME_DIR")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = text(&output.stderr);
    assert!(error.contains("Secret Service") && error.contains("SWITCHBOARD_KEY_"), "unhelpful error: {error}");
}
