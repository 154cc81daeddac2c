import type { ReactElement } from "react";

import { AlertIcon, CheckIcon } from "../../components/icons";
import { duration } from "../../lib/money";
import { cellKey, gridSummary, type Cell, type Grid } from "./clientsView";

const OUTCOME_LABEL = { pass: "Pass", fail: "Fail", skip: "Skipped" } as const;

/**
 * Check's pass/fail grid: a row per target, a column per protocol case, each cell filled as its case ends. What
 * broke is spelled out under the grid. Model output in the details is shown as text.
 */
export function CheckGrid({ clientId, grid }: { clientId: string; grid: Grid }): ReactElement {
  const failures = grid.rows.flatMap((row, r) =>
    grid.cases.flatMap((c) => {
      const cell = grid.cells[cellKey(r, c.id)];
      return cell?.outcome === "fail" ? [{ row, label: c.label, cell }] : [];
    }),
  );
  return (
    <div className="probe" data-testid={`check-grid-${clientId}`}>
      <p className="probe-summary" role="status" aria-live="polite" data-testid={`check-summary-${clientId}`}>
        Through <code>{grid.alias}</code>: {gridSummary(grid)}
      </p>
      <div className="probe-scroll">
        <table className="data-table probe-table">
          <thead>
            <tr>
              <th scope="col">Target</th>
              {grid.cases.map((c) => (
                <th key={c.id} scope="col">
                  {c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {grid.rows.map((row, r) => (
              <tr key={r} data-testid={`check-row-${clientId}-${r}`}>
                <th scope="row" className="probe-target">
                  <code>{row.model}</code>
                  {row.note && <p className="probe-note">{row.note}</p>}
                </th>
                {grid.cases.map((c) => (
                  <CellView key={c.id} id={`check-cell-${clientId}-${r}-${c.id}`} cell={grid.cells[cellKey(r, c.id)]} pending={!grid.done} />
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {failures.length > 0 && (
        <div className="probe-failures">
          <p className="field-label">What broke</p>
          <ul data-testid={`check-failures-${clientId}`}>
            {failures.map((f, i) => (
              <li key={i}>
                <code>{f.row.model}</code> · {f.label}: {f.cell.detail}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

function CellView({ id, cell, pending }: { id: string; cell: Cell | undefined; pending: boolean }): ReactElement {
  if (!cell) {
    return (
      <td className="probe-cell probe-cell--waiting" data-testid={id} data-outcome="waiting">
        <span className="muted">{pending ? "…" : "not run"}</span>
      </td>
    );
  }
  return (
    <td className={`probe-cell probe-cell--${cell.outcome}`} data-testid={id} data-outcome={cell.outcome} title={cell.detail}>
      <span className="probe-verdict">
        {cell.outcome === "pass" && <CheckIcon />}
        {cell.outcome === "fail" && <AlertIcon />}
        {OUTCOME_LABEL[cell.outcome]}
        {cell.outcome !== "skip" && <span className="muted"> · {duration(cell.elapsedMs)}</span>}
      </span>
      <span className="probe-detail">{cell.detail}</span>
    </td>
  );
}
