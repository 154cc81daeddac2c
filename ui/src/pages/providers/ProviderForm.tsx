import { useState, type SubmitEvent, type ReactElement } from "react";

import { toCommandError } from "../../api/invoke";
import { saveProvider, setProviderKey } from "../../api/providers";
import type { GatewayError, Preset, Provider, ProviderInput } from "../../api/types";
import { FormError } from "../../components/FormError";
import { KeychainWarning } from "../../components/KeychainWarning";
import { keyInputProps, providerIdProblem, suggestProviderId } from "../providerForm";

export interface ProviderFormProps {
  initial: Provider | null;
  preset: Preset | null;
  providers: readonly Provider[];
  keychainError: GatewayError | null;
  onBusy: (busy: boolean) => void;
  onBack: (() => void) | null;
  onCancel: () => void;
  onSaved: () => void;
}

/** The provider's id, name, URL, version and (when adding) first key. */
export function ProviderForm(props: ProviderFormProps): ReactElement {
  const { initial, preset, providers } = props;
  const kind = initial?.kind ?? preset?.id ?? "custom";
  const [id, setId] = useState(() => initial?.id ?? suggestProviderId(kind, providers));
  const [name, setName] = useState(initial?.name ?? "");
  const [baseUrl, setBaseUrl] = useState(initial?.baseUrl ?? preset?.baseUrl ?? "");
  const [apiVersion, setApiVersion] = useState(initial?.apiVersion ?? "");
  const [enabled, setEnabled] = useState(initial?.enabled ?? true);
  const [key, setKey] = useState("");
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Once save_provider has succeeded the id is ours, even if storing the key then failed.
  const [savedId, setSavedId] = useState<string | null>(initial?.id ?? null);

  const needsUrl = preset?.baseUrl === null;
  const showVersion = kind === "azure" || Boolean(initial?.apiVersion);
  const showKey = !initial && preset?.needsKey !== false;

  async function submit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const trimmedId = id.trim();
    const problem =
      providerIdProblem(trimmedId, providers, savedId) ??
      (needsUrl && !baseUrl.trim() ? `${preset.name} needs a base URL.` : null);
    if (problem) {
      setError(problem);
      return;
    }
    const url = baseUrl.trim();
    const input: ProviderInput = {
      id: trimmedId,
      kind,
      name: name.trim() || null,
      // The preset's own URL is stored as "use the default", so it follows future preset fixes.
      baseUrl: url === "" || url === preset?.baseUrl ? null : url,
      apiVersion: apiVersion.trim() || null,
      enabled,
    };
    setSaving(true);
    props.onBusy(true);
    setError(null);
    try {
      await saveProvider(input);
      setSavedId(trimmedId);
      if (showKey && key.trim()) {
        await setProviderKey(trimmedId, null, key);
        setKey("");
      }
      props.onBusy(false);
      props.onSaved();
    } catch (err) {
      setError(toCommandError(err).message);
      setSaving(false);
      props.onBusy(false);
    }
  }

  return (
    <form className="form" onSubmit={(e) => void submit(e)} noValidate>
      {preset && (
        <p className="muted">
          {initial ? "Kind" : "Preset"}: <strong>{preset.name}</strong>
          {props.onBack && (
            <>
              {" "}
              ·{" "}
              <button type="button" className="link-button" onClick={props.onBack} disabled={saving}>
                change
              </button>
            </>
          )}
        </p>
      )}
      <label className="field">
        <span className="field-label">Id</span>
        <input
          className="input input--mono"
          value={id}
          onChange={(e) => setId(e.target.value)}
          readOnly={initial !== null}
          autoComplete="off"
          spellCheck={false}
          data-testid="provider-id"
          aria-describedby="provider-id-hint"
        />
        <span className="field-hint" id="provider-id-hint">
          {initial ? "The id can’t change; aliases refer to it." : "Aliases refer to the provider by this id: no spaces or “/”."}
        </span>
      </label>
      <label className="field">
        <span className="field-label">Name (optional)</span>
        <input
          className="input"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder={preset?.name ?? ""}
          autoComplete="off"
          data-testid="provider-name"
        />
      </label>
      <label className="field">
        <span className="field-label">Base URL{needsUrl ? "" : " (optional)"}</span>
        <input
          className="input input--mono"
          type="url"
          value={baseUrl}
          onChange={(e) => setBaseUrl(e.target.value)}
          placeholder={needsUrl ? "https://…" : (preset?.baseUrl ?? "")}
          required={needsUrl}
          aria-required={needsUrl}
          autoComplete="off"
          spellCheck={false}
          data-testid="provider-base-url"
          data-autofocus={needsUrl ? true : undefined}
        />
        {kind === "azure" && (
          <span className="field-hint">Your resource’s endpoint, e.g. https://my-resource.openai.azure.com</span>
        )}
      </label>
      {showVersion && (
        <label className="field">
          <span className="field-label">API version</span>
          <input
            className="input input--mono"
            value={apiVersion}
            onChange={(e) => setApiVersion(e.target.value)}
            placeholder="e.g. 2024-10-21"
            autoComplete="off"
            spellCheck={false}
            data-testid="provider-api-version"
          />
        </label>
      )}
      {initial && (
        <label className="check">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
          <span>Enabled</span>
        </label>
      )}
      {showKey && (
        <div className="field">
          {props.keychainError && (
            <KeychainWarning error={props.keychainError} testId="provider-keychain-error" compact />
          )}
          <label className="field">
            <span className="field-label">API key</span>
            <input
              {...keyInputProps}
              className="input input--mono"
              value={key}
              onChange={(e) => setKey(e.target.value)}
              data-testid="provider-key"
              aria-describedby="provider-key-hint"
            />
            <span className="field-hint" id="provider-key-hint">
              Stored in the OS keychain and never shown again. You can add it later, or more keys, from the list.
            </span>
          </label>
        </div>
      )}
      {!initial && preset?.needsKey === false && (
        <p className="field-hint">{preset.name} runs without a key; you can still add one later from the list.</p>
      )}
      <FormError message={error} />
      <div className="button-row button-row--end">
        <button type="button" className="button" onClick={props.onCancel} disabled={saving}>
          Cancel
        </button>
        <button type="submit" className="button button--primary" disabled={saving} data-testid="save-provider">
          {saving ? "Saving…" : "Save"}
        </button>
      </div>
    </form>
  );
}
