//! The local endpoint's state, for the header. Mirrors `ui/src/api/gateway.ts`.

use tauri::State;
use tauri_plugin_clipboard_manager::ClipboardExt;

use crate::error::CommandError;
use crate::gateway::{Gateway, GatewayStatus};

#[tauri::command]
pub fn gateway_status(gateway: State<'_, Gateway>) -> GatewayStatus {
    gateway.status()
}

/// Puts the endpoint URL on the clipboard from the backend, so the window needs no clipboard permission.
#[tauri::command]
pub fn copy_endpoint(app: tauri::AppHandle, gateway: State<'_, Gateway>) -> Result<(), CommandError> {
    app.clipboard()
        .write_text(gateway.status().endpoint)
        .map_err(|e| CommandError::Clipboard(format!("could not copy to the clipboard: {e}")))
}
