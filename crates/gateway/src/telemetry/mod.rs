//! Logging and tracing: `tracing` to stderr, and when a folder is given, to a daily-rotated file there (a week is
//! kept); `RUST_LOG` overrides the default filter. The headless gateway can also export the relay's spans
//! (`genai.rs`) to an OpenTelemetry collector (`otlp.rs`, `[telemetry] otlp_endpoint`), through a layer that takes
//! those spans only: no log line, no event and no other span is exported.

mod config;
pub mod genai;
mod otlp;
#[cfg(test)]
mod tests;

use std::path::Path;

pub use config::{DEFAULT_SERVICE_NAME, TelemetryConfig};
pub use otlp::{Exporter, traces_url};
pub use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::{FilterFn, filter_fn};
use tracing_subscriber::fmt;
use tracing_subscriber::prelude::*;

pub const LOG_FILE_PREFIX: &str = "switchboard";
const DEFAULT_FILTER: &str = "info,tower_http=warn,hyper=warn";

/// Installs the global subscriber. Keep the returned guard alive for the life of the process: dropping it flushes
/// and closes the log file. Calling this twice is harmless (the second call changes nothing).
pub fn init(log_dir: Option<&Path>) -> anyhow::Result<Option<WorkerGuard>> {
    install(log_dir, None)
}

/// As [`init`] without a log file, and with the spans exported through `exporter` when there is one (the headless
/// gateway). Call [`Exporter::shutdown`] at the end so the last spans are sent.
pub fn init_with_export(exporter: Option<&Exporter>) -> anyhow::Result<()> {
    install(None, exporter).map(|_| ())
}

fn install(log_dir: Option<&Path>, exporter: Option<&Exporter>) -> anyhow::Result<Option<WorkerGuard>> {
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
    let export = exporter.map(|exporter| export_layer(exporter.tracer()));
    let _ = tracing_subscriber::registry().with(stderr).with(file).with(export).try_init();
    Ok(guard)
}

/// The layer that turns the relay's spans into OpenTelemetry spans: only [`genai::TARGET`]'s spans pass, and none
/// of `tracing-opentelemetry`'s extra attributes (source location, thread, target, busy/idle times) are added.
fn export_layer<S>(tracer: opentelemetry_sdk::trace::SdkTracer) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_target(false)
        .with_tracked_inactivity(false)
        .with_error_fields_to_exceptions(false)
        .with_error_records_to_exceptions(false)
        .with_error_events_to_exceptions(false)
        .with_error_events_to_status(false)
        .with_filter(only_genai_spans())
}

/// Spans of [`genai::TARGET`], nothing else (events included: a log line may hold an upstream's error text).
fn only_genai_spans() -> FilterFn {
    filter_fn(|metadata| metadata.is_span() && metadata.target() == genai::TARGET)
}
