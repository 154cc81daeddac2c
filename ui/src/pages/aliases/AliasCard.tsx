import { useState, type ReactElement } from "react";

import type { Alias } from "../../api/types";
import { TryBox } from "./TryBox";

interface AliasCardProps {
  alias: Alias;
  onEdit: () => void;
  onDelete: () => void;
}

/** One alias: its strategy and target chain, Edit / Delete, and a "Try it" box that sends a prompt through it. */
export function AliasCard({ alias: a, onEdit, onDelete }: AliasCardProps): ReactElement {
  const [trying, setTrying] = useState(false);
  return (
    <li className="card" data-testid={`alias-row-${a.name}`}>
      <div className="card-head">
        <div className="card-title-group">
          <h2 className="card-title">
            <code>{a.name}</code>
          </h2>
          {a.description && <span className="muted">{a.description}</span>}
        </div>
        <span className="badge">{a.strategy === "weighted" ? "Weighted" : "Fallback"}</span>
      </div>
      <ol className="target-chain" aria-label={`Targets of ${a.name}`}>
        {a.targets.map((t, i) => (
          <li key={`${t.providerId}/${t.model}/${i}`} className="target-chip">
            <code>
              {t.providerId}/{t.model}
            </code>
            {a.strategy === "weighted" && <span className="muted"> ×{t.weight}</span>}
          </li>
        ))}
      </ol>
      <div className="button-row">
        <button type="button" className="button" onClick={onEdit} data-testid={`edit-alias-${a.name}`}>
          Edit
        </button>
        <button
          type="button"
          className="button"
          onClick={() => setTrying((t) => !t)}
          aria-expanded={trying}
          data-testid={`try-alias-${a.name}`}
        >
          {trying ? "Close Try it" : "Try it"}
        </button>
        <button
          type="button"
          className="button button--danger-quiet"
          onClick={onDelete}
          data-testid={`delete-alias-${a.name}`}
        >
          Delete
        </button>
      </div>
      {trying && <TryBox alias={a.name} />}
    </li>
  );
}
