//! `[metrics]`: where the Prometheus listener is, and who may scrape it.

use serde::{Deserialize, Serialize};

/// Where `/metrics` listens when `[metrics]` is enabled without a port.
pub const DEFAULT_METRICS_PORT: u16 = 9352;

/// `[metrics]`: Prometheus `/metrics`, never on the API's port: its own listener on `server.bind`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// The port of the metrics listener (0 picks a free one).
    pub port: u16,
    /// The environment variable holding the token scrapes must send as `Authorization: Bearer <token>`; without
    /// one, anyone who can reach the port may scrape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig { enabled: false, port: DEFAULT_METRICS_PORT, token_env: None }
    }
}

impl MetricsConfig {
    /// The checks of its own fields (the port's clash with the API's is checked with the whole document).
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.token_env.as_deref() == Some("") {
            return Err("metrics.token_env is empty; name the variable holding the scrape token".into());
        }
        Ok(())
    }
}
