import { useCallback, useEffect, useState } from "react";

import { toCommandError, type CommandError } from "../api/invoke";

export interface Resource<T> {
  /** `null` until the first answer. */
  data: T | null;
  /** The last load's error; cleared by the next good answer. */
  error: CommandError | null;
  /** Loads again; resolves once the state is updated. */
  reload: () => Promise<void>;
}

/** Calls `load` once on mount and on `reload()`. `load` must be stable (a module-level function). */
export function useResource<T>(load: () => Promise<T>): Resource<T> {
  const [state, setState] = useState<{ data: T | null; error: CommandError | null }>({ data: null, error: null });

  const reload = useCallback(async () => {
    try {
      const data = await load();
      setState({ data, error: null });
    } catch (err) {
      setState((s) => ({ ...s, error: toCommandError(err) }));
    }
  }, [load]);

  useEffect(() => {
    void reload();
  }, [reload]);

  return { ...state, reload };
}
