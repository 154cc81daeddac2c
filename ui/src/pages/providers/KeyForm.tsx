import { useEffect, useRef, useState, type SubmitEvent, type ReactElement } from "react";

import { toCommandError } from "../../api/invoke";
import { setProviderKey } from "../../api/providers";
import type { GatewayError, Provider } from "../../api/types";
import { FormError } from "../../components/FormError";
import { KeychainWarning } from "../../components/KeychainWarning";
import { keyInputProps } from "../providerForm";

export interface AddKeyFormProps {
  provider: Provider;
  keychainError: GatewayError | null;
  onCancel: () => void;
  onSaved: (hint: string) => void;
}

/** Adds a labelled key; the field is cleared as soon as the keychain has it. */
export function AddKeyForm({ provider, keychainError, onCancel, onSaved }: AddKeyFormProps): ReactElement {
  const hasDefault = provider.keys.some((k) => k.label === "default");
  const [label, setLabel] = useState(hasDefault ? "" : "default");
  const [key, setKey] = useState("");
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const keyRef = useRef<HTMLInputElement>(null);

  // The form opens because the user asked to type a key.
  useEffect(() => keyRef.current?.focus(), []);

  async function submit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    if (!key.trim()) {
      setError("Paste the API key first.");
      return;
    }
    setSaving(true);
    setError(null);
    try {
      const trimmed = label.trim();
      const saved = await setProviderKey(provider.id, trimmed === "" || trimmed === "default" ? null : trimmed, key);
      setKey("");
      onSaved(`${saved.label} ${saved.hint ?? ""}`.trim());
    } catch (err) {
      setError(toCommandError(err).message);
    } finally {
      setSaving(false);
    }
  }

  const replaces = provider.keys.some((k) => k.label === (label.trim() || "default"));
  return (
    <form className="inline-form" onSubmit={(e) => void submit(e)} aria-label={`Add a key to ${provider.id}`}>
      {keychainError && <KeychainWarning error={keychainError} testId="provider-keychain-error" compact />}
      <div className="field-row">
        <label className="field field--narrow">
          <span className="field-label">Label</span>
          <input
            className="input"
            value={label}
            onChange={(e) => setLabel(e.target.value)}
            placeholder="default"
            data-testid="key-label"
          />
        </label>
        <label className="field">
          <span className="field-label">API key</span>
          <input
            {...keyInputProps}
            className="input input--mono"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            data-testid="provider-key"
            ref={keyRef}
          />
        </label>
      </div>
      {replaces && <p className="field-hint">A key with this label exists; saving replaces it.</p>}
      <FormError message={error} />
      <div className="button-row">
        <button type="submit" className="button button--primary" disabled={saving} data-testid="save-key">
          {saving ? "Saving…" : "Save key"}
        </button>
        <button type="button" className="button" onClick={onCancel} disabled={saving}>
          Cancel
        </button>
      </div>
    </form>
  );
}
