//! The one error type every command returns. It serializes as `{ "kind": …, "message": … }`, which
//! `ui/src/api/invoke.ts` turns into a `CommandError`. Messages say what to do next; none carries a key.

use serde::ser::SerializeStruct;
use switchboard_gateway::clients::ClientError;
use switchboard_gateway::secrets::SecretError;
use switchboard_gateway::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Clipboard(String),
    /// The request itself is wrong (an unknown kind, an empty name…).
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Keychain(#[from] SecretError),
    /// The gateway could not apply the change; it is saved and applies at the next start.
    #[error("saved, but the gateway could not apply it: {0}")]
    Reload(String),
    #[error("{0}")]
    Upstream(String),
    /// A client's config files could not be read or changed (connect, disconnect, status).
    #[error("{0}")]
    Client(#[from] ClientError),
}

impl CommandError {
    fn kind(&self) -> &'static str {
        match self {
            CommandError::Clipboard(_) => "clipboard",
            CommandError::Invalid(_) => "invalid",
            CommandError::Store(StoreError::NotFound(_)) => "not_found",
            CommandError::Store(StoreError::Conflict(_)) => "conflict",
            CommandError::Store(_) => "store",
            CommandError::Keychain(SecretError::Unavailable(_)) => "keychain_unavailable",
            CommandError::Keychain(_) => "keychain",
            CommandError::Reload(_) => "reload",
            CommandError::Upstream(_) => "upstream",
            CommandError::Client(ClientError::Unparsable { .. }) => "unparsable",
            CommandError::Client(ClientError::ReadOnly { .. }) => "read_only",
            CommandError::Client(ClientError::NotConnected { .. }) => "not_connected",
            CommandError::Client(_) => "client",
        }
    }
}

impl serde::Serialize for CommandError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("CommandError", 2)?;
        s.serialize_field("kind", self.kind())?;
        s.serialize_field("message", &self.to_string())?;
        s.end()
    }
}

/// Runs blocking work (SQLite, the keychain) off the async threads.
pub async fn blocking<R: Send + 'static>(
    work: impl FnOnce() -> Result<R, CommandError> + Send + 'static,
) -> Result<R, CommandError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| CommandError::Invalid(format!("the task failed: {e}")))?
}
