import { useState, type ReactElement, type SubmitEvent } from "react";

import { createApp, updateApp } from "../../api/apps";
import type { BudgetActionDto } from "../../api/generated/BudgetActionDto";
import { toCommandError } from "../../api/invoke";
import type { App } from "../../api/types";
import { FormError } from "../../components/FormError";
import { Modal } from "../../components/Modal";
import { parseBudget } from "../settingsForm";
import { LimitsFields } from "./LimitsFields";
import { EMPTY_LIMITS_FORM, parseLimits, sentence, toLimitsForm, type LimitsForm } from "./limitsForm";

export interface NewAppDialogProps {
  aliasNames: readonly string[];
  onClose: () => void;
  onCreated: (app: App, token: string) => void;
}

/** A name, the aliases it may use and its limits → the app and its token. */
export function NewAppDialog({ aliasNames, onClose, onCreated }: NewAppDialogProps): ReactElement {
  const [name, setName] = useState("");
  const [restrict, setRestrict] = useState(false);
  const [allowed, setAllowed] = useState<string[]>([]);
  const [limitsForm, setLimitsForm] = useState<LimitsForm>(EMPTY_LIMITS_FORM);
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
    const limits = parseLimits(limitsForm, true);
    if (typeof limits === "string") {
      setError(sentence(limits));
      return;
    }
    setSaving(true);
    setError(null);
    try {
      const created = await createApp({ name: name.trim(), allowedAliases: restrict ? allowed : null, limits });
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
        <LimitsFields form={limitsForm} onChange={setLimitsForm} perApp testId="app-limits" />
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

export interface EditAppDialogProps {
  app: App;
  aliasNames: readonly string[];
  onClose: () => void;
  onSaved: () => void;
}

/** Name, allowed aliases, budget and limits of an existing app. */
export function EditAppDialog({ app, aliasNames, onClose, onSaved }: EditAppDialogProps): ReactElement {
  const [name, setName] = useState(app.name);
  const [restrict, setRestrict] = useState(app.allowedAliases !== null);
  const [allowed, setAllowed] = useState<string[]>(app.allowedAliases ?? []);
  const amount = (v: number | null | undefined) => (v === null || v === undefined ? "" : String(v));
  const [daily, setDaily] = useState(amount(app.budget?.dailyUsd));
  const [monthly, setMonthly] = useState(amount(app.budget?.monthlyUsd));
  const [action, setAction] = useState<BudgetActionDto>(app.budget?.action ?? "warn");
  const [limitsForm, setLimitsForm] = useState<LimitsForm>(toLimitsForm(app.limits));
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
      setError(sentence(budget));
      return;
    }
    const limits = parseLimits(limitsForm, true);
    if (typeof limits === "string") {
      setError(sentence(limits));
      return;
    }
    setSaving(true);
    setError(null);
    try {
      await updateApp(app.id, { name: name.trim(), allowedAliases: restrict ? allowed : null, budget, limits });
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
        <LimitsFields form={limitsForm} onChange={setLimitsForm} perApp testId="edit-limits" />
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
