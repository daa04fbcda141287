//! The one error type of every port.

use std::error::Error;
use std::fmt;

/// The adapter's own error behind a [`PortError::Backend`].
pub type BackendCause = Box<dyn Error + Send + Sync + 'static>;

/// What a port call can fail with.
#[derive(thiserror::Error)]
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
    #[error("backend: {message}")]
    Backend {
        /// What failed, in a few words: the operation and the backend's short reason (an
        /// error code, SQLite's message), never a stored value, a request or a secret.
        message: String,
        /// The adapter's error that caused it, where one did, for callers that inspect the
        /// cause (`std::error::Error::source`, then a downcast). Never printed by this
        /// error's `Display` or `Debug`: the cause's own `Debug` can hold what the backend
        /// answered.
        #[source]
        source: Option<BackendCause>,
    },
}

impl PortError {
    /// A backend failure that no adapter error caused (a broken invariant, a stopped
    /// thread, an answer the backend should not have given).
    pub fn backend(message: impl Into<String>) -> PortError {
        PortError::Backend {
            message: message.into(),
            source: None,
        }
    }

    /// A backend failure caused by the adapter's error `cause`. `message` says what failed;
    /// it must not quote a stored value, a request or a secret (the cause is not quoted).
    pub fn backend_caused_by(
        message: impl Into<String>,
        cause: impl Into<BackendCause>,
    ) -> PortError {
        PortError::Backend {
            message: message.into(),
            source: Some(cause.into()),
        }
    }
}

/// The cause as `Debug` shows it: its `Display`, which adapters keep free of payloads.
struct CauseSummary<'a>(&'a (dyn Error + Send + Sync + 'static));

impl fmt::Debug for CauseSummary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0.to_string())
    }
}

impl fmt::Debug for PortError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortError::Conflict(m) => f.debug_tuple("Conflict").field(m).finish(),
            PortError::NotFound => f.write_str("NotFound"),
            PortError::InvalidCursor => f.write_str("InvalidCursor"),
            PortError::Backend { message, source } => f
                .debug_struct("Backend")
                .field("message", message)
                .field("source", &source.as_deref().map(CauseSummary))
                .finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Cause {
        /// What a backend's answer could hold.
        answer: &'static str,
    }

    impl fmt::Display for Cause {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("ThrottlingException")
        }
    }

    impl Error for Cause {}

    #[test]
    fn a_backend_error_keeps_its_cause_without_printing_what_the_cause_holds() {
        let e = PortError::backend_caused_by(
            "dynamodb get_item: throttled",
            Cause {
                answer: "whsec_secret",
            },
        );
        assert_eq!(e.to_string(), "backend: dynamodb get_item: throttled");
        let cause = e.source().expect("a source");
        assert_eq!(
            cause.downcast_ref::<Cause>().map(|c| c.answer),
            Some("whsec_secret"),
            "the cause is the adapter's own error"
        );
        let debug = format!("{e:?}");
        assert!(debug.contains("ThrottlingException"), "{debug}");
        assert!(!debug.contains("whsec_secret"), "{debug}");
    }

    #[test]
    fn a_backend_error_without_a_cause_has_no_source() {
        let e = PortError::backend("sqlite send: the writer thread has stopped");
        assert!(e.source().is_none());
        assert_eq!(
            e.to_string(),
            "backend: sqlite send: the writer thread has stopped"
        );
    }
}
