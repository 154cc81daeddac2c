//! The Chat page: conversations, search, export, and sending through the in-process gateway with the answer
//! streamed over a `Channel`. Mirrors `ui/src/api/chat.ts`.
//!
//! A reply goes through the same relay, routing and ledger as `POST /v1/chat/completions`, as the built-in
//! "Chat window" app (`switchboard_gateway::server::inprocess`). Links in answers open in the system browser through
//! `open_link`, which takes http(s) only; the web view itself has no opener permission.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_gateway::apps::App;
use switchboard_gateway::chat::{self, Answer};
use switchboard_gateway::server::AppState;
use switchboard_gateway::server::inprocess::{self, ChatDelta};
use switchboard_gateway::store::{ConversationPatch, ConversationRow, MessageRow, NewMessage, SearchHit, Store};
use tauri::ipc::Channel;
use tauri::{AppHandle, Emitter, Manager, State};
use tauri_plugin_opener::OpenerExt;
use tokio_util::sync::CancellationToken;

use crate::error::{CommandError, blocking};
use crate::gateway::Gateway;

/// Emitted when a conversation changes behind the page's back (a title arrived).
pub const CONVERSATIONS_EVENT: &str = "chat-conversations-changed";

/// Replies being generated, by conversation, so `stop_generation` can stop one.
#[derive(Default)]
pub struct Generating(Mutex<HashMap<i64, CancellationToken>>);

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationDetail {
    pub conversation: ConversationRow,
    pub messages: Vec<MessageRow>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationInput {
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    pub params: Option<Value>,
}

/// A change to a conversation; absent fields stay. An empty model or system prompt clears it.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationChange {
    pub title: Option<String>,
    pub pinned: Option<bool>,
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    pub params: Option<Value>,
}

/// What a send does before asking for an answer.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SendAction {
    /// Adds a user message (content blocks).
    Send { content: Value },
    /// Drops the answer(s) after the last user message and asks again.
    Regenerate,
    /// Replaces the user message at `position` (and everything after it), then asks.
    Edit { position: i64, content: Value },
}

/// What the channel carries while an answer streams.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ChatEvent {
    /// The request started at `target` (`provider/model`).
    Started {
        target: Option<String>,
    },
    Text {
        text: String,
    },
    Reasoning {
        text: String,
    },
    ToolCall {
        index: u64,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    },
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exported {
    pub path: String,
}

#[tauri::command]
pub async fn list_conversations(gateway: State<'_, Gateway>) -> Result<Vec<ConversationRow>, CommandError> {
    let store = gateway.store().clone();
    blocking(move || Ok(store.list_conversations()?)).await
}

#[tauri::command]
pub async fn get_conversation(gateway: State<'_, Gateway>, id: i64) -> Result<ConversationDetail, CommandError> {
    let store = gateway.store().clone();
    blocking(move || Ok(ConversationDetail { conversation: store.conversation(id)?, messages: store.messages(id)? }))
        .await
}

#[tauri::command]
pub async fn create_conversation(
    gateway: State<'_, Gateway>,
    conversation: ConversationInput,
) -> Result<ConversationRow, CommandError> {
    let store = gateway.store().clone();
    let params = conversation.params.unwrap_or_else(|| Value::Object(Default::default()));
    let model = conversation.model.filter(|m| !m.trim().is_empty());
    let prompt = conversation.system_prompt.filter(|p| !p.trim().is_empty());
    blocking(move || Ok(store.create_conversation(model.as_deref(), prompt.as_deref(), &params)?)).await
}

#[tauri::command]
pub async fn update_conversation(
    gateway: State<'_, Gateway>,
    id: i64,
    change: ConversationChange,
) -> Result<ConversationRow, CommandError> {
    let clearable = |value: Option<String>| value.map(|v| Some(v.trim().to_owned()).filter(|v| !v.is_empty()));
    let patch = ConversationPatch {
        title: change.title,
        model: clearable(change.model),
        system_prompt: clearable(change.system_prompt),
        params: change.params,
        pinned: change.pinned,
    };
    let store = gateway.store().clone();
    blocking(move || Ok(store.update_conversation(id, &patch)?)).await
}

#[tauri::command]
pub async fn delete_conversation(gateway: State<'_, Gateway>, id: i64) -> Result<(), CommandError> {
    let store = gateway.store().clone();
    blocking(move || Ok(store.delete_conversation(id)?)).await
}

#[tauri::command]
pub async fn search_messages(gateway: State<'_, Gateway>, query: String) -> Result<Vec<SearchHit>, CommandError> {
    let store = gateway.store().clone();
    blocking(move || Ok(store.search_messages(&query)?)).await
}

/// The models the composer offers: aliases first, then every `provider/model` the gateway knows.
#[tauri::command]
pub fn chat_models(gateway: State<'_, Gateway>) -> Vec<String> {
    gateway.state().map(|state| state.model_list().data.into_iter().map(|m| m.id).collect()).unwrap_or_default()
}

/// Writes one conversation (or all, when `id` is absent) as Markdown or JSON into the user's Downloads folder and
/// returns the file's path.
#[tauri::command]
pub async fn export_conversations(
    app: AppHandle,
    gateway: State<'_, Gateway>,
    id: Option<i64>,
    format: String,
) -> Result<Exported, CommandError> {
    let markdown = match format.as_str() {
        "markdown" => true,
        "json" => false,
        other => return Err(CommandError::Invalid(format!("export as markdown or json, not {other:?}"))),
    };
    let folder = app
        .path()
        .download_dir()
        .or_else(|_| app.path().home_dir().map(|home| home.join("Downloads")))
        .map_err(|e| CommandError::Invalid(format!("cannot find your Downloads folder: {e}")))?;
    let store = gateway.store().clone();
    blocking(move || {
        let ids = id.map(|id| vec![id]);
        let (text, name) = match (markdown, &ids) {
            (true, _) => (store.export_markdown(ids.as_deref())?, "md"),
            (false, _) => (
                serde_json::to_string_pretty(&store.export_json(ids.as_deref())?)
                    .map_err(|e| CommandError::Invalid(e.to_string()))?,
                "json",
            ),
        };
        let stem = match id {
            Some(id) => format!("switchboard-conversation-{id}"),
            None => "switchboard-conversations".to_owned(),
        };
        std::fs::create_dir_all(&folder)
            .map_err(|e| CommandError::Invalid(format!("cannot create {}: {e}", folder.display())))?;
        let path = folder.join(format!("{stem}-{}.{name}", switchboard_gateway::store::now_ms()));
        std::fs::write(&path, text).map_err(|e| {
            CommandError::Invalid(format!("cannot write {}: {e}; check that the folder is writable", path.display()))
        })?;
        Ok(Exported { path: path.display().to_string() })
    })
    .await
}

/// Opens an http(s) link from an answer in the system browser. Anything else is refused.
#[tauri::command]
pub fn open_link(app: AppHandle, url: String) -> Result<(), CommandError> {
    let lower = url.trim().to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) || url.chars().any(char::is_control) {
        return Err(CommandError::Invalid("only http and https links are opened".into()));
    }
    app.opener()
        .open_url(url.trim(), None::<&str>)
        .map_err(|e| CommandError::Invalid(format!("could not open the link in your browser: {e}")))
}

/// Stops the answer being generated for a conversation (what arrived so far is kept).
#[tauri::command]
pub fn stop_generation(generating: State<'_, Generating>, conversation_id: i64) {
    if let Some(token) = generating.0.lock().unwrap_or_else(|p| p.into_inner()).get(&conversation_id) {
        token.cancel();
    }
}

/// Applies `action`, asks the conversation's model for an answer, streams it through `on_event`, and saves it.
/// Returns the saved answer. A request refused before it started (no model, an unknown alias, a spent budget,
/// every target failing) is an error and saves no answer.
#[tauri::command]
pub async fn send_message(
    app: AppHandle,
    gateway: State<'_, Gateway>,
    generating: State<'_, Generating>,
    conversation_id: i64,
    action: SendAction,
    on_event: Channel<ChatEvent>,
) -> Result<MessageRow, CommandError> {
    let Some(state) = gateway.state() else {
        return Err(CommandError::Upstream(
            "the gateway has not started; the header says why (fix that, then send again)".into(),
        ));
    };
    let store = gateway.store().clone();
    let stop = CancellationToken::new();
    {
        let mut running = generating.0.lock().unwrap_or_else(|p| p.into_inner());
        if running.contains_key(&conversation_id) {
            return Err(CommandError::Invalid("an answer is still coming here; stop it first".into()));
        }
        running.insert(conversation_id, stop.clone());
    }
    let result = generate(&app, &state, &store, conversation_id, action, &on_event, &stop).await;
    generating.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&conversation_id);
    result
}

async fn generate(
    app: &AppHandle,
    state: &AppState,
    store: &Store,
    conversation_id: i64,
    action: SendAction,
    on_event: &Channel<ChatEvent>,
    stop: &CancellationToken,
) -> Result<MessageRow, CommandError> {
    let (conversation, messages, app_row) = {
        let store = store.clone();
        blocking(move || {
            apply(&store, conversation_id, action)?;
            Ok((store.conversation(conversation_id)?, store.messages(conversation_id)?, store.chat_window_app()?))
        })
        .await?
    };
    if conversation.model.is_none() {
        return Err(CommandError::Invalid("choose a model for this conversation (an alias or provider/model)".into()));
    }
    if !app_row.enabled {
        return Err(CommandError::Invalid("the Chat window app is disabled; enable it in Apps to chat".into()));
    }
    let chat_app = App {
        id: Some(app_row.id),
        name: app_row.name.clone(),
        allowed_aliases: app_row.allowed_aliases,
        ..App::default()
    };
    let started = Instant::now();
    let body = chat::request_body(&conversation, &messages);
    let (ticket, receipt) = inprocess::ticket();
    let mut reply = inprocess::chat(state, chat_app.clone(), body, Some(ticket))
        .await
        .map_err(|e| CommandError::Upstream(e.message))?;
    let _ = on_event.send(ChatEvent::Started { target: reply.target.clone() });
    let mut answer = Answer::default();
    let mut stopped = false;
    // Pieces are sent on in batches, at most one every FLUSH_EVERY: a model streaming thousands of chunks a second
    // costs the page a few dozen messages a second, and a slow model's words still show at once.
    let mut batch = Batch::default();
    let mut flush_at = None;
    loop {
        let delta = tokio::select! {
            () = stop.cancelled() => { stopped = true; break; }
            () = sleep_until(flush_at) => {
                batch.send(on_event);
                flush_at = None;
                continue;
            }
            delta = reply.next() => delta,
        };
        let Some(delta) = delta else { break };
        answer.push(&delta);
        batch.push(delta);
        flush_at.get_or_insert_with(|| tokio::time::Instant::now() + FLUSH_EVERY);
    }
    batch.send(on_event);
    let target = reply.target.clone();
    // Dropping the reply is what stops the upstream request; the relay then records the partial usage.
    drop(reply);
    let elapsed = started.elapsed().as_millis() as i64;
    let row = inprocess::ledger_row(state, store, receipt).await;
    let (input, output) = match (&row, answer.usage) {
        (Some(row), _) if row.input_tokens.is_some() => {
            (row.input_tokens.map(|t| t as i64), row.output_tokens.map(|t| t as i64))
        }
        (_, Some((input, output))) => (Some(input as i64), Some(output as i64)),
        _ => (None, None),
    };
    let model =
        row.as_ref().and_then(|r| Some(format!("{}/{}", r.provider_id.as_deref()?, r.model.as_deref()?))).or(target);
    let message = NewMessage {
        role: "assistant".into(),
        content: answer.content(stopped),
        model,
        input_tokens: input,
        output_tokens: output,
        cost_usd: row.as_ref().and_then(|r| r.cost_usd),
        latency_ms: Some(row.as_ref().and_then(|r| r.latency_ms).map_or(elapsed, |l| l as i64)),
    };
    let needs_title = conversation.title.is_empty();
    let saved = {
        let store = store.clone();
        blocking(move || Ok(store.append_message(conversation_id, &message)?)).await?
    };
    if needs_title {
        name_conversation(app, state, store, &conversation, &messages, &answer, chat_app).await;
    }
    Ok(saved)
}

/// How long streamed pieces may wait to be sent to the page together.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(25);

/// Resolves at `at`, or never when there is nothing to wait for.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Streamed pieces not yet sent to the page: text and reasoning joined, tool-call pieces as they came.
#[derive(Default)]
struct Batch {
    reasoning: String,
    text: String,
    tool_calls: Vec<ChatEvent>,
}

impl Batch {
    fn push(&mut self, delta: ChatDelta) {
        match delta {
            ChatDelta::Text(text) => self.text.push_str(&text),
            ChatDelta::Reasoning(text) => self.reasoning.push_str(&text),
            ChatDelta::ToolCall { index, id, name, arguments } => {
                self.tool_calls.push(ChatEvent::ToolCall { index, id, name, arguments });
            }
            ChatDelta::Usage { .. } | ChatDelta::Error(_) => {}
        }
    }

    /// Sends what is pending. A closed channel (the page went away) does not stop the answer: it is still saved.
    fn send(&mut self, channel: &Channel<ChatEvent>) {
        if !self.reasoning.is_empty() {
            let _ = channel.send(ChatEvent::Reasoning { text: std::mem::take(&mut self.reasoning) });
        }
        if !self.text.is_empty() {
            let _ = channel.send(ChatEvent::Text { text: std::mem::take(&mut self.text) });
        }
        for event in self.tool_calls.drain(..) {
            let _ = channel.send(event);
        }
    }
}

/// Cuts and extends the stored conversation as `action` says.
fn apply(store: &Store, conversation_id: i64, action: SendAction) -> Result<(), CommandError> {
    let user = |content: Value| NewMessage { role: "user".into(), content, ..NewMessage::default() };
    match action {
        SendAction::Send { content } => {
            check_content(&content)?;
            store.append_message(conversation_id, &user(content))?;
        }
        SendAction::Regenerate => {
            let messages = store.messages(conversation_id)?;
            let last_user = messages.iter().rev().find(|m| m.role == "user").ok_or_else(|| {
                CommandError::Invalid("there is nothing to regenerate yet: send a message first".into())
            })?;
            store.truncate_messages(conversation_id, last_user.position + 1)?;
        }
        SendAction::Edit { position, content } => {
            check_content(&content)?;
            let messages = store.messages(conversation_id)?;
            if !messages.iter().any(|m| m.position == position && m.role == "user") {
                return Err(CommandError::Invalid(format!("there is no user message at position {position} to edit")));
            }
            store.truncate_messages(conversation_id, position)?;
            store.append_message(conversation_id, &user(content))?;
        }
    }
    Ok(())
}

fn check_content(content: &Value) -> Result<(), CommandError> {
    let ok = match content {
        Value::String(text) => !text.trim().is_empty(),
        Value::Array(blocks) => {
            !blocks.is_empty() && blocks.iter().all(|b| b.get("type").is_some_and(Value::is_string))
        }
        _ => false,
    };
    if ok { Ok(()) } else { Err(CommandError::Invalid("write a message or attach a file first".into())) }
}

/// Gives a new conversation a title: at once the first words of the prompt, then (in the background) what a
/// cheap alias (`fast`, else the conversation's own model) suggests, unless the user renamed it meanwhile.
async fn name_conversation(
    app: &AppHandle,
    state: &AppState,
    store: &Store,
    conversation: &ConversationRow,
    messages: &[MessageRow],
    answer: &Answer,
    chat_app: App,
) {
    let first_user =
        messages.iter().find(|m| m.role == "user").map(|m| switchboard_gateway::store::searchable_text(&m.content));
    let first_user = first_user.unwrap_or_default();
    let fallback = chat::fallback_title(&first_user);
    let id = conversation.id;
    let patch = ConversationPatch { title: Some(fallback.clone()), ..ConversationPatch::default() };
    let saved = {
        let store = store.clone();
        blocking(move || Ok(store.update_conversation(id, &patch)?)).await
    };
    if saved.is_err() || answer.text.is_empty() {
        return;
    }
    let model = if state.resolver().alias_names().iter().any(|a| a == "fast") {
        "fast".to_owned()
    } else {
        conversation.model.clone().unwrap_or_default()
    };
    let request = chat::title_request(&model, &first_user, &answer.text);
    let (app, state, store) = (app.clone(), state.clone(), store.clone());
    tauri::async_runtime::spawn(async move {
        let Ok(mut reply) = inprocess::chat(&state, chat_app, request, None).await else { return };
        let mut title = Answer::default();
        while let Some(delta) = reply.next().await {
            title.push(&delta);
        }
        let Some(title) = chat::clean_title(&title.text).filter(|_| title.error.is_none()) else { return };
        let renamed = store
            .call(move |store| {
                if store.conversation(id)?.title != fallback {
                    return Ok(false);
                }
                store.update_conversation(
                    id,
                    &ConversationPatch { title: Some(title), ..ConversationPatch::default() },
                )?;
                Ok(true)
            })
            .await;
        if matches!(renamed, Ok(true)) {
            let _ = app.emit(CONVERSATIONS_EVENT, id);
        }
    });
}
