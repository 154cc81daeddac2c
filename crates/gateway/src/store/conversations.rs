//! The chat window's conversations: their settings, their messages, full-text search over every message (the
//! contentless FTS5 table `messages_fts`, kept by triggers), and export as Markdown or JSON.
//!
//! A message's `content` is a JSON string or an array of blocks, the UI's own shape:
//! `{"type":"text","text":…}`, `{"type":"thinking","thinking":…}`, `{"type":"image","mediaType":…,"data":<base64>,
//! "name":…}`, `{"type":"file","name":…,"text":…}`, `{"type":"tool_call","id":…,"name":…,"arguments":…}`.
//! Search indexes every `"text"` field (so text and attached text files), never reasoning or images.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use serde::Serialize;
use serde_json::{Value, json};

use super::{Result, Store, StoreError, now_ms};

/// A conversation as listed, with what its messages add up to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversationRow {
    pub id: i64,
    pub title: String,
    /// An alias or `provider/model`.
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    /// Request parameters (temperature, max_tokens, …) as a JSON object.
    pub params: Value,
    pub pinned: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub message_count: i64,
    /// The sum of its messages' costs (those with a known cost).
    pub cost_usd: f64,
}

/// What the user sets on a conversation; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConversationPatch {
    pub title: Option<String>,
    pub model: Option<Option<String>>,
    pub system_prompt: Option<Option<String>>,
    pub params: Option<Value>,
    pub pinned: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageRow {
    pub id: i64,
    pub conversation_id: i64,
    pub position: i64,
    /// `user` or `assistant`.
    pub role: String,
    pub content: Value,
    /// The `provider/model` that answered (assistant messages).
    pub model: Option<String>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cost_usd: Option<f64>,
    pub latency_ms: Option<i64>,
    pub created_at: i64,
}

/// A message to append.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewMessage {
    pub role: String,
    pub content: Value,
    pub model: Option<String>,
    pub input_tokens: Option<i64>,
    pub output_tokens: Option<i64>,
    pub cost_usd: Option<f64>,
    pub latency_ms: Option<i64>,
}

/// One message that matched a search.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    pub conversation_id: i64,
    pub conversation_title: String,
    pub message_id: i64,
    pub position: i64,
    pub role: String,
    /// Some words around the first match, from the message's text.
    pub snippet: String,
}

/// How many hits a search returns at most.
pub const SEARCH_LIMIT: usize = 50;
/// Characters of context a snippet keeps on each side of the match.
const SNIPPET_CONTEXT: usize = 60;

const CONVERSATION_COLUMNS: &str = "c.id, c.title, c.model, c.system_prompt, c.params, c.pinned, c.created_at, \
     c.updated_at, (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id), \
     (SELECT coalesce(sum(m.cost_usd), 0) FROM messages m WHERE m.conversation_id = c.id)";
const MESSAGE_COLUMNS: &str = "id, conversation_id, position, role, content, model, input_tokens, output_tokens, \
     cost_usd, latency_ms, created_at";

impl Store {
    pub fn create_conversation(
        &self,
        model: Option<&str>,
        system_prompt: Option<&str>,
        params: &Value,
    ) -> Result<ConversationRow> {
        check_params(params)?;
        self.with_conn(|conn| {
            let now = now_ms();
            conn.execute(
                "INSERT INTO conversations (title, model, system_prompt, params, created_at, updated_at) \
                 VALUES ('', ?1, ?2, ?3, ?4, ?4)",
                params![model, system_prompt, params.to_string(), now],
            )?;
            conversation_in(conn, conn.last_insert_rowid())
        })
    }

    /// Every conversation, pinned ones first, then the most recently active.
    pub fn list_conversations(&self) -> Result<Vec<ConversationRow>> {
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {CONVERSATION_COLUMNS} FROM conversations c ORDER BY c.pinned DESC, c.updated_at DESC, c.id DESC"
            ))?;
            let rows = stmt.query_map([], conversation_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    pub fn conversation(&self, id: i64) -> Result<ConversationRow> {
        self.with_conn(|conn| conversation_in(conn, id))
    }

    pub fn update_conversation(&self, id: i64, patch: &ConversationPatch) -> Result<ConversationRow> {
        if let Some(params) = &patch.params {
            check_params(params)?;
        }
        self.with_conn(|conn| {
            // IMMEDIATE: a read-then-write transaction in WAL mode fails at once (SQLITE_BUSY_SNAPSHOT) if another
            // connection (the ledger's writer, the other process) wrote in between; taking the lock first waits.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            conversation_in(&tx, id)?;
            if let Some(title) = &patch.title {
                tx.execute("UPDATE conversations SET title = ?2 WHERE id = ?1", params![id, title.trim()])?;
            }
            if let Some(model) = &patch.model {
                tx.execute("UPDATE conversations SET model = ?2 WHERE id = ?1", params![id, model])?;
            }
            if let Some(prompt) = &patch.system_prompt {
                tx.execute("UPDATE conversations SET system_prompt = ?2 WHERE id = ?1", params![id, prompt])?;
            }
            if let Some(params) = &patch.params {
                tx.execute("UPDATE conversations SET params = ?2 WHERE id = ?1", params![id, params.to_string()])?;
            }
            if let Some(pinned) = patch.pinned {
                tx.execute("UPDATE conversations SET pinned = ?2 WHERE id = ?1", params![id, pinned])?;
            }
            let row = conversation_in(&tx, id)?;
            tx.commit()?;
            Ok(row)
        })
    }

    /// Deletes the conversation and its messages (and their search entries).
    pub fn delete_conversation(&self, id: i64) -> Result<()> {
        self.with_conn(|conn| {
            let deleted = conn.execute("DELETE FROM conversations WHERE id = ?1", [id])?;
            if deleted == 0 {
                return Err(not_found(id));
            }
            Ok(())
        })
    }

    /// The conversation's messages, in order.
    pub fn messages(&self, conversation_id: i64) -> Result<Vec<MessageRow>> {
        self.with_conn(|conn| messages_in(conn, conversation_id))
    }

    /// Appends a message at the end of the conversation and marks the conversation active.
    pub fn append_message(&self, conversation_id: i64, message: &NewMessage) -> Result<MessageRow> {
        if message.role != "user" && message.role != "assistant" {
            return Err(StoreError::Invalid(format!("a message's role is user or assistant, not {:?}", message.role)));
        }
        self.with_conn(|conn| {
            // IMMEDIATE: a read-then-write transaction in WAL mode fails at once (SQLITE_BUSY_SNAPSHOT) if another
            // connection (the ledger's writer, the other process) wrote in between; taking the lock first waits.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            conversation_in(&tx, conversation_id)?;
            let now = now_ms();
            let position: i64 = tx.query_row(
                "SELECT coalesce(max(position) + 1, 0) FROM messages WHERE conversation_id = ?1",
                [conversation_id],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO messages (conversation_id, position, role, content, model, input_tokens, \
                 output_tokens, cost_usd, latency_ms, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    conversation_id,
                    position,
                    message.role,
                    message.content.to_string(),
                    message.model,
                    message.input_tokens,
                    message.output_tokens,
                    message.cost_usd,
                    message.latency_ms,
                    now
                ],
            )?;
            let id = tx.last_insert_rowid();
            tx.execute("UPDATE conversations SET updated_at = ?2 WHERE id = ?1", params![conversation_id, now])?;
            let row =
                tx.query_row(&format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = ?1"), [id], message_row)?;
            tx.commit()?;
            Ok(row)
        })
    }

    /// Deletes the messages at `from_position` and after: what editing an earlier message or regenerating an
    /// answer starts from. Returns how many went.
    pub fn truncate_messages(&self, conversation_id: i64, from_position: i64) -> Result<usize> {
        self.with_conn(|conn| {
            Ok(conn.execute(
                "DELETE FROM messages WHERE conversation_id = ?1 AND position >= ?2",
                params![conversation_id, from_position],
            )?)
        })
    }

    /// Messages whose text contains every word of `query` (the last word as a prefix, so results come while
    /// typing), newest first. Words are matched without regard to case or accents; FTS syntax in the query is
    /// taken literally.
    pub fn search_messages(&self, query: &str) -> Result<Vec<SearchHit>> {
        let words: Vec<&str> = query.split_whitespace().collect();
        let Some(expression) = match_expression(&words) else { return Ok(Vec::new()) };
        self.with_conn(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT m.conversation_id, c.title, m.id, m.position, m.role, m.content \
                 FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid \
                 JOIN conversations c ON c.id = m.conversation_id \
                 WHERE messages_fts MATCH ?1 ORDER BY m.id DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![expression, SEARCH_LIMIT as i64], |r| {
                let content: String = r.get(5)?;
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, content))
            })?;
            let mut hits = Vec::new();
            for row in rows {
                let (conversation_id, conversation_title, message_id, position, role, content) = row?;
                let text = searchable_text(&serde_json::from_str(&content).unwrap_or(Value::Null));
                hits.push(SearchHit {
                    conversation_id,
                    conversation_title,
                    message_id,
                    position,
                    role,
                    snippet: snippet(&text, &words),
                });
            }
            Ok(hits)
        })
    }

    /// The conversations (all when `ids` is `None`) with their messages, as one JSON document.
    pub fn export_json(&self, ids: Option<&[i64]>) -> Result<Value> {
        let conversations = self.exported(ids)?;
        let list: Vec<Value> = conversations
            .into_iter()
            .map(|(conversation, messages)| {
                let mut value = json!(conversation);
                value["messages"] = json!(messages);
                value
            })
            .collect();
        Ok(json!({ "format": "switchboard-conversations", "version": 1, "conversations": list }))
    }

    /// The conversations (all when `ids` is `None`) as one Markdown document: a heading per conversation, one per
    /// message with who wrote it and (for answers) the model, tokens and cost.
    pub fn export_markdown(&self, ids: Option<&[i64]>) -> Result<String> {
        let mut out = String::new();
        for (conversation, messages) in self.exported(ids)? {
            let title = if conversation.title.is_empty() { "Untitled conversation" } else { &conversation.title };
            out.push_str(&format!("# {title}\n\n"));
            if let Some(model) = &conversation.model {
                out.push_str(&format!("Model: `{model}`\n\n"));
            }
            if let Some(prompt) = conversation.system_prompt.as_deref().filter(|p| !p.is_empty()) {
                out.push_str(&format!("System prompt:\n\n> {}\n\n", prompt.replace('\n', "\n> ")));
            }
            for message in &messages {
                out.push_str(&markdown_message(message));
            }
        }
        Ok(out)
    }

    fn exported(&self, ids: Option<&[i64]>) -> Result<Vec<(ConversationRow, Vec<MessageRow>)>> {
        let conversations = match ids {
            None => self.list_conversations()?,
            Some(ids) => ids.iter().map(|id| self.conversation(*id)).collect::<Result<Vec<_>>>()?,
        };
        conversations
            .into_iter()
            .map(|c| {
                let messages = self.messages(c.id)?;
                Ok((c, messages))
            })
            .collect()
    }
}

fn check_params(params: &Value) -> Result<()> {
    if params.is_object() {
        Ok(())
    } else {
        Err(StoreError::Invalid("a conversation's parameters are a JSON object, e.g. {\"temperature\": 0.7}".into()))
    }
}

fn not_found(id: i64) -> StoreError {
    StoreError::NotFound(format!("there is no conversation {id}; it may have been deleted"))
}

fn conversation_in(conn: &Connection, id: i64) -> Result<ConversationRow> {
    conn.query_row(
        &format!("SELECT {CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = ?1"),
        [id],
        conversation_row,
    )
    .optional()?
    .ok_or_else(|| not_found(id))
}

fn messages_in(conn: &Connection, conversation_id: i64) -> Result<Vec<MessageRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ?1 ORDER BY position"
    ))?;
    let rows = stmt.query_map([conversation_id], message_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn conversation_row(r: &Row) -> rusqlite::Result<ConversationRow> {
    let params: String = r.get(4)?;
    Ok(ConversationRow {
        id: r.get(0)?,
        title: r.get(1)?,
        model: r.get(2)?,
        system_prompt: r.get(3)?,
        params: serde_json::from_str(&params).unwrap_or_else(|_| json!({})),
        pinned: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
        message_count: r.get(8)?,
        cost_usd: r.get(9)?,
    })
}

fn message_row(r: &Row) -> rusqlite::Result<MessageRow> {
    let content: String = r.get(4)?;
    Ok(MessageRow {
        id: r.get(0)?,
        conversation_id: r.get(1)?,
        position: r.get(2)?,
        role: r.get(3)?,
        content: serde_json::from_str(&content).unwrap_or(Value::String(content)),
        model: r.get(5)?,
        input_tokens: r.get(6)?,
        output_tokens: r.get(7)?,
        cost_usd: r.get(8)?,
        latency_ms: r.get(9)?,
        created_at: r.get(10)?,
    })
}

/// Each word as an FTS5 string (quotes doubled, so `AND`, `NEAR(`, `"` and `*` are just text), all required, the
/// last one a prefix. `None` when there is nothing to search for.
fn match_expression(words: &[&str]) -> Option<String> {
    let quoted: Vec<String> = words.iter().map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect();
    let (last, rest) = quoted.split_last()?;
    let mut expression = rest.join(" ");
    if !expression.is_empty() {
        expression.push(' ');
    }
    expression.push_str(last);
    expression.push('*');
    Some(expression)
}

/// What search indexes of a content value: a string as is, else every `text` field of its blocks.
pub fn searchable_text(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(blocks) => {
            blocks.iter().filter_map(|b| b.get("text").and_then(Value::as_str)).collect::<Vec<_>>().join("\n")
        }
        _ => String::new(),
    }
}

/// About [`SNIPPET_CONTEXT`] characters either side of the first word found (case-insensitively), on one line.
fn snippet(text: &str, words: &[&str]) -> String {
    let flat: Vec<char> = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().collect();
    let lower: Vec<char> = flat.iter().flat_map(|c| c.to_lowercase()).collect();
    let at = if lower.len() == flat.len() {
        words.iter().find_map(|w| {
            let needle: Vec<char> = w.to_lowercase().chars().collect();
            (!needle.is_empty()).then(|| lower.windows(needle.len()).position(|win| win == needle.as_slice()))?
        })
    } else {
        None
    };
    let at = at.unwrap_or(0);
    let start = at.saturating_sub(SNIPPET_CONTEXT);
    let end = (at + SNIPPET_CONTEXT * 2).min(flat.len());
    let mut out: String = flat[start..end].iter().collect();
    if start > 0 {
        out.insert(0, '…');
    }
    if end < flat.len() {
        out.push('…');
    }
    out
}

fn markdown_message(message: &MessageRow) -> String {
    let mut out = String::new();
    if message.role == "user" {
        out.push_str("## User\n\n");
    } else {
        let mut facts = Vec::new();
        if let Some(model) = &message.model {
            facts.push(format!("`{model}`"));
        }
        if let (Some(input), Some(output)) = (message.input_tokens, message.output_tokens) {
            facts.push(format!("{input} in / {output} out tokens"));
        }
        if let Some(cost) = message.cost_usd {
            facts.push(format!("${cost:.6}"));
        }
        if let Some(latency) = message.latency_ms {
            facts.push(format!("{latency} ms"));
        }
        out.push_str("## Assistant");
        if !facts.is_empty() {
            out.push_str(&format!(" ({})", facts.join(", ")));
        }
        out.push_str("\n\n");
    }
    let blocks = match &message.content {
        Value::String(text) => vec![json!({ "type": "text", "text": text })],
        Value::Array(blocks) => blocks.clone(),
        _ => Vec::new(),
    };
    for block in &blocks {
        let text = |key: &str| block.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
        match block.get("type").and_then(Value::as_str).unwrap_or_default() {
            "text" => out.push_str(&format!("{}\n\n", text("text"))),
            "thinking" => out
                .push_str(&format!("<details><summary>Reasoning</summary>\n\n{}\n\n</details>\n\n", text("thinking"))),
            "image" => out
                .push_str(&format!("*[image: {}]*\n\n", block.get("name").and_then(Value::as_str).unwrap_or("pasted"))),
            "file" => out.push_str(&format!("*[file: {}]*\n\n```\n{}\n```\n\n", text("name"), text("text"))),
            "tool_call" => {
                out.push_str(&format!("*[tool call: {}]*\n\n```json\n{}\n```\n\n", text("name"), text("arguments")))
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> NewMessage {
        NewMessage { role: "user".into(), content: json!(text), ..NewMessage::default() }
    }

    fn answer(text: &str, cost: f64) -> NewMessage {
        NewMessage {
            role: "assistant".into(),
            content: json!([{ "type": "thinking", "thinking": "hidden plan" }, { "type": "text", "text": text }]),
            model: Some("fake/m".into()),
            input_tokens: Some(12),
            output_tokens: Some(7),
            cost_usd: Some(cost),
            latency_ms: Some(40),
        }
    }

    fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("chat.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn conversations_keep_their_messages_in_order_and_add_up_their_cost() {
        let (_dir, store) = temp_store();
        let c = store.create_conversation(Some("general"), Some("Be brief."), &json!({ "temperature": 0.3 })).unwrap();
        store.append_message(c.id, &user("first")).unwrap();
        store.append_message(c.id, &answer("one", 0.25)).unwrap();
        store.append_message(c.id, &user("second")).unwrap();
        let last = store.append_message(c.id, &answer("two", 0.5)).unwrap();
        assert_eq!(last.position, 3);
        let messages = store.messages(c.id).unwrap();
        let texts: Vec<String> = messages.iter().map(|m| searchable_text(&m.content)).collect();
        assert_eq!(texts, ["first", "one", "second", "two"]);
        let row = store.conversation(c.id).unwrap();
        assert_eq!((row.message_count, row.cost_usd), (4, 0.75));
        assert_eq!(row.params, json!({ "temperature": 0.3 }));

        // Regenerating or editing starts by cutting the conversation at a message.
        assert_eq!(store.truncate_messages(c.id, 2).unwrap(), 2);
        assert_eq!(store.append_message(c.id, &user("edited")).unwrap().position, 2);
        assert!(store.append_message(c.id, &NewMessage { role: "system".into(), ..user("x") }).is_err());
    }

    #[test]
    fn pinned_first_then_most_recent_and_edits_stick() {
        let (_dir, store) = temp_store();
        let a = store.create_conversation(None, None, &json!({})).unwrap();
        let b = store.create_conversation(None, None, &json!({})).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        store.append_message(a.id, &user("later")).unwrap();
        let ids = |s: &Store| s.list_conversations().unwrap().iter().map(|c| c.id).collect::<Vec<_>>();
        assert_eq!(ids(&store), [a.id, b.id]);
        let patch = ConversationPatch { title: Some("  Trip  ".into()), pinned: Some(true), ..Default::default() };
        let b2 = store.update_conversation(b.id, &patch).unwrap();
        assert_eq!((b2.title.as_str(), b2.pinned), ("Trip", true));
        assert_eq!(ids(&store), [b.id, a.id]);
        let patch = ConversationPatch { model: Some(Some("fast".into())), ..Default::default() };
        assert_eq!(store.update_conversation(b.id, &patch).unwrap().model.as_deref(), Some("fast"));
        assert!(
            store
                .update_conversation(b.id, &ConversationPatch { params: Some(json!([])), ..Default::default() })
                .is_err()
        );

        store.delete_conversation(b.id).unwrap();
        assert_eq!(ids(&store), [a.id]);
        let err = store.delete_conversation(b.id).unwrap_err();
        assert!(matches!(err, StoreError::NotFound(_)), "{err}");
    }

    #[test]
    fn search_finds_old_messages_by_words_and_prefix_with_a_snippet() {
        let (_dir, store) = temp_store();
        let trip = store.create_conversation(None, None, &json!({})).unwrap();
        store
            .update_conversation(trip.id, &ConversationPatch { title: Some("Trip".into()), ..Default::default() })
            .unwrap();
        store.append_message(trip.id, &user("Which café in Zürich serves the best hot chocolate?")).unwrap();
        for i in 0..200 {
            store.append_message(trip.id, &answer(&format!("filler answer number {i}"), 0.0)).unwrap();
        }
        let other = store.create_conversation(None, None, &json!({})).unwrap();
        let file = json!([{ "type": "text", "text": "see attached" },
            { "type": "file", "name": "notes.txt", "text": "the zurich itinerary" }]);
        store
            .append_message(other.id, &NewMessage { role: "user".into(), content: file, ..Default::default() })
            .unwrap();

        let hits = store.search_messages("zurich choco").unwrap();
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(
            (hits[0].conversation_id, hits[0].position, hits[0].conversation_title.as_str()),
            (trip.id, 0, "Trip")
        );
        assert!(hits[0].snippet.contains("hot chocolate"), "{}", hits[0].snippet);
        // Accents and case do not matter; attached text files are searched; reasoning is not.
        let zurich: Vec<i64> = store.search_messages("ZURICH").unwrap().iter().map(|h| h.conversation_id).collect();
        assert_eq!(zurich, [other.id, trip.id]);
        assert!(store.search_messages("hidden plan").unwrap().is_empty());
        // FTS syntax is just text, never an error.
        for query in ["\"", "a AND", "NEAR(", "*", "col:x", "  "] {
            store.search_messages(query).unwrap();
        }
        assert!(store.search_messages("").unwrap().is_empty());
        // Deleting a conversation takes its messages out of the index.
        store.delete_conversation(trip.id).unwrap();
        assert!(store.search_messages("chocolate").unwrap().is_empty());
    }

    #[test]
    fn two_connections_appending_at_once_never_fail() {
        // The app's connection and another (the ledger's writer, a test seeding the file) write side by side.
        let (dir, store) = temp_store();
        let c = store.create_conversation(None, None, &json!({})).unwrap();
        let other = Store::open(&dir.path().join("chat.db")).unwrap();
        let writers: Vec<_> = [store.clone(), other]
            .into_iter()
            .map(|s| {
                std::thread::spawn(move || {
                    for i in 0..150 {
                        s.append_message(c.id, &user(&format!("m{i}"))).unwrap();
                        let patch = ConversationPatch { pinned: Some(i % 2 == 0), ..Default::default() };
                        s.update_conversation(c.id, &patch).unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        assert_eq!(store.conversation(c.id).unwrap().message_count, 300);
    }

    #[test]
    fn snippets_cut_long_text_around_the_match() {
        let text = format!("{} needle {}", "a ".repeat(100), "b ".repeat(100));
        let cut = snippet(&text, &["needle"]);
        assert!(cut.starts_with('…') && cut.ends_with('…') && cut.contains("needle"), "{cut}");
        assert!(cut.chars().count() <= SNIPPET_CONTEXT * 3 + 2);
        assert_eq!(snippet("short one", &["zzz"]), "short one");
    }

    #[test]
    fn export_writes_markdown_and_json() {
        let (_dir, store) = temp_store();
        let c = store.create_conversation(Some("general"), Some("Be brief."), &json!({})).unwrap();
        store
            .update_conversation(c.id, &ConversationPatch { title: Some("Greeting".into()), ..Default::default() })
            .unwrap();
        store.append_message(c.id, &user("hi there")).unwrap();
        store.append_message(c.id, &answer("Hello **you**", 0.001)).unwrap();
        store.create_conversation(None, None, &json!({})).unwrap();

        let md = store.export_markdown(Some(&[c.id])).unwrap();
        let expected = "# Greeting\n\nModel: `general`\n\nSystem prompt:\n\n> Be brief.\n\n## User\n\nhi there\n\n\
            ## Assistant (`fake/m`, 12 in / 7 out tokens, $0.001000, 40 ms)\n\n\
            <details><summary>Reasoning</summary>\n\nhidden plan\n\n</details>\n\nHello **you**\n\n";
        assert_eq!(md, expected);
        assert!(store.export_markdown(None).unwrap().contains("# Untitled conversation"));

        let all = store.export_json(None).unwrap();
        assert_eq!(all["conversations"].as_array().unwrap().len(), 2);
        let one = store.export_json(Some(&[c.id])).unwrap();
        let messages = &one["conversations"][0]["messages"];
        assert_eq!(messages[1]["content"][1]["text"], "Hello **you**");
        assert_eq!(messages[1]["costUsd"], 0.001);
        assert!(matches!(store.export_json(Some(&[999])), Err(StoreError::NotFound(_))));
    }
}
