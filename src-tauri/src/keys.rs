//! Where the desktop keeps provider keys: the OS keychain. When no keychain can be reached the app says so (in the
//! header and in every attempt to save a key) and keeps running without keys; there is no plaintext fallback.

use std::sync::Arc;

use switchboard_gateway::secrets::{Keychain, SecretError, SecretStore, SecretString};

/// The keychain, or why there is none.
pub fn open() -> (Arc<dyn SecretStore>, Option<String>) {
    match Keychain::open() {
        Ok(keychain) => (Arc::new(keychain), None),
        Err(error) => {
            let message = error.to_string();
            tracing::error!(%message, "provider keys are unavailable");
            (Arc::new(NoKeychain(message.clone())), Some(message))
        }
    }
}

/// Stands in for an unreachable keychain: no keys are known, and none can be saved.
struct NoKeychain(String);

impl SecretStore for NoKeychain {
    fn get(&self, _account: &str) -> Result<Option<SecretString>, SecretError> {
        Ok(None)
    }

    fn set(&self, _account: &str, _secret: &SecretString) -> Result<(), SecretError> {
        Err(SecretError::Unavailable(self.0.clone()))
    }

    fn delete(&self, _account: &str) -> Result<(), SecretError> {
        Err(SecretError::Unavailable(self.0.clone()))
    }
}
