//! Where Switchboard keeps its files on each OS. The desktop app and the headless binary agree on these, so both
//! find the same database.

use std::path::PathBuf;

/// The reverse-DNS identifier shared with `src-tauri/tauri.conf.json`; it names the per-user data folders.
pub const APP_IDENTIFIER: &str = "dev.switchboard.desktop";

/// Overrides the data folder for both binaries (tests use it to stay out of the user's files).
pub const DATA_DIR_ENV: &str = "SWITCHBOARD_DATA_DIR";

/// The default data folder: `~/.local/share/dev.switchboard.desktop` on Linux,
/// `~/Library/Application Support/dev.switchboard.desktop` on macOS, `%APPDATA%\dev.switchboard.desktop` on Windows.
pub fn default_data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    directories::BaseDirs::new().map(|dirs| dirs.data_dir().join(APP_IDENTIFIER))
}
