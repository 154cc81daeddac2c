import {
  DndContext,
  KeyboardSensor,
  PointerSensor,
  closestCenter,
  useSensor,
  useSensors,
  type DragEndEvent,
} from "@dnd-kit/core";
import { restrictToParentElement, restrictToVerticalAxis } from "@dnd-kit/modifiers";
import { SortableContext, sortableKeyboardCoordinates, verticalListSortingStrategy } from "@dnd-kit/sortable";
import { useState, type SubmitEvent, type ReactElement } from "react";

import { deleteAlias, listAliases, saveAlias } from "../api/aliases";
import { toCommandError } from "../api/invoke";
import { listProviders, testProvider } from "../api/providers";
import type { Alias, AliasStrategy, Provider } from "../api/types";
import { ConfirmDialog, type ConfirmRequest } from "../components/ConfirmDialog";
import { FormError } from "../components/FormError";
import { PlusIcon } from "../components/icons";
import { Modal } from "../components/Modal";
import { useResource } from "../components/useResource";
import {
  REASONING_EFFORTS,
  SUGGESTED_ALIASES,
  buildAlias,
  dragAnnouncements,
  emptyForm,
  formFromAlias,
  moveTarget,
  moveTargetTo,
  newTarget,
  type AliasForm,
  type ParamsForm,
  type TargetForm,
} from "./aliasForm";
import { AliasCard } from "./aliases/AliasCard";
import { TargetRow, type Models } from "./aliases/TargetRow";

type Editing = { alias: Alias | null; name: string };

export function AliasesPage(): ReactElement {
  const aliases = useResource(listAliases);
  const providers = useResource(listProviders);
  const [editing, setEditing] = useState<Editing | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const [models, setModels] = useState<Record<string, Models>>({});

  async function fetchModels(providerId: string, again = false): Promise<void> {
    if (!providerId || (!again && models[providerId])) return;
    setModels((m) => ({ ...m, [providerId]: { state: "loading" } }));
    try {
      const result = await testProvider(providerId);
      setModels((m) => ({ ...m, [providerId]: { state: "ok", models: result.models } }));
    } catch (err) {
      setModels((m) => ({ ...m, [providerId]: { state: "error", message: toCommandError(err).message } }));
    }
  }

  function open(alias: Alias | null, name = ""): void {
    const ids = alias ? alias.targets.map((t) => t.providerId) : [];
    for (const id of new Set(ids)) void fetchModels(id);
    setEditing({ alias, name });
  }

  function askDelete(alias: Alias): void {
    setConfirm({
      title: `Delete the alias “${alias.name}”?`,
      body: (
        <p>
          Apps that ask for <code>{alias.name}</code> will get an error until you create it again.
        </p>
      ),
      confirmLabel: "Delete alias",
      action: async () => {
        await deleteAlias(alias.name);
        await aliases.reload();
      },
    });
  }

  const list = aliases.data;
  const providerList = providers.data ?? [];
  const loadError = aliases.error ?? providers.error;
  const noProviders = providers.data?.length === 0;

  return (
    <section className="page page--wide" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title" className="page-title" data-testid="page-title">
          Aliases
        </h1>
        {list && list.length > 0 && (
          <button type="button" className="button button--primary" data-testid="new-alias" onClick={() => open(null)}>
            <PlusIcon />
            New alias
          </button>
        )}
      </div>

      {loadError && <FormError message={`Couldn’t load aliases: ${loadError.message}`} testId="load-error" />}

      {list && list.length === 0 && (
        <div className="empty" data-testid="aliases-empty">
          <p className="empty-title">No aliases yet</p>
          <p className="empty-text">
            An alias is the model name your apps ask for. It points at one or more provider models, tried in order, so
            you can switch models without touching any app. A good start:
          </p>
          <div className="chip-row">
            {SUGGESTED_ALIASES.map((name) => (
              <button
                key={name}
                type="button"
                className="chip"
                onClick={() => open(null, name)}
                disabled={noProviders}
                data-testid={`suggest-${name}`}
              >
                <code>{name}</code>
              </button>
            ))}
          </div>
          {noProviders ? (
            <p className="empty-text">
              First add a provider on the <a href="#/providers">Providers</a> page.
            </p>
          ) : (
            <button type="button" className="button button--primary" data-testid="new-alias" onClick={() => open(null)}>
              <PlusIcon />
              New alias
            </button>
          )}
        </div>
      )}

      {list && list.length > 0 && (
        <ul className="card-list">
          {list.map((a) => (
            <AliasCard key={a.name} alias={a} onEdit={() => open(a)} onDelete={() => askDelete(a)} />
          ))}
        </ul>
      )}

      {editing && (
        <AliasEditor
          alias={editing.alias}
          initialName={editing.name}
          existing={(list ?? []).map((a) => a.name)}
          providers={providerList}
          models={models}
          onProviderPicked={(id, again) => void fetchModels(id, again)}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            void aliases.reload();
          }}
        />
      )}
      {confirm && <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} />}
    </section>
  );
}

const DRAG_INSTRUCTIONS =
  "To reorder a target, press Space to pick it up, the up and down arrows to move it, Space again to drop it, or Escape to cancel.";

interface AliasEditorProps {
  alias: Alias | null;
  initialName: string;
  existing: readonly string[];
  providers: readonly Provider[];
  models: Record<string, Models>;
  onProviderPicked: (providerId: string, again?: boolean) => void;
  onClose: () => void;
  onSaved: () => void;
}

function AliasEditor(props: AliasEditorProps): ReactElement {
  const { alias, providers, models } = props;
  const [form, setForm] = useState<AliasForm>(() => (alias ? formFromAlias(alias) : emptyForm(props.initialName)));
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Drag starts after a 4 px move, so a click on the handle stays a click; Space + arrows drag from the keyboard.
  const sensors = useSensors(
    useSensor(PointerSensor, { activationConstraint: { distance: 4 } }),
    useSensor(KeyboardSensor, { coordinateGetter: sortableKeyboardCoordinates }),
  );

  function onDragEnd({ active, over }: DragEndEvent): void {
    if (!over || active.id === over.id) return;
    setForm((f) => {
      const from = f.targets.findIndex((t) => t.key === active.id);
      const to = f.targets.findIndex((t) => t.key === over.id);
      return { ...f, targets: moveTargetTo(f.targets, from, to) };
    });
  }

  function update(patch: Partial<AliasForm>): void {
    setForm((f) => ({ ...f, ...patch }));
  }

  function updateTarget(index: number, patch: Partial<TargetForm>): void {
    setForm((f) => ({ ...f, targets: f.targets.map((t, i) => (i === index ? { ...t, ...patch } : t)) }));
  }

  async function submit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const built = buildAlias(form, alias, props.existing);
    if (!built.ok) {
      setError(built.error);
      return;
    }
    setSaving(true);
    setError(null);
    try {
      await saveAlias(built.alias);
      props.onSaved();
    } catch (err) {
      setError(toCommandError(err).message);
      setSaving(false);
    }
  }

  const weighted = form.strategy === "weighted";
  return (
    <Modal title={alias ? `Edit ${alias.name}` : "New alias"} onClose={props.onClose} busy={saving} wide testId="alias-editor">
      <form className="form" onSubmit={(e) => void submit(e)} noValidate>
        <div className="field-row">
          <label className="field">
            <span className="field-label">Name</span>
            <input
              className="input input--mono"
              value={form.name}
              onChange={(e) => update({ name: e.target.value })}
              readOnly={alias !== null}
              placeholder="general"
              autoComplete="off"
              spellCheck={false}
              data-testid="alias-name"
              aria-describedby="alias-name-hint"
            />
            <span className="field-hint" id="alias-name-hint">
              {alias ? "To rename, create a new alias and delete this one." : "The model name apps will ask for."}
            </span>
          </label>
          <label className="field">
            <span className="field-label">Strategy</span>
            <select
              className="input"
              value={form.strategy}
              onChange={(e) => update({ strategy: e.target.value as AliasStrategy })}
              data-testid="alias-strategy"
            >
              <option value="fallback">Fallback — in order, next on failure</option>
              <option value="weighted">Weighted — spread by weight</option>
            </select>
          </label>
        </div>
        <label className="field">
          <span className="field-label">Description (optional)</span>
          <input
            className="input"
            value={form.description}
            onChange={(e) => update({ description: e.target.value })}
            placeholder="What is it for?"
            data-testid="alias-description"
            data-autofocus={alias ? true : undefined}
          />
        </label>

        <fieldset className="fieldset">
          <legend className="field-label">Targets</legend>
          {providers.length === 0 && (
            <p className="field-hint">
              No providers yet: add one on the <a href="#/providers">Providers</a> page first.
            </p>
          )}
          <DndContext
            sensors={sensors}
            collisionDetection={closestCenter}
            modifiers={[restrictToVerticalAxis, restrictToParentElement]}
            onDragEnd={onDragEnd}
            accessibility={{
              screenReaderInstructions: { draggable: DRAG_INSTRUCTIONS },
              announcements: dragAnnouncements(form.targets),
            }}
          >
            <SortableContext items={form.targets.map((t) => t.key)} strategy={verticalListSortingStrategy}>
              <ol className="target-list">
                {form.targets.map((t, i) => (
                  <TargetRow
                    key={t.key}
                    index={i}
                    count={form.targets.length}
                    target={t}
                    weighted={weighted}
                    providers={providers}
                    models={t.providerId ? models[t.providerId] : undefined}
                    onChange={(patch) => {
                      updateTarget(i, patch);
                      if (patch.providerId) props.onProviderPicked(patch.providerId);
                    }}
                    onRetryModels={() => props.onProviderPicked(t.providerId, true)}
                    onMove={(by) => update({ targets: moveTarget(form.targets, i, by) })}
                    onRemove={() => update({ targets: form.targets.filter((_, j) => j !== i) })}
                  />
                ))}
              </ol>
            </SortableContext>
          </DndContext>
          <button
            type="button"
            className="button"
            onClick={() => update({ targets: [...form.targets, newTarget()] })}
            data-testid="add-target"
          >
            <PlusIcon />
            Add target
          </button>
          <p className="field-hint">
            {weighted
              ? "Requests are spread across targets by weight; a failed target falls back to the others."
              : "The first target gets every request; the next one is tried only when it fails."}
          </p>
        </fieldset>

        <details className="advanced">
          <summary>Advanced</summary>
          <div className="advanced-body">
            <ParamsFields
              legend="Defaults (used when the app doesn’t send them)"
              prefix="params"
              value={form.params}
              onChange={(params) => update({ params })}
            />
            <ParamsFields
              legend="Forced (override what the app sends)"
              prefix="forced"
              value={form.forced}
              onChange={(forced) => update({ forced })}
            />
            <label className="field">
              <span className="field-label">System prefix</span>
              <textarea
                className="input textarea"
                rows={3}
                value={form.systemPrefix}
                onChange={(e) => update({ systemPrefix: e.target.value })}
                placeholder="Put before the app’s own system prompt"
                data-testid="alias-system-prefix"
              />
            </label>
            <fieldset className="fieldset">
              <legend className="field-label">Timeouts (seconds)</legend>
              <div className="field-row">
                <NumberField label="First token" value={form.firstToken} onChange={(firstToken) => update({ firstToken })} testId="timeout-first-token" />
                <NumberField label="Idle" value={form.idle} onChange={(idle) => update({ idle })} testId="timeout-idle" />
                <NumberField label="Total" value={form.total} onChange={(total) => update({ total })} testId="timeout-total" />
              </div>
            </fieldset>
          </div>
        </details>

        <FormError message={error} />
        <div className="button-row button-row--end">
          <button type="button" className="button" onClick={props.onClose} disabled={saving}>
            Cancel
          </button>
          <button type="submit" className="button button--primary" disabled={saving} data-testid="save-alias">
            {saving ? "Saving…" : "Save"}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function ParamsFields(props: {
  legend: string;
  prefix: string;
  value: ParamsForm;
  onChange: (value: ParamsForm) => void;
}): ReactElement {
  const { value, prefix } = props;
  const set = (patch: Partial<ParamsForm>) => props.onChange({ ...value, ...patch });
  return (
    <fieldset className="fieldset">
      <legend className="field-label">{props.legend}</legend>
      <div className="field-row">
        <NumberField
          label="Temperature"
          value={value.temperature}
          onChange={(temperature) => set({ temperature })}
          step="0.1"
          testId={`${prefix}-temperature`}
        />
        <NumberField
          label="Max tokens"
          value={value.maxTokens}
          onChange={(maxTokens) => set({ maxTokens })}
          testId={`${prefix}-max-tokens`}
        />
        <label className="field">
          <span className="field-label">Reasoning effort</span>
          <select
            className="input"
            value={value.reasoningEffort}
            onChange={(e) => set({ reasoningEffort: e.target.value })}
            data-testid={`${prefix}-reasoning-effort`}
          >
            <option value="">Not set</option>
            {!REASONING_EFFORTS.some((r) => r === value.reasoningEffort) && value.reasoningEffort && (
              <option value={value.reasoningEffort}>{value.reasoningEffort}</option>
            )}
            {REASONING_EFFORTS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
      </div>
    </fieldset>
  );
}

function NumberField(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  step?: string;
  testId: string;
}): ReactElement {
  return (
    <label className="field">
      <span className="field-label">{props.label}</span>
      <input
        className="input"
        type="number"
        min={0}
        step={props.step ?? "1"}
        value={props.value}
        onChange={(e) => props.onChange(e.target.value)}
        placeholder="Not set"
        data-testid={props.testId}
      />
    </label>
  );
}
