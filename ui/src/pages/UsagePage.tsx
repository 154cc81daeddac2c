import { useEffect, useMemo, useRef, useState, type ReactElement } from "react";

import type { UsageQuery } from "../api/generated/UsageQuery";
import type { UsageReport } from "../api/generated/UsageReport";
import type { UsageTotals } from "../api/generated/UsageTotals";
import { toCommandError } from "../api/invoke";
import { defaultExportPath, exportUsageCsv, usageReport } from "../api/usage";
import { FormError } from "../components/FormError";
import { Modal } from "../components/Modal";
import { useLedgerWritten } from "../components/useLedgerWritten";
import { compact, count, duration, usd } from "../lib/money";
import { UnpricedPanel } from "./UnpricedPanel";
import { UsageChart } from "./UsageChart";
import {
  budgetFill,
  budgetLabel,
  dateInput,
  exportFileName,
  fillSeries,
  markedCost,
  RANGE_CHOICES,
  rangeQuery,
  type RangePreset,
} from "./usageView";

type Breakdown = "byApp" | "byAlias" | "byProvider" | "byModel";
const BREAKDOWNS: readonly { id: Breakdown; label: string; column: string }[] = [
  { id: "byApp", label: "Apps", column: "App" },
  { id: "byAlias", label: "Aliases", column: "Alias" },
  { id: "byProvider", label: "Providers", column: "Provider" },
  { id: "byModel", label: "Models", column: "Model" },
];

/** New requests refresh the page at most this often. */
const LIVE_INTERVAL_MS = 2000;

export function UsagePage(): ReactElement {
  const [preset, setPreset] = useState<RangePreset>("week");
  const [from, setFrom] = useState(() => dateInput(Date.now() - 6 * 86_400_000));
  const [to, setTo] = useState(() => dateInput(Date.now()));
  // "Now" for ranges that end now; moved forward when new requests arrive or the range changes.
  const [now, setNow] = useState(() => Date.now());
  const [breakdown, setBreakdown] = useState<Breakdown>("byApp");
  const [loaded, setLoaded] = useState<{ query: UsageQuery; report: UsageReport } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [exporting, setExporting] = useState(false);
  const lastLive = useRef(0);

  const query = useMemo(() => rangeQuery(preset, now, from, to), [preset, now, from, to]);
  const rangeError = typeof query === "string" ? query : null;

  useEffect(() => {
    if (typeof query === "string") return;
    let active = true;
    usageReport(query)
      .then((report) => {
        if (!active) return;
        setLoaded({ query, report });
        setError(null);
      })
      .catch((err: unknown) => {
        if (active) setError(`Couldn’t load usage: ${toCommandError(err).message}`);
      });
    return () => {
      active = false;
    };
  }, [query]);

  const liveTimer = useRef<number | null>(null);
  useLedgerWritten(() => {
    if (preset === "custom" || liveTimer.current !== null) return;
    const wait = Math.max(0, LIVE_INTERVAL_MS - (Date.now() - lastLive.current));
    liveTimer.current = window.setTimeout(() => {
      liveTimer.current = null;
      lastLive.current = Date.now();
      setNow(lastLive.current);
    }, wait);
  });
  useEffect(
    () => () => {
      if (liveTimer.current !== null) window.clearTimeout(liveTimer.current);
    },
    [],
  );

  const report = loaded?.report ?? null;
  const shownQuery = loaded?.query ?? null;
  const chart = useMemo(() => (report && shownQuery ? fillSeries(report.series, shownQuery) : null), [report, shownQuery]);
  const overall = report?.overall;
  const rows = report ? report[breakdown] : [];
  const column = BREAKDOWNS.find((b) => b.id === breakdown)?.column ?? "";

  return (
    <section className="page page--wide page--usage" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title" className="page-title" data-testid="page-title">
          Usage
        </h1>
        <button
          type="button"
          className="button"
          onClick={() => setExporting(true)}
          disabled={!shownQuery}
          data-testid="export-csv"
        >
          Export CSV…
        </button>
      </div>
      <p className="page-intro muted">What your tools spent, on which models, over time. Costs are worked out when each request finishes.</p>

      <div className="filter-bar" role="group" aria-label="Date range">
        <div className="segmented" role="radiogroup" aria-label="Range">
          {RANGE_CHOICES.map((c) => (
            <button
              key={c.id}
              type="button"
              role="radio"
              aria-checked={preset === c.id}
              className="segment"
              onClick={() => {
                setPreset(c.id);
                setNow(Date.now());
              }}
              data-testid={`range-${c.id}`}
            >
              {c.label}
            </button>
          ))}
        </div>
        {preset === "custom" && (
          <>
            <label className="filter">
              <span className="filter-label">From</span>
              <input className="input" type="date" value={from} onChange={(e) => setFrom(e.target.value)} data-testid="range-from" />
            </label>
            <label className="filter">
              <span className="filter-label">To</span>
              <input className="input" type="date" value={to} onChange={(e) => setTo(e.target.value)} data-testid="range-to" />
            </label>
          </>
        )}
      </div>
      <FormError message={rangeError ?? error} testId="usage-error" />

      <div className="stat-grid" aria-live="polite">
        <Stat label="Spend" value={overall ? markedCost(overall.costUsd, overall.unpriced) : "…"} testId="usage-spend" />
        <Stat label="Requests" value={overall ? count(overall.requests) : "…"} testId="usage-requests" />
        <Stat
          label="Tokens in / out"
          value={overall ? `${compact(overall.inputTokens)} / ${compact(overall.outputTokens)}` : "…"}
          testId="usage-tokens"
        />
        <Stat label="Errors" value={overall ? count(overall.errors) : "…"} testId="usage-errors" />
        <Stat label="Avg latency" value={overall ? duration(overall.avgLatencyMs) : "…"} testId="usage-latency" />
      </div>
      {report && report.unpriced.length > 0 && (
        <UnpricedPanel rows={report.unpriced} onPriced={() => setNow(Date.now())} />
      )}

      <div className="panel">
        {report && report.overall.requests === 0 ? (
          <div className="empty" data-testid="usage-empty">
            <p className="empty-title">No requests in this range</p>
            <p className="empty-text">
              Pick a longer range, or give a tool an app token on the <a href="#/apps">Apps</a> page and point it at the
              endpoint; its spend shows up here.
            </p>
          </div>
        ) : chart && shownQuery ? (
          <UsageChart
            data={chart}
            hourly={shownQuery.bucket === "hour"}
            label={`Spend and tokens per ${shownQuery.bucket}: ${usd(report?.overall.costUsd ?? 0)} in total`}
          />
        ) : (
          <div className="chart-placeholder muted">Loading…</div>
        )}
      </div>

      <h2 className="section-title section-title--spaced">Budgets</h2>
      {report && report.budgets.length === 0 && (
        <p className="muted" data-testid="budgets-empty">
          No budgets yet. Set one for all apps in <a href="#/settings">Settings</a>, or per app on the <a href="#/apps">Apps</a> page.
        </p>
      )}
      {report && report.budgets.length > 0 && (
        <ul className="budget-list">
          {report.budgets.map((bar) => {
            const { percent, state } = budgetFill(bar);
            const label = budgetLabel(bar);
            return (
              <li key={`${bar.app ?? ""}-${bar.period}`} className="budget" data-testid="budget-bar">
                <div className="budget-head">
                  <span>{label}</span>
                  <span className="muted">
                    {usd(bar.spentUsd)} of {usd(bar.limitUsd)} · {bar.action === "block" ? "blocks" : "warns"} when reached
                  </span>
                </div>
                <div
                  className={`meter meter--${state}`}
                  role="meter"
                  aria-label={label}
                  aria-valuemin={0}
                  aria-valuemax={100}
                  aria-valuenow={percent}
                >
                  <span className="meter-fill" style={{ width: `${percent}%` }} />
                </div>
              </li>
            );
          })}
        </ul>
      )}

      <div className="breakdown-head">
        <h2 className="section-title">Breakdown</h2>
        <div className="segmented" role="tablist" aria-label="Breakdown">
          {BREAKDOWNS.map((b) => (
            <button
              key={b.id}
              type="button"
              role="tab"
              aria-selected={breakdown === b.id}
              className="segment"
              onClick={() => setBreakdown(b.id)}
              data-testid={`breakdown-${b.id}`}
            >
              {b.label}
            </button>
          ))}
        </div>
      </div>
      <BreakdownTable column={column} rows={rows} total={overall?.costUsd ?? 0} />

      {exporting && shownQuery && <ExportDialog query={shownQuery} onClose={() => setExporting(false)} />}
    </section>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId: string }): ReactElement {
  return (
    <div className="stat">
      <span className="stat-label">{label}</span>
      <span className="stat-value" data-testid={testId}>
        {value}
      </span>
    </div>
  );
}

function BreakdownTable({ column, rows, total }: { column: string; rows: UsageTotals[]; total: number }): ReactElement {
  if (rows.length === 0) return <p className="muted">Nothing to break down in this range.</p>;
  return (
    <table className="data-table" data-testid="breakdown-table">
      {rows.some((r) => r.unpriced > 0) && (
        <caption className="table-note muted" data-testid="breakdown-unpriced-note">
          * leaves out requests to models with no price
        </caption>
      )}
      <thead>
        <tr>
          <th scope="col">{column}</th>
          <th scope="col" className="num">
            Requests
          </th>
          <th scope="col" className="num">
            Errors
          </th>
          <th scope="col" className="num">
            Tokens in
          </th>
          <th scope="col" className="num">
            Tokens out
          </th>
          <th scope="col" className="num">
            Cost
          </th>
          <th scope="col">Share</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => {
          const share = total > 0 ? Math.round((r.costUsd / total) * 100) : 0;
          return (
            <tr key={r.key ?? "(none)"}>
              <th scope="row">{r.key ?? <span className="muted">(none)</span>}</th>
              <td className="num">{count(r.requests)}</td>
              <td className="num">{count(r.errors)}</td>
              <td className="num">{count(r.inputTokens)}</td>
              <td className="num">{count(r.outputTokens)}</td>
              <td
                className="num"
                data-testid="breakdown-cost"
                title={r.unpriced > 0 ? `Leaves out ${count(r.unpriced)} requests with no price` : undefined}
              >
                {markedCost(r.costUsd, r.unpriced)}
              </td>
              <td>
                <span className="share" aria-label={`${share}% of spend`}>
                  <span className="share-fill" style={{ width: `${share}%` }} />
                </span>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function ExportDialog({ query, onClose }: { query: UsageQuery; onClose: () => void }): ReactElement {
  const [path, setPath] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  useEffect(() => {
    let active = true;
    defaultExportPath(exportFileName(query))
      .then((p) => active && setPath(p))
      .catch(() => active && setPath(""));
    return () => {
      active = false;
    };
  }, [query]);

  async function save(): Promise<void> {
    if (!path) return;
    setBusy(true);
    setError(null);
    try {
      const result = await exportUsageCsv(query.sinceMs, query.untilMs, path);
      setDone(`Saved ${count(result.rows)} ${result.rows === 1 ? "request" : "requests"} to ${result.path}`);
    } catch (err) {
      setError(toCommandError(err).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal
      title="Export usage as CSV"
      onClose={onClose}
      busy={busy}
      testId="export-dialog"
      footer={
        done ? (
          <button type="button" className="button button--primary" onClick={onClose}>
            Done
          </button>
        ) : (
          <>
            <button type="button" className="button" onClick={onClose} disabled={busy}>
              Cancel
            </button>
            <button
              type="button"
              className="button button--primary"
              onClick={() => void save()}
              disabled={busy || !path}
              data-testid="export-save"
            >
              {busy ? "Exporting…" : "Export"}
            </button>
          </>
        )
      }
    >
      <p className="muted">Every request in the range, one per line, newest first. An existing file is replaced.</p>
      <label className="field">
        <span className="field-label">Save to</span>
        <input
          className="input input--mono"
          value={path ?? ""}
          onChange={(e) => setPath(e.target.value)}
          disabled={path === null || busy}
          data-testid="export-path"
          data-autofocus
        />
      </label>
      <FormError message={error} testId="export-error" />
      {done && (
        <p className="note note--ok" data-testid="export-done">
          {done}
        </p>
      )}
    </Modal>
  );
}
