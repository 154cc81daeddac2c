import { useState, type ReactElement } from "react";

import type { UnpricedDto } from "../api/generated/UnpricedDto";
import { toCommandError } from "../api/invoke";
import { setPriceOverride } from "../api/prices";
import { FormError } from "../components/FormError";
import { Modal } from "../components/Modal";
import { count } from "../lib/money";
import { parsePrice, unpricedSummary } from "./usageView";

/** Usage: the models whose requests have no price, each with a way to add one. */
export function UnpricedPanel({ rows, onPriced }: { rows: UnpricedDto[]; onPriced: () => void }): ReactElement {
  const [pricing, setPricing] = useState<UnpricedDto | null>(null);
  const [done, setDone] = useState<string | null>(null);
  return (
    <div className="unpriced" data-testid="unpriced">
      <p className="unpriced-title">
        <strong data-testid="unpriced-summary">{unpricedSummary(rows)}</strong>: their cost is left out of every figure
        marked *. Add a price to count them from now on, or update the catalog in <a href="#/settings">Settings</a>.
      </p>
      <table className="data-table">
        <thead>
          <tr>
            <th scope="col">Provider</th>
            <th scope="col">Model</th>
            <th scope="col" className="num">
              Requests
            </th>
            <th scope="col" aria-label="Price" />
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.providerId ?? ""}/${r.model ?? ""}`} data-testid="unpriced-row">
              <td>{r.providerId ?? <span className="muted">(none)</span>}</td>
              <td>
                <code>{r.model ?? "(none)"}</code>
              </td>
              <td className="num">{count(r.requests)}</td>
              <td>
                {r.providerId && r.model && (
                  <button
                    type="button"
                    className="link-button"
                    onClick={() => {
                      setDone(null);
                      setPricing(r);
                    }}
                    data-testid={`add-price-${r.providerId}-${r.model}`}
                  >
                    Add a price
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {done && (
        <p className="note note--ok" role="status" data-testid="price-added">
          {done}
        </p>
      )}
      {pricing && (
        <AddPriceDialog
          row={pricing}
          onClose={() => setPricing(null)}
          onSaved={(message) => {
            setPricing(null);
            setDone(message);
            onPriced();
          }}
        />
      )}
    </div>
  );
}

function AddPriceDialog(props: { row: UnpricedDto; onClose: () => void; onSaved: (message: string) => void }): ReactElement {
  const { row } = props;
  const [input, setInput] = useState("");
  const [output, setOutput] = useState("");
  const [cached, setCached] = useState("");
  const [write, setWrite] = useState("");
  const [write1h, setWrite1h] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function save(): Promise<void> {
    const parsed = [
      parsePrice(input, "input", true),
      parsePrice(output, "output", true),
      parsePrice(cached, "cached input", false),
      parsePrice(write, "cache write", false),
      parsePrice(write1h, "cache write (1 hour)", false),
    ];
    const wrong = parsed.find((p): p is string => typeof p === "string");
    if (wrong) {
      setError(wrong);
      return;
    }
    const [i = null, o = null, c = null, w = null, w1h = null] = parsed as (number | null)[];
    setBusy(true);
    setError(null);
    try {
      await setPriceOverride({
        provider: row.providerId ?? "",
        model: row.model ?? "",
        input: i,
        output: o,
        cachedInput: c,
        cacheWrite: w,
        cacheWrite1h: w1h,
      });
      props.onSaved(
        `${row.model} at ${row.providerId} is priced from now on. The ${count(row.requests)} requests already recorded stay unpriced: a cost is worked out once, when a request finishes.`,
      );
    } catch (err) {
      setError(toCommandError(err).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      title={`Price for ${row.model ?? ""}`}
      onClose={props.onClose}
      busy={busy}
      testId="add-price-dialog"
      footer={
        <>
          <button type="button" className="button" onClick={props.onClose} disabled={busy}>
            Cancel
          </button>
          <button type="button" className="button button--primary" onClick={() => void save()} disabled={busy} data-testid="add-price-save">
            {busy ? "Saving…" : "Save price"}
          </button>
        </>
      }
    >
      <p className="muted">
        USD per million tokens at <code>{row.providerId}</code>, as on the provider’s pricing page. Your price wins over
        every catalog price; remove it in Settings.
      </p>
      <div className="field-row">
        <label className="field field--narrow">
          <span className="field-label">Input</span>
          <input className="input" inputMode="decimal" value={input} onChange={(e) => setInput(e.target.value)} data-testid="price-input" data-autofocus />
        </label>
        <label className="field field--narrow">
          <span className="field-label">Output</span>
          <input className="input" inputMode="decimal" value={output} onChange={(e) => setOutput(e.target.value)} data-testid="price-output" />
        </label>
        <label className="field field--narrow">
          <span className="field-label">Cached input</span>
          <input className="input" inputMode="decimal" value={cached} onChange={(e) => setCached(e.target.value)} placeholder="as input" data-testid="price-cached" />
        </label>
      </div>
      <div className="field-row">
        <label className="field field--narrow">
          <span className="field-label">Cache write</span>
          <input className="input" inputMode="decimal" value={write} onChange={(e) => setWrite(e.target.value)} placeholder="as input" data-testid="price-cache-write" />
        </label>
        <label className="field field--narrow">
          <span className="field-label">Cache write, 1 hour</span>
          <input
            className="input"
            inputMode="decimal"
            value={write1h}
            onChange={(e) => setWrite1h(e.target.value)}
            placeholder="2× input"
            data-testid="price-cache-write-1h"
          />
        </label>
      </div>
      <FormError message={error} testId="add-price-error" />
    </Modal>
  );
}
