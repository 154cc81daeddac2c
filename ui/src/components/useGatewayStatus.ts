import { useEffect, useState } from "react";

import { gatewayStatus, onGatewayStatus } from "../api/gateway";
import { NOT_IN_APP, toCommandError, type CommandError } from "../api/invoke";
import type { GatewayStatus } from "../api/types";

export interface GatewayStatusView {
  /** `null` until the backend has answered once. */
  status: GatewayStatus | null;
  /** Set when we could not ask the backend at all (e.g. opened in a plain browser). */
  problem: CommandError | null;
}

/** Asks for the gateway status once, then follows the `gateway-status` event. */
export function useGatewayStatus(): GatewayStatusView {
  const [view, setView] = useState<GatewayStatusView>({ status: null, problem: null });

  useEffect(() => {
    let active = true;
    // An event is newer than the reply to the first question; never let the reply overwrite it.
    let sawEvent = false;
    let unlisten: (() => void) | undefined;

    onGatewayStatus((status) => {
      if (!active) return;
      sawEvent = true;
      setView({ status, problem: null });
    })
      .then((stop) => {
        if (active) unlisten = stop;
        else stop();
      })
      .catch(() => {
        // Without the event we still show the first answer; the error surfaces through gatewayStatus().
      });

    gatewayStatus()
      .then((status) => {
        if (active && !sawEvent) setView({ status, problem: null });
      })
      .catch((err: unknown) => {
        if (active && !sawEvent) setView((v) => ({ ...v, problem: toCommandError(err) }));
      });

    return () => {
      active = false;
      unlisten?.();
    };
  }, []);

  return view;
}

export function isNotInApp(problem: CommandError | null): boolean {
  return problem?.kind === NOT_IN_APP;
}
