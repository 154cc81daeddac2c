//! Logging: `tracing` to stderr, and when a folder is given, to a daily-rotated file there (a week is kept).
//! `RUST_LOG` overrides the default filter.

use std::path::Path;

pub use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

pub const LOG_FILE_PREFIX: &str = "switchboard";
const DEFAULT_FILTER: &str = "info,tower_http=warn,hyper=warn";

/// Installs the global subscriber. Keep the returned guard alive for the life of the process: dropping it flushes
/// and closes the log file. Calling this twice is harmless (the second call changes nothing).
pub fn init(log_dir: Option<&Path>) -> anyhow::Result<Option<WorkerGuard>> {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let stderr = fmt::layer().with_writer(std::io::stderr).with_filter(filter());
    let (file, guard) = match log_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            let appender = RollingFileAppender::builder()
                .rotation(Rotation::DAILY)
                .filename_prefix(LOG_FILE_PREFIX)
                .filename_suffix("log")
                .max_log_files(7)
                .build(dir)?;
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (Some(fmt::layer().with_ansi(false).with_writer(writer).with_filter(filter())), Some(guard))
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry().with(stderr).with(file).try_init();
    Ok(guard)
}
