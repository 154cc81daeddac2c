//! Provider API keys. They live in the OS keychain (desktop) or in environment variables (headless); in memory they
//! are `SecretString`s, zeroized on drop and redacted in `Debug`. Nothing in this module writes a key anywhere else,
//! and no error message carries one.

mod env;
mod keychain;

pub use env::EnvSecrets;
pub use keychain::Keychain;
pub use secrecy::{ExposeSecret, SecretString};

/// The keychain service name every Switchboard entry is filed under.
pub const KEYCHAIN_SERVICE: &str = "switchboard";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No Secret Service / keychain could be reached at all. The message says how to fix it.
    #[error("{0}")]
    Unavailable(String),
    /// The keychain answered but refused or failed the operation.
    #[error("the keychain failed to {action} the key for {account:?}: {detail}")]
    Failed { action: &'static str, account: String, detail: String },
}

/// Where provider keys are read from and written to. Calls may block (D-Bus, OS APIs): from async code, call them
/// inside `spawn_blocking`, never on the request path (keys are read once and cached).
pub trait SecretStore: Send + Sync {
    fn get(&self, account: &str) -> Result<Option<SecretString>, SecretError>;
    fn set(&self, account: &str, secret: &SecretString) -> Result<(), SecretError>;
    /// Deleting an absent entry is not an error.
    fn delete(&self, account: &str) -> Result<(), SecretError>;
}

/// What the UI may learn about a key: whether it is set, and its last four characters.
pub fn masked(secret: &SecretString) -> String {
    let chars: Vec<char> = secret.expose_secret().chars().collect();
    if chars.len() <= 8 {
        return "set".to_owned();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_shows_at_most_the_last_four() {
        assert_eq!(masked(&SecretString::from("sk-test-0123456789abcd")), "…abcd");
        assert_eq!(masked(&SecretString::from("short")), "set");
    }

    #[test]
    fn debug_redacts() {
        let secret = SecretString::from("fake-key-visible-in-debug?");
        assert!(!format!("{secret:?}").contains("visible"));
    }
}
