//! The chat window's way in: an OpenAI chat request sent through the same relay as `POST /v1/chat/completions`
//! (alias settings, routing, fallback, budgets, rate limits, the ledger), but from inside the process, as a given app,
//! without a token or a socket.
//!
//! It calls the route's own relay function directly rather than the router, so the HTTP guards are neither run
//! nor weakened: nothing here is reachable from the network, and the token guard has no bypass. The answer is
//! always streamed; [`ChatReply::next`] turns its SSE chunks into [`ChatDelta`]s. Dropping the reply stops the
//! request: the relay sees the client gone, stops reading the upstream and records the partial usage.
//!
//! A [`Ticket`] sent with the request names its ledger row: [`ledger_row`] reads exactly that row (the tokens, cost
//! and latency the window shows), whatever else the same app sends at the same time.

use std::collections::VecDeque;
use std::time::Duration;

use axum::http::HeaderMap;
use eventsource_stream::{Event, EventStreamError, Eventsource};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::AppState;
use super::relay::{self, Client, Ctx};
use crate::apps::App;
use crate::ledger::queries::{self, RequestRow};
use crate::store::Store;

/// Most bytes of an error answer that are read.
const ERROR_BODY_LIMIT: usize = 1024 * 1024;

/// A piece of a streamed answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatDelta {
    Text(String),
    Reasoning(String),
    /// A piece of the tool call at `index`: its id and name come in the first piece, arguments in any.
    ToolCall {
        index: u64,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    },
    /// The upstream's token counts (the last chunk of a stream).
    Usage {
        input: u64,
        output: u64,
    },
    /// The stream broke after it started; the message says why.
    Error(String),
}

/// Why a request did not start: the gateway's own error (status and the message a client would get).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ChatError {
    pub status: u16,
    pub message: String,
}

/// A started answer.
pub struct ChatReply {
    /// The alias the model resolved to (`none` for a direct `provider/model`).
    pub alias: Option<String>,
    /// The `provider/model` that answered.
    pub target: Option<String>,
    events: BoxStream<'static, Result<Event, EventStreamError<axum::Error>>>,
    pending: VecDeque<ChatDelta>,
    done: bool,
}

/// Goes with a request into [`chat`]; its [`Receipt`] then finds the request's ledger row.
pub struct Ticket(oneshot::Sender<i64>);

/// Hand it to [`ledger_row`] once the answer has ended.
pub struct Receipt(oneshot::Receiver<i64>);

/// A ticket for one request, and the receipt that will name its ledger row.
pub fn ticket() -> (Ticket, Receipt) {
    let (tx, rx) = oneshot::channel();
    (Ticket(tx), Receipt(rx))
}

/// Sends `body` (an OpenAI chat request; `model` is an alias or `provider/model`) as `app`. The request is made
/// streaming, with usage. Errors before the first byte come back as [`ChatError`], as the HTTP client would see.
/// With a `ticket`, the request's ledger row can be read afterwards ([`ledger_row`]).
pub async fn chat(state: &AppState, app: App, mut body: Value, ticket: Option<Ticket>) -> Result<ChatReply, ChatError> {
    let Some(model) = body.get("model").and_then(Value::as_str).filter(|m| !m.is_empty()).map(str::to_owned) else {
        return Err(ChatError { status: 400, message: "choose a model (an alias or provider/model) first".into() });
    };
    body["stream"] = Value::Bool(true);
    body["stream_options"] = json!({ "include_usage": true });
    // No token came with it, so its limits (the built-in app's, and all apps') are looked up here.
    let app = state.apps().with_gate(app);
    let mut ctx = Ctx::new(app, model, "openai-chat", state.ledger());
    if let Some(Ticket(receipt)) = ticket {
        ctx = ctx.with_receipt(receipt);
    }
    let response =
        relay::chat(state.resolver(), state.memory(), ctx, Client::OpenAiChat, body, &HeaderMap::new()).await;
    let alias = header(response.headers(), "x-switchboard-alias");
    let target = header(response.headers(), "x-switchboard-target");
    let status = response.status();
    if !status.is_success() {
        let bytes = axum::body::to_bytes(response.into_body(), ERROR_BODY_LIMIT).await.unwrap_or_default();
        let message = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("the gateway answered {status}"));
        return Err(ChatError { status: status.as_u16(), message });
    }
    let events = response.into_body().into_data_stream().eventsource().boxed();
    Ok(ChatReply { alias, target, events, pending: VecDeque::new(), done: false })
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

impl ChatReply {
    /// The next piece of the answer; `None` once it has ended.
    pub async fn next(&mut self) -> Option<ChatDelta> {
        loop {
            if let Some(delta) = self.pending.pop_front() {
                return Some(delta);
            }
            if self.done {
                return None;
            }
            match self.events.next().await {
                None => self.done = true,
                Some(Err(error)) => {
                    self.done = true;
                    self.pending.push_back(ChatDelta::Error(format!("the answer could not be read: {error}")));
                }
                Some(Ok(event)) if event.data == "[DONE]" => self.done = true,
                Some(Ok(event)) => match serde_json::from_str::<Value>(&event.data) {
                    Ok(chunk) => self.pending.extend(deltas(&chunk)),
                    Err(error) => {
                        self.pending.push_back(ChatDelta::Error(format!("the answer could not be read: {error}")))
                    }
                },
            }
        }
    }
}

/// What one OpenAI chat stream chunk says.
pub fn deltas(chunk: &Value) -> Vec<ChatDelta> {
    let mut out = Vec::new();
    if let Some(error) = chunk.get("error") {
        let message = error["message"].as_str().unwrap_or("the upstream failed part-way");
        out.push(ChatDelta::Error(message.to_owned()));
        return out;
    }
    let delta = &chunk["choices"][0]["delta"];
    let text = |key: &str| delta.get(key).and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_owned);
    if let Some(thinking) = text("reasoning_content").or_else(|| text("reasoning")) {
        out.push(ChatDelta::Reasoning(thinking));
    }
    if let Some(content) = text("content") {
        out.push(ChatDelta::Text(content));
    }
    for call in delta.get("tool_calls").and_then(Value::as_array).into_iter().flatten() {
        let field = |v: &Value| v.as_str().map(str::to_owned);
        out.push(ChatDelta::ToolCall {
            index: call["index"].as_u64().unwrap_or(0),
            id: field(&call["id"]),
            name: field(&call["function"]["name"]),
            arguments: field(&call["function"]["arguments"]).unwrap_or_default(),
        });
    }
    if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
        out.push(ChatDelta::Usage {
            input: usage["prompt_tokens"].as_u64().unwrap_or(0),
            output: usage["completion_tokens"].as_u64().unwrap_or(0),
        });
    }
    out
}

/// The ledger row of the request that carried `receipt`'s ticket, once the writer has it: the tokens, cost and
/// latency the Usage page shows for it. Waits up to two seconds (a stopped stream is recorded a moment after the
/// client leaves); `None` at once when the request wrote no row (refused before routing), and `None` without a
/// ledger or when the row did not come in time.
pub async fn ledger_row(state: &AppState, store: &Store, receipt: Receipt) -> Option<RequestRow> {
    let ledger = state.ledger()?;
    let mut receipt = receipt.0;
    let mut id = None;
    for _ in 0..40 {
        // The row may still be on its way to the writer; a flush writes what is there without the batch wait.
        ledger.flush().await;
        match tokio::time::timeout(Duration::from_millis(50), &mut receipt).await {
            Ok(Ok(written)) => {
                id = Some(written);
                break;
            }
            Ok(Err(_)) => return None,
            Err(_) => {}
        }
    }
    let (store, id) = (store.clone(), id?);
    let detail = tokio::task::spawn_blocking(move || queries::request_detail(&store, id)).await.ok()?.ok()??;
    Some(detail.row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_become_deltas() {
        let check = |chunk: Value, expected: Vec<ChatDelta>| assert_eq!(deltas(&chunk), expected, "{chunk}");
        check(json!({ "choices": [{ "delta": { "content": "Hi" } }] }), vec![ChatDelta::Text("Hi".into())]);
        check(json!({ "choices": [{ "delta": { "role": "assistant", "content": "" } }] }), vec![]);
        check(
            json!({ "choices": [{ "delta": { "reasoning_content": "hmm" } }] }),
            vec![ChatDelta::Reasoning("hmm".into())],
        );
        check(json!({ "choices": [{ "delta": { "reasoning": "or" } }] }), vec![ChatDelta::Reasoning("or".into())]);
        check(
            json!({ "choices": [{ "delta": { "tool_calls": [{ "index": 1, "id": "call_2",
                "function": { "name": "get_time", "arguments": "{\"tz\"" } }] } }] }),
            vec![ChatDelta::ToolCall {
                index: 1,
                id: Some("call_2".into()),
                name: Some("get_time".into()),
                arguments: "{\"tz\"".into(),
            }],
        );
        check(
            json!({ "choices": [], "usage": { "prompt_tokens": 12, "completion_tokens": 7 } }),
            vec![ChatDelta::Usage { input: 12, output: 7 }],
        );
        check(json!({ "error": { "message": "the stream broke" } }), vec![ChatDelta::Error("the stream broke".into())]);
    }
}
