//! The tray icon: Switchboard keeps serving other apps after its window is closed, and this is how a person gets
//! back to it, copies the endpoint, or quits. Two disabled lines on top say today's spend (and the lowest provider
//! balance when one is low) and whether the endpoint listens; the gateway keeps them current (`show_state`).

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::gateway::Gateway;

const TRAY_ID: &str = "main";

/// The menu lines the gateway rewrites.
struct StateLines {
    today: MenuItem<Wry>,
    listening: MenuItem<Wry>,
}

pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let today = MenuItem::with_id(app, "today", "Today: …", false, None::<&str>)?;
    let listening = MenuItem::with_id(app, "listening", "Starting…", false, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", "Open Switchboard", true, None::<&str>)?;
    let copy = MenuItem::with_id(app, "copy-endpoint", "Copy endpoint", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit Switchboard", true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &today,
            &listening,
            &PredefinedMenuItem::separator(app)?,
            &open,
            &copy,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;

    let mut tray = TrayIconBuilder::with_id(TRAY_ID).tooltip("Switchboard").menu(&menu).on_menu_event(|app, event| {
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
    app.manage(StateLines { today, listening });
    Ok(())
}

/// Rewrites the tray's two state lines and its tooltip. Does nothing before the tray exists.
pub fn show_state(app: &AppHandle, today: &str, listening: &str) {
    let Some(lines) = app.try_state::<StateLines>() else { return };
    let results = [
        lines.today.set_text(today),
        lines.listening.set_text(listening),
        app.tray_by_id(TRAY_ID).map_or(Ok(()), |tray| tray.set_tooltip(Some(format!("Switchboard · {today}")))),
    ];
    for error in results.into_iter().filter_map(Result::err) {
        tracing::debug!(%error, "could not update the tray");
    }
}

/// `$0.00`, `$12.34`; below a dollar four decimals (`$0.0123`), below a cent two significant digits
/// (`$0.0000015`), so a cheap day never reads as free. The same rule as `ui/src/lib/money.ts`.
pub fn usd(amount: f64) -> String {
    if amount > 0.0 && amount < 0.01 {
        // Two significant digits: 0.0000015 has its first at the 6th decimal.
        let digits = ((-amount.log10()).ceil() as usize + 1).min(12);
        format!("${amount:.digits$}")
    } else if amount > 0.0 && amount < 1.0 {
        format!("${amount:.4}")
    } else {
        format!("${amount:.2}")
    }
}

/// An amount in its currency: dollars as [`usd`] writes them, others as `12.34 CNY`.
pub fn money(amount: f64, currency: &str) -> String {
    if currency.eq_ignore_ascii_case("usd") { usd(amount) } else { format!("{amount:.2} {currency}") }
}

#[cfg(test)]
mod tests {
    use super::{money, usd};

    #[test]
    fn balances_read_in_their_currency() {
        assert_eq!((money(3.1, "USD"), money(3.1, "CNY")), ("$3.10".to_owned(), "3.10 CNY".to_owned()));
    }

    #[test]
    fn amounts_read_as_dollars() {
        for (amount, expect) in
            [(0.0, "$0.00"), (0.0123, "$0.0123"), (0.0000015, "$0.0000015"), (12.345, "$12.35"), (1.0, "$1.00")]
        {
            assert_eq!(usd(amount), expect, "{amount}");
        }
    }
}
