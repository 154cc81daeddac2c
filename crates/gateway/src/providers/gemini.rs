//! Google Gemini: `{base}/models/{model}:generateContent` or `:streamGenerateContent?alt=sse`, and `:countTokens`
//! for Gemini clients' counts. The key goes in the
//! `x-goog-api-key` header, never in the URL (URLs end up in proxies' and servers' logs).

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use super::{Call, Endpoint, Operation, Preset, Provider, UpstreamError};
use crate::protocol::gemini;

pub struct Gemini {
    endpoint: Endpoint,
}

impl Gemini {
    pub fn new(endpoint: Endpoint) -> Gemini {
        Gemini { endpoint }
    }

    fn authed(&self, mut request: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder, UpstreamError> {
        if let Some(key) = self.endpoint.key()? {
            request = request.header("x-goog-api-key", key);
        }
        Ok(request)
    }
}

impl Provider for Gemini {
    fn id(&self) -> &str {
        &self.endpoint.id
    }

    fn preset(&self) -> &'static Preset {
        self.endpoint.preset
    }

    fn build(&self, call: Call<'_>) -> Result<reqwest::RequestBuilder, UpstreamError> {
        let path = match call.op {
            Operation::Chat => gemini::method_path(call.model, call.stream),
            Operation::CountTokens => {
                format!("models/{}:countTokens", call.model.strip_prefix("models/").unwrap_or(call.model))
            }
            op => return Err(UpstreamError::Unsupported { provider: self.endpoint.id.clone(), op }),
        };
        self.authed(self.endpoint.post(&path).header(CONTENT_TYPE, "application/json").body(call.body))
    }

    fn models_request(&self) -> Option<reqwest::RequestBuilder> {
        self.authed(self.endpoint.http.get(self.endpoint.url("models")).query(&[("pageSize", "1000")])).ok()
    }

    /// `{"models":[{"name":"models/gemini-2.5-flash","supportedGenerationMethods":["generateContent",…]}]}`
    fn parse_models(&self, body: &Value) -> Vec<String> {
        body["models"]
            .as_array()
            .map(|models| {
                models
                    .iter()
                    .filter(|m| {
                        m["supportedGenerationMethods"]
                            .as_array()
                            .is_none_or(|methods| methods.iter().any(|x| x == "generateContent"))
                    })
                    .filter_map(|m| m["name"].as_str())
                    .map(|name| name.trim_start_matches("models/").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}
