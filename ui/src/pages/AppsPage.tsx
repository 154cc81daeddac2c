import { useState, type SubmitEvent, type ReactElement } from "react";

import { listAliases } from "../api/aliases";
import { createApp, deleteApp, listApps, rotateAppToken, setAppEnabled, updateApp } from "../api/apps";
import type { BudgetActionDto } from "../api/generated/BudgetActionDto";
import type { BudgetDto } from "../api/generated/BudgetDto";
import { toCommandError } from "../api/invoke";
import type { App } from "../api/types";
import { ConfirmDialog, type ConfirmRequest } from "../components/ConfirmDialog";
import { FormError } from "../components/FormError";
import { DEFAULT_ENDPOINT } from "../components/Header";
import { PlusIcon } from "../components/icons";
import { Modal } from "../components/Modal";
import { Switch } from "../components/Switch";
import { useGatewayStatus } from "../components/useGatewayStatus";
import { useResource } from "../components/useResource";
import { lastUsed, shortDate } from "../lib/format";
import { usd } from "../lib/money";
import { parseBudget } from "./settingsForm";
import { SetupSnippets, TokenPanel } from "./SetupSnippets";
import { pickAliases } from "./snippets";

/** New app form → its token; an existing app's setup (no token) → maybe a rotated token. */
type Dialog = { type: "new" } | { type: "edit"; app: App } | { type: "setup"; app: App } | { type: "token"; app: App; token: string; fresh: boolean };

export function AppsPage(): ReactElement {
  const apps = useResource(listApps);
  const aliases = useResource(listAliases);
  const { status } = useGatewayStatus();
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);

  const endpoint = status?.endpoint ?? DEFAULT_ENDPOINT;
  const aliasNames = (aliases.data ?? []).map((a) => a.name);
  const list = apps.data;

  function askRotate(app: App): void {
    setConfirm({
      title: `Rotate the token of “${app.name}”?`,
      body: (
        <p>
          The old token stops working at once: anything still using it gets “unauthorized” until you paste the new one.
        </p>
      ),
      confirmLabel: "Rotate token",
      action: async () => {
        const { app: updated, token } = await rotateAppToken(app.id);
        setDialog({ type: "token", app: updated, token, fresh: false });
        void apps.reload();
      },
    });
  }

  function askDelete(app: App): void {
    setConfirm({
      title: `Delete “${app.name}”?`,
      body: <p>Its token stops working at once. This can’t be undone; you can make a new app later.</p>,
      confirmLabel: "Delete app",
      action: async () => {
        await deleteApp(app.id);
        await apps.reload();
      },
    });
  }

  const loadError = apps.error ?? aliases.error;
  const snippetAliases = (app: App) => pickAliases(aliasNames, app.allowedAliases);

  return (
    <section className="page page--wide" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title" className="page-title" data-testid="page-title">
          Apps
        </h1>
        {list && (
          <button type="button" className="button button--primary" data-testid="new-app" onClick={() => setDialog({ type: "new" })}>
            <PlusIcon />
            New app
          </button>
        )}
      </div>
      <p className="page-intro muted">
        Give each tool its own token, so you can see who uses what and cut one off without touching the others.
      </p>

      {loadError && <FormError message={`Couldn’t load apps: ${loadError.message}`} testId="load-error" />}

      {list && list.length === 0 && (
        <div className="empty" data-testid="apps-empty">
          <p className="empty-title">No apps yet</p>
          <p className="empty-text">
            Make one for each tool — “VS Code – Continue”, “Claude Code”, a script — and paste its token there.
          </p>
        </div>
      )}

      {list && list.length > 0 && (
        <ul className="card-list">
          {list.map((app) => (
            <AppRow
              key={app.id}
              app={app}
              onChanged={() => void apps.reload()}
              onSetup={() => setDialog({ type: "setup", app })}
              onEdit={() => setDialog({ type: "edit", app })}
              onRotate={() => askRotate(app)}
              onDelete={() => askDelete(app)}
            />
          ))}
        </ul>
      )}

      {dialog?.type === "new" && (
        <NewAppDialog
          aliasNames={aliasNames}
          onClose={() => setDialog(null)}
          onCreated={(app, token) => {
            setDialog({ type: "token", app, token, fresh: true });
            void apps.reload();
          }}
        />
      )}
      {dialog?.type === "edit" && (
        <EditAppDialog
          app={dialog.app}
          aliasNames={aliasNames}
          onClose={() => setDialog(null)}
          onSaved={() => {
            setDialog(null);
            void apps.reload();
          }}
        />
      )}
      {dialog?.type === "token" && (
        <Modal
          title={dialog.fresh ? `“${dialog.app.name}” is ready` : `New token for “${dialog.app.name}”`}
          onClose={() => setDialog(null)}
          wide
          testId="token-dialog"
          footer={
            <button type="button" className="button button--primary" onClick={() => setDialog(null)}>
              Done
            </button>
          }
        >
          <TokenPanel token={dialog.token} />
          <h3 className="section-title">Set up a client</h3>
          <SetupSnippets endpoint={endpoint} token={dialog.token} {...snippetAliases(dialog.app)} />
        </Modal>
      )}
      {dialog?.type === "setup" && (
        <Modal
          title={`Set up “${dialog.app.name}”`}
          onClose={() => setDialog(null)}
          wide
          testId="setup-dialog"
          footer={
            <>
              <button
                type="button"
                className="button"
                onClick={() => askRotate(dialog.app)}
                data-testid="setup-rotate"
              >
                Rotate token…
              </button>
              <button type="button" className="button button--primary" onClick={() => setDialog(null)}>
                Done
              </button>
            </>
          }
        >
          <p className="muted">
            The token was shown once, when it was made; replace <code>&lt;your token&gt;</code> with it. Lost it? Rotate
            the token to get a new one.
          </p>
          <SetupSnippets endpoint={endpoint} token={null} {...snippetAliases(dialog.app)} />
        </Modal>
      )}
      {confirm && <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} />}
    </section>
  );
}

interface AppRowProps {
  app: App;
  onChanged: () => void;
  onSetup: () => void;
  onEdit: () => void;
  onRotate: () => void;
  onDelete: () => void;
}

function AppRow({ app, onChanged, onSetup, onEdit, onRotate, onDelete }: AppRowProps): ReactElement {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function toggle(enabled: boolean): Promise<void> {
    setBusy(true);
    setError(null);
    try {
      await setAppEnabled(app.id, enabled);
      onChanged();
    } catch (err) {
      setError(toCommandError(err).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <li className="card" data-testid={`app-row-${app.name}`}>
      <div className="card-head">
        <div className="card-title-group">
          <h2 className="card-title">{app.name}</h2>
          {app.builtin && <span className="muted">Built in: Switchboard’s own chat window</span>}
        </div>
        <div className="card-actions">
          {!app.enabled && <span className="badge">Disabled</span>}
          <Switch
            checked={app.enabled}
            label={`Enable ${app.name}`}
            disabled={busy}
            onChange={(on) => void toggle(on)}
            testId={`app-enabled-${app.name}`}
          />
        </div>
      </div>
      <dl className="facts">
        <dt>Aliases</dt>
        <dd data-testid={`app-aliases-${app.name}`}>
          {app.allowedAliases === null ? (
            "all"
          ) : app.allowedAliases.length === 0 ? (
            <span className="muted">none</span>
          ) : (
            app.allowedAliases.map((a, i) => (
              <span key={a}>
                {i > 0 && ", "}
                <code>{a}</code>
              </span>
            ))
          )}
        </dd>
        <dt>Budget</dt>
        <dd data-testid={`app-budget-${app.name}`}>{budgetText(app.budget)}</dd>
        <dt>Created</dt>
        <dd>{shortDate(app.createdAt)}</dd>
        <dt>Last used</dt>
        <dd data-testid={`app-last-used-${app.name}`}>{lastUsed(app.lastUsedAt)}</dd>
      </dl>
      {app.builtin && (
        <div className="button-row">
          <button type="button" className="button" onClick={onEdit} data-testid={`edit-app-${app.name}`}>
            Edit…
          </button>
        </div>
      )}
      {!app.builtin && (
        <div className="button-row">
          <button type="button" className="button" onClick={onSetup} data-testid={`setup-app-${app.name}`}>
            Setup
          </button>
          <button type="button" className="button" onClick={onEdit} data-testid={`edit-app-${app.name}`}>
            Edit…
          </button>
          <button type="button" className="button" onClick={onRotate} data-testid={`rotate-app-${app.name}`}>
            Rotate token
          </button>
          <button
            type="button"
            className="button button--danger-quiet"
            onClick={onDelete}
            data-testid={`delete-app-${app.name}`}
          >
            Delete
          </button>
        </div>
      )}
      <FormError message={error} />
    </li>
  );
}

interface NewAppDialogProps {
  aliasNames: readonly string[];
  onClose: () => void;
  onCreated: (app: App, token: string) => void;
}

function NewAppDialog({ aliasNames, onClose, onCreated }: NewAppDialogProps): ReactElement {
  const [name, setName] = useState("");
  const [restrict, setRestrict] = useState(false);
  const [allowed, setAllowed] = useState<string[]>([]);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    if (!name.trim()) {
      setError("Give the app a name, e.g. “VS Code – Continue”.");
      return;
    }
    if (restrict && allowed.length === 0) {
      setError("Tick at least one alias, or allow all of them.");
      return;
    }
    setSaving(true);
    setError(null);
    try {
      const created = await createApp({ name: name.trim(), allowedAliases: restrict ? allowed : null });
      onCreated(created.app, created.token);
    } catch (err) {
      setError(toCommandError(err).message);
      setSaving(false);
    }
  }

  function toggleAlias(alias: string, on: boolean): void {
    setAllowed((list) => (on ? [...list, alias] : list.filter((a) => a !== alias)));
  }

  return (
    <Modal title="New app" onClose={onClose} busy={saving} testId="new-app-dialog">
      <form className="form" onSubmit={(e) => void submit(e)} noValidate>
        <label className="field">
          <span className="field-label">Name</span>
          <input
            className="input"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="VS Code – Continue"
            autoComplete="off"
            data-testid="app-name"
          />
        </label>
        <AliasScope
          name="scope"
          aliasNames={aliasNames}
          restrict={restrict}
          onRestrict={setRestrict}
          allowed={allowed}
          onToggle={toggleAlias}
          testIds={{ all: "app-all-aliases", some: "app-some-aliases", alias: (a) => `allow-${a}` }}
        />
        <FormError message={error} />
        <div className="button-row button-row--end">
          <button type="button" className="button" onClick={onClose} disabled={saving}>
            Cancel
          </button>
          <button type="submit" className="button button--primary" disabled={saving} data-testid="create-app">
            {saving ? "Creating…" : "Create app"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** `$5.00 a day, $50.00 a month · blocks`, or `none`. */
interface AliasScopeProps {
  /** The radio group's name (unique per form). */
  name: string;
  aliasNames: readonly string[];
  restrict: boolean;
  onRestrict: (restrict: boolean) => void;
  allowed: readonly string[];
  onToggle: (alias: string, on: boolean) => void;
  testIds: { all?: string; some: string; alias: (alias: string) => string };
}

/** "Which aliases may it use?": all of them (including later ones), or the ones ticked. */
function AliasScope(props: AliasScopeProps): ReactElement {
  const { name, aliasNames, restrict, onRestrict, allowed, onToggle, testIds } = props;
  return (
    <fieldset className="fieldset">
      <legend className="field-label">Which aliases may it use?</legend>
      <label className="check">
        <input type="radio" name={name} checked={!restrict} onChange={() => onRestrict(false)} data-testid={testIds.all} />
        <span>All aliases, including ones you add later</span>
      </label>
      <label className="check">
        <input
          type="radio"
          name={name}
          checked={restrict}
          onChange={() => onRestrict(true)}
          disabled={aliasNames.length === 0}
          data-testid={testIds.some}
        />
        <span>Only these{aliasNames.length === 0 ? " (no aliases yet)" : ":"}</span>
      </label>
      {restrict && (
        <div className="check-grid">
          {aliasNames.map((a) => (
            <label key={a} className="check">
              <input
                type="checkbox"
                checked={allowed.includes(a)}
                onChange={(e) => onToggle(a, e.target.checked)}
                data-testid={testIds.alias(a)}
              />
              <code>{a}</code>
            </label>
          ))}
        </div>
      )}
    </fieldset>
  );
}

function budgetText(budget: BudgetDto | null): string {
  if (!budget || (budget.dailyUsd === null && budget.monthlyUsd === null)) return "none";
  const parts = [];
  if (budget.dailyUsd !== null) parts.push(`${usd(budget.dailyUsd)} a day`);
  if (budget.monthlyUsd !== null) parts.push(`${usd(budget.monthlyUsd)} a month`);
  return `${parts.join(", ")} · ${budget.action === "block" ? "blocks" : "warns"} when reached`;
}

interface EditAppDialogProps {
  app: App;
  aliasNames: readonly string[];
  onClose: () => void;
  onSaved: () => void;
}

/** Name, allowed aliases and budget of an existing app. */
function EditAppDialog({ app, aliasNames, onClose, onSaved }: EditAppDialogProps): ReactElement {
  const [name, setName] = useState(app.name);
  const [restrict, setRestrict] = useState(app.allowedAliases !== null);
  const [allowed, setAllowed] = useState<string[]>(app.allowedAliases ?? []);
  const amount = (v: number | null | undefined) => (v === null || v === undefined ? "" : String(v));
  const [daily, setDaily] = useState(amount(app.budget?.dailyUsd));
  const [monthly, setMonthly] = useState(amount(app.budget?.monthlyUsd));
  const [action, setAction] = useState<BudgetActionDto>(app.budget?.action ?? "warn");
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    if (restrict && allowed.length === 0) {
      setError("Tick at least one alias, or allow all of them.");
      return;
    }
    const budget = parseBudget(daily, monthly, action);
    if (typeof budget === "string") {
      setError(`${budget.charAt(0).toUpperCase()}${budget.slice(1)}.`);
      return;
    }
    setSaving(true);
    setError(null);
    try {
      await updateApp(app.id, { name: name.trim(), allowedAliases: restrict ? allowed : null, budget });
      onSaved();
    } catch (err) {
      setError(toCommandError(err).message);
      setSaving(false);
    }
  }

  return (
    <Modal title={`Edit “${app.name}”`} onClose={onClose} busy={saving} testId="edit-app-dialog">
      <form className="form" onSubmit={(e) => void submit(e)} noValidate>
        <label className="field">
          <span className="field-label">Name</span>
          <input
            className="input"
            value={name}
            onChange={(e) => setName(e.target.value)}
            disabled={app.builtin}
            autoComplete="off"
            data-testid="edit-app-name"
          />
        </label>
        <AliasScope
          name="edit-scope"
          aliasNames={aliasNames}
          restrict={restrict}
          onRestrict={setRestrict}
          allowed={allowed}
          onToggle={(a, on) => setAllowed((l) => (on ? [...l, a] : l.filter((x) => x !== a)))}
          testIds={{ some: "edit-some-aliases", alias: (a) => `edit-allow-${a}` }}
        />
        <fieldset className="fieldset">
          <legend className="field-label">Budget (leave empty for none)</legend>
          <div className="field-row">
            <label className="field field--narrow">
              <span className="field-label">Per day (USD)</span>
              <input className="input" inputMode="decimal" value={daily} onChange={(e) => setDaily(e.target.value)} data-testid="edit-daily" />
            </label>
            <label className="field field--narrow">
              <span className="field-label">Per month (USD)</span>
              <input className="input" inputMode="decimal" value={monthly} onChange={(e) => setMonthly(e.target.value)} data-testid="edit-monthly" />
            </label>
            <label className="field field--narrow">
              <span className="field-label">When reached</span>
              <select
                className="input input--select"
                value={action}
                onChange={(e) => setAction(e.target.value === "block" ? "block" : "warn")}
                data-testid="edit-action"
              >
                <option value="warn">Warn</option>
                <option value="block">Block requests</option>
              </select>
            </label>
          </div>
        </fieldset>
        <FormError message={error} />
        <div className="button-row button-row--end">
          <button type="button" className="button" onClick={onClose} disabled={saving}>
            Cancel
          </button>
          <button type="submit" className="button button--primary" disabled={saving} data-testid="save-app">
            {saving ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
    </Modal>
  );
}
