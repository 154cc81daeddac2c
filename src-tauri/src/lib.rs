//! The desktop shell: a window, a tray icon, and thin commands over the gateway core. All behaviour that is not
//! about windows lives in `switchboard-gateway`, which this crate starts in-process.

mod commands;
mod error;
mod gateway;
mod keys;
mod tray;

use tauri::{Manager, RunEvent, WindowEvent};

/// The label of the one main window (tauri.conf.json).
pub const MAIN_WINDOW: &str = "main";
/// The argument the login item starts Switchboard with: it starts in the tray, its window hidden.
pub const AUTOSTART_ARG: &str = "--autostart";

pub fn run() {
    let app = tauri::Builder::default()
        // First, so a second launch hands over to the running instance before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| show_main_window(app)))
        .plugin(tauri_plugin_clipboard_manager::init())
        // Links from chat answers open through the `open_link` command only; the window has no opener permission.
        .plugin(tauri_plugin_opener::init())
        // Launch at login (Settings): a login item that starts Switchboard with AUTOSTART_ARG. The window has no
        // autostart permission; `get/set_launch_at_login` are its only way to it.
        .plugin(tauri_plugin_autostart::Builder::new().app_name("Switchboard").args([AUTOSTART_ARG]).build())
        // Budget warnings are shown from Rust (gateway.rs); the window has no notification permission.
        .plugin(tauri_plugin_notification::init())
        .manage(commands::chat::Generating::default())
        .manage(commands::clients::probe::Checking::default())
        .setup(|app| {
            let log_dir = app.path().app_log_dir()?;
            let log_guard = switchboard_gateway::telemetry::init(Some(&log_dir))?;
            app.manage(LogGuard(log_guard));
            tracing::info!(log_dir = %log_dir.display(), "Switchboard {} starting", env!("CARGO_PKG_VERSION"));

            let data_dir = match switchboard_gateway::paths::default_data_dir() {
                Some(dir) if std::env::var_os(switchboard_gateway::paths::DATA_DIR_ENV).is_some() => dir,
                _ => app.path().app_data_dir()?,
            };
            let db = data_dir.join("switchboard.db");
            let store = switchboard_gateway::store::Store::open(&db).map_err(|e| {
                tracing::error!(error = %e, "cannot open the database");
                e
            })?;
            tracing::info!(database = %db.display(), "database open");
            let gateway =
                gateway::Gateway::new(app.handle().clone(), gateway::settings_from_env(), store, keys::open());
            app.manage(gateway.clone());
            tauri::async_runtime::spawn(async move { gateway.start().await });

            tray::create(app.handle())?;
            if std::env::args().any(|arg| arg == AUTOSTART_ARG)
                && let Some(window) = app.get_webview_window(MAIN_WINDOW)
            {
                // Started at login: stay in the tray until the user opens the window.
                window.hide()?;
            }
            Ok(())
        })
        .on_window_event(|window, event| {
            // Closing the window keeps Switchboard (and the endpoint other apps rely on) running in the tray.
            if let WindowEvent::CloseRequested { api, .. } = event
                && window.label() == MAIN_WINDOW
            {
                api.prevent_close();
                if let Err(error) = window.hide() {
                    tracing::warn!(%error, "could not hide the window");
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::gateway::gateway_status,
            commands::gateway::copy_endpoint,
            commands::providers::list_presets,
            commands::providers::list_providers,
            commands::providers::save_provider,
            commands::providers::delete_provider,
            commands::providers::set_provider_key,
            commands::providers::remove_provider_key,
            commands::providers::test_provider,
            commands::providers::detect_local_providers,
            commands::aliases::list_aliases,
            commands::aliases::save_alias,
            commands::aliases::delete_alias,
            commands::aliases::try_alias,
            commands::aliases::describe_model,
            commands::apps::list_apps,
            commands::apps::create_app,
            commands::apps::rotate_app_token,
            commands::apps::set_app_enabled,
            commands::apps::delete_app,
            commands::chat::list_conversations,
            commands::chat::get_conversation,
            commands::chat::create_conversation,
            commands::chat::update_conversation,
            commands::chat::delete_conversation,
            commands::chat::search_messages,
            commands::chat::chat_models,
            commands::chat::export_conversations,
            commands::chat::open_link,
            commands::chat::stop_generation,
            commands::chat::send_message,
            commands::apps::update_app,
            commands::apps::get_all_apps_limits,
            commands::apps::set_all_apps_limits,
            commands::logs::list_requests,
            commands::logs::request_detail,
            commands::logs::log_facets,
            commands::usage::usage_report,
            commands::usage::export_usage_csv,
            commands::usage::default_export_path,
            commands::settings::get_settings,
            commands::settings::save_settings,
            commands::settings::reset_settings,
            commands::config::export_config,
            commands::config::preview_config_import,
            commands::config::import_config,
            commands::settings::get_launch_at_login,
            commands::settings::set_launch_at_login,
            commands::clients::list_clients,
            commands::clients::client_version,
            commands::clients::connect_plan,
            commands::clients::connect_client,
            commands::clients::disconnect_client,
            commands::clients::update_connected_clients,
            commands::clients::probe::test_client,
            commands::clients::probe::check_client,
            commands::clients::probe::cancel_check,
            commands::prices::price_status,
            commands::prices::update_prices,
            commands::prices::set_price_override,
            commands::prices::delete_price_override,
            commands::balances::provider_balances,
            commands::balances::refresh_balance,
        ])
        .build(tauri::generate_context!())
        .unwrap_or_else(|error| {
            eprintln!("switchboard: cannot start: {error}");
            std::process::exit(1);
        });

    app.run(|app, event| {
        if let RunEvent::Exit = event {
            let gateway = app.state::<gateway::Gateway>().inner().clone();
            tauri::async_runtime::block_on(gateway.stop());
        }
    });
}

/// Brings the main window back from the tray (or from behind other windows).
pub fn show_main_window(app: &tauri::AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN_WINDOW) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Keeps the log file writer alive (and flushed at exit) for the life of the app.
struct LogGuard(#[allow(dead_code)] Option<switchboard_gateway::telemetry::WorkerGuard>);
