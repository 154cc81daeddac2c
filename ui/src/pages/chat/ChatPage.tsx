// The Chat page: conversations on the left (search across every message, pin, rename, delete, export), the open
// conversation on the right (model, system prompt, parameters, running cost), its messages and the composer.
import { listen } from "@tauri-apps/api/event";
import { useCallback, useEffect, useRef, useState, type ReactElement } from "react";

import {
  CONVERSATIONS_EVENT,
  chatModels,
  createConversation,
  deleteConversation,
  exportConversations,
  getConversation,
  listConversations,
  searchMessages,
  sendMessage,
  stopGeneration,
  updateConversation,
  type Block,
  type ChatParams,
  type Conversation,
  type ConversationDetail,
  type Message,
  type SearchHit,
  type SendAction,
} from "../../api/chat";
import { toCommandError } from "../../api/invoke";
import { ConfirmDialog, type ConfirmRequest } from "../../components/ConfirmDialog";
import { PlusIcon } from "../../components/icons";
import { useResource } from "../../components/useResource";
import { Composer } from "./Composer";
import { blocksOf, formatCost, type Attachment } from "./content";
import { MessageList } from "./Messages";
import { EMPTY_ANSWER, FrameBatcher, type LiveAnswer } from "./stream";

const MODEL_KEY = "switchboard.chat.model";

interface Settings {
  model: string;
  systemPrompt: string;
  params: ChatParams;
}

function settingsOf(c: Conversation): Settings {
  return { model: c.model ?? "", systemPrompt: c.systemPrompt ?? "", params: c.params };
}

/** The messages as they will be once `action` is applied, shown while the answer streams. */
function optimistic(messages: Message[], action: SendAction, conversationId: number): Message[] {
  const user = (position: number, content: Block[]): Message => ({
    id: -1,
    conversationId,
    position,
    role: "user",
    content,
    model: null,
    inputTokens: null,
    outputTokens: null,
    costUsd: null,
    latencyMs: null,
    createdAt: Date.now(),
  });
  switch (action.kind) {
    case "send":
      return [...messages, user((messages.at(-1)?.position ?? -1) + 1, action.content)];
    case "edit":
      return [...messages.filter((m) => m.position < action.position), user(action.position, action.content)];
    case "regenerate": {
      const last = messages.findLastIndex((m) => m.role === "user");
      return messages.slice(0, last + 1);
    }
  }
}

export function ChatPage(): ReactElement {
  const conversations = useResource(listConversations);
  const models = useResource(chatModels);
  const [selected, setSelected] = useState<number | null>(null);
  const [detail, setDetail] = useState<ConversationDetail | null>(null);
  const [draft, setDraft] = useState<Settings>(() => ({
    model: window.localStorage.getItem(MODEL_KEY) ?? "",
    systemPrompt: "",
    params: {},
  }));
  const [showSettings, setShowSettings] = useState(false);
  const [query, setQuery] = useState("");
  const [hits, setHits] = useState<SearchHit[] | null>(null);
  const [live, setLive] = useState<LiveAnswer | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<Message | null>(null);
  const [composerDraft, setComposerDraft] = useState({ text: "", attachments: [] as Attachment[], key: 0 });
  const [focus, setFocus] = useState<number | null>(null);
  const [exported, setExported] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const selectedRef = useRef(selected);
  useEffect(() => {
    selectedRef.current = selected;
  }, [selected]);

  const reloadList = conversations.reload;
  const load = useCallback(async (id: number) => {
    try {
      const next = await getConversation(id);
      if (selectedRef.current === id) setDetail(next);
    } catch (err) {
      setError(toCommandError(err).message);
    }
  }, []);

  useEffect(() => {
    const stop = listen<number>(CONVERSATIONS_EVENT, (event) => {
      void reloadList();
      if (event.payload === selectedRef.current) void load(event.payload);
    });
    return () => void stop.then((unlisten) => unlisten()).catch(() => undefined);
  }, [reloadList, load]);

  // Search as the user types, a moment after the last key.
  useEffect(() => {
    if (!query.trim()) return;
    const timer = window.setTimeout(() => {
      searchMessages(query).then(setHits, (err: unknown) => setError(toCommandError(err).message));
    }, 150);
    return () => window.clearTimeout(timer);
  }, [query]);


  function open(id: number | null, at: number | null = null): void {
    if (busy) return;
    setSelected(id);
    setDetail(null);
    setEditing(null);
    setExported(null);
    setError(null);
    setFocus(at);
    setRenaming(null);
    if (id !== null) void load(id);
  }

  // A new conversation's model: the last one chosen, else the first the gateway offers.
  const draftSettings: Settings = { ...draft, model: draft.model || (models.data?.[0] ?? "") };
  const settings: Settings = detail ? settingsOf(detail.conversation) : draftSettings;

  async function saveSettings(change: Partial<Settings>): Promise<void> {
    if (change.model !== undefined) window.localStorage.setItem(MODEL_KEY, change.model);
    if (!detail) {
      setDraft((d) => ({ ...d, ...change }));
      return;
    }
    try {
      const conversation = await updateConversation(detail.conversation.id, change);
      setDetail((d) => (d && d.conversation.id === conversation.id ? { ...d, conversation } : d));
      void reloadList();
    } catch (err) {
      setError(toCommandError(err).message);
    }
  }

  async function run(action: SendAction): Promise<void> {
    setError(null);
    setFocus(null);
    let id = selected;
    let messages = detail?.messages ?? [];
    try {
      if (id === null) {
        const created = await createConversation({
          model: draftSettings.model || null,
          systemPrompt: draftSettings.systemPrompt || null,
          params: draftSettings.params,
        });
        id = created.id;
        selectedRef.current = id;
        setSelected(id);
        setDetail({ conversation: created, messages: [] });
        messages = [];
      }
    } catch (err) {
      setError(toCommandError(err).message);
      return;
    }
    const conversationId = id;
    setDetail((d) => (d ? { ...d, messages: optimistic(messages, action, conversationId) } : d));
    setBusy(true);
    setLive(EMPTY_ANSWER);
    const batcher = new FrameBatcher(setLive);
    try {
      await sendMessage(conversationId, action, (event) => batcher.push(event));
    } catch (err) {
      setError(toCommandError(err).message);
    } finally {
      batcher.flush();
      setLive(null);
      setBusy(false);
      setEditing(null);
      await load(conversationId);
      void reloadList();
    }
  }

  function send(blocks: Block[]): void {
    const action: SendAction = editing
      ? { kind: "edit", position: editing.position, content: blocks }
      : { kind: "send", content: blocks };
    void run(action);
  }

  function edit(message: Message): void {
    const blocks = blocksOf(message.content);
    const text = blocks.map((b) => (b.type === "text" ? b.text : "")).join("\n");
    const attachments = blocks.filter((b): b is Attachment => b.type === "image" || b.type === "file");
    setEditing(message);
    setComposerDraft((d) => ({ text, attachments, key: d.key + 1 }));
  }

  function askDelete(c: Conversation): void {
    setConfirm({
      title: `Delete “${c.title || "New conversation"}”?`,
      body: <p>Its messages are deleted too. This can’t be undone; export it first to keep a copy.</p>,
      confirmLabel: "Delete conversation",
      action: async () => {
        await deleteConversation(c.id);
        if (selected === c.id) open(null);
        await reloadList();
      },
    });
  }

  async function exportAs(id: number | null, format: "markdown" | "json"): Promise<void> {
    try {
      setExported(await exportConversations(id, format));
    } catch (err) {
      setError(toCommandError(err).message);
    }
  }

  async function rename(c: Conversation, title: string): Promise<void> {
    setRenaming(null);
    if (title.trim() === c.title) return;
    try {
      const conversation = await updateConversation(c.id, { title });
      setDetail((d) => (d && d.conversation.id === c.id ? { ...d, conversation } : d));
      await reloadList();
    } catch (err) {
      setError(toCommandError(err).message);
    }
  }

  const current = detail?.conversation ?? null;
  const list = conversations.data ?? [];

  return (
    <section className="chat" aria-labelledby="page-title">
      <aside className="chat-side">
        <div className="chat-side-head">
          <h1 id="page-title" className="chat-page-title" data-testid="page-title">
            Chat
          </h1>
          <button type="button" className="button button--small" data-testid="chat-new" onClick={() => open(null)}>
            <PlusIcon />
            New
          </button>
        </div>
        <input
          className="input"
          type="search"
          placeholder="Search all messages"
          data-testid="chat-search"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        {hits && query.trim() ? (
          <ul className="chat-list" data-testid="search-results">
            {hits.length === 0 && <li className="muted chat-empty">No message matches.</li>}
            {hits.map((hit) => (
              <li key={hit.messageId}>
                <button
                  type="button"
                  className="chat-item"
                  data-testid="search-hit"
                  onClick={() => open(hit.conversationId, hit.position)}
                >
                  <span className="chat-item-title">{hit.conversationTitle || "New conversation"}</span>
                  <span className="chat-item-snippet muted">{hit.snippet}</span>
                </button>
              </li>
            ))}
          </ul>
        ) : list.length === 0 ? (
          <p className="muted chat-empty chat-list" data-testid="chat-empty">
            No conversations yet.
          </p>
        ) : (
          <ul className="chat-list" data-testid="conversation-list">
            {list.map((c) => (
              <li key={c.id} className={`chat-entry${c.id === selected ? " chat-entry--active" : ""}`}>
                {renaming !== null && c.id === selected ? (
                  <input
                    className="input"
                    data-testid="rename-input"
                    autoFocus
                    value={renaming}
                    onChange={(e) => setRenaming(e.target.value)}
                    onBlur={() => void rename(c, renaming)}
                    onKeyDown={(e) => {
                      if (e.key === "Enter") void rename(c, renaming);
                      if (e.key === "Escape") setRenaming(null);
                    }}
                  />
                ) : (
                  <button type="button" className="chat-item" data-testid="conversation" onClick={() => open(c.id)}>
                    <span className="chat-item-title" data-testid="conversation-title">
                      {c.pinned ? "📌 " : ""}
                      {c.title || "New conversation"}
                    </span>
                    <span className="chat-item-snippet muted">
                      {c.model ?? "no model"} · {formatCost(c.costUsd)}
                    </span>
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
        <div className="chat-side-foot">
          <span className="muted">Export all:</span>
          <button type="button" className="link-button" data-testid="export-all-md" onClick={() => void exportAs(null, "markdown")}>
            Markdown
          </button>
          <button type="button" className="link-button" data-testid="export-all-json" onClick={() => void exportAs(null, "json")}>
            JSON
          </button>
        </div>
      </aside>

      <div className="chat-main">
        <div className="chat-head">
          <div className="chat-head-title" data-testid="chat-title">
            {current ? current.title || "New conversation" : "New conversation"}
          </div>
          <label className="chat-model">
            <span className="muted">Model</span>
            <input
              key={`${current?.id ?? "draft"}-${settings.model}`}
              className="input input--mono"
              list="chat-models"
              data-testid="chat-model"
              placeholder="alias or provider/model"
              defaultValue={settings.model}
              onBlur={(e) => {
                // An emptied field keeps the model it had: a conversation always has one to send to.
                const model = e.target.value.trim();
                if (model && model !== settings.model) void saveSettings({ model });
              }}
              onKeyDown={(e) => {
                if (e.key === "Enter") e.currentTarget.blur();
              }}
            />
            <datalist id="chat-models">
              {(models.data ?? []).map((m) => (
                <option key={m} value={m} />
              ))}
            </datalist>
          </label>
          {current && (
            <span className="chat-cost muted" data-testid="running-cost" title="What this conversation has cost so far">
              {formatCost(current.costUsd)}
            </span>
          )}
          <button type="button" className="link-button" data-testid="chat-settings" onClick={() => setShowSettings((s) => !s)}>
            {showSettings ? "Hide settings" : "Settings"}
          </button>
          {current && (
            <div className="chat-head-actions">
              <button type="button" className="link-button" data-testid="rename" onClick={() => setRenaming(current.title)}>
                Rename
              </button>
              <button
                type="button"
                className="link-button"
                data-testid="pin"
                onClick={() =>
                  void updateConversation(current.id, { pinned: !current.pinned }).then((conversation) => {
                    setDetail((d) => (d ? { ...d, conversation } : d));
                    void reloadList();
                  })
                }
              >
                {current.pinned ? "Unpin" : "Pin"}
              </button>
              <button type="button" className="link-button" data-testid="export-md" onClick={() => void exportAs(current.id, "markdown")}>
                Export .md
              </button>
              <button type="button" className="link-button" data-testid="export-json" onClick={() => void exportAs(current.id, "json")}>
                Export .json
              </button>
              <button type="button" className="link-button link-button--danger" data-testid="delete" onClick={() => askDelete(current)}>
                Delete
              </button>
            </div>
          )}
        </div>
        {showSettings && (
          <div className="chat-settings" key={current?.id ?? "draft"}>
            <label className="field">
              <span className="field-label">System prompt</span>
              <textarea
                className="input textarea"
                rows={3}
                data-testid="system-prompt"
                defaultValue={settings.systemPrompt}
                onBlur={(e) => {
                  if (e.target.value !== settings.systemPrompt) void saveSettings({ systemPrompt: e.target.value });
                }}
              />
            </label>
            <div className="field-row">
              <ParamField
                label="Temperature"
                value={settings.params.temperature}
                step="0.1"
                onSave={(temperature) => void saveSettings({ params: { ...settings.params, temperature } })}
              />
              <ParamField
                label="Max tokens"
                value={settings.params.max_tokens}
                step="1"
                onSave={(max_tokens) => void saveSettings({ params: { ...settings.params, max_tokens } })}
              />
            </div>
          </div>
        )}
        {exported && (
          <div className="note note--ok chat-note" data-testid="export-path">
            Saved to {exported}
          </div>
        )}
        {error && (
          <div className="banner banner--error banner--inline chat-note" role="alert" data-testid="chat-error">
            {error}
          </div>
        )}
        {detail && detail.messages.length > 0 ? (
          <MessageList
            messages={detail.messages}
            live={live}
            busy={busy}
            focus={focus}
            onEdit={edit}
            onRegenerate={() => void run({ kind: "regenerate" })}
          />
        ) : (
          <div className="chat-scroll chat-blank muted">
            {selected !== null && !detail ? "Loading…" : "Ask anything. Answers go through your aliases and are recorded in Usage."}
          </div>
        )}
        <Composer
          busy={busy}
          disabled={!settings.model}
          draft={composerDraft}
          editing={editing !== null}
          onSend={send}
          onStop={() => {
            if (selected !== null) void stopGeneration(selected);
          }}
          onCancelEdit={() => {
            setEditing(null);
            setComposerDraft((d) => ({ text: "", attachments: [], key: d.key + 1 }));
          }}
        />
      </div>
      {confirm && <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} />}
    </section>
  );
}

function ParamField({
  label,
  value,
  step,
  onSave,
}: {
  label: string;
  value: number | undefined;
  step: string;
  onSave: (value: number | undefined) => void;
}): ReactElement {
  return (
    <label className="field field--narrow">
      <span className="field-label">{label}</span>
      <input
        className="input"
        type="number"
        step={step}
        min="0"
        placeholder="default"
        defaultValue={value ?? ""}
        onBlur={(e) => {
          const next = e.target.value === "" ? undefined : Number(e.target.value);
          if (next !== value && (next === undefined || Number.isFinite(next))) onSave(next);
        }}
      />
    </label>
  );
}
