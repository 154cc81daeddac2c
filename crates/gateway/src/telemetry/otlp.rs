//! Export of the relay's spans (`genai.rs`) to an OpenTelemetry collector: OTLP over HTTP with protobuf bodies.
//!
//! Spans are ended on the request path into the SDK's batch processor: a bounded queue (2,048 spans unless
//! `OTEL_BSP_MAX_QUEUE_SIZE` says otherwise) read by a thread of its own, which sends a batch every 5 seconds
//! (`OTEL_BSP_SCHEDULE_DELAY`) or once 512 are waiting, through a blocking HTTP client that runs beside the
//! gateway's runtime, never on it. A collector that is down or slow costs the request path nothing: a full queue
//! drops spans, which the SDK counts and logs (once when dropping starts, the total at shutdown), and a failed
//! export is logged and given up after a few retries within [`EXPORT_TIMEOUT`].

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

use crate::config::TelemetryConfig;

/// How long one export may take, its retries included.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a clean stop waits for the last batch to be sent.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// The running export; [`Exporter::shutdown`] sends what is still queued.
pub struct Exporter {
    provider: SdkTracerProvider,
}

impl Exporter {
    /// The exporter `config` asks for, or `None` without an endpoint. Header values are read through `env` here,
    /// once; a named variable that is unset is an error that says which.
    pub fn from_config(config: &TelemetryConfig, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<Self>> {
        let Some(endpoint) = &config.otlp_endpoint else { return Ok(None) };
        let mut headers = HashMap::new();
        for (name, var) in &config.headers_env {
            let value = env(var).filter(|v| !v.is_empty()).with_context(|| {
                format!("telemetry.headers_env.{name} names {var}, which is not set; export it or remove the header")
            })?;
            headers.insert(name.clone(), value);
        }
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(traces_url(endpoint))
            .with_timeout(EXPORT_TIMEOUT)
            .with_headers(headers)
            .build()
            .with_context(|| format!("cannot export traces to {endpoint} (telemetry.otlp_endpoint)"))?;
        let resource = Resource::builder()
            .with_service_name(config.service_name.clone())
            .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
            .build();
        let provider = SdkTracerProvider::builder().with_resource(resource).with_batch_exporter(exporter).build();
        Ok(Some(Exporter { provider }))
    }

    pub(super) fn tracer(&self) -> SdkTracer {
        self.provider.tracer("switchboard")
    }

    /// Sends the spans still queued and stops the export thread, waiting at most [`SHUTDOWN_TIMEOUT`]. Call it after
    /// the last request has ended, outside the async runtime (it blocks).
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT) {
            tracing::warn!(%error, "the last spans may not have reached the collector");
        }
    }
}

/// The OTLP/HTTP traces URL under a collector's base URL, as the OTLP exporter specification builds it from
/// `OTEL_EXPORTER_OTLP_ENDPOINT`: `http://host:4318` → `http://host:4318/v1/traces`.
pub fn traces_url(base: &str) -> String {
    format!("{}/v1/traces", base.trim_end_matches('/'))
}
