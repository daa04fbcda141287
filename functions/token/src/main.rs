//! The `token` Lambda function: configuration and AWS adapters from the environment, the
//! bootstrap admin created from its deploy-time secret (once, ever), then the shared `token`
//! router behind API Gateway's HTTP API. It alone reads the private signing keys; it has no
//! queue access (nor an IAM permission for any).

use std::sync::Arc;

use hookline_runtime::{self as runtime, StartError};
use lambda_http::{Request, Service, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    runtime::init_logs();
    let sdk = runtime::function_sdk_config();
    let start = async {
        // The store and the private key set: no queue, no webhook client.
        let ctx = runtime::token_context_from_env(&sdk).await?;
        runtime::ensure_bootstrap_admin(&sdk, &ctx).await?;
        Ok::<_, StartError>(ctx)
    };
    let ctx = start.await.inspect_err(|e| {
        tracing::error!(error = %e, "hookline-token cannot start");
    })?;
    // No metrics of its own: the invocation wrapper only gives its log lines `coldStart`.
    let metrics = Arc::new(runtime::metrics_from_env());
    let router = hookline_handlers::token_router(ctx);
    lambda_http::run(service_fn(move |request: Request| {
        let (mut router, metrics) = (router.clone(), metrics.clone());
        async move { runtime::invocation(&metrics, router.call(request)).await }
    }))
    .await
}
