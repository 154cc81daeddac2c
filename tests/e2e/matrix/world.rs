//! The shared world: one gateway and the three fakes for the whole test process, and how a cell's request is sent.

use super::*;

/// The three fakes and one gateway in front of them (providers `oa`, `an`, `ge`; and in front of the OpenAI fake `rs`,
/// of kind `openai-responses`, and `gq`, a Groq-kind provider), for the whole test process.
pub(super) struct World {
    pub(super) runtime: tokio::runtime::Runtime,
    pub(super) fakes: Vec<FakeUpstream>,
    pub(super) root: String,
    pub(super) data: PathBuf,
    pub(super) client: reqwest::Client,
    /// The shell that runs the gateway and stops it (and removes its folder) when this process ends and its stdin
    /// closes. Never dropped: it lives in a static.
    pub(super) _gateway: Guarded,
}

pub(super) fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(World::start)
}

impl World {
    pub(super) fn start() -> World {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("a runtime");
        let fakes = runtime.block_on(async {
            let mut fakes = Vec::new();
            for kind in FakeKind::ALL {
                fakes.push(FakeUpstream::start(kind).await);
            }
            fakes
        });
        let mut config = String::new();
        for upstream in Upstream::ALL {
            let fake = fakes.iter().find(|f| f.kind == upstream.kind()).expect("one fake per kind");
            config.push_str(&format!(
                "[[providers]]\nid = \"{}\"\nkind = \"{}\"\nbase_url = \"{}\"\nkey_env = \"UP_KEY\"\n",
                upstream.provider(),
                upstream.provider_kind(),
                fake.api_base()
            ));
        }
        let openai = fakes.iter().find(|f| f.kind == FakeKind::OpenAi).expect("the OpenAI fake");
        config.push_str(&responses_openai::config(&openai.api_base()));
        config.push_str("[[apps]]\nname = \"matrix\"\ntoken_env = \"MATRIX_TOKEN\"\n");
        let dir = tempfile::tempdir().expect("a temporary folder").keep();
        let data = dir.join("data");
        std::fs::create_dir_all(&data).expect("the data folder");
        let config_path = dir.join("switchboard.toml");
        std::fs::write(&config_path, config).expect("the config file");
        let port = free_port();
        // The gateway outlives no test process: the shell waits for its stdin (this process's pipe) to close.
        let script = r#"gateway="$1"; dir="$2"; shift 2
            "$gateway" "$@" </dev/null 2>"$dir/stderr.log" & pid=$!
            cat >/dev/null
            kill "$pid" 2>/dev/null; wait "$pid"; rm -rf "$dir""#;
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("matrix-gateway")
            .arg(workspace_bin("switchboard-gateway"))
            .arg(&dir)
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(&data)
            .arg("--port")
            .arg(port.to_string())
            .env("UP_KEY", FAKE_KEY)
            .env("MATRIX_TOKEN", FAKE_TOKEN)
            .env_remove("SWITCHBOARD_PORT")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("starting the gateway through sh");
        let root = format!("http://127.0.0.1:{port}");
        let health = format!("{root}/health");
        if let Err(error) = wait_for("the matrix gateway's /health", Duration::from_secs(20), || http_get(&health)) {
            let stderr = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
            panic!("{error}: {stderr}");
        }
        World { runtime, fakes, root, data, client: reqwest::Client::new(), _gateway: Guarded(child) }
    }

    pub(super) fn fake(&self, upstream: Upstream) -> &FakeUpstream {
        self.fakes.iter().find(|f| f.kind == upstream.kind()).expect("one fake per kind")
    }

    /// The requests `upstream` received for `model` (chat calls only).
    pub(super) fn upstream_requests(&self, upstream: Upstream, model: &str) -> Vec<RecordedRequest> {
        self.fake(upstream)
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .filter(|r| match upstream {
                Upstream::Gemini => r.path.contains(&format!("/models/{model}:")),
                _ => r.json.as_ref().is_some_and(|body| body["model"] == model),
            })
            .collect()
    }

    /// The first line of the gateway's log that names `target` (`provider/model`) and says `what`, waiting a little
    /// for it to be written.
    pub(super) fn log_line(&self, target: &str, what: &str) -> String {
        let path = self.data.parent().expect("the gateway's folder").join("stderr.log");
        wait_for(&format!("a log line on {target} saying {what:?}"), Duration::from_secs(5), || {
            let log = std::fs::read_to_string(&path).ok()?;
            log.lines().find(|line| line.contains(target) && line.contains(what)).map(str::to_owned)
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    /// The ledger rows written for `model`, waiting (the writer batches every 250 ms) until there are `count`.
    pub(super) fn ledger_rows(&self, model: &str, count: usize) -> Vec<RequestRow> {
        let store =
            Store::open(&self.data.join(switchboard_gateway::ledger::DATABASE_FILE)).expect("the gateway's database");
        let filter = RequestFilter { model: Some(model.to_owned()), ..RequestFilter::default() };
        wait_for(&format!("{count} ledger rows for {model}"), Duration::from_secs(10), || {
            let rows = queries::requests(&store, &filter, Page { limit: 20, before_id: None }).ok()?;
            (rows.len() >= count).then_some(rows)
        })
        .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Sends the cell's request the way its client does; returns the status and body.
pub(super) fn send(world: &World, cell: &Cell, path: &str, body: &Value) -> (StatusCode, String) {
    let mut request = world.client.post(format!("{}{path}", world.root)).json(body);
    request = match cell.inbound {
        // Claude Code as the Apps page sets it up (ANTHROPIC_AUTH_TOKEN: a bearer token), the SDKs with x-api-key.
        Inbound::Messages if cell.case == Case::Client => {
            request.bearer_auth(FAKE_TOKEN).header("anthropic-version", "2023-06-01").header(
                "anthropic-beta",
                "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27",
            )
        }
        Inbound::Messages => request.header("x-api-key", FAKE_TOKEN).header("anthropic-version", "2023-06-01"),
        Inbound::Chat | Inbound::Responses => request.bearer_auth(FAKE_TOKEN),
        // Gemini CLI and the google-genai SDKs.
        Inbound::Gemini => request.header("x-goog-api-key", FAKE_TOKEN),
    };
    world.runtime.block_on(async {
        let response = request.timeout(Duration::from_secs(30)).send().await.expect("the gateway answers");
        let status = response.status();
        if cell.case.streams() && status == StatusCode::OK {
            let content_type = response.headers()["content-type"].to_str().unwrap_or_default().to_owned();
            assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        }
        (status, response.text().await.expect("a whole body"))
    })
}
