import { useState, type ReactElement } from "react";

import { cancelCheck, checkClient, disconnectClient, testClient } from "../../api/clients";
import type { ClientDto } from "../../api/generated/ClientDto";
import type { ClientTestDto } from "../../api/generated/ClientTestDto";
import type { ConnectedDto } from "../../api/generated/ConnectedDto";
import type { DisconnectedDto } from "../../api/generated/DisconnectedDto";
import { toCommandError } from "../../api/invoke";
import { FormError } from "../../components/FormError";
import { TryOutcome } from "../aliases/TryBox";
import { TokenPanel } from "../SetupSnippets";
import { CheckGrid } from "./CheckGrid";
import { EMPTY_GRID, applyCheckEvent, installedText, isConnected, restoredText, stateView, testHint, type Grid } from "./clientsView";

/** What the card shows under its facts: the last thing done to it. */
export type Outcome =
  | { kind: "connected"; result: ConnectedDto }
  | { kind: "disconnected"; result: DisconnectedDto }
  | null;

interface ClientCardProps {
  client: ClientDto;
  /** `undefined` while asked, `null` when it prints none. */
  version: string | null | undefined;
  outcome: Outcome;
  onConnect: () => void;
  onDisconnected: (result: DisconnectedDto) => void;
}

const PROTOCOL = {
  anthropic: "Anthropic Messages",
  responses: "OpenAI Responses",
  gemini: "Gemini API",
  openAiChat: "OpenAI chat completions",
} as const;

type Busy = "disconnect" | "test" | "check" | null;

/** One client: installed, connected or not, its app, aliases and files; Connect, Disconnect, Test and Check. */
export function ClientCard({ client, version, outcome, onConnect, onDisconnected }: ClientCardProps): ReactElement {
  const id = client.id;
  const state = stateView(client);
  const connected = isConnected(client);
  const [busy, setBusy] = useState<Busy>(null);
  const [error, setError] = useState<string | null>(null);
  const [test, setTest] = useState<ClientTestDto | null>(null);
  const [grid, setGrid] = useState<Grid | null>(null);

  async function run(what: Busy, work: () => Promise<void>): Promise<void> {
    setBusy(what);
    setError(null);
    try {
      await work();
    } catch (err) {
      setError(toCommandError(err).message);
    } finally {
      setBusy(null);
    }
  }

  const disconnect = () =>
    run("disconnect", async () => {
      const result = await disconnectClient(id);
      setTest(null);
      setGrid(null);
      onDisconnected(result);
    });
  const runTest = () =>
    run("test", async () => {
      setTest(null);
      setTest(await testClient(id, null));
    });
  const runCheck = () =>
    run("check", async () => {
      setGrid(EMPTY_GRID);
      await checkClient(id, null, (event) => setGrid((g) => applyCheckEvent(g ?? EMPTY_GRID, event)));
    });

  const files = client.files;
  const slots = client.slots.filter((s) => client.aliases[s.id] !== undefined);
  const noToken = !client.holdsToken;
  return (
    <li className="card" data-testid={`client-card-${id}`}>
      <div className="card-head">
        <div className="card-title-group">
          <h2 className="card-title">{client.name}</h2>
          <span className="muted">Speaks {PROTOCOL[client.protocol]}</span>
        </div>
        <div className="card-actions">
          <span className={`status-chip status-chip--${state.tone}`} data-testid={`client-state-${id}`}>
            {state.label}
          </span>
        </div>
      </div>
      {state.detail && (
        <p className={state.tone === "error" ? "test-result test-result--error" : "note"} data-testid={`client-state-detail-${id}`}>
          {state.detail}
        </p>
      )}
      <dl className="facts">
        <dt>Installed</dt>
        <dd className="url" data-testid={`client-installed-${id}`}>
          {client.binary ? <code>{installedText(client, version)}</code> : <span className="muted">{installedText(client, version)}</span>}
        </dd>
        <dt>{files.length === 1 ? "Config file" : "Config files"}</dt>
        <dd className="url" data-testid={`client-files-${id}`}>
          {files.map((f, i) => (
            <span key={f}>
              {i > 0 && ", "}
              <code>{f}</code>
            </span>
          ))}
        </dd>
        {connected && (
          <>
            <dt>App</dt>
            <dd data-testid={`client-app-${id}`}>{client.app ?? <span className="muted">not connected by Switchboard</span>}</dd>
            <dt>Aliases</dt>
            <dd data-testid={`client-aliases-${id}`}>
              {slots.length === 0 ? (
                <span className="muted">none named</span>
              ) : (
                slots.map((s, i) => (
                  <span key={s.id}>
                    {i > 0 && " · "}
                    {s.label}: <code>{client.aliases[s.id]}</code>
                  </span>
                ))
              )}
            </dd>
          </>
        )}
      </dl>

      <div className="button-row">
        {client.state.kind !== "unreadable" && (
          <button
            type="button"
            className={client.state.kind === "drifted" || !connected ? "button button--primary" : "button"}
            onClick={onConnect}
            disabled={busy !== null}
            data-testid={`connect-${id}`}
          >
            {client.state.kind === "drifted" ? "Reconnect…" : connected ? "Change…" : "Connect…"}
          </button>
        )}
        {connected && (
          <>
            <button type="button" className="button" onClick={() => void runTest()} disabled={busy !== null || noToken} data-testid={`test-${id}`}>
              {busy === "test" ? "Testing…" : "Test"}
            </button>
            {busy === "check" ? (
              <button type="button" className="button" onClick={() => void cancelCheck(id)} data-testid={`stop-check-${id}`}>
                Stop check
              </button>
            ) : (
              <button type="button" className="button" onClick={() => void runCheck()} disabled={busy !== null || noToken} data-testid={`check-${id}`}>
                Check
              </button>
            )}
            <span className="button-row-gap" />
            <button
              type="button"
              className="button button--danger-quiet"
              onClick={() => void disconnect()}
              disabled={busy !== null}
              data-testid={`disconnect-${id}`}
            >
              {busy === "disconnect" ? "Disconnecting…" : "Disconnect"}
            </button>
          </>
        )}
      </div>
      {connected && noToken && (
        <p className="field-hint">
          {client.name} keeps its key in its own settings, so Test and Check can’t send as it does: try its alias on
          the Aliases page instead.
        </p>
      )}

      <FormError message={error} testId={`client-error-${id}`} />
      {outcome && <OutcomeView id={id} outcome={outcome} />}
      {test && (
        <div className="try-result" data-testid={`client-test-${id}`}>
          <p className="muted">
            Sent to <code>{test.baseUrl}</code> as {client.name} sends it, asking for <code>{test.alias}</code>:
          </p>
          <TryOutcome id={`client-${id}`} result={test.result} hint={testHint} />
        </div>
      )}
      {grid && grid.rows.length > 0 && <CheckGrid clientId={id} grid={grid} />}
    </li>
  );
}

function OutcomeView({ id, outcome }: { id: string; outcome: NonNullable<Outcome> }): ReactElement {
  if (outcome.kind === "disconnected") {
    const files = outcome.result.files;
    return (
      <div className="note" role="status" data-testid={`client-notice-${id}`}>
        <p>Disconnected.</p>
        <ul className="plain-list">
          {files.map((f) => (
            <li key={f.path}>{restoredText(f)}</li>
          ))}
        </ul>
      </div>
    );
  }
  const { result } = outcome;
  return (
    <div className="note" role="status" data-testid={`client-notice-${id}`}>
      <p className="note--ok">
        {result.changed ? `Connected as “${result.appName}”.` : `Already connected like this as “${result.appName}”: nothing was written.`}
        {result.token === "rotate" && " Its token was rotated."}
      </p>
      {result.warnings.length > 0 && (
        <ul className="plain-list client-warnings" data-testid={`client-warnings-${id}`}>
          {result.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      {result.tokenToPaste && <TokenPanel token={result.tokenToPaste} />}
    </div>
  );
}
