import { useState, type ReactElement } from "react";

import { listAliases } from "../api/aliases";
import { deleteApp, getAllAppsLimits, listApps, rotateAppToken } from "../api/apps";
import type { App } from "../api/types";
import { ConfirmDialog, type ConfirmRequest } from "../components/ConfirmDialog";
import { FormError } from "../components/FormError";
import { DEFAULT_ENDPOINT } from "../components/Header";
import { PlusIcon } from "../components/icons";
import { Modal } from "../components/Modal";
import { useGatewayStatus } from "../components/useGatewayStatus";
import { useLedgerWritten } from "../components/useLedgerWritten";
import { useResource } from "../components/useResource";
import { AllAppsLimitsCard } from "./apps/AllAppsLimitsCard";
import { AppCard } from "./apps/AppCard";
import { EditAppDialog, NewAppDialog } from "./apps/AppDialogs";
import { SetupSnippets, TokenPanel } from "./SetupSnippets";
import { pickAliases } from "./snippets";

/** New app form → its token; an existing app's setup (no token) → maybe a rotated token. */
type Dialog = { type: "new" } | { type: "edit"; app: App } | { type: "setup"; app: App } | { type: "token"; app: App; token: string; fresh: boolean };

export function AppsPage(): ReactElement {
  const apps = useResource(listApps);
  const aliases = useResource(listAliases);
  const allAppsLimits = useResource(getAllAppsLimits);
  // A refused request writes a ledger row: the limits hit last are read again (from memory) when rows are written.
  useLedgerWritten(() => {
    void apps.reload();
    void allAppsLimits.reload();
  });
  const { status } = useGatewayStatus();
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);

  const endpoint = status?.endpoint ?? DEFAULT_ENDPOINT;
  const aliasNames = (aliases.data ?? []).map((a) => a.name);
  const list = apps.data;

  function askRotate(app: App): void {
    setConfirm({
      title: `Rotate the token of “${app.name}”?`,
      body: (
        <p>
          The old token stops working at once: anything still using it gets “unauthorized” until you paste the new one.
        </p>
      ),
      confirmLabel: "Rotate token",
      action: async () => {
        const { app: updated, token } = await rotateAppToken(app.id);
        setDialog({ type: "token", app: updated, token, fresh: false });
        void apps.reload();
      },
    });
  }

  function askDelete(app: App): void {
    setConfirm({
      title: `Delete “${app.name}”?`,
      body: <p>Its token stops working at once. This can’t be undone; you can make a new app later.</p>,
      confirmLabel: "Delete app",
      action: async () => {
        await deleteApp(app.id);
        await apps.reload();
      },
    });
  }

  const loadError = apps.error ?? aliases.error ?? allAppsLimits.error;
  const snippetAliases = (app: App) => pickAliases(aliasNames, app.allowedAliases);

  return (
    <section className="page page--wide" aria-labelledby="page-title">
      <div className="page-head">
        <h1 id="page-title" className="page-title" data-testid="page-title">
          Apps
        </h1>
        {list && (
          <button type="button" className="button button--primary" data-testid="new-app" onClick={() => setDialog({ type: "new" })}>
            <PlusIcon />
            New app
          </button>
        )}
      </div>
      <p className="page-intro muted">
        Give each tool its own token, so you can see who uses what and cut one off without touching the others.
      </p>

      {loadError && <FormError message={`Couldn’t load apps: ${loadError.message}`} testId="load-error" />}

      {list && list.length === 0 && (
        <div className="empty" data-testid="apps-empty">
          <p className="empty-title">No apps yet</p>
          <p className="empty-text">
            Make one for each tool — “VS Code – Continue”, “Claude Code”, a script — and paste its token there.
          </p>
        </div>
      )}

      {allAppsLimits.data && (
        <AllAppsLimitsCard current={allAppsLimits.data} onSaved={() => void allAppsLimits.reload()} />
      )}

      {list && list.length > 0 && (
        <ul className="card-list">
          {list.map((app) => (
            <AppCard
              key={app.id}
              app={app}
              onChanged={() => void apps.reload()}
              onSetup={() => setDialog({ type: "setup", app })}
              onEdit={() => setDialog({ type: "edit", app })}
              onRotate={() => askRotate(app)}
              onDelete={() => askDelete(app)}
            />
          ))}
        </ul>
      )}

      {dialog?.type === "new" && (
        <NewAppDialog
          aliasNames={aliasNames}
          onClose={() => setDialog(null)}
          onCreated={(app, token) => {
            setDialog({ type: "token", app, token, fresh: true });
            void apps.reload();
          }}
        />
      )}
      {dialog?.type === "edit" && (
        <EditAppDialog
          app={dialog.app}
          aliasNames={aliasNames}
          onClose={() => setDialog(null)}
          onSaved={() => {
            setDialog(null);
            void apps.reload();
          }}
        />
      )}
      {dialog?.type === "token" && (
        <Modal
          title={dialog.fresh ? `“${dialog.app.name}” is ready` : `New token for “${dialog.app.name}”`}
          onClose={() => setDialog(null)}
          wide
          testId="token-dialog"
          footer={
            <button type="button" className="button button--primary" onClick={() => setDialog(null)}>
              Done
            </button>
          }
        >
          <TokenPanel token={dialog.token} />
          <h3 className="section-title">Set up a client</h3>
          <SetupSnippets endpoint={endpoint} token={dialog.token} {...snippetAliases(dialog.app)} />
        </Modal>
      )}
      {dialog?.type === "setup" && (
        <Modal
          title={`Set up “${dialog.app.name}”`}
          onClose={() => setDialog(null)}
          wide
          testId="setup-dialog"
          footer={
            <>
              <button
                type="button"
                className="button"
                onClick={() => askRotate(dialog.app)}
                data-testid="setup-rotate"
              >
                Rotate token…
              </button>
              <button type="button" className="button button--primary" onClick={() => setDialog(null)}>
                Done
              </button>
            </>
          }
        >
          <p className="muted">
            The token was shown once, when it was made; replace <code>&lt;your token&gt;</code> with it. Lost it? Rotate
            the token to get a new one.
          </p>
          <SetupSnippets endpoint={endpoint} token={null} {...snippetAliases(dialog.app)} />
        </Modal>
      )}
      {confirm && <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} />}
    </section>
  );
}
