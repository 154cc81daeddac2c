//! OpenAI and every OpenAI-compatible host (the presets, Ollama, LM Studio, a custom URL): `Authorization: Bearer`,
//! `{base}/chat/completions`, `/completions`, `/embeddings`, `/models`.

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use super::{Call, Endpoint, Operation, Preset, Provider, UpstreamError};

pub struct OpenAi {
    endpoint: Endpoint,
}

impl OpenAi {
    pub fn new(endpoint: Endpoint) -> OpenAi {
        OpenAi { endpoint }
    }
}

pub(super) fn path(op: Operation) -> Option<&'static str> {
    match op {
        Operation::Chat => Some("chat/completions"),
        Operation::Completions => Some("completions"),
        Operation::Embeddings => Some("embeddings"),
        Operation::CountTokens => None,
    }
}

/// Model ids from an OpenAI-shaped list: `{"data":[{"id":…}]}`.
pub(super) fn list_ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .map(|models| models.iter().filter_map(|m| m["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

impl Provider for OpenAi {
    fn id(&self) -> &str {
        &self.endpoint.id
    }

    fn preset(&self) -> &'static Preset {
        self.endpoint.preset
    }

    fn build(&self, call: Call<'_>) -> Result<reqwest::RequestBuilder, UpstreamError> {
        let path = path(call.op)
            .ok_or_else(|| UpstreamError::Unsupported { provider: self.endpoint.id.clone(), op: call.op })?;
        let mut request =
            self.endpoint.http.post(self.endpoint.url(path)).header(CONTENT_TYPE, "application/json").body(call.body);
        if let Some(key) = self.endpoint.key()? {
            request = request.bearer_auth(key);
        }
        Ok(request)
    }

    fn models_request(&self) -> Option<reqwest::RequestBuilder> {
        if !self.endpoint.preset.shipped_models.is_empty() {
            return None;
        }
        let mut request = self.endpoint.http.get(self.endpoint.url("models"));
        if let Ok(Some(key)) = self.endpoint.key() {
            request = request.bearer_auth(key);
        }
        Some(request)
    }

    fn parse_models(&self, body: &Value) -> Vec<String> {
        list_ids(body)
    }

    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}
