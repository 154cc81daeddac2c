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
        let op = openai::path(call.op)
            .ok_or_else(|| UpstreamError::Unsupported { provider: self.endpoint.id.clone(), op: call.op })?;
        let path = format!("openai/deployments/{}/{op}", call.model);
        let mut request = self
            .endpoint
            .post(&path)
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

    fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use secrecy::SecretString;

    use super::*;
    use crate::providers::{Operation, presets};

    fn azure(api_version: Option<&str>) -> Azure {
        Azure::new(Endpoint {
            id: "work".into(),
            preset: presets::find("azure").unwrap(),
            base_url: "https://contoso.openai.azure.com/".into(),
            keys: vec![SecretString::from("azure-test-key-1234")],
            current: Default::default(),
            http: reqwest::Client::new(),
            api_version: api_version.map(str::to_owned),
            urls: Default::default(),
            no_responses: Default::default(),
        })
    }

    fn built(provider: &Azure, op: Operation) -> reqwest::Request {
        let call =
            Call { op, model: "gpt4o-prod", body: Bytes::from_static(b"{}"), stream: false, forward_headers: vec![] };
        provider.build(call).unwrap().build().unwrap()
    }

    #[test]
    fn deployment_urls_carry_the_api_version_and_the_key_header() {
        let request = built(&azure(None), Operation::Chat);
        assert_eq!(
            request.url().as_str(),
            "https://contoso.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"
        );
        assert_eq!(request.headers()["api-key"], "azure-test-key-1234");
        assert!(request.headers().get("authorization").is_none());

        let request = built(&azure(Some("2025-04-01-preview")), Operation::Embeddings);
        assert!(request.url().as_str().ends_with("/deployments/gpt4o-prod/embeddings?api-version=2025-04-01-preview"));
    }

    #[test]
    fn responses_clients_reach_azure_by_translation_only() {
        let provider = azure(None);
        assert!(!provider.offers_responses());
        let call =
            Call { op: Operation::Responses, model: "m", body: Bytes::new(), stream: false, forward_headers: vec![] };
        assert!(matches!(provider.build(call), Err(UpstreamError::Unsupported { .. })));
    }

    #[test]
    fn the_key_is_scrubbed_from_upstream_text() {
        assert_eq!(azure(None).redact("bad key azure-test-key-1234!"), "bad key [redacted]!");
    }
}
