import { useEffect, useState, type ReactElement, type SubmitEvent } from "react";

import { listClients, updateConnectedClients } from "../api/clients";
import type { SettingsDto } from "../api/generated/SettingsDto";
import type { UpdatedClient } from "../api/generated/UpdatedClient";
import type { Theme } from "../api/generated/Theme";
import { toCommandError } from "../api/invoke";
import { getLaunchAtLogin, getSettings, resetSettings, saveSettings, setLaunchAtLogin } from "../api/settings";
import { ConfirmDialog, type ConfirmRequest } from "../components/ConfirmDialog";
import { FormError } from "../components/FormError";
import { Switch } from "../components/Switch";
import { useGatewayStatus } from "../components/useGatewayStatus";
import { applyTheme } from "../lib/theme";
import { ConfigSection } from "./ConfigSection";
import { PricesSection } from "./PricesSection";
import { fromForm, toForm, type SettingsForm } from "./settingsForm";

/** After a port change: the connected clients that now point elsewhere, then what updating them did. */
type ClientsOffer = { state: "offer"; names: string[] } | { state: "updating"; names: string[] } | { state: "done"; updated: UpdatedClient[] };

const THEMES: readonly { id: Theme; label: string }[] = [
  { id: "system", label: "Follow the system" },
  { id: "light", label: "Light" },
  { id: "dark", label: "Dark" },
];

export function SettingsPage(): ReactElement {
  const [dto, setDto] = useState<SettingsDto | null>(null);
  const [form, setForm] = useState<SettingsForm | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const [confirm, setConfirm] = useState<ConfirmRequest | null>(null);
  const { status } = useGatewayStatus();
  const [atLogin, setAtLogin] = useState<boolean | null>(null);
  const [loginError, setLoginError] = useState<string | null>(null);
  const [clientsOffer, setClientsOffer] = useState<ClientsOffer | null>(null);
  const [clientsError, setClientsError] = useState<string | null>(null);

  function show(next: SettingsDto): void {
    setDto(next);
    setForm(toForm(next.settings));
    applyTheme(next.settings.theme);
  }

  useEffect(() => {
    let active = true;
    getLaunchAtLogin()
      .then((on) => active && setAtLogin(on))
      .catch((err: unknown) => active && setLoginError(`Couldn’t read the login item: ${toCommandError(err).message}`));
    return () => {
      active = false;
    };
  }, []);

  async function toggleLogin(on: boolean): Promise<void> {
    setLoginError(null);
    try {
      setAtLogin(await setLaunchAtLogin(on));
    } catch (err) {
      setLoginError(toCommandError(err).message);
    }
  }

  function reload(): void {
    getSettings()
      .then(show)
      .catch((err: unknown) => setLoadError(`Couldn’t load settings: ${toCommandError(err).message}`));
  }

  useEffect(() => {
    let active = true;
    getSettings()
      .then((s) => {
        if (active) show(s);
      })
      .catch((err: unknown) => {
        if (active) setLoadError(`Couldn’t load settings: ${toCommandError(err).message}`);
      });
    return () => {
      active = false;
    };
  }, []);

  function set<K extends keyof SettingsForm>(key: K, value: SettingsForm[K]): void {
    setForm((f) => (f ? { ...f, [key]: value } : f));
    setSaved(false);
  }

  async function save(e: SubmitEvent<HTMLFormElement>): Promise<void> {
    e.preventDefault();
    if (!form) return;
    const input = fromForm(form);
    if (typeof input === "string") {
      setError(input);
      return;
    }
    setBusy(true);
    setError(null);
    const portChanged = dto !== null && input.port !== dto.settings.port;
    try {
      show(await saveSettings(input));
      setSaved(true);
      if (portChanged) await offerClientUpdate();
    } catch (err) {
      setError(toCommandError(err).message);
    } finally {
      setBusy(false);
    }
  }

  /** Connected clients drift when the port moves: offer to point them at the new one. */
  async function offerClientUpdate(): Promise<void> {
    setClientsError(null);
    try {
      const { clients } = await listClients();
      const names = clients.filter((c) => c.app !== null && c.state.kind === "drifted").map((c) => c.name);
      setClientsOffer(names.length > 0 ? { state: "offer", names } : null);
    } catch (err) {
      setClientsError(`Couldn’t check the connected clients: ${toCommandError(err).message}`);
    }
  }

  async function updateClients(names: string[]): Promise<void> {
    setClientsOffer({ state: "updating", names });
    setClientsError(null);
    try {
      setClientsOffer({ state: "done", updated: await updateConnectedClients() });
    } catch (err) {
      setClientsError(toCommandError(err).message);
      setClientsOffer({ state: "offer", names });
    }
  }

  function askReset(): void {
    setConfirm({
      title: "Reset settings?",
      body: (
        <p>
          The port, bind address, allowed hosts and origins, request logging, theme and overall budget go back to their
          defaults. Providers, keys, aliases, apps and your history stay.
        </p>
      ),
      confirmLabel: "Reset settings",
      action: async () => {
        show(await resetSettings());
        setSaved(false);
        setError(null);
      },
    });
  }

  const failed = status?.state === "failed" ? status.error : null;

  return (
    <section className="page page--wide" aria-labelledby="page-title">
      <h1 id="page-title" className="page-title" data-testid="page-title">
        Settings
      </h1>
      <FormError message={loadError} testId="load-error" />
      {!form && !loadError && <p className="muted">Loading settings…</p>}
      {form && dto && (
        <form className="form settings" onSubmit={(e) => void save(e)} noValidate>
          <fieldset className="fieldset">
            <legend>Endpoint</legend>
            {failed && (
              <div className="banner banner--error" role="alert" data-testid="settings-endpoint-error">
                <div>
                  <p className="banner-title">{failed.message}</p>
                  <p className="banner-body">{failed.fix}</p>
                </div>
              </div>
            )}
            <div className="field-row">
              <label className="field field--narrow">
                <span className="field-label">Port</span>
                <input
                  className="input"
                  inputMode="numeric"
                  value={form.port}
                  onChange={(e) => set("port", e.target.value)}
                  data-testid="settings-port"
                />
              </label>
              <label className="field field--grow">
                <span className="field-label">Listen on</span>
                <input className="input input--mono" value={form.bind} onChange={(e) => set("bind", e.target.value)} data-testid="settings-bind" />
                <span className="field-hint">127.0.0.1 keeps the endpoint to this machine. 0.0.0.0 opens it to your network.</span>
              </label>
            </div>
            {clientsOffer && clientsOffer.state !== "done" && (
              <div className="banner banner--info banner--inline" role="status" data-testid="settings-clients-offer">
                <div>
                  <p className="banner-title">
                    {clientsOffer.names.length === 1 ? "1 connected client still points" : `${clientsOffer.names.length} connected clients still point`}{" "}
                    at the old port: {clientsOffer.names.join(", ")}.
                  </p>
                  <div className="button-row">
                    <button
                      type="button"
                      className="button button--primary"
                      disabled={clientsOffer.state === "updating"}
                      onClick={() => void updateClients(clientsOffer.names)}
                      data-testid="settings-update-clients"
                    >
                      {clientsOffer.state === "updating"
                        ? "Updating…"
                        : `Update ${clientsOffer.names.length} connected ${clientsOffer.names.length === 1 ? "client" : "clients"}`}
                    </button>
                  </div>
                </div>
              </div>
            )}
            {clientsOffer?.state === "done" && (
              <ul className="plain-list note" role="status" data-testid="settings-clients-updated">
                {clientsOffer.updated.map((u) => (
                  <li key={u.id} className={u.ok ? "note--ok" : "test-result--error"}>
                    {u.name}: {u.message}
                  </li>
                ))}
              </ul>
            )}
            <FormError message={clientsError} testId="settings-clients-error" />
            {dto.portFromEnv !== null && (
              <p className="note" data-testid="settings-port-env">
                SWITCHBOARD_PORT={dto.portFromEnv} is set, so this run listens on port {dto.portFromEnv} whatever is stored here.
              </p>
            )}
            <label className="field">
              <span className="field-label">Allowed host names</span>
              <textarea
                className="input textarea input--mono"
                rows={2}
                value={form.allowedHosts}
                onChange={(e) => set("allowedHosts", e.target.value)}
                placeholder="my-box.local"
                data-testid="settings-hosts"
              />
              <span className="field-hint">One per line. Loopback names (localhost, 127.0.0.1) are always allowed.</span>
            </label>
            <label className="field">
              <span className="field-label">Allowed browser origins</span>
              <textarea
                className="input textarea input--mono"
                rows={2}
                value={form.allowedOrigins}
                onChange={(e) => set("allowedOrigins", e.target.value)}
                placeholder="https://example.com"
                data-testid="settings-origins"
              />
              <span className="field-hint">One per line. Web pages are refused unless their origin is listed here.</span>
            </label>
          </fieldset>

          <fieldset className="fieldset">
            <legend>Request logging</legend>
            <div className="switch-row">
              <Switch
                checked={form.loggingBodies}
                onChange={(v) => set("loggingBodies", v)}
                label="Keep prompts and answers"
                testId="settings-logging"
              />
              <span>Keep each request’s prompt and answer, to read them on the Logs page</span>
            </div>
            <label className="field field--narrow">
              <span className="field-label">Keep them for (days)</span>
              <input
                className="input"
                inputMode="numeric"
                value={form.retentionDays}
                onChange={(e) => set("retentionDays", e.target.value)}
                disabled={!form.loggingBodies}
                data-testid="settings-retention"
              />
            </label>
          </fieldset>

          <fieldset className="fieldset">
            <legend>Budget for all apps</legend>
            <div className="field-row">
              <label className="field field--narrow">
                <span className="field-label">Per day (USD)</span>
                <input className="input" inputMode="decimal" value={form.dailyUsd} onChange={(e) => set("dailyUsd", e.target.value)} placeholder="none" data-testid="settings-daily" />
              </label>
              <label className="field field--narrow">
                <span className="field-label">Per month (USD)</span>
                <input className="input" inputMode="decimal" value={form.monthlyUsd} onChange={(e) => set("monthlyUsd", e.target.value)} placeholder="none" data-testid="settings-monthly" />
              </label>
              <label className="field field--narrow">
                <span className="field-label">When reached</span>
                <select className="input input--select" value={form.action} onChange={(e) => set("action", e.target.value === "block" ? "block" : "warn")} data-testid="settings-action">
                  <option value="warn">Warn</option>
                  <option value="block">Block requests</option>
                </select>
              </label>
            </div>
          </fieldset>

          <fieldset className="fieldset">
            <legend>Startup</legend>
            <div className="switch-row">
              <Switch
                checked={atLogin === true}
                onChange={(v) => void toggleLogin(v)}
                disabled={atLogin === null}
                label="Launch at login"
                testId="settings-launch-at-login"
              />
              <span>Start Switchboard in the tray when you log in, so the endpoint is always there</span>
            </div>
            <FormError message={loginError} testId="settings-login-error" />
          </fieldset>

          <fieldset className="fieldset">
            <legend>Appearance</legend>
            <div className="radio-row" role="radiogroup" aria-label="Theme">
              {THEMES.map((t) => (
                <label key={t.id} className="radio">
                  <input type="radio" name="theme" value={t.id} checked={form.theme === t.id} onChange={() => set("theme", t.id)} data-testid={`theme-${t.id}`} />
                  {t.label}
                </label>
              ))}
            </div>
          </fieldset>

          <fieldset className="fieldset">
            <legend>Data</legend>
            <dl className="facts">
              <dt>Data folder</dt>
              <dd className="url" data-testid="settings-data-dir">
                <code>{dto.dataDir}</code>
              </dd>
              <dt>Log files</dt>
              <dd className="url">
                <code>{dto.logDir}</code>
              </dd>
            </dl>
            <p className="field-hint">Set SWITCHBOARD_DATA_DIR before starting Switchboard to use another data folder.</p>
          </fieldset>

          <FormError message={error} testId="settings-error" />
          <div className="button-row">
            <button type="button" className="button button--danger-quiet" onClick={askReset} data-testid="settings-reset">
              Reset settings…
            </button>
            <span className="button-row-gap" />
            {saved && (
              <span className="note note--ok" role="status" data-testid="settings-saved">
                Saved
              </span>
            )}
            <button type="submit" className="button button--primary" disabled={busy} data-testid="settings-save">
              {busy ? "Saving…" : "Save"}
            </button>
          </div>
        </form>
      )}
      {form && dto && (
        <div className="form settings settings--after">
          <PricesSection />
          <ConfigSection onImported={reload} />
        </div>
      )}
      {confirm && <ConfirmDialog request={confirm} onClose={() => setConfirm(null)} />}
    </section>
  );
}
