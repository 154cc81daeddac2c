import type { ReactElement } from "react";

interface SwitchProps {
  checked: boolean;
  onChange: (checked: boolean) => void;
  /** Read by screen readers, e.g. "Enable OpenAI". */
  label: string;
  disabled?: boolean;
  testId?: string;
}

/** An on/off toggle: a real checkbox with `role="switch"`, styled. */
export function Switch({ checked, onChange, label, disabled = false, testId }: SwitchProps): ReactElement {
  return (
    <label className="switch" title={label}>
      <input
        type="checkbox"
        role="switch"
        className="switch-input"
        checked={checked}
        disabled={disabled}
        aria-label={label}
        onChange={(e) => onChange(e.target.checked)}
        data-testid={testId}
      />
      <span className="switch-track" aria-hidden="true">
        <span className="switch-thumb" />
      </span>
    </label>
  );
}
