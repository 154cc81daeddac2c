import { useEffect, useState, type ReactElement } from "react";

import { copyEndpoint } from "../api/gateway";
import { toCommandError } from "../api/invoke";
import type { GatewayState } from "../api/types";
import { AlertIcon, CheckIcon, CopyIcon, InfoIcon } from "./icons";
import { KeychainWarning } from "./KeychainWarning";
import { isNotInApp, useGatewayStatus } from "./useGatewayStatus";

/** Shown until the backend tells us the real endpoint. */
export const DEFAULT_ENDPOINT = "http://127.0.0.1:7352/v1";

const COPIED_MS = 1500;

const STATUS_LABEL: Record<GatewayState, string> = {
  starting: "Starting…",
  listening: "Listening",
  failed: "Not listening",
};

type CopyState = "idle" | "copied" | "failed";

export function Header(): ReactElement {
  const { status, problem } = useGatewayStatus();
  const [copy, setCopy] = useState<CopyState>("idle");

  useEffect(() => {
    if (copy === "idle") return;
    const timer = window.setTimeout(() => setCopy("idle"), COPIED_MS);
    return () => window.clearTimeout(timer);
  }, [copy]);

  const state: GatewayState = status?.state ?? "starting";
  const endpoint = status?.endpoint ?? DEFAULT_ENDPOINT;
  const error = status?.state === "failed" ? status.error : null;

  async function onCopy(): Promise<void> {
    try {
      await copyEndpoint();
      setCopy("copied");
    } catch (err) {
      console.warn("copy_endpoint failed:", toCommandError(err).message);
      setCopy("failed");
    }
  }

  return (
    <div className="header-stack">
      <header className="header">
        <div className="endpoint-group">
          <span className="endpoint-label">Local endpoint</span>
          <code
            className={status ? "endpoint" : "endpoint endpoint--pending"}
            data-testid="endpoint"
            title={status ? "Point your tools at this base URL" : "The default endpoint; waiting for the gateway"}
          >
            {endpoint}
          </code>
        </div>
        <div className="header-actions">
          <span className={`pill pill--${state}`} role="status" aria-live="polite">
            <span className="pill-dot" aria-hidden="true" />
            <span data-testid="gateway-status">{STATUS_LABEL[state]}</span>
          </span>
          <button
            type="button"
            className="button"
            data-testid="copy-endpoint"
            onClick={() => void onCopy()}
            disabled={status === null}
            aria-label={copy === "copied" ? "Copied" : "Copy endpoint"}
          >
            {copy === "copied" ? <CheckIcon /> : <CopyIcon />}
            <span>{copy === "copied" ? "Copied" : copy === "failed" ? "Couldn’t copy" : "Copy"}</span>
          </button>
        </div>
      </header>
      {error && (
        <div className="banner banner--error" role="alert" data-testid="gateway-error">
          <AlertIcon className="banner-icon" />
          <div>
            <p className="banner-title">{error.message}</p>
            <p className="banner-body">{error.fix}</p>
          </div>
        </div>
      )}
      {status?.state === "failed" && !error && (
        <div className="banner banner--error" role="alert" data-testid="gateway-error">
          <AlertIcon className="banner-icon" />
          <p className="banner-title">The gateway stopped without saying why.</p>
        </div>
      )}
      {status?.keychainError && <KeychainWarning error={status.keychainError} testId="keychain-error" />}
      {!status && problem && (
        <div className="banner banner--info" data-testid="ipc-problem">
          <InfoIcon className="banner-icon" />
          <div>
            {isNotInApp(problem) ? (
              <>
                <p className="banner-title">Not running inside the Switchboard app</p>
                <p className="banner-body">
                  This page talks to the gateway through the desktop app, so its status is not available here.
                </p>
              </>
            ) : (
              <>
                <p className="banner-title">Couldn’t read the gateway status</p>
                <p className="banner-body">{problem.message}</p>
              </>
            )}
          </div>
        </div>
      )}
    </div>
  );
}
