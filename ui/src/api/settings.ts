// Mirrors `src-tauri/src/commands/settings.rs` one to one. Types are generated from the Rust DTOs (see generated/).
import type { SettingsDto } from "./generated/SettingsDto";
import type { SettingsInput } from "./generated/SettingsInput";
import { invoke } from "./invoke";

export function getSettings(): Promise<SettingsDto> {
  return invoke<SettingsDto>("get_settings");
}

/** Stores and applies; a port change restarts the endpoint (its outcome arrives as a `gateway-status` event). */
export function saveSettings(settings: SettingsInput): Promise<SettingsDto> {
  return invoke<SettingsDto>("save_settings", { settings });
}

/** Forgets every setting on the Settings page; providers, aliases, apps and history stay. */
export function resetSettings(): Promise<SettingsDto> {
  return invoke<SettingsDto>("reset_settings");
}

/** Whether Switchboard starts (in the tray) at login, as the system has it. */
export function getLaunchAtLogin(): Promise<boolean> {
  return invoke<boolean>("get_launch_at_login");
}

/** Adds or removes the login item; answers what is now true. */
export function setLaunchAtLogin(enabled: boolean): Promise<boolean> {
  return invoke<boolean>("set_launch_at_login", { enabled });
}
