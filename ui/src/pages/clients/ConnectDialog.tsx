import { useEffect, useState, type ReactElement, type SubmitEvent } from "react";

import { connectClient, connectPlan } from "../../api/clients";
import type { AppChoice } from "../../api/generated/AppChoice";
import type { ClientDto } from "../../api/generated/ClientDto";
import type { ConnectedDto } from "../../api/generated/ConnectedDto";
import type { ConnectPlan } from "../../api/generated/ConnectPlan";
import { toCommandError } from "../../api/invoke";
import type { App } from "../../api/types";
import { FormError } from "../../components/FormError";
import { AlertIcon } from "../../components/icons";
import { Modal } from "../../components/Modal";
import { connectableApps, defaultAliases, defaultAppChoice, ownedKeys, tokenPlanText } from "./clientsView";

interface ConnectDialogProps {
  client: ClientDto;
  apps: readonly App[];
  aliasNames: readonly string[];
  onClose: () => void;
  onConnected: (result: ConnectedDto) => void;
}

const CREATE = "create";

function choiceValue(choice: AppChoice): string {
  return choice.kind === "create" ? CREATE : String(choice.id);
}

function choiceOf(value: string): AppChoice {
  return value === CREATE ? { kind: "create" } : { kind: "existing", id: Number(value) };
}

/**
 * Connect (or Reconnect): which app the client uses — by default one named after it — and an alias for each model
 * the client asks for; what happens to the app's token and which files get which keys are said before anything is
 * written.
 */
export function ConnectDialog({ client, apps, aliasNames, onClose, onConnected }: ConnectDialogProps): ReactElement {
  const choices = connectableApps(apps);
  const [choice, setChoice] = useState<AppChoice>(() => defaultAppChoice(client, apps));
  const [aliases, setAliases] = useState<Record<string, string>>(() => defaultAliases(client, aliasNames));
  // The plan for the app chosen last; one for an earlier choice is not shown.
  const [planned, setPlanned] = useState<{ choice: string; plan: ConnectPlan } | null>(null);
  const plan = planned?.choice === choiceValue(choice) ? planned.plan : null;
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const nameTaken = choices.some((a) => a.name === client.name);

  useEffect(() => {
    let active = true;
    connectPlan(client.id, choice)
      .then((p) => active && setPlanned({ choice: choiceValue(choice), plan: p }))
      .catch((err: unknown) => active && setError(toCommandError(err).message));
    return () => {
      active = false;
    };
  }, [client.id, choice]);

  async function submit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    if (aliasNames.length === 0) {
      setError("Make an alias on the Aliases page first: the client needs one to ask for.");
      return;
    }
    setSaving(true);
    setError(null);
    try {
      onConnected(await connectClient(client.id, { app: choice, aliases }));
    } catch (err) {
      setError(toCommandError(err).message);
      setSaving(false);
    }
  }

  const reconnect = client.state.kind === "drifted" || client.state.kind === "connected";
  const title = `${reconnect ? "Reconnect" : "Connect"} ${client.name}`;
  return (
    <Modal title={title} onClose={onClose} busy={saving} wide testId="connect-dialog">
      <form className="form" onSubmit={(e) => void submit(e)} noValidate>
        <label className="field">
          <span className="field-label">App (its token is what {client.name} sends)</span>
          <select
            className="input input--select"
            value={choiceValue(choice)}
            onChange={(e) => setChoice(choiceOf(e.target.value))}
            data-testid="connect-app"
            data-autofocus
          >
            {!nameTaken && <option value={CREATE}>Create “{client.name}” (recommended)</option>}
            {choices.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
                {a.allowedAliases ? ` (only ${a.allowedAliases.join(", ")})` : ""}
              </option>
            ))}
          </select>
        </label>
        {plan && (
          <p
            className={plan.token === "rotate" ? "banner banner--warning banner--inline" : "field-hint"}
            role={plan.token === "rotate" ? "alert" : undefined}
            data-testid="connect-plan"
          >
            {plan.token === "rotate" && <AlertIcon className="banner-icon" />}
            <span>{tokenPlanText(plan.token, plan.appName)}</span>
          </p>
        )}

        <fieldset className="fieldset">
          <legend className="field-label">Which alias each of its models asks for</legend>
          {aliasNames.length === 0 ? (
            <p className="muted" data-testid="connect-no-aliases">
              There are no aliases yet: add a provider with a key (that makes the first ones), or make one on the
              Aliases page.
            </p>
          ) : (
            <div className="field-row">
              {client.slots.map((slot) => (
                <label key={slot.id} className="field field--narrow">
                  <span className="field-label">{slot.label}</span>
                  <select
                    className="input input--select"
                    value={aliases[slot.id] ?? ""}
                    onChange={(e) => setAliases((a) => ({ ...a, [slot.id]: e.target.value }))}
                    data-testid={`connect-alias-${slot.id}`}
                  >
                    {aliasNames.map((name) => (
                      <option key={name} value={name}>
                        {name}
                      </option>
                    ))}
                  </select>
                </label>
              ))}
            </div>
          )}
        </fieldset>

        <div className="connect-writes">
          <p className="field-label">What is written where</p>
          <ul className="connect-files" data-testid="connect-files">
            {(plan?.files ?? client.files).map((f) => (
              <li key={f}>
                <code>{f}</code>
              </li>
            ))}
          </ul>
          <p className="field-hint">
            Only these keys: {ownedKeys(client.id).join("; ")}. Everything else in the files stays as it is, and
            Disconnect puts them back.
          </p>
        </div>

        <FormError message={error} testId="connect-error" />
        <div className="button-row button-row--end">
          <button type="button" className="button" onClick={onClose} disabled={saving}>
            Cancel
          </button>
          <button type="submit" className="button button--primary" disabled={saving || plan === null} data-testid="connect-submit">
            {saving ? "Connecting…" : reconnect ? "Reconnect" : "Connect"}
          </button>
        </div>
      </form>
    </Modal>
  );
}
