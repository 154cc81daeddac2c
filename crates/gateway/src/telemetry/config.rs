//! `[telemetry]`: where spans are exported, under which service name, with which headers.

use serde::{Deserialize, Serialize};

/// `[telemetry]`: a span per request and per upstream attempt (OpenTelemetry's GenAI conventions), sent in batches
/// to an OTLP/HTTP collector. Spans carry names, models, providers, token counts and errors, never a body or a key.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// The collector's OTLP/HTTP base URL (`http://host:4318`); spans go to `<url>/v1/traces`. None: no export.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otlp_endpoint: Option<String>,
    /// The `service.name` the spans are reported under.
    pub service_name: String,
    /// Headers sent with every export, each value read from the environment variable named here
    /// (`{ authorization = "OTLP_AUTH" }`), so a collector's credentials stay out of the file.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub headers_env: std::collections::BTreeMap<String, String>,
}

/// The `service.name` of the gateway's spans unless `[telemetry] service_name` says otherwise.
pub const DEFAULT_SERVICE_NAME: &str = "switchboard";

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            otlp_endpoint: None,
            service_name: DEFAULT_SERVICE_NAME.to_owned(),
            headers_env: std::collections::BTreeMap::new(),
        }
    }
}

impl TelemetryConfig {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if let Some(url) = &self.otlp_endpoint {
            let parsed = reqwest::Url::parse(url).map_err(|e| {
                format!("telemetry.otlp_endpoint {url:?} is not a URL ({e}); write it as http://host:4318")
            })?;
            if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
                return Err(format!("telemetry.otlp_endpoint {url:?} must be an http:// or https:// URL with a host"));
            }
            if !parsed.username().is_empty() || parsed.password().is_some() {
                return Err(
                    "telemetry.otlp_endpoint holds credentials; send them as a header (headers_env) instead".into()
                );
            }
        }
        if self.service_name.trim().is_empty() {
            return Err("telemetry.service_name is empty; leave it out for \"switchboard\"".into());
        }
        for (name, var) in &self.headers_env {
            if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(format!("telemetry.headers_env: {name:?} is not a header name"));
            }
            if var.is_empty() {
                return Err(format!("telemetry.headers_env.{name} is empty; name the variable holding its value"));
            }
        }
        Ok(())
    }
}
