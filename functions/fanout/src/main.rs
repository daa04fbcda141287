//! The `fanout` Lambda function: SQS batches of accepted events in, one delivery per matching
//! subscription out; failed items are reported (`ReportBatchItemFailures`), and an event whose
//! fan-out outlasts the invocation continues in another.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hookline_runtime as runtime;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    runtime::init_logs();
    let metrics = Arc::new(runtime::metrics_from_env());
    // The store and a queue sender; no JWT keys (it verifies no token), no webhook client.
    let ctx = runtime::worker_context_from_env(metrics.clone()).inspect_err(|e| {
        tracing::error!(error = %e, "hookline-fanout cannot start");
    })?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let (ctx, metrics) = (ctx.clone(), metrics.clone());
        let until = runtime::invocation_deadline(event.context.deadline);
        async move {
            let batch =
                hookline_handlers::fanout::handle_events_until(ctx, event.payload, Some(until));
            Ok::<SqsBatchResponse, lambda_runtime::Error>(
                runtime::invocation(&metrics, batch).await,
            )
        }
    }))
    .await
}
