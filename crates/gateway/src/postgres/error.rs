//! What can go wrong with the shared database, each said with the host and what to check next.

use std::error::Error as _;

use tokio_postgres::error::SqlState;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    #[error("store.url is not set")]
    NoUrl,
    #[error("store.url cannot be read: {0}; write it as postgres://USER@HOST:PORT/DATABASE")]
    Url(String),
    #[error("store.password_env names {0}, which is not set (or empty); export the database password in it")]
    NoPassword(String),
    #[error(
        "cannot reach PostgreSQL at {target}: {reason}; check that the server is running there, that store.url names \
         the right host and port, and that the server accepts TCP connections from this machine (listen_addresses in \
         postgresql.conf, a host line in pg_hba.conf, the firewall)"
    )]
    Unreachable { target: String, reason: String },
    #[error(
        "PostgreSQL at {target} refused user {user:?}: {reason}; check the password (store.password_env, or the URL) \
         and that pg_hba.conf lets this user in from this machine"
    )]
    Refused { target: String, user: String, reason: String },
    #[error(
        "PostgreSQL at {target} has no database {database:?}; create it (createdb -O {user} {database}) or fix the \
         database name in store.url"
    )]
    NoDatabase { target: String, user: String, database: String },
    #[error(
        "the database at {target} was set up by a newer Switchboard (schema version {found}; this one knows up to \
         {known}); upgrade this replica"
    )]
    Newer { target: String, found: i32, known: i32 },
    #[error("PostgreSQL at {target}: {message}")]
    At { target: String, message: String },
    #[error("PostgreSQL: {0}")]
    Query(String),
    #[error("no PostgreSQL connection: {0}")]
    Pool(String),
}

impl PgError {
    /// The error of a first connection, sorted into what the person can act on.
    pub(super) fn from_connect(target: &str, user: Option<&str>, error: &tokio_postgres::Error) -> PgError {
        let (target, user) = (target.to_owned(), user.unwrap_or("").to_owned());
        if let Some(db) = error.as_db_error() {
            let reason = db.message().to_owned();
            return match *db.code() {
                SqlState::INVALID_PASSWORD | SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
                    PgError::Refused { target, user, reason }
                }
                SqlState::INVALID_CATALOG_NAME => {
                    let database = target.rsplit('/').next().unwrap_or_default().to_owned();
                    PgError::NoDatabase { target, user, database }
                }
                _ => PgError::At { target, message: reason },
            };
        }
        let text = error.to_string();
        if text.contains("password missing") {
            let reason = "the server asks for a password and none was given (set store.password_env)".to_owned();
            return PgError::Refused { target, user, reason };
        }
        // Refused, timed out, no such host: the cause is an I/O error (or a timeout) somewhere in the chain.
        let mut reason = text;
        let mut source = error.source();
        while let Some(cause) = source {
            reason = cause.to_string();
            source = cause.source();
        }
        PgError::Unreachable { target, reason }
    }

    /// This error, said to be about the database at `target` (for errors of queries made while starting).
    pub(super) fn at(self, target: &str) -> PgError {
        match self {
            PgError::Query(message) => PgError::At { target: target.to_owned(), message },
            PgError::Newer { found, known, .. } => PgError::Newer { target: target.to_owned(), found, known },
            other => other,
        }
    }
}

impl From<tokio_postgres::Error> for PgError {
    fn from(error: tokio_postgres::Error) -> PgError {
        match error.as_db_error() {
            Some(db) => PgError::Query(format!("{} ({})", db.message(), db.code().code())),
            None => PgError::Query(error.to_string()),
        }
    }
}
