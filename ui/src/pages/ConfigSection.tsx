import { Fragment, useEffect, useState, type ReactElement } from "react";

import { exportConfig, importConfig, previewConfigImport } from "../api/config";
import type { ImportPreview } from "../api/generated/ImportPreview";
import { toCommandError } from "../api/invoke";
import { defaultExportPath } from "../api/usage";
import { FormError } from "../components/FormError";
import { changesAnything, countOf, followUps, previewLines } from "./configView";

const FILE_NAME = "switchboard.toml";

/** Settings → Configuration file: export everything as TOML, or preview and apply a file. */
export function ConfigSection({ onImported }: { onImported: () => void }): ReactElement {
  const [path, setPath] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [preview, setPreview] = useState<ImportPreview | null>(null);
  const [applied, setApplied] = useState<ImportPreview | null>(null);

  useEffect(() => {
    let active = true;
    defaultExportPath(FILE_NAME)
      .then((p) => active && setPath(p))
      .catch(() => undefined);
    return () => {
      active = false;
    };
  }, []);

  async function run(work: () => Promise<void>): Promise<void> {
    setBusy(true);
    setError(null);
    setDone(null);
    setApplied(null);
    try {
      await work();
    } catch (err) {
      setError(toCommandError(err).message);
    } finally {
      setBusy(false);
    }
  }

  const doExport = () =>
    run(async () => {
      setPreview(null);
      const r = await exportConfig(path);
      setDone(
        `Saved ${countOf(r.providers, "provider")}, ${countOf(r.aliases, "alias", "aliases")} and ${countOf(r.apps, "app")} to ${r.path}. ` +
          "Keys stay in the keychain; the file only names them.",
      );
    });

  const doPreview = () =>
    run(async () => {
      setPreview(await previewConfigImport(path));
    });

  const doImport = () =>
    run(async () => {
      const result = await importConfig(path);
      setPreview(null);
      setApplied(result);
      onImported();
    });

  const todo = applied ? followUps(applied) : [];

  return (
    <fieldset className="fieldset" data-testid="config-section">
      <legend>Configuration file</legend>
      <p className="field-hint">
        Providers, aliases, apps, budgets and these settings as one TOML file, the format the headless gateway reads. Keys appear only as
        keychain names and app tokens not at all. Importing makes this computer match the file: what it leaves out is removed.
      </p>
      <label className="field">
        <span className="field-label">File</span>
        <input
          className="input input--mono"
          value={path}
          onChange={(e) => {
            setPath(e.target.value);
            setPreview(null);
          }}
          disabled={busy}
          data-testid="config-path"
        />
      </label>
      <div className="button-row">
        <button type="button" className="button" onClick={() => void doExport()} disabled={busy || !path} data-testid="config-export">
          Export
        </button>
        <button type="button" className="button" onClick={() => void doPreview()} disabled={busy || !path} data-testid="config-preview">
          Import…
        </button>
      </div>
      <FormError message={error} testId="config-error" />
      {done && (
        <p className="note note--ok" role="status" data-testid="config-exported">
          {done}
        </p>
      )}
      {preview && (
        <div className="config-preview" data-testid="config-preview-result">
          <p className="field-label">Importing {preview.path} will change:</p>
          <dl className="facts">
            {previewLines(preview).map((line) => (
              <Fragment key={line.label}>
                <dt>{line.label}</dt>
                <dd data-testid={`config-preview-${line.label.toLowerCase()}`}>{line.text}</dd>
              </Fragment>
            ))}
          </dl>
          {followUps(preview).length > 0 && (
            <ul className="note" data-testid="config-preview-followups">
              {followUps(preview).map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          )}
          <div className="button-row">
            <button type="button" className="button" onClick={() => setPreview(null)} disabled={busy}>
              Cancel
            </button>
            <button
              type="button"
              className="button button--primary"
              onClick={() => void doImport()}
              disabled={busy || !changesAnything(preview)}
              data-testid="config-import"
            >
              {changesAnything(preview) ? "Import" : "Nothing to import"}
            </button>
          </div>
        </div>
      )}
      {applied && (
        <div className="note note--ok" role="status" data-testid="config-imported">
          <p>Imported {applied.path}.</p>
          {todo.length > 0 && (
            <ul data-testid="config-imported-followups">
              {todo.map((line) => (
                <li key={line}>{line}</li>
              ))}
            </ul>
          )}
        </div>
      )}
    </fieldset>
  );
}
