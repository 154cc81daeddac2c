//! Settings: where the endpoint listens and whom it accepts, request logging, the theme, the overall budget and the
//! data folder. Mirrors `ui/src/api/settings.ts`. Changing the port, bind address, hosts or origins restarts the
//! listener; a failure (a port in use) shows in the `gateway-status` event with its fix, as at start.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use switchboard_gateway::ledger::budgets::OVERALL_BUDGET_SETTING;
use switchboard_gateway::store::{LOGGING_BODIES_SETTING, LOGGING_RETENTION_SETTING, Store};
use tauri::{Manager, State};
use tauri_plugin_autostart::ManagerExt;

use super::providers::reload;
use super::usage::{BudgetDto, read_budget};
use crate::error::{CommandError, blocking};
use crate::gateway::{
    ALLOWED_HOSTS_SETTING, ALLOWED_ORIGINS_SETTING, BIND_SETTING, Gateway, PORT_SETTING, port_from_env,
    server_settings, settings_from_env,
};

/// The theme setting: `system`, `light` or `dark`.
pub const THEME_SETTING: &str = "ui.theme";
/// Every setting this page owns; Reset forgets them all (providers, aliases, apps and the ledger stay).
const OWNED: &[&str] = &[
    PORT_SETTING,
    BIND_SETTING,
    ALLOWED_HOSTS_SETTING,
    ALLOWED_ORIGINS_SETTING,
    LOGGING_BODIES_SETTING,
    LOGGING_RETENTION_SETTING,
    THEME_SETTING,
    OVERALL_BUDGET_SETTING,
];
const DEFAULT_RETENTION_DAYS: u32 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

/// What the user chooses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SettingsInput {
    pub port: u16,
    /// An IP address: `127.0.0.1` unless the user opts in to another interface.
    pub bind: String,
    /// Host names accepted besides loopback ones.
    pub allowed_hosts: Vec<String>,
    /// Browser origins allowed to call the endpoint (`https://example.com`).
    pub allowed_origins: Vec<String>,
    /// Keep each request's prompt and answer for the Logs page.
    pub logging_bodies: bool,
    pub retention_days: u32,
    pub theme: Theme,
    pub overall_budget: Option<BudgetDto>,
}

/// The settings and where things live.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SettingsDto {
    pub settings: SettingsInput,
    /// Set when `SWITCHBOARD_PORT` overrides the stored port for this run.
    pub port_from_env: Option<u16>,
    pub data_dir: String,
    pub log_dir: String,
}

#[tauri::command]
pub async fn get_settings(app: tauri::AppHandle, gateway: State<'_, Gateway>) -> Result<SettingsDto, CommandError> {
    let store = gateway.store().clone();
    let settings = blocking(move || read(&store)).await?;
    Ok(dto(&app, &gateway, settings))
}

/// Stores the settings and applies them: logging and budgets at once, server settings by restarting the listener.
#[tauri::command]
pub async fn save_settings(
    app: tauri::AppHandle,
    gateway: State<'_, Gateway>,
    settings: SettingsInput,
) -> Result<SettingsDto, CommandError> {
    let settings = validate(settings)?;
    let store = gateway.store().clone();
    let saved = settings.clone();
    blocking(move || write(&store, &saved)).await?;
    apply(&gateway).await?;
    Ok(dto(&app, &gateway, settings))
}

/// Forgets every setting on this page (providers, aliases, apps and history stay), then applies the defaults.
#[tauri::command]
pub async fn reset_settings(app: tauri::AppHandle, gateway: State<'_, Gateway>) -> Result<SettingsDto, CommandError> {
    let store = gateway.store().clone();
    let settings = blocking(move || {
        for key in OWNED {
            store.delete_setting(key)?;
        }
        read(&store)
    })
    .await?;
    apply(&gateway).await?;
    Ok(dto(&app, &gateway, settings))
}

/// Whether Switchboard starts (in the tray) when the user logs in: the login item as it really is (on Linux, a
/// `.desktop` file in `~/.config/autostart`).
#[tauri::command]
pub async fn get_launch_at_login(app: tauri::AppHandle) -> Result<bool, CommandError> {
    blocking(move || app.autolaunch().is_enabled().map_err(login_item_error)).await
}

/// Adds or removes the login item, and answers what is now true.
#[tauri::command]
pub async fn set_launch_at_login(app: tauri::AppHandle, enabled: bool) -> Result<bool, CommandError> {
    blocking(move || {
        let manager = app.autolaunch();
        if enabled { manager.enable() } else { manager.disable() }.map_err(login_item_error)?;
        manager.is_enabled().map_err(login_item_error)
    })
    .await
}

fn login_item_error(error: tauri_plugin_autostart::Error) -> CommandError {
    CommandError::Invalid(format!(
        "the login item could not be changed: {error}; check that your autostart folder (~/.config/autostart) is writable"
    ))
}

/// Applies what is stored: providers, aliases and apps, budgets, and the server settings (restarting the listener
/// when they changed).
pub(super) async fn apply(gateway: &Gateway) -> Result<(), CommandError> {
    reload(gateway).await?;
    let store = gateway.store().clone();
    let ledger = gateway.ledger();
    let config = blocking(move || {
        if let Some(ledger) = ledger {
            ledger.reload_budgets(&store)?;
        }
        server_settings(&store, &settings_from_env()).map_err(CommandError::Invalid)
    })
    .await?;
    let current = gateway.config().server;
    let next = &config.server;
    if (current.port, current.bind, &current.allowed_hosts, &current.allowed_origins)
        != (next.port, next.bind, &next.allowed_hosts, &next.allowed_origins)
    {
        gateway.restart(config).await;
    }
    Ok(())
}

fn dto(app: &tauri::AppHandle, gateway: &Gateway, settings: SettingsInput) -> SettingsDto {
    let data_dir = gateway.store().path().and_then(|p| p.parent()).map(|p| p.display().to_string());
    let log_dir = app.path().app_log_dir().map(|p| p.display().to_string()).unwrap_or_default();
    SettingsDto { settings, port_from_env: port_from_env(), data_dir: data_dir.unwrap_or_default(), log_dir }
}

fn read(store: &Store) -> Result<SettingsInput, CommandError> {
    let defaults = settings_from_env().server;
    let budget = store.get_setting::<serde_json::Value>(OVERALL_BUDGET_SETTING)?;
    Ok(SettingsInput {
        port: store.get_setting(PORT_SETTING)?.unwrap_or(switchboard_gateway::config::DEFAULT_PORT),
        bind: store.get_setting(BIND_SETTING)?.unwrap_or_else(|| defaults.bind.to_string()),
        allowed_hosts: store.get_setting(ALLOWED_HOSTS_SETTING)?.unwrap_or_default(),
        allowed_origins: store.get_setting(ALLOWED_ORIGINS_SETTING)?.unwrap_or_default(),
        logging_bodies: store.get_setting(LOGGING_BODIES_SETTING)?.unwrap_or(false),
        retention_days: store.get_setting(LOGGING_RETENTION_SETTING)?.unwrap_or(DEFAULT_RETENTION_DAYS),
        theme: store.get_setting(THEME_SETTING)?.unwrap_or_default(),
        overall_budget: read_budget(budget.as_ref()),
    })
}

fn write(store: &Store, s: &SettingsInput) -> Result<(), CommandError> {
    store.set_setting(PORT_SETTING, &s.port)?;
    store.set_setting(BIND_SETTING, &s.bind)?;
    store.set_setting(ALLOWED_HOSTS_SETTING, &s.allowed_hosts)?;
    store.set_setting(ALLOWED_ORIGINS_SETTING, &s.allowed_origins)?;
    store.set_setting(LOGGING_BODIES_SETTING, &s.logging_bodies)?;
    store.set_setting(LOGGING_RETENTION_SETTING, &s.retention_days)?;
    store.set_setting(THEME_SETTING, &s.theme)?;
    match s.overall_budget {
        Some(budget) => store.set_setting(OVERALL_BUDGET_SETTING, &budget.to_json()?)?,
        None => {
            store.delete_setting(OVERALL_BUDGET_SETTING)?;
        }
    }
    Ok(())
}

/// Trims and checks what the user typed; each refusal says what to enter instead.
fn validate(mut s: SettingsInput) -> Result<SettingsInput, CommandError> {
    let invalid = |m: String| Err(CommandError::Invalid(m));
    if s.port == 0 {
        return invalid("choose a port between 1 and 65535 (the default is 7352)".into());
    }
    s.bind = s.bind.trim().to_owned();
    if s.bind.parse::<IpAddr>().is_err() {
        return invalid(format!("{:?} is not an IP address; use 127.0.0.1 (this machine only) or 0.0.0.0", s.bind));
    }
    if s.retention_days == 0 || s.retention_days > 3650 {
        return invalid("keep request bodies for 1 to 3650 days".into());
    }
    let clean = |list: &mut Vec<String>| {
        *list = list.iter().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect();
    };
    clean(&mut s.allowed_hosts);
    clean(&mut s.allowed_origins);
    if let Some(host) = s.allowed_hosts.iter().find(|h| h.contains(['/', ' '])) {
        return invalid(format!("{host:?} is not a host name; enter a name such as my-box.local, without http://"));
    }
    if let Some(origin) = s.allowed_origins.iter().find(|o| !(o.starts_with("http://") || o.starts_with("https://"))) {
        return invalid(format!("{origin:?} is not an origin; enter it as https://example.com"));
    }
    if let Some(budget) = s.overall_budget {
        if budget.daily_usd.is_none() && budget.monthly_usd.is_none() {
            s.overall_budget = None;
        } else {
            budget.to_json()?;
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> SettingsInput {
        SettingsInput {
            port: 7352,
            bind: " 127.0.0.1 ".into(),
            allowed_hosts: vec![" box.local ".into(), "".into()],
            allowed_origins: vec![],
            logging_bodies: true,
            retention_days: 3,
            theme: Theme::Dark,
            overall_budget: None,
        }
    }

    #[test]
    fn settings_are_trimmed_and_stored_as_the_gateway_reads_them() {
        let store = Store::open_in_memory().unwrap();
        let s = validate(input()).unwrap();
        assert_eq!((s.bind.as_str(), s.allowed_hosts.clone()), ("127.0.0.1", vec!["box.local".to_owned()]));
        write(&store, &s).unwrap();
        let back = read(&store).unwrap();
        assert_eq!((back.theme, back.retention_days, back.logging_bodies), (Theme::Dark, 3, true));
        let config = store.gateway_config(&server_settings(&store, &Default::default()).unwrap()).unwrap();
        assert!(config.logging.bodies);
        assert_eq!(config.logging.retention_days, 3);
        assert_eq!(config.server.allowed_hosts, vec!["box.local".to_owned()]);
    }

    #[test]
    fn mistakes_are_refused_with_what_to_enter() {
        let check = |change: fn(&mut SettingsInput), expect: &str| {
            let mut s = input();
            change(&mut s);
            let error = validate(s).unwrap_err().to_string();
            assert!(error.contains(expect), "{error}");
        };
        check(|s| s.port = 0, "between 1 and 65535");
        check(|s| s.bind = "localhost:80".into(), "not an IP address");
        check(|s| s.retention_days = 0, "1 to 3650 days");
        check(|s| s.allowed_hosts = vec!["http://x".into()], "without http://");
        check(|s| s.allowed_origins = vec!["example.com".into()], "https://example.com");
    }
}
