import { useState, type ReactElement } from "react";

import { setAppEnabled } from "../../api/apps";
import type { BudgetDto } from "../../api/generated/BudgetDto";
import { toCommandError } from "../../api/invoke";
import type { App } from "../../api/types";
import { FormError } from "../../components/FormError";
import { Switch } from "../../components/Switch";
import { lastUsed, shortDate } from "../../lib/format";
import { usd } from "../../lib/money";
import { hitText, limitsText } from "./limitsForm";

export interface AppCardProps {
  app: App;
  onChanged: () => void;
  onSetup: () => void;
  onEdit: () => void;
  onRotate: () => void;
  onDelete: () => void;
}

/** One app: its aliases, budget, limits and the last limit it hit, its switch and its buttons. */
export function AppCard({ app, onChanged, onSetup, onEdit, onRotate, onDelete }: AppCardProps): ReactElement {
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
        <dt>Limits</dt>
        <dd data-testid={`app-limits-${app.name}`}>{limitsText(app.limits)}</dd>
        {app.lastLimitHit && (
          <>
            <dt>Limit hit</dt>
            <dd data-testid={`app-limit-hit-${app.name}`}>{hitText(app.lastLimitHit)}</dd>
          </>
        )}
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

/** `$5.00 a day, $50.00 a month · blocks when reached`, or `none`. */
function budgetText(budget: BudgetDto | null): string {
  if (!budget || (budget.dailyUsd === null && budget.monthlyUsd === null)) return "none";
  const parts = [];
  if (budget.dailyUsd !== null) parts.push(`${usd(budget.dailyUsd)} a day`);
  if (budget.monthlyUsd !== null) parts.push(`${usd(budget.monthlyUsd)} a month`);
  return `${parts.join(", ")} · ${budget.action === "block" ? "blocks" : "warns"} when reached`;
}
