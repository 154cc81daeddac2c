//! The tray icon: Switchboard keeps serving other apps after its window is closed, and this is how a person gets
//! back to it, copies the endpoint, or quits.

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager};
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::gateway::Gateway;

pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Switchboard", true, None::<&str>)?;
    let copy = MenuItem::with_id(app, "copy-endpoint", "Copy endpoint", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Switchboard", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &copy, &PredefinedMenuItem::separator(app)?, &quit])?;

    let mut tray = TrayIconBuilder::with_id("main").tooltip("Switchboard").menu(&menu).on_menu_event(|app, event| {
        match event.id().as_ref() {
            "open" => crate::show_main_window(app),
            "copy-endpoint" => {
                let endpoint = app.state::<Gateway>().status().endpoint;
                if let Err(error) = app.clipboard().write_text(endpoint) {
                    tracing::warn!(%error, "could not copy the endpoint");
                }
            }
            "quit" => app.exit(0),
            _ => {}
        }
    });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}
