//! `seed-app --db <switchboard.db> --upstream <base url>`: what `cargo xtask bench` puts into the desktop app's store
//! before launching it, so its endpoint can be measured under load without driving the window.
//!
//! Writes one OpenAI provider at the given base URL (its key in the keychain of the session this runs in), the
//! alias `general` to its `gpt-4o-mini`, and an app named `bench`, then prints that app's new token. Run it inside
//! the same private D-Bus session and HOME the app will use, with the app not running.

use std::path::PathBuf;

use anyhow::{Context, bail};
use switchboard_gateway::secrets::{Keychain, SecretStore, SecretString};
use switchboard_gateway::store::{
    AliasRow, AppSpec, DEFAULT_KEY_LABEL, ProviderRow, Store, TargetRow, keychain_account,
};

const USAGE: &str = "usage: seed-app --db <switchboard.db> --upstream <base url> [--key <provider key>]";
const PROVIDER: &str = "fake";

fn main() -> anyhow::Result<()> {
    let args = parse_args(std::env::args().skip(1))?;
    if let Some(dir) = args.db.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let store = Store::open(&args.db).with_context(|| format!("cannot open {}", args.db.display()))?;
    let mut provider = ProviderRow::new(PROVIDER, "openai");
    provider.base_url = Some(args.upstream);
    store.put_provider(&provider)?;
    Keychain::open()?
        .set(&keychain_account(PROVIDER, DEFAULT_KEY_LABEL), &SecretString::from(args.key.clone()))
        .context("cannot store the provider key: is this running in a session with an unlocked keychain?")?;
    let last4 = args.key.get(args.key.len().saturating_sub(4)..);
    store.put_provider_key(PROVIDER, DEFAULT_KEY_LABEL, last4)?;
    store.put_alias(&AliasRow::new("bench", vec![TargetRow::new(PROVIDER, "gpt-4o-mini")]))?;
    let (_, token) = store.create_app(&AppSpec::new("bench"))?;
    println!("{token}");
    Ok(())
}

struct Args {
    db: PathBuf,
    upstream: String,
    key: String,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Args> {
    let (mut db, mut upstream, mut key) = (None, None, "bench-upstream-key".to_owned());
    while let Some(arg) = args.next() {
        let value = args.next().context(USAGE)?;
        match arg.as_str() {
            "--db" => db = Some(PathBuf::from(value)),
            "--upstream" => upstream = Some(value),
            "--key" => key = value,
            _ => bail!("unknown argument {arg:?}\n{USAGE}"),
        }
    }
    Ok(Args { db: db.context(USAGE)?, upstream: upstream.context(USAGE)?, key })
}
