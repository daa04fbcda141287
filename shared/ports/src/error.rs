//! The one error type of every port.

/// What a port call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    /// A conditional write found the item already there (or changed).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The item does not exist.
    #[error("not found")]
    NotFound,
    /// A cursor that this backend did not issue.
    #[error("invalid cursor")]
    InvalidCursor,
    /// The backend failed (I/O, network, throttling). Retryable by the caller.
    #[error("backend: {0}")]
    Backend(String),
}
