//! The `deliver` Lambda function: SQS batches of deliveries in; each is attempted, and a
//! failed one is reported after its visibility timeout was set to the retry delay.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hookline_handlers::delivery::{DeliveryContext, handle_deliveries};
use hookline_runtime as runtime;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    runtime::init_logs();
    let metrics = Arc::new(runtime::metrics_from_env());
    // The queue workers' context (no JWT keys: it verifies no token) and the webhook client.
    let start = || {
        let ctx = runtime::worker_context_from_env(metrics.clone())?;
        Ok::<_, runtime::StartError>(DeliveryContext::new(ctx)?)
    };
    let ctx = start().inspect_err(|e| {
        tracing::error!(error = %e, "hookline-deliver cannot start");
    })?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (ctx, metrics) = (ctx.clone(), metrics.clone());
        async move {
            let batch = handle_deliveries(ctx, event.payload);
            Ok::<SqsBatchResponse, lambda_runtime::Error>(
                runtime::invocation(&metrics, batch).await,
            )
        }
    }))
    .await
}
