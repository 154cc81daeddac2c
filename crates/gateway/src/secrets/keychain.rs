//! The OS keychain: Secret Service on Linux and the BSDs, Keychain Services on macOS, Credential Manager on
//! Windows, through the `keyring-core` family of crates. One entry per account under the service `switchboard`.
//!
//! There is deliberately no plaintext fallback: when the keychain cannot be reached, `Keychain::open` says so and
//! how to fix it, and the caller offers the environment-variable source instead.

use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error as KeyringError};
use secrecy::{ExposeSecret, SecretString};

use super::{KEYCHAIN_SERVICE, SecretError, SecretStore};

pub struct Keychain {
    store: Arc<CredentialStore>,
    service: String,
}

impl std::fmt::Debug for Keychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keychain").field("service", &self.service).finish_non_exhaustive()
    }
}

impl Keychain {
    /// Connects to the platform keychain, filing entries under `switchboard`.
    pub fn open() -> Result<Keychain, SecretError> {
        Keychain::open_service(KEYCHAIN_SERVICE)
    }

    /// As `open`, under another service name (tests use one of their own).
    pub fn open_service(service: &str) -> Result<Keychain, SecretError> {
        let store = platform_store().map_err(|e| SecretError::Unavailable(unavailable_message(&e)))?;
        Ok(Keychain { store, service: service.to_owned() })
    }

    fn entry(&self, account: &str) -> Result<Entry, SecretError> {
        Entry::new_in_store(&self.store, &self.service, account).map_err(|e| failed("open", account, e))
    }
}

impl SecretStore for Keychain {
    fn get(&self, account: &str) -> Result<Option<SecretString>, SecretError> {
        match self.entry(account)?.get_password() {
            Ok(secret) => Ok(Some(SecretString::from(secret))),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(e) => Err(failed("read", account, e)),
        }
    }

    fn set(&self, account: &str, secret: &SecretString) -> Result<(), SecretError> {
        self.entry(account)?.set_password(secret.expose_secret()).map_err(|e| failed("store", account, e))
    }

    fn delete(&self, account: &str) -> Result<(), SecretError> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(failed("delete", account, e)),
        }
    }
}

fn failed(action: &'static str, account: &str, error: KeyringError) -> SecretError {
    // keyring errors describe the store, never the secret, so they are safe to show.
    SecretError::Failed { action, account: account.to_owned(), detail: error.to_string() }
}

#[cfg(all(unix, not(target_os = "macos")))]
fn platform_store() -> Result<Arc<CredentialStore>, KeyringError> {
    Ok(zbus_secret_service_keyring_store::Store::new()?)
}

#[cfg(target_os = "macos")]
fn platform_store() -> Result<Arc<CredentialStore>, KeyringError> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(windows)]
fn platform_store() -> Result<Arc<CredentialStore>, KeyringError> {
    Ok(windows_native_keyring_store::Store::new()?)
}

fn unavailable_message(error: &KeyringError) -> String {
    if cfg!(all(unix, not(target_os = "macos"))) {
        format!(
            "the system keychain (Secret Service) is not reachable: {error}. Start a desktop keyring such as \
             GNOME Keyring or KWallet in your session (on a server, run switchboard-gateway with keys in \
             environment variables instead: key_env in the config or SWITCHBOARD_KEY_<PROVIDER>)"
        )
    } else {
        format!("the system keychain is not reachable: {error}")
    }
}
