import type { ReactElement } from "react";

import type { LimitsForm } from "./limitsForm";

interface LimitsFieldsProps {
  form: LimitsForm;
  onChange: (form: LimitsForm) => void;
  /** An app's limits include the loop guard; those of all apps together do not. */
  perApp: boolean;
  /** Prefix of each input's test id: `${prefix}-rpm`, `-tpm`, `-concurrent`, `-loop-guard`. */
  testId: string;
  disabled?: boolean;
}

/** Requests per minute, tokens per minute, requests at once and (for an app) the loop guard; empty is no limit. */
export function LimitsFields({ form, onChange, perApp, testId, disabled }: LimitsFieldsProps): ReactElement {
  const field = (key: keyof LimitsForm, label: string, placeholder: string) => (
    <label className="field field--narrow">
      <span className="field-label">{label}</span>
      <input
        className="input"
        inputMode="numeric"
        value={form[key]}
        placeholder={placeholder}
        disabled={disabled}
        onChange={(e) => onChange({ ...form, [key]: e.target.value })}
        data-testid={`${testId}-${key === "loopGuard" ? "loop-guard" : key}`}
      />
    </label>
  );
  return (
    <fieldset className="fieldset">
      <legend className="field-label">Rate limits (leave empty for none)</legend>
      <div className="field-row">
        {field("rpm", "Requests per minute", "60")}
        {field("tpm", "Tokens per minute", "200000")}
        {field("concurrent", "At once", "4")}
      </div>
      {perApp && (
        <div className="field-row">
          {field("loopGuard", "Loop guard: the same request at most … times a minute", "5")}
        </div>
      )}
      <p className="field-hint">
        Over a limit, requests get “429 Too Many Requests” with a time to retry. Tokens count once an answer ends, so the
        request that crosses the token limit still runs.
      </p>
    </fieldset>
  );
}
