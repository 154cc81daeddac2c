import { useEffect, useState, type ReactElement } from "react";

import { providerBalances, refreshBalance } from "../api/balances";
import type { BalanceDto } from "../api/generated/BalanceDto";
import { toCommandError } from "../api/invoke";
import {
  deleteProvider,
  detectLocalProviders,
  listPresets,
  listProviders,
  removeProviderKey,
  testProvider,
} from "../api/providers";
import type { Provider } from "../api/types";
import { ConfirmDialog, type ConfirmRequest } from "../components/ConfirmDialog";
import { FormError } from "../components/FormError";
import { PlusIcon } from "../components/icons";
import { useGatewayStatus } from "../components/useGatewayStatus";
import { useResource } from "../components/useResource";
import { displayName } from "./providerForm";
import { ProviderDialog, type Editing } from "./providers/AddProviderDialog";
import { LocalOffer } from "./providers/LocalOffer";
import { ProviderCard, type TestState } from "./providers/ProviderCard";

// The page's parts live in `providers/`: a card per provider, its key form, the add/edit dialog, and the offer of
// local servers (Ollama, LM Studio) found on this computer.

/** How often the page asks again for local servers (two loopback requests). */
const LOCAL_PROBE_EVERY_MS = 10_000;

export function ProvidersPage(): ReactElement {
  const presets = useResource(listPresets);
  const providers = useResource(listProviders);
  const local = useResource(detectLocalProviders);
  const reloadLocal = local.reload;
  // Looks again now and then, so a server started (or a slow answer missed) while the page is open is still offered.
  useEffect(() => {
    const timer = setInterval(() => void reloadLocal(), LOCAL_PROBE_EVERY_MS);
    return () => clearInterval(timer);
  }, [reloadLocal]);
  const { status } = useGatewayStatus();
  const keychainError = status?.keychainError ?? null;
  // Balances of the providers that publish one, read again by the backend when a few minutes old.
  const balances = useResource(providerBalances);
  const [refreshed, setRefreshed] = useState<Record<string, BalanceDto>>({});
  const [refreshing, setRefreshing] = useState<string | null>(null);

  async function runRefresh(id: string): Promise<void> {
    setRefreshing(id);
    try {
      const balance = await refreshBalance(id);
      setRefreshed((r) => ({ ...r, [id]: balance }));
    } catch (err) {
      const message = toCommandError(err).message;
      setRefreshed((r) => ({ ...r, [id]: { ...(r[id] ?? emptyBalance(id)), error: message } }));
    } finally {
      setRefreshing(null);
    }
  }

  const [editing, setEditing] = useState<Editing | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const [tests, setTests] = useState<Record<string, TestState>>({});
  const [addingKeyFor, setAddingKeyFor] = useState<string | null>(null);

  const presetList = presets.data ?? [];

  /** The list, and the local offer (a server just added, or deleted, changes it). */
  async function reloadAll(): Promise<void> {
    await Promise.all([providers.reload(), local.reload()]);
  }
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
        await reloadAll();
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
            <ProviderCard
              key={p.id}
              provider={p}
              presets={presetList}
              test={tests[p.id]}
              addingKey={addingKeyFor === p.id}
              balance={refreshed[p.id] ?? balances.data?.find((b) => b.providerId === p.id)}
              refreshingBalance={refreshing === p.id}
              onRefreshBalance={() => void runRefresh(p.id)}
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

      {list && (
        <LocalOffer servers={local.data ?? []} presets={presetList} providers={list} onAdded={() => void reloadAll()} />
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
            void reloadAll();
          }}
        />
      )}
      {confirm && <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} />}
    </section>
  );
}

function emptyBalance(providerId: string): BalanceDto {
  return { providerId, readAtMs: Date.now(), amounts: [], usable: true, error: null, low: false, lowBelow: 5 };
}
