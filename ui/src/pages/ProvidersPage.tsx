import { useEffect, useRef, useState, type SubmitEvent, type ReactElement } from "react";

import { toCommandError } from "../api/invoke";
import {
  deleteProvider,
  listPresets,
  listProviders,
  removeProviderKey,
  saveProvider,
  setProviderKey,
  testProvider,
} from "../api/providers";
import type { GatewayError, Preset, Provider, ProviderInput } from "../api/types";
import { ConfirmDialog, type ConfirmRequest } from "../components/ConfirmDialog";
import { FormError } from "../components/FormError";
import { KeyIcon, PlusIcon } from "../components/icons";
import { KeychainWarning } from "../components/KeychainWarning";
import { Modal } from "../components/Modal";
import { Switch } from "../components/Switch";
import { useGatewayStatus } from "../components/useGatewayStatus";
import { useResource } from "../components/useResource";
import { testSummary } from "../lib/format";
import { keyInputProps, presetHost, providerIdProblem, suggestProviderId, toInput } from "./providerForm";

type TestState = { state: "running" } | { state: "ok"; models: number; latencyMs: number } | { state: "error"; message: string };

type Editing = { mode: "add" } | { mode: "edit"; provider: Provider };

export function ProvidersPage(): ReactElement {
  const presets = useResource(listPresets);
  const providers = useResource(listProviders);
  const { status } = useGatewayStatus();
  const keychainError = status?.keychainError ?? null;

  const [editing, setEditing] = useState<Editing | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const [tests, setTests] = useState<Record<string, TestState>>({});
  const [addingKeyFor, setAddingKeyFor] = useState<string | null>(null);

  const presetList = presets.data ?? [];
  const list = providers.data;
  const loadError = providers.error ?? presets.error;

  async function runTest(id: string): Promise<void> {
    setTests((t) => ({ ...t, [id]: { state: "running" } }));
    try {
      const result = await testProvider(id);
      setTests((t) => ({ ...t, [id]: { state: "ok", models: result.models.length, latencyMs: result.latencyMs } }));
    } catch (err) {
      setTests((t) => ({ ...t, [id]: { state: "error", message: toCommandError(err).message } }));
    }
  }

  function askDelete(provider: Provider): void {
    const keys = provider.keys.length;
    setConfirm({
      title: `Delete ${displayName(provider, presetList)}?`,
      body: (
        <p>
          This removes the provider <code>{provider.id}</code>
          {keys > 0 && (
            <>
              {" "}
              and deletes its {keys === 1 ? "key" : `${keys} keys`} from the OS keychain
            </>
          )}
          . Aliases that point at it stop using it.
        </p>
      ),
      confirmLabel: "Delete provider",
      action: async () => {
        await deleteProvider(provider.id);
        await providers.reload();
      },
    });
  }

  function askRemoveKey(provider: Provider, label: string): void {
    setConfirm({
      title: `Remove the key “${label}”?`,
      body: (
        <p>
          The key is deleted from the OS keychain. <code>{provider.id}</code> stops using it at once.
        </p>
      ),
      confirmLabel: "Remove key",
      action: async () => {
        await removeProviderKey(provider.id, label);
        await providers.reload();
      },
    });
  }

  return (
    <section className="page page--wide" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title" className="page-title" data-testid="page-title">
          Providers
        </h1>
        {list && list.length > 0 && (
          <button
            type="button"
            className="button button--primary"
            data-testid="add-provider"
            onClick={() => setEditing({ mode: "add" })}
            disabled={presets.data === null}
          >
            <PlusIcon />
            Add provider
          </button>
        )}
      </div>

      {loadError && (
        <FormError message={`Couldn’t load providers: ${loadError.message}`} testId="load-error" />
      )}

      {list && list.length === 0 && (
        <div className="empty" data-testid="providers-empty">
          <p className="empty-title">No providers yet</p>
          <p className="empty-text">
            A provider is where your models live: OpenAI, Anthropic, OpenRouter, a local Ollama… Add one and its key
            goes straight into the OS keychain. Your apps never see it — they get their own tokens on the Apps page.
          </p>
          <button
            type="button"
            className="button button--primary"
            data-testid="add-provider"
            onClick={() => setEditing({ mode: "add" })}
            disabled={presets.data === null}
          >
            <PlusIcon />
            Add provider
          </button>
        </div>
      )}

      {list && list.length > 0 && (
        <ul className="card-list">
          {list.map((p) => (
            <ProviderRow
              key={p.id}
              provider={p}
              presets={presetList}
              test={tests[p.id]}
              addingKey={addingKeyFor === p.id}
              keychainError={keychainError}
              onTest={() => void runTest(p.id)}
              onEdit={() => setEditing({ mode: "edit", provider: p })}
              onDelete={() => askDelete(p)}
              onRemoveKey={(label) => askRemoveKey(p, label)}
              onAddKey={() => setAddingKeyFor(addingKeyFor === p.id ? null : p.id)}
              onKeySaved={() => {
                setAddingKeyFor(null);
                void providers.reload();
              }}
              onToggled={() => void providers.reload()}
            />
          ))}
        </ul>
      )}

      {editing && (
        <ProviderDialog
          editing={editing}
          presets={presetList}
          providers={list ?? []}
          keychainError={keychainError}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void providers.reload();
          }}
        />
      )}
      {confirm && <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} />}
    </section>
  );
}

function presetOf(kind: string, presets: readonly Preset[]): Preset | undefined {
  return presets.find((p) => p.id === kind);
}

function displayName(provider: Provider, presets: readonly Preset[]): string {
  return provider.name ?? presetOf(provider.kind, presets)?.name ?? provider.id;
}

interface ProviderRowProps {
  provider: Provider;
  presets: readonly Preset[];
  test: TestState | undefined;
  addingKey: boolean;
  keychainError: GatewayError | null;
  onTest: () => void;
  onEdit: () => void;
  onDelete: () => void;
  onRemoveKey: (label: string) => void;
  onAddKey: () => void;
  onKeySaved: () => void;
  onToggled: () => void;
}

function ProviderRow(props: ProviderRowProps): ReactElement {
  const { provider, presets, test, addingKey } = props;
  const preset = presetOf(provider.kind, presets);
  const baseUrl = provider.baseUrl ?? preset?.baseUrl ?? null;
  const [toggling, setToggling] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [savedHint, setSavedHint] = useState<string | null>(null);

  async function toggle(enabled: boolean): Promise<void> {
    setToggling(true);
    setError(null);
    try {
      await saveProvider({ ...toInput(provider), enabled });
      props.onToggled();
    } catch (err) {
      setError(toCommandError(err).message);
    } finally {
      setToggling(false);
    }
  }

  const name = displayName(provider, presets);
  return (
    <li className="card" data-testid={`provider-row-${provider.id}`}>
      <div className="card-head">
        <div className="card-title-group">
          <h2 className="card-title">{name}</h2>
          <span className="muted">
            <code>{provider.id}</code>
            {preset && preset.name !== name && <> · {preset.name}</>}
            {!preset && <> · {provider.kind}</>}
          </span>
        </div>
        <div className="card-actions">
          {!provider.enabled && <span className="badge">Disabled</span>}
          <Switch
            checked={provider.enabled}
            label={`Enable ${name}`}
            disabled={toggling}
            onChange={(on) => void toggle(on)}
            testId={`provider-enabled-${provider.id}`}
          />
        </div>
      </div>

      <dl className="facts">
        <dt>Base URL</dt>
        <dd>
          {baseUrl ? <code className="url">{baseUrl}</code> : <span className="muted">none</span>}
          {provider.baseUrl === null && baseUrl && <span className="muted"> (default)</span>}
        </dd>
        {provider.apiVersion && (
          <>
            <dt>API version</dt>
            <dd>
              <code>{provider.apiVersion}</code>
            </dd>
          </>
        )}
        <dt>Keys</dt>
        <dd>
          {provider.keys.length === 0 ? (
            <span className="muted">{preset?.needsKey === false ? "none needed" : "no key yet"}</span>
          ) : (
            <ul className="key-list">
              {provider.keys.map((k) => (
                <li key={k.label} className="key-chip" data-testid={`key-${provider.id}-${k.label}`}>
                  <KeyIcon />
                  <span>{k.label}</span>
                  {k.hint && <code className="muted">{k.hint}</code>}
                  <button
                    type="button"
                    className="link-button link-button--danger"
                    onClick={() => props.onRemoveKey(k.label)}
                    aria-label={`Remove key ${k.label}`}
                  >
                    Remove
                  </button>
                </li>
              ))}
            </ul>
          )}
        </dd>
      </dl>

      {savedHint && !addingKey && (
        <p className="note note--ok" role="status">
          Key saved: {savedHint}
        </p>
      )}

      {addingKey && (
        <AddKeyForm
          provider={provider}
          keychainError={props.keychainError}
          onCancel={props.onAddKey}
          onSaved={(hint) => {
            setSavedHint(hint);
            props.onKeySaved();
          }}
        />
      )}

      <div className="card-footer">
        <div className="button-row">
          <button
            type="button"
            className="button"
            onClick={props.onTest}
            disabled={test?.state === "running"}
            data-testid={`test-provider-${provider.id}`}
          >
            {test?.state === "running" ? "Testing…" : "Test"}
          </button>
          <button type="button" className="button" onClick={props.onAddKey} aria-expanded={addingKey}>
            {provider.keys.length === 0 ? "Add key" : "Add another key"}
          </button>
          <button type="button" className="button" onClick={props.onEdit} data-testid={`edit-provider-${provider.id}`}>
            Edit
          </button>
          <button
            type="button"
            className="button button--danger-quiet"
            onClick={props.onDelete}
            data-testid={`delete-provider-${provider.id}`}
          >
            Delete
          </button>
        </div>
        {test && test.state !== "running" && (
          <p
            className={test.state === "ok" ? "test-result test-result--ok" : "test-result test-result--error"}
            role="status"
            data-testid={`test-result-${provider.id}`}
          >
            {test.state === "ok" ? testSummary(test.models, test.latencyMs) : test.message}
          </p>
        )}
      </div>
      <FormError message={error} />
    </li>
  );
}

interface AddKeyFormProps {
  provider: Provider;
  keychainError: GatewayError | null;
  onCancel: () => void;
  onSaved: (hint: string) => void;
}

/** Adds a labelled key; the field is cleared as soon as the keychain has it. */
function AddKeyForm({ provider, keychainError, onCancel, onSaved }: AddKeyFormProps): ReactElement {
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

interface ProviderDialogProps {
  editing: Editing;
  presets: readonly Preset[];
  providers: readonly Provider[];
  keychainError: GatewayError | null;
  onClose: () => void;
  onSaved: () => void;
}

/** Add: pick a preset, then id, URL and key. Edit: the same fields, with id and kind fixed. */
function ProviderDialog(props: ProviderDialogProps): ReactElement {
  const { editing, presets, providers } = props;
  const initial = editing.mode === "edit" ? editing.provider : null;
  const [preset, setPreset] = useState<Preset | null>(() =>
    initial ? (presetOf(initial.kind, presets) ?? null) : null,
  );

  const title = initial ? `Edit ${initial.id}` : preset ? `Add ${preset.name}` : "Add a provider";
  const [busy, setBusy] = useState(false);

  if (!preset && !initial) {
    return (
      <Modal key="presets" title={title} onClose={props.onClose} wide testId="provider-dialog">
        <p className="muted">Which provider? You can add several of the same kind under different ids.</p>
        <div className="preset-grid" role="list">
          {presets.map((p) => (
            <button
              key={p.id}
              type="button"
              role="listitem"
              className="preset"
              onClick={() => setPreset(p)}
              data-testid={`preset-${p.id}`}
            >
              <span className="preset-name">{p.name}</span>
              <span className="preset-host">{presetHost(p)}</span>
            </button>
          ))}
        </div>
      </Modal>
    );
  }

  return (
    <Modal key="form" title={title} onClose={props.onClose} busy={busy} testId="provider-dialog">
      <ProviderForm
        key={preset?.id ?? "none"}
        initial={initial}
        preset={preset}
        providers={providers}
        keychainError={props.keychainError}
        onBusy={setBusy}
        onBack={initial ? null : () => setPreset(null)}
        onCancel={props.onClose}
        onSaved={props.onSaved}
      />
    </Modal>
  );
}

interface ProviderFormProps {
  initial: Provider | null;
  preset: Preset | null;
  providers: readonly Provider[];
  keychainError: GatewayError | null;
  onBusy: (busy: boolean) => void;
  onBack: (() => void) | null;
  onCancel: () => void;
  onSaved: () => void;
}

function ProviderForm(props: ProviderFormProps): ReactElement {
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
