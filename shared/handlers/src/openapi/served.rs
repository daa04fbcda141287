//! `GET /openapi.json`: the committed document with the running version and, as webhooks, the
//! live catalog's event types ([`super::webhooks::with_catalog`]). Rebuilt only when the
//! catalog this process holds changes (a new snapshot), not on every request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::Value;

use super::EMBEDDED_DOCUMENT;
use super::webhooks::with_catalog;
use crate::catalog::CatalogEntry;
use crate::context::AppContext;

type Catalog = Arc<HashMap<String, CatalogEntry>>;

/// The document last served, and the catalog snapshot it was built from.
#[derive(Default)]
pub struct ServedDocument {
    last: Mutex<Option<(Catalog, Bytes)>>,
}

/// The committed document with `version` as its `info.version`.
pub fn committed_document(version: &str) -> Value {
    // The committed document parses: `build.rs` minified it, and the tests read it.
    let mut doc: Value = serde_json::from_str(EMBEDDED_DOCUMENT).unwrap_or_default();
    if let Some(info) = doc.get_mut("info").and_then(Value::as_object_mut) {
        info.insert("version".to_string(), version.into());
    }
    doc
}

/// The document for `catalog`: its types in name order, so the bytes are stable.
pub fn document_for(version: &str, catalog: &HashMap<String, CatalogEntry>) -> Bytes {
    let mut doc = committed_document(version);
    let mut types: Vec<_> = catalog.values().map(|e| &e.event_type).collect();
    types.sort_unstable_by(|a, b| a.name.cmp(&b.name));
    with_catalog(&mut doc, types);
    serde_json::to_vec(&doc)
        .map(Bytes::from)
        .unwrap_or_default()
}

impl ServedDocument {
    /// The document for the catalog `ctx` holds now (the committed one alone if the catalog
    /// cannot be read: the routes are still worth documenting).
    pub async fn get(&self, ctx: &AppContext) -> Bytes {
        let catalog = match ctx.catalog.get(ctx.store.as_ref()).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "openapi: the catalog could not be read; serving the document without its event types");
                return document_for(&ctx.config.version, &HashMap::new());
            }
        };
        if let Ok(last) = self.last.lock()
            && let Some((built_from, bytes)) = last.as_ref()
            && Arc::ptr_eq(built_from, &catalog)
        {
            return bytes.clone();
        }
        let bytes = document_for(&ctx.config.version, &catalog);
        if let Ok(mut last) = self.last.lock() {
            *last = Some((catalog, bytes.clone()));
        }
        bytes
    }
}

/// The `/openapi.json` handler over one [`ServedDocument`].
pub fn route() -> axum::routing::MethodRouter<Arc<AppContext>> {
    let served = Arc::new(ServedDocument::default());
    axum::routing::get(move |State(ctx): State<Arc<AppContext>>| {
        let served = served.clone();
        async move {
            let body = served.get(&ctx).await;
            ([(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
    })
}
