import { useEffect, useState, type ReactElement } from "react";

import { listAliases } from "../api/aliases";
import { listApps } from "../api/apps";
import { clientVersion, listClients } from "../api/clients";
import type { ClientDto } from "../api/generated/ClientDto";
import { FormError } from "../components/FormError";
import { DEFAULT_ENDPOINT } from "../components/Header";
import { useGatewayStatus } from "../components/useGatewayStatus";
import { useResource } from "../components/useResource";
import { ClientCard, type Outcome } from "./clients/ClientCard";
import { ConnectDialog } from "./clients/ConnectDialog";
import { SetupSnippets } from "./SetupSnippets";
import { pickAliases } from "./snippets";

/**
 * The coding tools Switchboard points at itself by editing their own config files: a card per tool (installed,
 * connected, drifted or unreadable; its app, aliases and files) with Connect, Disconnect, Test and Check. Tools that
 * keep their settings where Switchboard can't write them (Cline, Roo Code, inside VS Code) get copy-paste setup.
 */
export function ClientsPage(): ReactElement {
  const clients = useResource(listClients);
  const apps = useResource(listApps);
  const aliases = useResource(listAliases);
  const { status } = useGatewayStatus();
  const [connecting, setConnecting] = useState<ClientDto | null>(null);
  const [outcomes, setOutcomes] = useState<Record<string, Outcome>>({});
  const [versions, setVersions] = useState<Record<string, string | null>>({});

  const list = clients.data?.clients ?? null;
  const aliasNames = (aliases.data ?? []).map((a) => a.name);
  const endpoint = status?.endpoint ?? DEFAULT_ENDPOINT;

  // Versions one at a time, after the cards are up: each runs the tool's binary.
  const installed = (list ?? []).filter((c) => c.binary !== null).map((c) => c.id).join(",");
  useEffect(() => {
    const run = { active: true };
    void (async () => {
      for (const id of installed ? installed.split(",") : []) {
        const version = await clientVersion(id).catch(() => null);
        if (!run.active) return;
        setVersions((v) => ({ ...v, [id]: version }));
      }
    })();
    return () => {
      run.active = false;
    };
  }, [installed]);

  function setOutcome(id: string, outcome: Outcome): void {
    setOutcomes((o) => ({ ...o, [id]: outcome }));
  }

  const loadError = clients.error ?? apps.error ?? aliases.error;
  const notListening = status !== null && status.state !== "listening";
  return (
    <section className="page page--wide" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title" className="page-title" data-testid="page-title">
          Clients
        </h1>
      </div>
      <p className="page-intro muted">
        Point your coding tools at Switchboard. Connect writes only Switchboard’s keys into each tool’s own config file
        and keeps the rest; Disconnect puts the file back. Check tells you, before a long task, whether a model works
        for that tool.
      </p>

      {notListening && (
        <div className="banner banner--warning banner--inline" role="alert" data-testid="clients-not-listening">
          <div>
            <p className="banner-title">The endpoint isn’t listening, so Test and Check have nothing to reach.</p>
            <p className="banner-body">{status.error?.fix ?? "The header says why; fix that first."}</p>
          </div>
        </div>
      )}
      {loadError && (
        <FormError
          message={`Couldn’t load the clients: ${loadError.message}. Check that your home folder is readable, then open this page again.`}
          testId="load-error"
        />
      )}
      {!list && !loadError && <p className="muted">Looking for your tools…</p>}

      {list?.length === 0 && (
        <div className="empty" data-testid="clients-empty">
          <p className="empty-title">No tools to connect</p>
          <p className="empty-text">This Switchboard knows no clients; set your tools up by hand below.</p>
        </div>
      )}
      {list && list.length > 0 && (
        <ul className="card-list" data-testid="client-list">
          {list.map((client) => (
            <ClientCard
              key={client.id}
              client={client}
              version={client.binary ? versions[client.id] : null}
              outcome={outcomes[client.id] ?? null}
              onConnect={() => setConnecting(client)}
              onDisconnected={(result) => {
                setOutcome(client.id, { kind: "disconnected", result });
                void clients.reload();
              }}
            />
          ))}
        </ul>
      )}

      <h2 className="section-title section-title--spaced">Set up by hand</h2>
      <p className="muted">
        Cline and Roo Code keep their settings inside VS Code’s own storage, where Switchboard doesn’t write: fill in
        their “OpenAI Compatible” provider with these. Use an app’s token (make one on the Apps page; it is shown once).
      </p>
      <SetupSnippets endpoint={endpoint} token={null} initial="cline" {...pickAliases(aliasNames, null)} />

      {connecting && apps.data && (
        <ConnectDialog
          client={connecting}
          apps={apps.data}
          aliasNames={aliasNames}
          onClose={() => setConnecting(null)}
          onConnected={(result) => {
            setOutcome(connecting.id, { kind: "connected", result });
            setConnecting(null);
            void clients.reload();
            void apps.reload();
          }}
        />
      )}
    </section>
  );
}
