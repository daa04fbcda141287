//! `/health`, `/openapi.json` and `/docs`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use crate::api::views::HealthView;
use crate::context::Core;

/// Liveness and version.
#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, description = "The service is up.", body = HealthView)))]
pub async fn health(State(ctx): State<Arc<Core>>) -> Json<HealthView> {
    Json(HealthView {
        status: "ok".to_string(),
        version: ctx.config.version.clone(),
        backend: ctx.config.backend.to_string(),
    })
}
