import { useEffect, useRef } from "react";

import { onLedgerWritten } from "../api/logs";

/** Calls `cb` with the newest row id whenever the ledger writes a batch (the `ledger-written` event). */
export function useLedgerWritten(cb: (newestId: number) => void): void {
  const latest = useRef(cb);
  useEffect(() => {
    latest.current = cb;
  });

  useEffect(() => {
    let active = true;
    let unlisten: (() => void) | undefined;
    onLedgerWritten((id) => {
      if (active) latest.current(id);
    })
      .then((stop) => {
        if (active) unlisten = stop;
        else stop();
      })
      .catch(() => {
        // Outside the app there are no events; the page still shows what it loaded.
      });
    return () => {
      active = false;
      unlisten?.();
    };
  }, []);
}
