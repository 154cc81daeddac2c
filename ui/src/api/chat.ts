// Mirrors `src-tauri/src/commands/chat.rs` one to one. Answers stream through a Tauri `Channel`.
import { Channel } from "@tauri-apps/api/core";

import { invoke } from "./invoke";

export interface Conversation {
  id: number;
  title: string;
  /** An alias or `provider/model`. */
  model: string | null;
  systemPrompt: string | null;
  params: ChatParams;
  pinned: boolean;
  createdAt: number;
  updatedAt: number;
  messageCount: number;
  costUsd: number;
}

export interface ChatParams {
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  reasoning_effort?: string;
}

/** A stored block of a message. */
export type Block =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string }
  | { type: "image"; mediaType: string; data: string; name: string }
  | { type: "file"; name: string; text: string }
  | { type: "tool_call"; id: string; name: string; arguments: string }
  | { type: "stopped" }
  | { type: "error"; message: string };

export interface Message {
  id: number;
  conversationId: number;
  position: number;
  role: "user" | "assistant";
  content: string | Block[];
  model: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  latencyMs: number | null;
  createdAt: number;
}

export interface ConversationDetail {
  conversation: Conversation;
  messages: Message[];
}

export interface SearchHit {
  conversationId: number;
  conversationTitle: string;
  messageId: number;
  position: number;
  role: string;
  snippet: string;
}

export interface ConversationChange {
  title?: string;
  pinned?: boolean;
  /** An empty string clears it. */
  model?: string;
  systemPrompt?: string;
  params?: ChatParams;
}

export type SendAction =
  | { kind: "send"; content: Block[] }
  | { kind: "regenerate" }
  | { kind: "edit"; position: number; content: Block[] };

/** What streams in while an answer is written. */
export type ChatEvent =
  | { type: "started"; target: string | null }
  | { type: "text"; text: string }
  | { type: "reasoning"; text: string }
  | { type: "toolCall"; index: number; id: string | null; name: string | null; arguments: string };

/** Emitted when a conversation changed without the page asking (a title arrived). */
export const CONVERSATIONS_EVENT = "chat-conversations-changed";

export function listConversations(): Promise<Conversation[]> {
  return invoke<Conversation[]>("list_conversations");
}

export function getConversation(id: number): Promise<ConversationDetail> {
  return invoke<ConversationDetail>("get_conversation", { id });
}

export function createConversation(conversation: {
  model: string | null;
  systemPrompt: string | null;
  params: ChatParams;
}): Promise<Conversation> {
  return invoke<Conversation>("create_conversation", { conversation });
}

export function updateConversation(id: number, change: ConversationChange): Promise<Conversation> {
  return invoke<Conversation>("update_conversation", { id, change });
}

export async function deleteConversation(id: number): Promise<void> {
  await invoke<null>("delete_conversation", { id });
}

export function searchMessages(query: string): Promise<SearchHit[]> {
  return invoke<SearchHit[]>("search_messages", { query });
}

/** Aliases first, then every `provider/model` the gateway knows. */
export function chatModels(): Promise<string[]> {
  return invoke<string[]>("chat_models");
}

/** Writes one conversation (or all, without `id`) into the Downloads folder; resolves to the file's path. */
export async function exportConversations(id: number | null, format: "markdown" | "json"): Promise<string> {
  const { path } = await invoke<{ path: string }>("export_conversations", { id, format });
  return path;
}

/** Opens an http(s) link in the system browser; the backend refuses anything else. */
export async function openLink(url: string): Promise<void> {
  await invoke<null>("open_link", { url });
}

export async function stopGeneration(conversationId: number): Promise<void> {
  await invoke<null>("stop_generation", { conversationId });
}

/** Applies `action`, streams the answer into `onEvent`, and resolves to the saved answer. */
export function sendMessage(
  conversationId: number,
  action: SendAction,
  onEvent: (event: ChatEvent) => void,
): Promise<Message> {
  const channel = new Channel<ChatEvent>();
  channel.onmessage = onEvent;
  return invoke<Message>("send_message", { conversationId, action, onEvent: channel });
}
