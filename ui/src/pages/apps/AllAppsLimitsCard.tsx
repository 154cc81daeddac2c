import { useState, type ReactElement, type SubmitEvent } from "react";

import { setAllAppsLimits } from "../../api/apps";
import type { AllAppsLimits } from "../../api/generated/AllAppsLimits";
import { toCommandError } from "../../api/invoke";
import { FormError } from "../../components/FormError";
import { Modal } from "../../components/Modal";
import { LimitsFields } from "./LimitsFields";
import { hitText, limitsText, parseLimits, sentence, toLimitsForm, type LimitsForm } from "./limitsForm";

interface AllAppsLimitsCardProps {
  current: AllAppsLimits;
  onSaved: () => void;
}

/** The limits of all apps together (the chat window included) and the last time they refused a request. */
export function AllAppsLimitsCard({ current, onSaved }: AllAppsLimitsCardProps): ReactElement {
  const [editing, setEditing] = useState(false);
  return (
    <section className="card" data-testid="all-apps-limits">
      <div className="card-head">
        <div className="card-title-group">
          <h2 className="card-title">All apps together</h2>
          <span className="muted">Limits on everything Switchboard sends, e.g. to stay under a provider’s own</span>
        </div>
      </div>
      <dl className="facts">
        <dt>Limits</dt>
        <dd data-testid="all-apps-limits-text">{limitsText(current.limits)}</dd>
        {current.lastHit && (
          <>
            <dt>Limit hit</dt>
            <dd data-testid="all-apps-limit-hit">{hitText(current.lastHit)}</dd>
          </>
        )}
      </dl>
      <div className="button-row">
        <button type="button" className="button" onClick={() => setEditing(true)} data-testid="edit-all-apps-limits">
          Edit limits…
        </button>
      </div>
      {editing && (
        <AllAppsLimitsDialog
          current={current}
          onClose={() => setEditing(false)}
          onSaved={() => {
            setEditing(false);
            onSaved();
          }}
        />
      )}
    </section>
  );
}

interface AllAppsLimitsDialogProps {
  current: AllAppsLimits;
  onClose: () => void;
  onSaved: () => void;
}

function AllAppsLimitsDialog({ current, onClose, onSaved }: AllAppsLimitsDialogProps): ReactElement {
  const [form, setForm] = useState<LimitsForm>(toLimitsForm(current.limits));
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const limits = parseLimits(form, false);
    if (typeof limits === "string") {
      setError(sentence(limits));
      return;
    }
    setSaving(true);
    setError(null);
    try {
      await setAllAppsLimits(limits);
      onSaved();
    } catch (err) {
      setError(toCommandError(err).message);
      setSaving(false);
    }
  }

  return (
    <Modal title="Limits for all apps together" onClose={onClose} busy={saving} testId="all-apps-limits-dialog">
      <form className="form" onSubmit={(e) => void submit(e)} noValidate>
        <p className="muted">
          Every app’s requests count toward these, the chat window’s too. The loop guard is set per app.
        </p>
        <LimitsFields form={form} onChange={setForm} perApp={false} testId="all-limits" />
        <FormError message={error} />
        <div className="button-row button-row--end">
          <button type="button" className="button" onClick={onClose} disabled={saving}>
            Cancel
          </button>
          <button type="submit" className="button button--primary" disabled={saving} data-testid="save-all-apps-limits">
            {saving ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
    </Modal>
  );
}
