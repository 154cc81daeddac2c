import { useState, type ReactElement } from "react";

import type { GatewayError, Preset, Provider } from "../../api/types";
import { Modal } from "../../components/Modal";
import { presetHost, presetOf } from "../providerForm";
import { ProviderForm } from "./ProviderForm";

export type Editing = { mode: "add" } | { mode: "edit"; provider: Provider };

export interface ProviderDialogProps {
  editing: Editing;
  presets: readonly Preset[];
  providers: readonly Provider[];
  keychainError: GatewayError | null;
  onClose: () => void;
  onSaved: () => void;
}

/** Add: pick a preset, then id, URL and key. Edit: the same fields, with id and kind fixed. */
export function ProviderDialog(props: ProviderDialogProps): ReactElement {
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
