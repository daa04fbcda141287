//! `/health`, `/openapi.json` and `/docs`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::context::AppContext;

/// Liveness and version.
#[utoipa::path(get, path = "/health", tag = "service", responses((status = 200, description = "`{status, version, backend}`")))]
pub async fn health(State(ctx): State<Arc<AppContext>>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": ctx.config.version,
        "backend": ctx.config.backend,
    }))
}
