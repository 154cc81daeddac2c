import { invoke as tauriInvoke, isTauri, type InvokeArgs } from "@tauri-apps/api/core";

import type { CommandErrorPayload } from "./types";

/** A backend command failed; `kind` is the Rust error variant, `message` is meant for people. */
export class CommandError extends Error {
  readonly kind: string;

  constructor(kind: string, message: string) {
    super(message);
    this.name = "CommandError";
    this.kind = kind;
  }
}

/** `kind` used when the page is not running inside the Switchboard app (no Tauri IPC). */
export const NOT_IN_APP = "notInApp";

function isCommandErrorPayload(value: unknown): value is CommandErrorPayload {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Record<string, unknown>).kind === "string" &&
    typeof (value as Record<string, unknown>).message === "string"
  );
}

/** Turns whatever a rejected `invoke` gave us into a `CommandError`. */
export function toCommandError(err: unknown): CommandError {
  if (err instanceof CommandError) return err;
  if (isCommandErrorPayload(err)) return new CommandError(err.kind, err.message);
  if (err instanceof Error) return new CommandError("unknown", err.message);
  if (typeof err === "string") return new CommandError("unknown", err);
  return new CommandError("unknown", "the backend returned an unexpected error");
}

/** Calls a backend command; every `src/api/<domain>.ts` goes through here. Rejects with `CommandError` only. */
export async function invoke<T>(command: string, args?: InvokeArgs): Promise<T> {
  if (!isTauri()) {
    throw new CommandError(NOT_IN_APP, "not running inside the Switchboard app");
  }
  try {
    return await tauriInvoke<T>(command, args);
  } catch (err) {
    throw toCommandError(err);
  }
}
