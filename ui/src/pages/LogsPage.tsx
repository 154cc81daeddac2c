import { observeElementRect, useVirtualizer } from "@tanstack/react-virtual";
import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactElement } from "react";

import type { LogFacets } from "../api/generated/LogFacets";
import type { LogFilter } from "../api/generated/LogFilter";
import type { RequestDetailDto } from "../api/generated/RequestDetailDto";
import type { RequestDto } from "../api/generated/RequestDto";
import { toCommandError } from "../api/invoke";
import { listRequests, logFacets, requestDetail } from "../api/logs";
import { FormError } from "../components/FormError";
import { Modal } from "../components/Modal";
import { useLedgerWritten } from "../components/useLedgerWritten";
import { useResource } from "../components/useResource";
import { count, duration, usd } from "../lib/money";
import {
  cacheWrites,
  EMPTY_FILTER,
  isError,
  isFiltered,
  mergeNewer,
  PAGE_SIZE,
  prettyBody,
  route,
  SINCE_CHOICES,
  toLogFilter,
  tokens,
  when,
  type FilterForm,
  type Since,
} from "./logsView";

/** Every row is this tall, so the list can be virtualized without measuring. */
const ROW_HEIGHT = 36;
/** Rows above this scroll offset count as "at the top": new requests slide in instead of waiting. */
const TOP_SLACK = ROW_HEIGHT;

interface Loaded {
  filter: LogFilter;
  rows: RequestDto[];
  /** No older rows left to fetch. */
  end: boolean;
}

export function LogsPage(): ReactElement {
  const [form, setForm] = useState<FilterForm>(EMPTY_FILTER);
  const filter = useMemo(() => toLogFilter(form, Date.now()), [form]);
  const facets = useResource(logFacets);
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState<RequestDto[]>([]);
  const [selected, setSelected] = useState<number | null>(null);
  const loadingMore = useRef(false);
  const scrollRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let active = true;
    listRequests(filter, null, PAGE_SIZE)
      .then((rows) => {
        if (!active) return;
        setLoaded({ filter, rows, end: rows.length < PAGE_SIZE });
        setPending([]);
        setError(null);
      })
      .catch((err: unknown) => {
        if (active) setError(`Couldn’t load requests: ${toCommandError(err).message}`);
      });
    return () => {
      active = false;
    };
  }, [filter]);

  const current = loaded?.filter === filter ? loaded : null;
  const rows = current?.rows ?? null;

  const loadOlder = useCallback(async () => {
    if (!current || current.end || loadingMore.current) return;
    loadingMore.current = true;
    try {
      const last = current.rows[current.rows.length - 1];
      const older = await listRequests(current.filter, last ? last.id : null, PAGE_SIZE);
      setLoaded((l) => (l && l.filter === current.filter ? { ...l, rows: [...l.rows, ...older], end: older.length < PAGE_SIZE } : l));
    } catch (err) {
      setError(`Couldn’t load older requests: ${toCommandError(err).message}`);
    } finally {
      loadingMore.current = false;
    }
  }, [current]);

  const showPending = useCallback(() => {
    setLoaded((l) => (l ? { ...l, rows: mergeNewer(l.rows, pending) } : l));
    setPending([]);
    scrollRef.current?.scrollTo({ top: 0 });
  }, [pending]);

  useLedgerWritten(() => {
    if (!current) return;
    const shown = current.filter;
    listRequests(shown, null, PAGE_SIZE)
      .then((newest) => {
        const atTop = (scrollRef.current?.scrollTop ?? 0) <= TOP_SLACK;
        if (atTop) {
          setLoaded((l) => (l && l.filter === shown ? { ...l, rows: mergeNewer(l.rows, newest) } : l));
        } else {
          setPending((p) => mergeNewer(p.length ? p : [], newest.filter((r) => r.id > (current.rows[0]?.id ?? -1))));
        }
        if (newest.some((r) => isNewFacet(facets.data, r))) void facets.reload();
      })
      .catch(() => {
        // The next batch tries again; the list stays as it is.
      });
  });

  // eslint-disable-next-line react-hooks/incompatible-library -- read during render only; nothing memoized receives it
  const virtualizer = useVirtualizer({
    count: rows?.length ?? 0,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    // Before layout (and in tests) the list has no height yet: render a screenful rather than nothing.
    observeElementRect: (instance, cb) =>
      observeElementRect(instance, (rect) => cb(rect.height > 0 ? rect : { width: rect.width, height: 720 })),
  });
  const items = virtualizer.getVirtualItems();
  const lastIndex = items.at(-1)?.index ?? -1;

  useEffect(() => {
    if (rows && lastIndex >= rows.length - 20) void loadOlder();
  }, [lastIndex, rows, loadOlder]);

  function set<K extends keyof FilterForm>(key: K, value: FilterForm[K]): void {
    setForm((f) => ({ ...f, [key]: value }));
  }

  function onRowKey(e: KeyboardEvent<HTMLDivElement>, index: number, id: number): void {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      setSelected(id);
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const next = index + (e.key === "ArrowDown" ? 1 : -1);
      if (!rows || next < 0 || next >= rows.length) return;
      virtualizer.scrollToIndex(next);
      requestAnimationFrame(() => scrollRef.current?.querySelector<HTMLElement>(`[data-index="${next}"]`)?.focus());
    }
  }

  const now = Date.now();
  const f = facets.data;

  return (
    <section className="page page--wide page--fill" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title" className="page-title" data-testid="page-title">
          Logs
        </h1>
      </div>
      <p className="page-intro muted">Every request through the endpoint, newest first, as it happens — never your keys.</p>

      <div className="filter-bar" role="group" aria-label="Filters">
        <FacetSelect label="App" value={form.app} options={f?.apps} onChange={(v) => set("app", v)} testId="filter-app" />
        <FacetSelect label="Alias" value={form.alias} options={f?.aliases} onChange={(v) => set("alias", v)} testId="filter-alias" />
        <FacetSelect
          label="Provider"
          value={form.provider}
          options={f?.providers}
          onChange={(v) => set("provider", v)}
          testId="filter-provider"
        />
        <FacetSelect label="Model" value={form.model} options={f?.models} onChange={(v) => set("model", v)} testId="filter-model" />
        <label className="filter">
          <span className="filter-label">Status</span>
          <select
            className="input input--select"
            value={form.status}
            onChange={(e) => set("status", e.target.value as FilterForm["status"])}
            data-testid="filter-status"
          >
            <option value="">Any</option>
            <option value="ok">Succeeded</option>
            <option value="errors">Failed</option>
          </select>
        </label>
        <label className="filter">
          <span className="filter-label">When</span>
          <select
            className="input input--select"
            value={form.since}
            onChange={(e) => set("since", e.target.value as Since)}
            data-testid="filter-since"
          >
            {SINCE_CHOICES.map((c) => (
              <option key={c.id} value={c.id}>
                {c.label}
              </option>
            ))}
          </select>
        </label>
        {isFiltered(form) && (
          <button type="button" className="link-button filter-clear" onClick={() => setForm(EMPTY_FILTER)}>
            Clear filters
          </button>
        )}
      </div>

      <FormError message={error} testId="logs-error" />

      {pending.length > 0 && (
        <button type="button" className="new-rows" onClick={showPending} data-testid="show-new-requests">
          {pending.length === 1 ? "1 new request" : `${pending.length} new requests`} — show
        </button>
      )}

      <div className="log-table" role="table" aria-label="Requests" aria-rowcount={rows?.length ?? 0}>
        <div className="log-row log-row--head" role="row">
          {["Time", "Status", "App", "Alias → model", "Tokens in → out", "Cost", "Latency", "TTFT", "Tries"].map((h) => (
            <span key={h} role="columnheader" className="log-cell">
              {h}
            </span>
          ))}
        </div>
        <div className="log-scroll" ref={scrollRef} data-testid="log-list">
          {rows === null && !error && <p className="log-note muted">Loading requests…</p>}
          {rows?.length === 0 &&
            (isFiltered(form) ? (
              <div className="empty" data-testid="logs-empty">
                <p className="empty-title">No requests match these filters</p>
                <button type="button" className="button" onClick={() => setForm(EMPTY_FILTER)}>
                  Clear filters
                </button>
              </div>
            ) : (
              <div className="empty" data-testid="logs-empty">
                <p className="empty-title">No requests yet</p>
                <p className="empty-text">
                  Give a tool an app token on the <a href="#/apps">Apps</a> page and point it at the endpoint; its
                  requests show up here as they happen.
                </p>
              </div>
            ))}
          {rows && rows.length > 0 && (
            <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
              {items.map((item) => {
                const row = rows[item.index];
                if (!row) return null;
                const failed = isError(row);
                return (
                  <div
                    key={row.id}
                    role="row"
                    tabIndex={0}
                    data-index={item.index}
                    data-testid={`log-row-${row.id}`}
                    className={`log-row${failed ? " log-row--error" : ""}`}
                    style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
                    onClick={() => setSelected(row.id)}
                    onKeyDown={(e) => onRowKey(e, item.index, row.id)}
                    aria-label={`Request ${row.id}, ${row.status}, ${route(row)}: open details`}
                  >
                    <span className="log-cell" role="cell">
                      {when(row.tsMs, now)}
                    </span>
                    <span className="log-cell" role="cell">
                      <span className={`status-chip${failed ? " status-chip--error" : ""}`}>{row.status}</span>
                    </span>
                    <span className="log-cell" role="cell" title={row.appName}>
                      {row.appName}
                    </span>
                    <span className="log-cell log-cell--route" role="cell" title={route(row)} data-testid="log-route">
                      {route(row)}
                    </span>
                    <span className="log-cell log-cell--num" role="cell">
                      {tokens(row)}
                    </span>
                    <span className="log-cell log-cell--num" role="cell" data-testid="log-cost">
                      {usd(row.costUsd)}
                    </span>
                    <span className="log-cell log-cell--num" role="cell">
                      {duration(row.latencyMs)}
                    </span>
                    <span className="log-cell log-cell--num" role="cell">
                      {duration(row.ttftMs)}
                    </span>
                    <span className="log-cell log-cell--num" role="cell">
                      {row.attempts.length || 1}
                    </span>
                  </div>
                );
              })}
            </div>
          )}
        </div>
      </div>

      {selected !== null && <RequestDetail id={selected} onClose={() => setSelected(null)} />}
    </section>
  );
}

function isNewFacet(facets: LogFacets | null, row: RequestDto): boolean {
  if (!facets) return false;
  const missing = (list: string[], value: string | null) => value !== null && !list.includes(value);
  return (
    missing(facets.apps, row.appName) ||
    missing(facets.aliases, row.alias) ||
    missing(facets.providers, row.providerId) ||
    missing(facets.models, row.model)
  );
}

interface FacetSelectProps {
  label: string;
  value: string;
  options: string[] | undefined;
  onChange: (value: string) => void;
  testId: string;
}

function FacetSelect({ label, value, options, onChange, testId }: FacetSelectProps): ReactElement {
  const list = options ?? [];
  return (
    <label className="filter">
      <span className="filter-label">{label}</span>
      <select className="input input--select" value={value} onChange={(e) => onChange(e.target.value)} data-testid={testId}>
        <option value="">Any</option>
        {value !== "" && !list.includes(value) && <option value={value}>{value}</option>}
        {list.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

function RequestDetail({ id, onClose }: { id: number; onClose: () => void }): ReactElement {
  const [detail, setDetail] = useState<RequestDetailDto | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let active = true;
    requestDetail(id)
      .then((d) => active && setDetail(d))
      .catch((err: unknown) => active && setError(toCommandError(err).message));
    return () => {
      active = false;
    };
  }, [id]);

  const r = detail?.request;
  return (
    <Modal
      title={`Request ${id}`}
      onClose={onClose}
      wide
      testId="request-detail"
      footer={
        <button type="button" className="button button--primary" onClick={onClose} data-autofocus>
          Close
        </button>
      }
    >
      <FormError message={error} testId="detail-error" />
      {!r && !error && <p className="muted">Loading…</p>}
      {r && (
        <>
          <dl className="facts facts--detail">
            <dt>Time</dt>
            <dd>{new Date(r.tsMs).toLocaleString()}</dd>
            <dt>Status</dt>
            <dd data-testid="detail-status">
              {r.status}
              {r.error && <span className="detail-error"> — {r.error}</span>}
            </dd>
            <dt>App</dt>
            <dd>{r.appName}</dd>
            <dt>Route</dt>
            <dd>
              {route(r)}
              {r.providerId && <span className="muted"> via {r.providerId}</span>}
            </dd>
            <dt>Protocol</dt>
            <dd>
              {r.clientProtocol}
              {r.stream ? ", streamed" : ""}
            </dd>
            <dt>Tokens</dt>
            <dd data-testid="detail-tokens">
              {count(r.inputTokens)} in ({count(r.cachedInputTokens)} cached, {cacheWrites(r)}) ·{" "}
              {count(r.outputTokens)} out ({count(r.reasoningTokens)} reasoning)
            </dd>
            <dt>Cost</dt>
            <dd data-testid="detail-cost">
              {usd(r.costUsd)}
              {r.costSource && <span className="muted"> ({costSource(r.costSource)})</span>}
            </dd>
            <dt>Latency</dt>
            <dd>
              {duration(r.latencyMs)} total · {duration(r.ttftMs)} to first token
            </dd>
          </dl>
          {r.attempts.length > 0 && (
            <>
              <h3 className="section-title">Attempts</h3>
              <ol className="attempts">
                {r.attempts.map((a, i) => (
                  <li key={i}>
                    <code>{a.target}</code> — {a.result} <span className="muted">({duration(a.elapsedMs)})</span>
                  </li>
                ))}
              </ol>
            </>
          )}
          <h3 className="section-title">Request and response</h3>
          {detail.bodies ? (
            <div className="bodies" data-testid="detail-bodies">
              {detail.bodies.truncated && <p className="muted">Cut at 256 KB each.</p>}
              <Body title="Request" text={detail.bodies.request} />
              <Body title="Response" text={detail.bodies.response} />
            </div>
          ) : (
            <p className="muted" data-testid="detail-no-bodies">
              {detail.loggingOn
                ? "Not kept for this request: request logging was off when it ran, or its retention has passed."
                : "Request logging is off, so prompts and answers are not kept. Turn it on in Settings to see them for new requests."}
            </p>
          )}
        </>
      )}
    </Modal>
  );
}

function Body({ title, text }: { title: string; text: string | null }): ReactElement {
  return (
    <details className="body-block" open>
      <summary>{title}</summary>
      <pre className="body-text">{text === null ? "(none)" : prettyBody(text)}</pre>
    </details>
  );
}

function costSource(source: string): string {
  switch (source) {
    case "provider":
      return "reported by the provider";
    case "table":
    case "prices":
      return "from the price table";
    case "override":
      return "from your price override";
    case "local":
      return "a local model";
    case "unknown":
      return "no price known for this model";
    default:
      return source;
  }
}
