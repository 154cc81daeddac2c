//! Local model servers that need no key (Ollama, LM Studio), found by asking their default loopback ports.
//!
//! Only loopback origins are ever probed: [`Probe::new`] refuses anything else, so a probe list read from a test's
//! environment cannot send a request off the machine. Each probe has a short timeout: a port nobody listens on
//! answers at once, and a stuck one must not hold the Providers page.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;

use super::presets::{self, Preset};

/// How long one probe request may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(300);

/// Where a local server of one preset's kind is looked for.
#[derive(Debug, Clone)]
pub struct Probe {
    pub preset: &'static Preset,
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub origin: String,
}

/// A local server that answered, and how many models it lists.
#[derive(Debug, Clone)]
pub struct LocalServer {
    pub preset: &'static Preset,
    /// The OpenAI-compatible base URL to store (`<origin>/v1`).
    pub base_url: String,
    pub models: usize,
}

impl Probe {
    /// A probe of `origin` (`http://127.0.0.1:<port>` or `http://localhost:<port>`) for the preset `preset_id`.
    pub fn new(preset_id: &str, origin: &str) -> Result<Probe, String> {
        let preset = presets::find(preset_id).ok_or_else(|| format!("{preset_id:?} is not a preset"))?;
        let origin = origin.trim_end_matches('/');
        let rest = origin.strip_prefix("http://").ok_or_else(|| format!("{origin:?} is not an http:// origin"))?;
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| format!("{origin:?} has no port"))?;
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") || port.parse::<u16>().is_err() {
            return Err(format!("{origin:?} is not a loopback origin with a port; only this computer is probed"));
        }
        Ok(Probe { preset, origin: origin.to_owned() })
    }

    /// Ollama on 11434 and LM Studio on 1234, their default ports.
    pub fn defaults() -> Vec<Probe> {
        [("ollama", "http://127.0.0.1:11434"), ("lmstudio", "http://127.0.0.1:1234")]
            .into_iter()
            .map(|(id, origin)| Probe::new(id, origin).expect("the default probes are loopback"))
            .collect()
    }

    /// Probes from `ollama=http://127.0.0.1:1,lmstudio=http://127.0.0.1:2` (tests point them at fakes).
    pub fn parse_list(list: &str) -> Result<Vec<Probe>, String> {
        list.split(',')
            .filter(|part| !part.trim().is_empty())
            .map(|part| {
                let (id, origin) = part.split_once('=').ok_or_else(|| format!("{part:?} is not kind=origin"))?;
                Probe::new(id.trim(), origin.trim())
            })
            .collect()
    }

    /// The paths that list models: Ollama's own `/api/tags` first, then the OpenAI-compatible list.
    fn paths(&self) -> &'static [&'static str] {
        if self.preset.id == "ollama" { &["/api/tags", "/v1/models"] } else { &["/v1/models"] }
    }
}

/// Asks every probe at once; answers with the servers that listed their models, in the probes' order.
pub async fn detect(probes: &[Probe]) -> Vec<LocalServer> {
    let Some(http) = client() else { return Vec::new() };
    let found = join_all(probes.iter().map(|probe| probe_one(http, probe))).await;
    found.into_iter().flatten().collect()
}

/// Whether a provider of `kind` at `base_url` (`None` = the preset's default) is this local server.
pub fn is_same(server: &LocalServer, kind: &str, base_url: Option<&str>) -> bool {
    let url = base_url.or_else(|| presets::find(kind)?.base_url).unwrap_or_default().trim_end_matches('/');
    let normal = |u: &str| u.replace("://localhost:", "://127.0.0.1:");
    kind == server.preset.id || normal(url) == normal(&server.base_url)
}

async fn probe_one(http: &reqwest::Client, probe: &Probe) -> Option<LocalServer> {
    for path in probe.paths() {
        let Ok(response) = http.get(format!("{}{path}", probe.origin)).send().await else {
            // Nobody listens (or it is too slow): the other path would not fare better.
            return None;
        };
        if !response.status().is_success() {
            continue;
        }
        let Ok(json) = response.json::<Value>().await else { continue };
        if let Some(models) = count_models(&json) {
            return Some(LocalServer { preset: probe.preset, base_url: format!("{}/v1", probe.origin), models });
        }
    }
    None
}

/// `{"models": [...]}` (Ollama's tags) or `{"data": [...]}` (OpenAI's list).
fn count_models(json: &Value) -> Option<usize> {
    json.get("models").or_else(|| json.get("data")).and_then(Value::as_array).map(Vec::len)
}

/// A client of its own: no proxy (a system proxy would send loopback requests elsewhere) and the short timeout.
fn client() -> Option<&'static reqwest::Client> {
    static CLIENT: std::sync::OnceLock<Option<reqwest::Client>> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .no_proxy()
                .timeout(PROBE_TIMEOUT)
                .connect_timeout(PROBE_TIMEOUT)
                .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
                .build()
                .ok()
        })
        .as_ref()
}

#[cfg(test)]
mod tests {
    use axum::Json;
    use axum::routing::get;
    use serde_json::json;

    use super::*;

    async fn serve(router: axum::Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        origin
    }

    /// A port that refuses connections: bound, then closed.
    async fn closed_origin() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        origin
    }

    #[test]
    fn only_loopback_origins_are_probed() {
        let check = |id: &str, origin: &str, ok: bool| assert_eq!(Probe::new(id, origin).is_ok(), ok, "{id} {origin}");
        check("ollama", "http://127.0.0.1:11434", true);
        check("ollama", "http://localhost:11434/", true);
        check("lmstudio", "http://[::1]:1234", true);
        check("ollama", "http://10.0.0.2:11434", false);
        check("ollama", "http://example.com:11434", false);
        check("ollama", "https://127.0.0.1:11434", false);
        check("ollama", "http://127.0.0.1", false);
        check("nonsense", "http://127.0.0.1:1", false);
        assert_eq!(Probe::parse_list("ollama=http://127.0.0.1:5, lmstudio=http://127.0.0.1:6").unwrap().len(), 2);
        assert!(Probe::parse_list("ollama=http://192.168.1.2:5").is_err());
        assert_eq!(Probe::defaults().len(), 2);
    }

    #[tokio::test]
    async fn finds_servers_that_list_models_and_skips_the_rest() {
        // Ollama's own list, an OpenAI-compatible list only (the /api/tags path 404s), and a server that is no model
        // server at all.
        let ollama = serve(axum::Router::new().route(
            "/api/tags",
            get(|| async { Json(json!({ "models": [{ "name": "llama3.2" }, { "name": "qwen3" }] })) }),
        ))
        .await;
        let lmstudio = serve(axum::Router::new().route(
            "/v1/models",
            get(|| async { Json(json!({ "object": "list", "data": [{ "id": "qwen2.5-7b" }] })) }),
        ))
        .await;
        let other = serve(axum::Router::new().route("/", get(|| async { "hello" }))).await;
        let closed = closed_origin().await;
        let probes = vec![
            Probe::new("ollama", &ollama).unwrap(),
            Probe::new("lmstudio", &lmstudio).unwrap(),
            Probe::new("ollama", &other).unwrap(),
            Probe::new("lmstudio", &closed).unwrap(),
        ];
        let found = detect(&probes).await;
        let summary: Vec<_> = found.iter().map(|s| (s.preset.id, s.base_url.clone(), s.models)).collect();
        assert_eq!(summary, vec![("ollama", format!("{ollama}/v1"), 2), ("lmstudio", format!("{lmstudio}/v1"), 1)]);
    }

    #[tokio::test]
    async fn ollama_without_its_own_list_is_found_by_the_openai_one() {
        let origin = serve(
            axum::Router::new()
                .route("/v1/models", get(|| async { Json(json!({ "data": [{ "id": "a" }, { "id": "b" }] })) })),
        )
        .await;
        let found = detect(&[Probe::new("ollama", &origin).unwrap()]).await;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].models, 2);
    }

    #[tokio::test]
    async fn a_silent_server_costs_one_timeout() {
        // Accepts connections and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let _held = tokio::spawn(async move {
            let mut open = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                open.push(socket);
            }
        });
        let started = std::time::Instant::now();
        assert!(detect(&[Probe::new("ollama", &origin).unwrap()]).await.is_empty());
        assert!(started.elapsed() < PROBE_TIMEOUT * 3, "took {:?}", started.elapsed());
    }

    #[test]
    fn a_server_already_added_is_recognised_by_kind_or_url() {
        let server = LocalServer {
            preset: presets::find("ollama").unwrap(),
            base_url: "http://127.0.0.1:11434/v1".into(),
            models: 3,
        };
        assert!(is_same(&server, "ollama", None));
        assert!(is_same(&server, "custom", Some("http://localhost:11434/v1/")));
        assert!(!is_same(&server, "custom", Some("http://127.0.0.1:8080/v1")));
        assert!(!is_same(&server, "openai", None));
    }
}
