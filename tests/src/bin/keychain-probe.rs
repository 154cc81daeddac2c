//! Drives `switchboard_gateway::secrets::Keychain` from a separate process, so a test can point it at a private
//! D-Bus session (the keychain connects to whatever `DBUS_SESSION_BUS_ADDRESS` names when it opens).
//!
//! `keychain-probe SERVICE set ACCOUNT` (secret on stdin) | `get ACCOUNT` | `delete ACCOUNT` | `open`
//! Exit 0 on success; on failure the error goes to stderr and the exit code is 1. `get` prints the secret itself:
//! this binary exists only for tests with fake keys.

use std::io::Read;
use std::process::ExitCode;

use switchboard_gateway::secrets::{ExposeSecret, Keychain, SecretStore, SecretString, masked};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> anyhow::Result<()> {
    let [service, action, rest @ ..] = args else {
        anyhow::bail!("usage: keychain-probe SERVICE (open | set ACCOUNT | get ACCOUNT | delete ACCOUNT)");
    };
    let keychain = Keychain::open_service(service)?;
    let account = || rest.first().map(String::as_str).ok_or_else(|| anyhow::anyhow!("{action} needs an ACCOUNT"));
    match action.as_str() {
        "open" => {}
        "set" => {
            let mut secret = String::new();
            std::io::stdin().read_to_string(&mut secret)?;
            keychain.set(account()?, &SecretString::from(secret))?;
        }
        "get" => match keychain.get(account()?)? {
            Some(secret) => println!("{}\n{}", secret.expose_secret(), masked(&secret)),
            None => anyhow::bail!("no entry"),
        },
        "delete" => keychain.delete(account()?)?,
        other => anyhow::bail!("unknown action {other}"),
    }
    Ok(())
}
