// Mirrors `src-tauri/src/commands/apps.rs` one to one. A token is only ever returned when it is made.
import { invoke } from "./invoke";
import type { AllAppsLimits } from "./generated/AllAppsLimits";
import type { AppUpdate } from "./generated/AppUpdate";
import type { LimitsDto } from "./generated/LimitsDto";
import type { App, AppInput, NewAppToken } from "./types";

export function listApps(): Promise<App[]> {
  return invoke<App[]>("list_apps");
}

/** Makes the app and its token; the token is shown once. */
export function createApp(app: AppInput): Promise<NewAppToken> {
  return invoke<NewAppToken>("create_app", { app });
}

/** A new token for the app; the old one stops working at once. */
export function rotateAppToken(id: number): Promise<NewAppToken> {
  return invoke<NewAppToken>("rotate_app_token", { id });
}

export async function setAppEnabled(id: number, enabled: boolean): Promise<void> {
  await invoke<null>("set_app_enabled", { id, enabled });
}

export async function deleteApp(id: number): Promise<void> {
  await invoke<null>("delete_app", { id });
}

/** Renames the app, limits its aliases and sets its budget and rate limits. */
export function updateApp(id: number, app: AppUpdate): Promise<App> {
  return invoke<App>("update_app", { id, app });
}

/** The limits of all apps together, and the last time they refused a request. */
export function getAllAppsLimits(): Promise<AllAppsLimits> {
  return invoke<AllAppsLimits>("get_all_apps_limits");
}

/** Sets the limits of all apps together (every limit `null` removes them). */
export function setAllAppsLimits(limits: LimitsDto): Promise<AllAppsLimits> {
  return invoke<AllAppsLimits>("set_all_apps_limits", { limits });
}
