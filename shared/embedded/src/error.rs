//! The crate's error type, for opening a data directory, and the mapping of SQLite and JSON
//! failures into `PortError::Backend` for port calls.
//!
//! Messages name the operation and SQLite's own reason (which names tables and columns, never
//! bound values), so no payload or secret can reach a log through them.

use std::path::PathBuf;

use hookline_ports::PortError;

/// Why the embedded backend could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// SQLite refused to open, configure or migrate the database.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Another process has the data directory open: one process owns it at a time (the
    /// local runner's workers rely on being the only ones over its store).
    #[error("the data directory {path} is in use by another process")]
    InUse {
        /// The directory.
        path: PathBuf,
    },
    /// The data directory's lock file could not be opened or locked.
    #[error("cannot lock the data directory {path}: {source}")]
    Lock {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database file could not be opened for the checkpointer's syncs.
    #[error("cannot open the database file {path}: {source}")]
    DbFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A database thread (writer, checkpointer) could not be started.
    #[error("cannot start a database thread: {0}")]
    Thread(std::io::Error),
    /// The secret store's key (`HOOKLINE_SECRETS_KEY`) is malformed; the message names its
    /// source, never its value.
    #[error("secret store key: {0}")]
    SecretsKey(String),
    /// The database was written by a newer Hookline whose schema this build does not know.
    #[error("database schema version {found} is newer than this build supports ({supported})")]
    SchemaTooNew {
        /// `user_version` found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
}

/// Maps a SQLite error of operation `op` to a retryable backend error.
pub(crate) fn sqlite(op: &str, e: rusqlite::Error) -> PortError {
    PortError::backend_caused_by(format!("sqlite {op}: {e}"), e)
}

/// Maps a JSON (de)serialization error of operation `op` to a backend error.
pub(crate) fn json(op: &str, e: serde_json::Error) -> PortError {
    // serde_json's own message can quote the offending value; keep only its class and place,
    // and not the error itself as the cause (whoever printed it would quote the value).
    PortError::backend(format!(
        "stored JSON {op}: {:?} error at line {} column {}",
        e.classify(),
        e.line(),
        e.column()
    ))
}
