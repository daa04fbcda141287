//! The `manage` Lambda function: configuration and AWS adapters from the environment, then the
//! shared `manage` router behind API Gateway's HTTP API. Each request runs as one invocation
//! (`hookline_runtime::invocation`): its log lines carry the request id, its metrics
//! are printed before it answers.

use std::sync::Arc;

use hookline_runtime as runtime;
use lambda_http::{Request, Service, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    runtime::init_logs();
    let metrics = Arc::new(runtime::metrics_from_env());
    let ctx = runtime::api_context_from_env(metrics.clone())
        .await
        .inspect_err(|e| {
            tracing::error!(error = %e, "hookline-manage cannot start");
        })?;
    let router = hookline_handlers::manage_router(ctx);
    lambda_http::run(service_fn(move |request: Request| {
        // An axum router is always ready, and a clone of it is a reference count.
        let (mut router, metrics) = (router.clone(), metrics.clone());
        async move { runtime::invocation(&metrics, router.call(request)).await }
    }))
    .await
}
