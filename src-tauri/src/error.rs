//! The one error type every command returns. It serializes as `{ "kind": …, "message": … }`, which
//! `ui/src/api/invoke.ts` turns into a `CommandError`.

use serde::ser::SerializeStruct;

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Clipboard(String),
}

impl CommandError {
    fn kind(&self) -> &'static str {
        match self {
            CommandError::Clipboard(_) => "clipboard",
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
