//! The `ingest` Lambda function: configuration and AWS adapters from the environment, then the
//! shared `ingest` router behind API Gateway's HTTP API.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookline_aws::runtime::init_logs();
    let ctx = hookline_aws::runtime::context_from_env(hookline_aws::runtime::QueueAccess::Send)
        .await
        .inspect_err(|e| {
            tracing::error!(error = %e, "hookline-ingest cannot start");
        })?;
    lambda_http::run(hookline_handlers::ingest_router(ctx)).await
}
