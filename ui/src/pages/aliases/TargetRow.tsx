import { useSortable } from "@dnd-kit/sortable";
import { CSS } from "@dnd-kit/utilities";
import type { ReactElement } from "react";

import type { Provider } from "../../api/types";
import { ArrowDownIcon, ArrowUpIcon, CloseIcon } from "../../components/icons";
import type { TargetForm } from "../aliasForm";
import { TargetFacts } from "./TargetFacts";

/** What we know about a provider's models: fetched through `test_provider`, once per page visit. */
export type Models = { state: "loading" } | { state: "ok"; models: string[] } | { state: "error"; message: string };

export interface TargetRowProps {
  index: number;
  count: number;
  target: TargetForm;
  weighted: boolean;
  providers: readonly Provider[];
  models: Models | undefined;
  onChange: (patch: Partial<TargetForm>) => void;
  onRetryModels: () => void;
  onMove: (by: -1 | 1) => void;
  onRemove: () => void;
}

/** One target in the editor: provider, model (picked from its list), weight; dragged by its number or moved by the
 * arrow buttons. */
export function TargetRow(props: TargetRowProps): ReactElement {
  const { index, count, target, weighted, providers, models } = props;
  const n = index + 1;
  const listId = `models-${target.key}`;
  const known = providers.some((p) => p.id === target.providerId);
  const { attributes, listeners, setNodeRef, setActivatorNodeRef, transform, transition, isDragging } = useSortable({
    id: target.key,
  });
  const style = { transform: CSS.Translate.toString(transform), transition };
  return (
    <li
      ref={setNodeRef}
      style={style}
      className={isDragging ? "target-row target-row--dragging" : "target-row"}
      data-testid={`target-${index}`}
    >
      <button
        type="button"
        ref={setActivatorNodeRef}
        className="target-index target-handle"
        {...attributes}
        {...listeners}
        aria-label={`Target ${n}: drag to reorder, or press Space then the arrow keys`}
        data-testid={`target-handle-${index}`}
      >
        {n}
      </button>
      <label className="field">
        <span className="field-label">Provider</span>
        <select
          className="input"
          value={target.providerId}
          onChange={(e) => props.onChange({ providerId: e.target.value })}
          aria-label={`Target ${n} provider`}
          data-testid={`target-provider-${index}`}
        >
          <option value="">Pick…</option>
          {!known && target.providerId && <option value={target.providerId}>{target.providerId} (missing)</option>}
          {providers.map((p) => (
            <option key={p.id} value={p.id}>
              {p.id}
              {p.enabled ? "" : " (disabled)"}
            </option>
          ))}
        </select>
      </label>
      <label className="field field--grow">
        <span className="field-label">Model</span>
        <input
          className="input input--mono"
          value={target.model}
          onChange={(e) => props.onChange({ model: e.target.value })}
          list={models?.state === "ok" ? listId : undefined}
          placeholder="model id"
          autoComplete="off"
          spellCheck={false}
          aria-label={`Target ${n} model`}
          data-testid={`target-model-${index}`}
        />
        {models?.state === "ok" && (
          <datalist id={listId}>
            {models.models.map((m) => (
              <option key={m} value={m} />
            ))}
          </datalist>
        )}
        <ModelsHint models={models} onRetry={props.onRetryModels} />
        <TargetFacts providerId={target.providerId} model={target.model} index={index} />
      </label>
      {weighted && (
        <label className="field field--narrow">
          <span className="field-label">Weight</span>
          <input
            className="input"
            type="number"
            min={1}
            step={1}
            inputMode="numeric"
            value={target.weight}
            onChange={(e) => props.onChange({ weight: e.target.value })}
            aria-label={`Target ${n} weight`}
            data-testid={`target-weight-${index}`}
          />
        </label>
      )}
      <div className="target-buttons">
        <button
          type="button"
          className="icon-button"
          onClick={() => props.onMove(-1)}
          disabled={index === 0}
          aria-label={`Move target ${n} up`}
          data-testid={`target-up-${index}`}
        >
          <ArrowUpIcon />
        </button>
        <button
          type="button"
          className="icon-button"
          onClick={() => props.onMove(1)}
          disabled={index === count - 1}
          aria-label={`Move target ${n} down`}
          data-testid={`target-down-${index}`}
        >
          <ArrowDownIcon />
        </button>
        <button
          type="button"
          className="icon-button icon-button--danger"
          onClick={props.onRemove}
          aria-label={`Remove target ${n}`}
          data-testid={`target-remove-${index}`}
        >
          <CloseIcon />
        </button>
      </div>
    </li>
  );
}

function ModelsHint({ models, onRetry }: { models: Models | undefined; onRetry: () => void }): ReactElement | null {
  if (!models) return null;
  if (models.state === "loading") return <span className="field-hint">Listing models…</span>;
  if (models.state === "ok") {
    return (
      <span className="field-hint">
        {models.models.length > 0
          ? `${models.models.length} models to pick from, or type any id.`
          : "The provider listed no models; type the id."}
      </span>
    );
  }
  return (
    <span className="field-hint field-hint--error">
      Couldn’t list models ({models.message}); type the id.{" "}
      <button type="button" className="link-button" onClick={onRetry}>
        Try again
      </button>
    </span>
  );
}
