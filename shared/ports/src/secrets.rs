//! The secret store: every outbound credential Hookline keeps for a client (a connection's
//! credentials and secret properties, an app version's secret environment values), by name.
//! Secrets Manager on AWS (one secret per name, under the stack's prefix); locally a SQLite
//! table encrypted at rest (AES-256-GCM, with a key kept apart from the database).
//!
//! Values are written and read whole; nothing here lists them, and no error carries a value.

use async_trait::async_trait;

use crate::error::PortError;

/// Longest secret value (Secrets Manager's limit is 64 KiB).
pub const MAX_SECRET_BYTES: usize = 60 * 1024;

/// Secrets by name (`connections/con_…`, `apps/<key>/<version>`).
#[async_trait]
pub trait SecretStore: Send + Sync + 'static {
    /// Creates or replaces the secret `name`. A value over [`MAX_SECRET_BYTES`] is refused
    /// (a backend error that, like every error here, does not quote it).
    async fn put_secret(&self, name: &str, value: &[u8]) -> Result<(), PortError>;
    /// The secret `name`, if there is one.
    async fn get_secret(&self, name: &str) -> Result<Option<Vec<u8>>, PortError>;
    /// Deletes the secret `name` at once (no recovery window); nothing if there is none.
    async fn delete_secret(&self, name: &str) -> Result<(), PortError>;
}
