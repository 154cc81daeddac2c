//! Azure OpenAI: the model is a *deployment* in the path
//! (`{resource}/openai/deployments/{deployment}/chat/completions?api-version=…`) and the key goes in `api-key`.

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use super::{Call, Endpoint, Preset, Provider, UpstreamError, openai};

/// The GA API version used when the config names none.
pub const DEFAULT_API_VERSION: &str = "2024-10-21";

pub struct Azure {
    endpoint: Endpoint,
}

impl Azure {
    pub fn new(endpoint: Endpoint) -> Azure {
        Azure { endpoint }
    }

    fn api_version(&self) -> &str {
        self.endpoint.api_version.as_deref().unwrap_or(DEFAULT_API_VERSION)
    }
}

impl Provider for Azure {
    fn id(&self) -> &str {
        &self.endpoint.id
    }

    fn preset(&self) -> &'static Preset {
        self.endpoint.preset
    }

    fn build(&self, call: Call<'_>) -> Result<reqwest::RequestBuilder, UpstreamError> {
        let path = format!("openai/deployments/{}/{}", call.model, openai::path(call.op));
        let mut request = self
            .endpoint
            .http
            .post(self.endpoint.url(&path))
            .query(&[("api-version", self.api_version())])
            .header(CONTENT_TYPE, "application/json")
            .body(call.body);
        if let Some(key) = self.endpoint.key()? {
            request = request.header("api-key", key);
        }
        Ok(request)
    }

    fn models_request(&self) -> Option<reqwest::RequestBuilder> {
        let mut request = self
            .endpoint
            .http
            .get(self.endpoint.url("openai/deployments"))
            .query(&[("api-version", self.api_version())]);
        if let Ok(Some(key)) = self.endpoint.key() {
            request = request.header("api-key", key);
        }
        Some(request)
    }

    fn parse_models(&self, body: &Value) -> Vec<String> {
        openai::list_ids(body)
    }

    fn redact(&self, text: &str) -> String {
        self.endpoint.redact(text)
    }
}
