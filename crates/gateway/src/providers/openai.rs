//! OpenAI and every OpenAI-compatible host (the presets, Ollama, LM Studio, a custom URL): `Authorization: Bearer`,
//! `{base}/chat/completions`, `/completions`, `/embeddings`, `/models`; and `/responses` where the preset offers
//! OpenAI's Responses API (`Preset::responses_api`: OpenAI itself). The `openai-responses` kind speaks the Responses
//! API for chat as well: every chat request goes to `/responses` (it has no legacy text completions).

use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use super::{Call, Endpoint, Operation, Preset, Provider, UpstreamError};
use crate::protocol::Protocol;

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
        // Only where the preset offers it: see `OpenAi::build`.
        Operation::CountTokens | Operation::Responses => None,
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
        let preset = self.endpoint.preset;
        let path = match call.op {
            Operation::Responses if preset.responses_api => Some("responses"),
            Operation::Chat if preset.protocol == Protocol::Responses => Some("responses"),
            Operation::Completions if preset.protocol == Protocol::Responses => None,
            op => path(op),
        }
        .ok_or_else(|| UpstreamError::Unsupported { provider: self.endpoint.id.clone(), op: call.op })?;
        let mut request = self.endpoint.post(path).header(CONTENT_TYPE, "application/json").body(call.body);
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

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use secrecy::SecretString;

    use super::*;
    use crate::providers::presets;

    fn provider(kind: &str) -> OpenAi {
        OpenAi::new(Endpoint {
            id: kind.into(),
            preset: presets::find(kind).unwrap(),
            base_url: "http://127.0.0.1:9/v1/".into(),
            keys: vec![SecretString::from("sk-test-key-1234")],
            current: Default::default(),
            http: reqwest::Client::new(),
            api_version: None,
            urls: Default::default(),
            no_responses: Default::default(),
        })
    }

    fn call(op: Operation) -> Call<'static> {
        Call { op, model: "gpt-5", body: Bytes::from_static(b"{}"), stream: true, forward_headers: vec![] }
    }

    #[test]
    fn openai_itself_is_reached_through_the_responses_api() {
        let openai = provider("openai");
        assert!(openai.offers_responses());
        let request = openai.build(call(Operation::Responses)).unwrap().build().unwrap();
        assert_eq!(request.url().as_str(), "http://127.0.0.1:9/v1/responses");
        assert_eq!(request.headers()["authorization"], "Bearer sk-test-key-1234");
        let request = openai.build(call(Operation::Chat)).unwrap().build().unwrap();
        assert_eq!(request.url().as_str(), "http://127.0.0.1:9/v1/chat/completions");
    }

    #[test]
    fn the_responses_kind_takes_every_chat_request_at_its_responses_api() {
        let host = provider("openai-responses");
        assert!(host.offers_responses());
        for op in [Operation::Chat, Operation::Responses] {
            let request = host.build(call(op)).unwrap().build().unwrap();
            assert_eq!(request.url().as_str(), "http://127.0.0.1:9/v1/responses", "{op:?}");
            assert_eq!(request.headers()["authorization"], "Bearer sk-test-key-1234");
        }
        let request = host.build(call(Operation::Embeddings)).unwrap().build().unwrap();
        assert_eq!(request.url().as_str(), "http://127.0.0.1:9/v1/embeddings");
        let refused = host.build(call(Operation::Completions)).err().unwrap();
        assert!(matches!(refused, UpstreamError::Unsupported { op: Operation::Completions, .. }));
    }

    #[test]
    fn a_host_found_without_the_responses_api_is_no_longer_offered_it() {
        let host = provider("openai");
        host.endpoint().mark_lacks_responses();
        assert!(!host.offers_responses());
        assert!(host.endpoint().lacks_responses());
        let request = host.build(call(Operation::Chat)).unwrap().build().unwrap();
        assert_eq!(request.url().as_str(), "http://127.0.0.1:9/v1/chat/completions");
    }

    #[test]
    fn compatible_hosts_are_not_asked_for_the_responses_api() {
        for kind in ["groq", "deepseek", "ollama", "custom", "openrouter"] {
            let host = provider(kind);
            assert!(!host.offers_responses(), "{kind}");
            let refused = host.build(call(Operation::Responses)).err().unwrap();
            assert!(matches!(refused, UpstreamError::Unsupported { op: Operation::Responses, .. }), "{kind}");
        }
    }
}
