//! Upstream providers: one file per kind of upstream, one trait, one registry.
//!
//! A provider knows where its upstream lives, how it authenticates and what quirks it has; it builds HTTP
//! requests from bodies already in its protocol. It does not translate (that is `protocol/`) and does not decide
//! what to do with the answer (that is the relay in `server/`).

mod anthropic;
mod azure;
pub mod balance;
mod gemini;
pub mod local;
mod openai;
pub mod presets;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::config::ProviderConfig;
use crate::protocol::Protocol;
use crate::secrets::SecretStore;
pub use presets::Preset;

/// What a request asks the upstream to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Chat,
    /// Legacy text completion (and FIM prompt + suffix).
    Completions,
    Embeddings,
    /// Counting a request's tokens: Anthropic's `/v1/messages/count_tokens`, Gemini's `:countTokens`.
    CountTokens,
    /// OpenAI's Responses API (`/responses`), offered only where the preset says so (`Preset::responses_api`).
    Responses,
}

impl Operation {
    pub fn describe(self) -> &'static str {
        match self {
            Operation::Chat => "chat completions",
            Operation::Completions => "text completions",
            Operation::Embeddings => "embeddings",
            Operation::CountTokens => "token counting",
            Operation::Responses => "the Responses API",
        }
    }
}

/// One outgoing call, its body already in the provider's protocol.
pub struct Call<'a> {
    pub op: Operation,
    pub model: &'a str,
    pub body: Bytes,
    pub stream: bool,
    /// Client headers a same-protocol upstream should see (`anthropic-beta`, `anthropic-version`).
    pub forward_headers: Vec<(&'static str, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("{provider} does not offer {}; point this model at a provider that does", op.describe())]
    Unsupported { provider: String, op: Operation },
    #[error("{provider} has no API key: add one in Providers (headless: set {var})")]
    MissingKey { provider: String, var: String },
}

pub trait Provider: Send + Sync {
    fn id(&self) -> &str;
    fn preset(&self) -> &'static Preset;
    fn protocol(&self) -> Protocol {
        self.preset().protocol
    }
    /// Whether the upstream itself offers OpenAI's Responses API, so a Responses client can be passed through: its
    /// preset says so, and the host has not shown otherwise (see [`Endpoint::lacks_responses`]).
    fn offers_responses(&self) -> bool {
        self.preset().responses_api && !self.endpoint().lacks_responses()
    }
    /// The HTTP request for `call`, ready to send.
    fn build(&self, call: Call<'_>) -> Result<reqwest::RequestBuilder, UpstreamError>;
    /// The request that lists the upstream's models, or `None` where the upstream has no such endpoint.
    fn models_request(&self) -> Option<reqwest::RequestBuilder>;
    /// Model ids from the body `models_request` returned.
    fn parse_models(&self, body: &Value) -> Vec<String>;
    /// Strings to scrub from anything the upstream sends back before a client sees it (the provider's keys).
    fn redact(&self, text: &str) -> String {
        self.endpoint().redact(text)
    }
    /// After a 429: moves to the provider's next key, if it has another.
    fn rotate_key(&self) -> bool {
        self.endpoint().rotate_key()
    }
    /// How many keys the provider has.
    fn key_count(&self) -> usize {
        self.endpoint().key_count()
    }
    fn endpoint(&self) -> &Endpoint;
}

/// The pieces every provider kind shares: its id, preset, base URL, key and HTTP client.
pub struct Endpoint {
    pub id: String,
    pub preset: &'static Preset,
    pub base_url: String,
    /// One or more keys; a 429 moves to the next (`rotate_key`).
    pub keys: Vec<SecretString>,
    /// Which key is in use.
    pub current: AtomicUsize,
    pub http: reqwest::Client,
    pub api_version: Option<String>,
    /// The URLs requests went to, parsed: parsing one (IDNA included) cost more than building the request.
    pub urls: UrlCache,
    /// Set when a host whose kind offers the Responses API answered 404 or 405 for `/responses` (a compatible server
    /// declared `openai`, a proxy in front of OpenAI): read on every Responses request, so an atomic rather than a
    /// lookup; `routing::Memory` carries it across configuration reloads.
    pub no_responses: AtomicBool,
}

/// Parsed upstream URLs by path, bounded: a Gemini path holds the model name, which a client may choose.
#[derive(Default)]
pub struct UrlCache(RwLock<HashMap<String, reqwest::Url>>);

impl UrlCache {
    /// Paths kept at most; past this, URLs are parsed each time.
    const MAX: usize = 64;
}

impl Endpoint {
    /// A POST to `base_url` + `path`.
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        let cached = self.urls.0.read().unwrap_or_else(PoisonError::into_inner).get(path).cloned();
        if let Some(url) = cached {
            return self.http.post(url);
        }
        let text = self.url(path);
        match reqwest::Url::parse(&text) {
            Ok(url) => {
                let mut urls = self.urls.0.write().unwrap_or_else(PoisonError::into_inner);
                if urls.len() < UrlCache::MAX {
                    urls.insert(path.to_owned(), url.clone());
                }
                self.http.post(url)
            }
            // reqwest reports the unparsable URL when the request is sent, as it would have without the cache.
            Err(_) => self.http.post(text),
        }
    }

    /// `base_url` + `path`, with exactly one slash between.
    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base_url.trim_end_matches('/'), path.trim_start_matches('/'))
    }

    /// The key in use, or the error that says where to put one. Local presets (Ollama, LM Studio) need none.
    pub fn key(&self) -> Result<Option<&str>, UpstreamError> {
        if self.keys.is_empty() {
            return if self.preset.needs_key {
                Err(UpstreamError::MissingKey {
                    provider: self.id.clone(),
                    var: crate::secrets::EnvSecrets::default().var_for(&self.id),
                })
            } else {
                Ok(None)
            };
        }
        let index = self.current.load(Ordering::Relaxed) % self.keys.len();
        Ok(Some(self.keys[index].expose_secret()))
    }

    /// Moves to the next key, if there is another; true when it did.
    pub fn rotate_key(&self) -> bool {
        if self.keys.len() < 2 {
            return false;
        }
        self.current.fetch_add(1, Ordering::Relaxed);
        true
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// Whether this host turned out to have no `/responses` although its kind offers it.
    pub fn lacks_responses(&self) -> bool {
        self.no_responses.load(Ordering::Relaxed)
    }

    /// Notes that this host has no `/responses`: Responses clients are translated onto its chat completions.
    pub fn mark_lacks_responses(&self) {
        self.no_responses.store(true, Ordering::Relaxed);
    }

    /// `text` with every key of this provider replaced by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for key in &self.keys {
            if key.expose_secret().len() >= 8 {
                text = text.replace(key.expose_secret(), "[redacted]");
            }
        }
        text
    }
}

/// Settings for the shared outbound HTTP client.
pub struct HttpSettings {
    pub connect_timeout: Duration,
    /// The longest silence between two reads of a response (a stalled upstream).
    pub read_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings { connect_timeout: Duration::from_secs(10), read_timeout: Duration::from_secs(300) }
    }
}

/// One pooled client (HTTP/2 where offered, rustls, the system proxy settings). Per-provider proxies get their own.
pub fn http_client(settings: &HttpSettings, proxy: Option<&str>) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(settings.connect_timeout)
        .read_timeout(settings.read_timeout)
        .tcp_nodelay(true)
        // An upstream's redirect would send the request, key included, to an address no configuration named; the
        // APIs answer where they are asked. (Following redirects also cost a URL parse per request.)
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(90));
    if let Some(proxy) = proxy {
        builder = builder.proxy(reqwest::Proxy::all(proxy).map_err(|e| format!("proxy {proxy:?} is not valid: {e}"))?);
    }
    builder.build().map_err(|e| format!("cannot create the HTTP client: {e}"))
}

/// Every configured provider, by id.
#[derive(Clone, Default)]
pub struct Registry {
    providers: HashMap<String, Arc<dyn Provider>>,
}

impl Registry {
    /// Builds each provider from its config, reading its key once from `secrets`.
    pub fn from_config(
        configs: &[ProviderConfig],
        secrets: &dyn SecretStore,
        http: &reqwest::Client,
        settings: &HttpSettings,
    ) -> Result<Registry, String> {
        let mut providers: HashMap<String, Arc<dyn Provider>> = HashMap::new();
        for config in configs.iter().filter(|c| c.enabled) {
            let preset =
                presets::find(&config.kind).ok_or_else(|| format!("unknown provider kind {:?}", config.kind))?;
            let base_url = config
                .base_url
                .clone()
                .or_else(|| preset.base_url.map(str::to_owned))
                .ok_or_else(|| format!("provider {:?} ({}) needs a base_url", config.id, preset.name))?;
            let accounts =
                if config.key_accounts.is_empty() { vec![config.id.clone()] } else { config.key_accounts.clone() };
            let mut keys = Vec::new();
            for account in &accounts {
                if let Some(key) = secrets.get(account).map_err(|e| e.to_string())? {
                    keys.push(key);
                }
            }
            let http = match &config.proxy {
                Some(proxy) => http_client(settings, Some(proxy))?,
                None => http.clone(),
            };
            let endpoint = Endpoint {
                id: config.id.clone(),
                preset,
                base_url,
                keys,
                current: AtomicUsize::new(0),
                http,
                api_version: config.api_version.clone(),
                urls: UrlCache::default(),
                no_responses: AtomicBool::new(false),
            };
            let provider: Arc<dyn Provider> = match preset.protocol {
                Protocol::Anthropic => Arc::new(anthropic::Anthropic::new(endpoint)),
                Protocol::Gemini => Arc::new(gemini::Gemini::new(endpoint)),
                Protocol::OpenAiChat if preset.id == "azure" => Arc::new(azure::Azure::new(endpoint)),
                Protocol::OpenAiChat | Protocol::Responses => Arc::new(openai::OpenAi::new(endpoint)),
            };
            providers.insert(config.id.clone(), provider);
        }
        Ok(Registry { providers })
    }

    pub fn get(&self, id: &str) -> Option<&Arc<dyn Provider>> {
        self.providers.get(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Provider>> {
        self.providers.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(base_url: &str) -> Endpoint {
        Endpoint {
            id: "test".into(),
            preset: presets::find("openai").unwrap(),
            base_url: base_url.into(),
            keys: Vec::new(),
            current: AtomicUsize::new(0),
            http: reqwest::Client::new(),
            api_version: None,
            urls: UrlCache::default(),
            no_responses: AtomicBool::new(false),
        }
    }

    #[test]
    fn posts_go_to_the_base_url_and_path_parsed_once_and_the_cache_stays_bounded() {
        let endpoint = endpoint("http://127.0.0.1:9/v1/");
        for _ in 0..2 {
            let request = endpoint.post("/chat/completions").build().unwrap();
            assert_eq!(request.url().as_str(), "http://127.0.0.1:9/v1/chat/completions");
        }
        assert_eq!(endpoint.urls.0.read().unwrap().len(), 1);
        for i in 0..(UrlCache::MAX + 10) {
            let request = endpoint.post(&format!("models/m{i}:generateContent")).build().unwrap();
            assert!(request.url().as_str().ends_with(&format!("/v1/models/m{i}:generateContent")));
        }
        assert_eq!(endpoint.urls.0.read().unwrap().len(), UrlCache::MAX, "paths past the bound are not kept");
    }

    #[test]
    fn an_unparsable_base_url_fails_when_the_request_is_built_not_before() {
        let endpoint = endpoint("not a url");
        assert!(endpoint.post("chat/completions").build().is_err());
        assert!(endpoint.urls.0.read().unwrap().is_empty());
    }

    /// An upstream's redirect is answered to the relay as it came, never followed with the key to another address.
    #[tokio::test]
    async fn redirects_are_not_followed() {
        use std::sync::atomic::AtomicBool;

        let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let target = format!("http://{}/steal", elsewhere.local_addr().unwrap());
        let reached = Arc::new(AtomicBool::new(false));
        let flag = reached.clone();
        tokio::spawn(async move {
            if elsewhere.accept().await.is_ok() {
                flag.store(true, Ordering::SeqCst);
            }
        });
        let redirecting = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v1", redirecting.local_addr().unwrap());
        let app = axum::Router::new().fallback(move || {
            let target = target.clone();
            async move { (axum::http::StatusCode::TEMPORARY_REDIRECT, [(axum::http::header::LOCATION, target)]) }
        });
        tokio::spawn(async move { axum::serve(redirecting, app).await });

        let mut endpoint = endpoint(&base);
        endpoint.http = http_client(&HttpSettings::default(), None).unwrap();
        let answer = endpoint.post("chat/completions").bearer_auth("sk-secret").body("{}").send().await.unwrap();
        assert_eq!(answer.status(), 307);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!reached.load(Ordering::SeqCst), "the key must not follow a redirect");
    }
}
