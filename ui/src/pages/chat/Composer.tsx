// The composer: Enter sends, Shift+Enter adds a line; images and text files come in by paste, drag and drop or
// the file picker; while an answer streams the send button becomes Stop.
import { useRef, useState, type ClipboardEvent, type DragEvent, type KeyboardEvent, type ReactElement } from "react";

import type { Block } from "../../api/chat";
import { toAttachment, type Attachment } from "./content";

interface Props {
  busy: boolean;
  disabled: boolean;
  /** Text to start from (editing an earlier message). */
  draft: { text: string; attachments: Attachment[]; key: number };
  editing: boolean;
  onSend: (blocks: Block[]) => void;
  onStop: () => void;
  onCancelEdit: () => void;
}

export function Composer({ busy, disabled, draft, editing, onSend, onStop, onCancelEdit }: Props): ReactElement {
  return <ComposerInner key={draft.key} {...{ busy, disabled, draft, editing, onSend, onStop, onCancelEdit }} />;
}

function ComposerInner({ busy, disabled, draft, editing, onSend, onStop, onCancelEdit }: Props): ReactElement {
  const [text, setText] = useState(draft.text);
  const [attachments, setAttachments] = useState<Attachment[]>(draft.attachments);
  const [problem, setProblem] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);

  async function attach(files: Iterable<File>): Promise<void> {
    const added: Attachment[] = [];
    const problems: string[] = [];
    for (const file of files) {
      const result = await toAttachment(file);
      if (typeof result === "string") problems.push(result);
      else added.push(result);
    }
    setAttachments((a) => [...a, ...added]);
    setProblem(problems.length ? problems.join("; ") : null);
  }

  function send(): void {
    if (busy || disabled) return;
    const blocks: Block[] = [];
    if (text.trim()) blocks.push({ type: "text", text: text.trim() });
    blocks.push(...attachments);
    if (blocks.length === 0) return;
    onSend(blocks);
    setText("");
    setAttachments([]);
    setProblem(null);
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>): void {
    if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    }
  }

  function onPaste(e: ClipboardEvent<HTMLTextAreaElement>): void {
    const files = Array.from(e.clipboardData.files);
    if (files.length > 0) {
      e.preventDefault();
      void attach(files);
    }
  }

  function onDrop(e: DragEvent<HTMLDivElement>): void {
    e.preventDefault();
    setDragging(false);
    void attach(Array.from(e.dataTransfer.files));
  }

  return (
    <div
      className={`composer${dragging ? " composer--drop" : ""}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      {editing && (
        <div className="composer-editing muted">
          Editing an earlier message: sending replaces it and everything after it.{" "}
          <button type="button" className="link-button" onClick={onCancelEdit}>
            Cancel
          </button>
        </div>
      )}
      {attachments.length > 0 && (
        <div className="chip-row" data-testid="attachments">
          {attachments.map((a, i) => (
            <span key={i} className="chip">
              {a.name}
              <button
                type="button"
                className="chip-remove"
                aria-label={`Remove ${a.name}`}
                onClick={() => setAttachments((list) => list.filter((_, j) => j !== i))}
              >
                ×
              </button>
            </span>
          ))}
        </div>
      )}
      {problem && (
        <div className="field-hint field-hint--error" role="alert">
          {problem}
        </div>
      )}
      <div className="composer-row">
        <button
          type="button"
          className="icon-button"
          aria-label="Attach images or text files"
          title="Attach images or text files"
          onClick={() => fileInput.current?.click()}
        >
          +
        </button>
        <input
          ref={fileInput}
          type="file"
          multiple
          hidden
          data-testid="composer-file"
          onChange={(e) => {
            void attach(Array.from(e.target.files ?? []));
            e.target.value = "";
          }}
        />
        <textarea
          className="input composer-input"
          data-testid="composer-input"
          rows={Math.min(8, Math.max(2, text.split("\n").length))}
          placeholder={disabled ? "Choose a model above to start" : "Message (Enter sends, Shift+Enter for a new line)"}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
        />
        {busy ? (
          <button type="button" className="button button--danger" data-testid="composer-stop" onClick={onStop}>
            Stop
          </button>
        ) : (
          <button
            type="button"
            className="button button--primary"
            data-testid="composer-send"
            disabled={disabled}
            onClick={send}
          >
            Send
          </button>
        )}
      </div>
    </div>
  );
}
