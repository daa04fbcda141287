//! The event catalog as handlers use it: names and compiled schemas, cached per instance and
//! refreshed from the store at most every TTL (immediately after a write on this instance).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use hookline_domain::EventType;
use hookline_domain::catalog::compile_schema;
use hookline_ports::{PortError, Store};

/// One catalog entry with its compiled schema.
pub struct CatalogEntry {
    /// The type.
    pub event_type: EventType,
    /// Compiled schema, if the type has one.
    pub validator: Option<hookline_domain::catalog::SchemaValidator>,
}

type Snapshot = Arc<HashMap<String, CatalogEntry>>;

/// The cached catalog.
pub struct CatalogCache {
    ttl: Duration,
    snapshot: RwLock<Option<(Instant, Snapshot)>>,
}

impl CatalogCache {
    /// An empty cache that reloads after `ttl`.
    pub fn new(ttl: Duration) -> Self {
        CatalogCache {
            ttl,
            snapshot: RwLock::new(None),
        }
    }

    /// The current catalog.
    pub async fn get(&self, store: &dyn Store) -> Result<Snapshot, PortError> {
        if let Ok(g) = self.snapshot.read()
            && let Some((at, snap)) = g.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(snap.clone());
        }
        self.reload(store).await
    }

    /// Reloads from the store.
    pub async fn reload(&self, store: &dyn Store) -> Result<Snapshot, PortError> {
        let types = store.list_event_types().await?;
        let mut map = HashMap::with_capacity(types.len());
        for t in types {
            // Schemas were validated when written; one that no longer compiles is skipped
            // rather than rejecting every event.
            let validator = t.schema.as_ref().and_then(|s| compile_schema(s).ok());
            map.insert(
                t.name.clone(),
                CatalogEntry {
                    event_type: t,
                    validator,
                },
            );
        }
        let snap = Arc::new(map);
        if let Ok(mut g) = self.snapshot.write() {
            *g = Some((Instant::now(), snap.clone()));
        }
        Ok(snap)
    }
}

/// Stores every type of `types` that the store does not have yet (first start, or a catalog
/// file that gained types); types added or changed by admins are kept, except that a stored
/// type without an example, whose schema is the file's, gets the file's example.
pub async fn seed(store: &dyn Store, types: &[EventType]) -> Result<usize, PortError> {
    let existing = store.list_event_types().await?;
    let mut added = 0;
    for t in types {
        match existing.iter().find(|e| e.name == t.name) {
            None => {
                store.put_event_type(t).await?;
                added += 1;
            }
            Some(e) if e.example.is_none() && t.example.is_some() && e.schema == t.schema => {
                let with_example = EventType {
                    example: t.example.clone(),
                    ..e.clone()
                };
                store.put_event_type(&with_example).await?;
            }
            Some(_) => {}
        }
    }
    Ok(added)
}
