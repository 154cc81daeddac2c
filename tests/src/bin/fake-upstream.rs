//! `fake-upstream --kind openai|anthropic|gemini [--port N]`: one fake provider in the foreground, for
//! `cargo xtask bench` (the direct baseline and the gateway's upstream) and for trying a client by hand.
//!
//! Prints `listening on http://127.0.0.1:PORT` once bound, then serves until killed. It records nothing and logs
//! nothing per request, so it stays a cheap baseline.

use std::io::Write;

use anyhow::{Context, bail};
use e2e::fake::{self, FakeKind};

const USAGE: &str = "usage: fake-upstream --kind openai|anthropic|gemini [--port N]";

fn main() -> anyhow::Result<()> {
    let (kind, port) = parse_args(std::env::args().skip(1))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("binding 127.0.0.1:{port}: pick another --port or leave it out"))?;
        let addr = listener.local_addr()?;
        let mut stdout = std::io::stdout();
        writeln!(stdout, "listening on http://{addr}")?;
        stdout.flush()?;
        fake::serve(kind, listener).await;
        Ok(())
    })
}

fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<(FakeKind, u16)> {
    let mut kind = None;
    let mut port = 0;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--kind" => {
                let name = args.next().context(USAGE)?;
                kind = Some(FakeKind::parse(&name).with_context(|| format!("unknown kind {name:?}\n{USAGE}"))?);
            }
            "--port" => {
                let value = args.next().context(USAGE)?;
                port = value.parse().with_context(|| format!("--port {value:?} is not a port number\n{USAGE}"))?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unexpected argument {other:?}\n{USAGE}"),
        }
    }
    Ok((kind.context(USAGE)?, port))
}
