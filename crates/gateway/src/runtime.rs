//! The headless runtime: one thread by default, or tokio's multi-threaded scheduler with `SWITCHBOARD_THREADS=N`
//! workers (`0`: one per core). The desktop app runs on Tauri's runtime instead.
//!
//! A request costs the gateway about a tenth of a millisecond of CPU, nearly all of it HTTP and socket work, so one
//! thread serves thousands of requests a second: far more than one person's tools send. On one thread a request
//! never crosses between cores (the server's connection task, the handler and the HTTP client's connection task
//! take turns on it). Measured on 2 cores with `cargo xtask bench`: about 0.05 ms less added latency per request,
//! a quarter less CPU per request and ~35 MB peak RSS instead of ~39, for less peak throughput at 32 concurrent
//! requests (~6,500 req/s instead of ~7,600), which one person's tools never approach. SQLite and other blocking
//! work run on tokio's blocking pool, beside it. `examples/proxy_floor.rs` uses the same choice, so the benchmark's
//! floor runs on the gateway's threads.

use anyhow::Context;

/// The runtime `SWITCHBOARD_THREADS` asks for (see the module docs); an unreadable value is an error that says
/// what to write instead.
pub fn from_env() -> anyhow::Result<tokio::runtime::Runtime> {
    let threads = match std::env::var("SWITCHBOARD_THREADS") {
        Ok(text) => Some(text.trim().parse::<usize>().with_context(|| {
            format!("SWITCHBOARD_THREADS={text:?} is not a number: use 1 (the default), N worker threads, or 0 for one per core")
        })?),
        Err(_) => None,
    };
    let mut builder = match threads {
        None | Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(0) => tokio::runtime::Builder::new_multi_thread(),
        Some(n) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
    };
    Ok(builder.enable_all().build()?)
}
