//! The chat window's way in (`server::inprocess`) as the desktop app uses it, against a fake OpenAI upstream and a
//! real ledger file: each request's ticket finds its own ledger row, however many the same app sends at once, and
//! the built-in app's own limits hold there too.

use std::time::{Duration, Instant};

use e2e::fake::{FakeKind, FakeUpstream};
use serde_json::json;
use switchboard_gateway::apps::{App, AppRegistry};
use switchboard_gateway::config::Config;
use switchboard_gateway::ledger::queries::{self, RequestRow};
use switchboard_gateway::ledger::{self, Ledger, Prices};
use switchboard_gateway::limits::Limits;
use switchboard_gateway::secrets::{SecretError, SecretStore, SecretString};
use switchboard_gateway::server::AppState;
use switchboard_gateway::server::inprocess::{self, ChatDelta, ChatError};
use switchboard_gateway::store::Store;

/// Every provider's key is `sk-fake`.
struct OneKey;

impl SecretStore for OneKey {
    fn get(&self, _account: &str) -> Result<Option<SecretString>, SecretError> {
        Ok(Some(SecretString::from("sk-fake")))
    }
    fn set(&self, _account: &str, _secret: &SecretString) -> Result<(), SecretError> {
        Ok(())
    }
    fn delete(&self, _account: &str) -> Result<(), SecretError> {
        Ok(())
    }
}

struct World {
    _fake: FakeUpstream,
    _dir: tempfile::TempDir,
    state: AppState,
    store: Store,
    app: App,
}

async fn world() -> World {
    world_limited(Limits::default()).await
}

/// A world where the chat window's app has `limits` (it is in the registry as the desktop puts it: without a token).
async fn world_limited(limits: Limits) -> World {
    let fake = FakeUpstream::start(FakeKind::OpenAi).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(ledger::DATABASE_FILE);
    let store = Store::open(&path).unwrap();
    let ledger = Ledger::start(&path, Prices::load(&store).unwrap()).unwrap();
    let config = Config::from_toml(
        &format!(
            "[logging]\nbodies = true\n\n\
             [[providers]]\nid = \"fake\"\nkind = \"openai\"\nbase_url = \"{}\"\n\n\
             [[aliases]]\nname = \"general\"\ntargets = [\"fake/gpt-4o-mini\"]\n",
            fake.api_base()
        ),
        "test config",
    )
    .unwrap();
    let row = store.chat_window_app().unwrap();
    let app = App { id: Some(row.id), name: row.name, allowed_aliases: row.allowed_aliases, ..App::default() };
    let mut apps = AppRegistry::from_config(&[], |_| None).unwrap();
    apps.insert_tokenless(App { limits, ..app.clone() });
    let state = AppState::build(&config, apps, &OneKey, Some(ledger)).unwrap();
    World { _fake: fake, _dir: dir, state, store, app }
}

/// Sends `text` to `model` with a ticket, reads the whole answer, then the request's ledger row.
async fn ask(world: &World, model: &str, text: &str) -> (Result<String, ChatError>, Option<RequestRow>) {
    let (ticket, receipt) = inprocess::ticket();
    let body = json!({ "model": model, "messages": [{ "role": "user", "content": text }] });
    let answer = match inprocess::chat(&world.state, world.app.clone(), body, Some(ticket)).await {
        Ok(mut reply) => {
            let mut answer = String::new();
            while let Some(delta) = reply.next().await {
                if let ChatDelta::Text(piece) = delta {
                    answer.push_str(&piece);
                }
            }
            Ok(answer)
        }
        Err(error) => Err(error),
    };
    (answer, inprocess::ledger_row(&world.state, &world.store, receipt).await)
}

#[tokio::test]
async fn each_ticket_finds_its_own_ledger_row_when_one_app_sends_at_once() {
    let world = world().await;
    // Same app, same alias, same instant: a row chosen by app, alias and time would be one row for all four.
    let questions = ["first question", "second question", "third question", "fourth question"];
    let answers = futures_util::future::join_all(questions.map(|q| ask(&world, "general", q))).await;
    let mut ids = Vec::new();
    for (question, (answer, row)) in questions.into_iter().zip(answers) {
        assert!(answer.unwrap().ends_with(question));
        let row = row.expect("each request's row");
        assert_eq!(row.app_name, world.app.name);
        assert_eq!(row.alias.as_deref(), Some("general"));
        assert_eq!(row.model.as_deref(), Some("gpt-4o-mini"));
        assert!(row.stream && row.status == 200 && row.input_tokens == Some(12), "{row:?}");
        // The row's logged request body is this question's.
        let detail = queries::request_detail(&world.store, row.id).unwrap().unwrap();
        let logged = detail.bodies.and_then(|b| b.request).unwrap_or_default();
        assert!(logged.contains(question), "row {} logged {logged:?}, asked {question:?}", row.id);
        ids.push(row.id);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "four requests, four rows");
}

#[tokio::test]
async fn a_routed_failure_has_its_row_and_a_refusal_answers_at_once_with_none() {
    let world = world().await;
    let (answer, row) = ask(&world, "fake/error-500", "hi").await;
    assert_eq!(answer.unwrap_err().status, 500);
    let row = row.expect("a failed upstream request is recorded");
    assert_eq!(row.model.as_deref(), Some("error-500"));
    assert!(row.error.is_some(), "{row:?}");

    // An unknown alias is refused before routing: no row is coming, and the receipt says so without waiting out
    // the two seconds a late row would get.
    let started = Instant::now();
    let (answer, row) = ask(&world, "no-such-alias", "hi").await;
    assert_eq!(answer.unwrap_err().status, 404);
    assert!(row.is_none());
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
}

#[tokio::test]
async fn the_chat_windows_own_limits_hold_in_process_and_its_refusal_has_a_row() {
    let world = world_limited(Limits { rpm: Some(1), ..Limits::default() }).await;
    let (answer, _) = ask(&world, "general", "first").await;
    assert!(answer.is_ok(), "{answer:?}");
    let (answer, row) = ask(&world, "general", "second").await;
    let error = answer.unwrap_err();
    assert_eq!(error.status, 429);
    assert!(error.message.starts_with("rate_limited: 1 request per minute for app \"Chat window\""), "{error:?}");
    let row = row.expect("the refusal is recorded");
    assert_eq!((row.status, row.app_name.as_str()), (429, "Chat window"));
    let hits = world.state.limit_hits();
    assert!(hits.apps.iter().any(|(id, _, hit)| *id == world.app.id && hit.limit.describe() == "1 request per minute"));
}
