import { useState, type ReactElement } from "react";

import type { BalanceDto } from "../../api/generated/BalanceDto";
import { toCommandError } from "../../api/invoke";
import { saveProvider } from "../../api/providers";
import type { GatewayError, Preset, Provider } from "../../api/types";
import { FormError } from "../../components/FormError";
import { KeyIcon } from "../../components/icons";
import { Switch } from "../../components/Switch";
import { lastUsed, testSummary } from "../../lib/format";
import { balanceAmount } from "../providerForm";
import { displayName, presetOf, toInput } from "../providerForm";
import { AddKeyForm } from "./KeyForm";

export type TestState =
  | { state: "running" }
  | { state: "ok"; models: number; latencyMs: number }
  | { state: "error"; message: string };

export interface ProviderCardProps {
  provider: Provider;
  presets: readonly Preset[];
  test: TestState | undefined;
  addingKey: boolean;
  /** The provider's balance, for those that publish one. */
  balance?: BalanceDto;
  refreshingBalance?: boolean;
  onRefreshBalance?: () => void;
  keychainError: GatewayError | null;
  onTest: () => void;
  onEdit: () => void;
  onDelete: () => void;
  onRemoveKey: (label: string) => void;
  onAddKey: () => void;
  onKeySaved: () => void;
  onToggled: () => void;
}

/** One provider: its URL, keys, switch, and Test / key / edit / delete actions. */
export function ProviderCard(props: ProviderCardProps): ReactElement {
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
        {props.balance && (
          <>
            <dt>Balance</dt>
            <dd data-testid={`balance-${provider.id}`}>
              <BalanceLine balance={props.balance} />{" "}
              <button
                type="button"
                className="link-button"
                onClick={props.onRefreshBalance}
                disabled={props.refreshingBalance}
                data-testid={`refresh-balance-${provider.id}`}
              >
                {props.refreshingBalance ? "Reading…" : "Refresh"}
              </button>
            </dd>
          </>
        )}
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

/** The amounts left and when they were read; or why they could not be read. */
function BalanceLine({ balance }: { balance: BalanceDto }): ReactElement {
  if (balance.error) return <span className="test-result--error">{balance.error}</span>;
  if (balance.amounts.length === 0) return <span className="muted">no limit on this key · read {lastUsed(balance.readAtMs)}</span>;
  return (
    <span>
      {balance.amounts.map((a, i) => (
        <span key={a.label} className={balance.low && a.remaining < balance.lowBelow ? "balance-low" : undefined}>
          {i > 0 && " · "}
          {balanceAmount(a)}
        </span>
      ))}
      {!balance.usable && <span className="balance-low"> · the provider says the account cannot make requests</span>}
      <span className="muted"> · read {lastUsed(balance.readAtMs)}</span>
    </span>
  );
}
