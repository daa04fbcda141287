//! The `token` Lambda function: configuration and AWS adapters from the environment, the
//! bootstrap admin created from its deploy-time secret (once, ever), then the shared `token`
//! router behind API Gateway's HTTP API. It alone reads the private signing keys; it has no
//! queue access (nor an IAM permission for any).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    hookline_runtime::init_logs();
    let sdk = hookline_aws::function_sdk_config();
    let start = async {
        let settings = hookline_aws::AwsSettings::from_env()
            .map_err(|e| hookline_runtime::StartError::Config(e.to_string()))?;
        let config = hookline_runtime::handler_config_from_env()?;
        let ctx = hookline_runtime::context(
            &sdk,
            &settings,
            config,
            hookline_runtime::QueueAccess::None,
            hookline_runtime::KeyAccess::Sign,
        )
        .await?;
        hookline_runtime::ensure_bootstrap_admin(&sdk, &ctx).await?;
        Ok::<_, hookline_runtime::StartError>(ctx)
    };
    let ctx = start.await.inspect_err(|e| {
        tracing::error!(error = %e, "hookline-token cannot start");
    })?;
    // No metrics of its own: the invocation wrapper only gives its log lines `coldStart`.
    let metrics = std::sync::Arc::new(hookline_aws::metrics::EmfMetrics::from_env());
    let router = hookline_handlers::token_router(ctx);
    lambda_http::run(lambda_http::service_fn(
        move |request: lambda_http::Request| {
            use lambda_http::Service;
            let (mut router, metrics) = (router.clone(), metrics.clone());
            async move { hookline_runtime::invocation(&metrics, router.call(request)).await }
        },
    ))
    .await
}
