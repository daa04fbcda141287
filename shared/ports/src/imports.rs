//! The bulk imports of the manufacturer registry: an import record, written once when its
//! file has been read, and one record per chunk of its rows, written once by the worker that
//! finished the chunk (a redelivered chunk finds its record and counts once).
//!
//! | method | access pattern (DynamoDB shape) |
//! |---|---|
//! | `insert_import` | conditional put `IMPORT#id` / `IMPORT` (attribute_not_exists) |
//! | `get_import` | key lookup `IMPORT#id` / `IMPORT` |
//! | `record_import_chunk` | conditional put `IMPORT#id` / `CHUNK#n` (attribute_not_exists) |
//! | `list_import_chunks` | query partition `IMPORT#id`, sort keys beginning `CHUNK#` |

use async_trait::async_trait;
use hookline_domain::{Import, ImportChunk, ImportId};

use crate::error::PortError;

/// Imports and the recorded outcomes of their chunks.
#[async_trait]
pub trait ImportStore: Send + Sync + 'static {
    /// Stores a new import; `Conflict` if the id exists.
    async fn insert_import(&self, import: &Import) -> Result<(), PortError>;
    /// An import by id.
    async fn get_import(&self, id: &ImportId) -> Result<Option<Import>, PortError>;
    /// Records a chunk's outcomes, once: returns false (writing nothing) if this chunk of
    /// this import was recorded before.
    async fn record_import_chunk(
        &self,
        import: &ImportId,
        chunk: &ImportChunk,
    ) -> Result<bool, PortError>;
    /// Every chunk of an import recorded so far, by chunk number (strongly consistent: a
    /// chunk whose recording returned is listed).
    async fn list_import_chunks(&self, import: &ImportId) -> Result<Vec<ImportChunk>, PortError>;
}
