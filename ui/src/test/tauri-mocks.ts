// Stand-ins for `@tauri-apps/api`: tests script what the backend answers and fire `gateway-status` events by hand.
import { vi } from "vitest";

import type { GatewayStatus } from "../api/types";

/** Tauri's `Channel`: the test calls `onmessage` itself, as the backend's sends would. */
class Channel {
  onmessage: (message: unknown) => void = () => undefined;
}

export const core = {
  invoke: vi.fn<(cmd: string, args?: unknown) => Promise<unknown>>(),
  isTauri: vi.fn(() => true),
  Channel,
};

type Handler = (event: { event: string; id: number; payload: unknown }) => void;
const handlers = new Map<string, Set<Handler>>();

export const event = {
  listen: vi.fn((name: string, handler: Handler) => {
    const set = handlers.get(name) ?? new Set<Handler>();
    set.add(handler);
    handlers.set(name, set);
    return Promise.resolve(() => {
      set.delete(handler);
    });
  }),
};

/** Delivers `payload` to every live listener of `name`, as the backend's `emit` would. */
export function emit(name: string, payload: unknown): void {
  for (const handler of handlers.get(name) ?? []) handler({ event: name, id: 0, payload });
}

export function listenerCount(name: string): number {
  return handlers.get(name)?.size ?? 0;
}

export function resetTauriMocks(): void {
  handlers.clear();
  core.invoke.mockReset();
  core.isTauri.mockReset();
  core.isTauri.mockReturnValue(true);
  event.listen.mockClear();
}

/** Answers each command from `answers`; unknown commands reject like a backend error would. */
export function answer(answers: Record<string, () => Promise<unknown>>): void {
  core.invoke.mockImplementation((cmd: string) => {
    const reply = answers[cmd];
    return reply ? reply() : Promise.reject({ kind: "unknownCommand", message: `no mock for ${cmd}` });
  });
}

export const listening: GatewayStatus = {
  state: "listening",
  endpoint: "http://127.0.0.1:7352/v1",
  port: 7352,
  bind: "127.0.0.1",
  error: null,
  keychainError: null,
};

export const portTaken: GatewayStatus = {
  state: "failed",
  endpoint: "http://127.0.0.1:7352/v1",
  port: 7352,
  bind: "127.0.0.1",
  error: {
    message: "port 7352 is already in use",
    fix: "quit the other program using port 7352 or pick another port in Settings",
  },
  keychainError: null,
};

export const keychainLocked: GatewayStatus = {
  ...listening,
  keychainError: {
    message: "the Secret Service is not available",
    fix: "start gnome-keyring or KWallet, then restart Switchboard",
  },
};
