//! Anthropic's Messages API: `{base}/v1/messages`, `x-api-key`, `anthropic-version`. Only chat: Anthropic offers no
//! text completions or embeddings.

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use super::{Call, Endpoint, Operation, Preset, Provider, UpstreamError};

/// The API version sent when the client did not send its own.
pub const API_VERSION: &str = "2023-06-01";

pub struct Anthropic {
    endpoint: Endpoint,
}

impl Anthropic {
    pub fn new(endpoint: Endpoint) -> Anthropic {
        Anthropic { endpoint }
    }

    fn authed(&self, mut request: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, UpstreamError> {
        if let Some(key) = self.endpoint.key()? {
            request = request.header("x-api-key", key);
        }
        Ok(request)
    }
}

impl Provider for Anthropic {
    fn id(&self) -> &str {
        &self.endpoint.id
    }

    fn preset(&self) -> &'static Preset {
        self.endpoint.preset
    }

    fn build(&self, call: Call<'_>) -> Result<reqwest::RequestBuilder, UpstreamError> {
        let path = match call.op {
            Operation::Chat => "v1/messages",
            Operation::CountTokens => "v1/messages/count_tokens",
            Operation::Completions | Operation::Embeddings | Operation::Responses => {
                return Err(UpstreamError::Unsupported { provider: self.endpoint.id.clone(), op: call.op });
            }
        };
        let mut request = self.endpoint.post(path).header(CONTENT_TYPE, "application/json").body(call.body);
        let mut version_sent = false;
        for (name, value) in call.forward_headers {
            version_sent |= name == "anthropic-version";
            request = request.header(name, value);
        }
        if !version_sent {
            request = request.header("anthropic-version", API_VERSION);
        }
        self.authed(request)
    }

    fn models_request(&self) -> Option<reqwest::RequestBuilder> {
        let request = self
            .endpoint
            .http
            .get(self.endpoint.url("v1/models"))
            .query(&[("limit", "1000")])
            .header("anthropic-version", API_VERSION);
        self.authed(request).ok()
    }

    fn parse_models(&self, body: &Value) -> Vec<String> {
        super::openai::list_ids(body)
    }

    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}
