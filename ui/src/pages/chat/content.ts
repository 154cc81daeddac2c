// What the chat page's components share: message content helpers, link checking and attachment reading.
import type { Block, Message } from "../../api/chat";

/** Largest image attached, in bytes (providers refuse bigger ones anyway). */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
/** Largest text file attached, in bytes. */
export const MAX_TEXT_BYTES = 1024 * 1024;

export type Attachment = Extract<Block, { type: "image" } | { type: "file" }>;

/** `url` when it is an absolute http(s) URL, else `null`. */
export function safeHref(url: string | undefined | null): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url.trim());
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** `$0.0012`, `<$0.0001`, `$1.23`. */
export function formatCost(usd: number | null): string {
  if (usd === null) return "cost unknown";
  if (usd === 0) return "$0";
  if (usd < 0.0001) return "<$0.0001";
  return usd < 1 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

export function blocksOf(content: Message["content"]): Block[] {
  return typeof content === "string" ? [{ type: "text", text: content }] : content;
}

export function textOf(content: Message["content"]): string {
  return blocksOf(content)
    .map((b) => (b.type === "text" ? b.text : ""))
    .join("");
}

function readAs(file: File, how: "dataUrl" | "text"): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(typeof reader.result === "string" ? reader.result : "");
    reader.onerror = () => reject(reader.error ?? new Error("could not read the file"));
    if (how === "dataUrl") reader.readAsDataURL(file);
    else reader.readAsText(file);
  });
}

/** A file as a block to send, or why it cannot be. */
export async function toAttachment(file: File): Promise<Attachment | string> {
  if (file.type.startsWith("image/")) {
    if (file.size > MAX_IMAGE_BYTES) return `${file.name} is larger than 10 MB`;
    const url = await readAs(file, "dataUrl");
    const data = url.slice(url.indexOf(",") + 1);
    return { type: "image", mediaType: file.type, data, name: file.name || "pasted image" };
  }
  if (file.size > MAX_TEXT_BYTES) return `${file.name} is larger than 1 MB; attach a smaller text file`;
  const text = await readAs(file, "text");
  if (text.includes("\u0000")) return `${file.name} is not a text file; attach images or text files`;
  return { type: "file", name: file.name, text };
}

/**
 * A streaming answer cut at blank lines outside code fences and math blocks, so the pieces already complete stay
 * the same strings (and their rendering is reused) while only the last one grows. Joined with "\n\n" they give the
 * text back.
 */
export function splitStable(text: string): string[] {
  const parts: string[] = [];
  let fenced = false;
  let start = 0;
  const lines = text.split("\n");
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const trimmed = line.trim();
    if (trimmed.startsWith("```") || trimmed.startsWith("~~~") || trimmed === "$$") fenced = !fenced;
    const end = offset + line.length;
    if (!fenced && trimmed === "" && end > start && i + 1 < lines.length && (lines[i + 1] ?? "").trim() !== "") {
      const piece = text.slice(start, offset).replace(/\n+$/, "");
      if (piece) {
        parts.push(piece);
        start = end + 1;
      }
    }
    offset = end + 1;
  }
  const rest = text.slice(start);
  if (rest || parts.length === 0) parts.push(rest);
  return parts;
}
