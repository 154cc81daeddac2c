import { useEffect, useState, type ReactElement } from "react";

import type { PriceStatus } from "../api/generated/PriceStatus";
import { toCommandError } from "../api/invoke";
import { deletePriceOverride, priceStatus, updatePrices } from "../api/prices";
import { FormError } from "../components/FormError";
import { shortDate } from "../lib/format";
import { overrideLine } from "./settingsForm";

/** Settings → Prices: where prices come from, "Update prices" from the public catalog, and the user's own prices. */
export function PricesSection(): ReactElement {
  const [status, setStatus] = useState<PriceStatus | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  function load(): void {
    priceStatus()
      .then(setStatus)
      .catch((err: unknown) => setError(`Couldn’t read the prices: ${toCommandError(err).message}`));
  }
  useEffect(load, []);

  async function run(work: () => Promise<void>): Promise<void> {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await work();
    } catch (err) {
      setError(toCommandError(err).message);
    } finally {
      setBusy(false);
      load();
    }
  }

  const update = () =>
    run(async () => {
      const result = await updatePrices();
      setDone(`Prices updated: ${result.summary}.`);
    });

  return (
    <fieldset className="fieldset" data-testid="prices-section">
      <legend>Prices</legend>
      <p className="field-hint">
        Costs are worked out when each request finishes, with the prices in effect at its time: the snapshot shipped with
        Switchboard, then each update from the public catalog. Switchboard never downloads prices by itself.
      </p>
      {status && (
        <dl className="facts">
          <dt>Shipped snapshot</dt>
          <dd data-testid="prices-shipped">{status.shippedVersion}</dd>
          <dt>Last update</dt>
          <dd data-testid="prices-last-update">
            {status.lastImport ? (
              <>
                {shortDate(status.lastImport.effectiveMs)}: {status.lastImport.modelsAdded} models added,{" "}
                {status.lastImport.pricesChanged} prices changed <span className="muted">({status.lastImport.version})</span>
              </>
            ) : (
              <span className="muted">never</span>
            )}
          </dd>
          <dt>Catalog</dt>
          <dd className="url">
            <code>{status.catalogUrl}</code>
          </dd>
        </dl>
      )}
      <div className="button-row">
        <button type="button" className="button" onClick={() => void update()} disabled={busy} data-testid="update-prices">
          {busy ? "Updating…" : "Update prices"}
        </button>
      </div>
      <FormError message={error} testId="prices-error" />
      {done && (
        <p className="note note--ok" role="status" data-testid="prices-updated">
          {done}
        </p>
      )}
      {status && status.overrides.length > 0 && (
        <>
          <h3 className="field-label">Your prices (they win over the catalog)</h3>
          <ul className="override-list" data-testid="price-overrides">
            {status.overrides.map((o) => (
              <li key={`${o.provider}/${o.model}`}>
                <code>
                  {o.provider}/{o.model}
                </code>{" "}
                {overrideLine(o)}{" "}
                <button
                  type="button"
                  className="link-button link-button--danger"
                  onClick={() => void run(() => deletePriceOverride(o.provider, o.model))}
                  disabled={busy}
                  aria-label={`Remove your price for ${o.provider}/${o.model}`}
                >
                  Remove
                </button>
              </li>
            ))}
          </ul>
        </>
      )}
    </fieldset>
  );
}
