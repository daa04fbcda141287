//! The `fanout` Lambda function: SQS batches of accepted events in, one delivery per matching
//! subscription out; failed items are reported (`ReportBatchItemFailures`), and an event whose
//! fan-out outlasts the invocation continues in another.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use hookline_runtime as runtime;
use lambda_runtime::{LambdaEvent, service_fn};

/// The invocation's deadline (Unix milliseconds, from the runtime) on this process's clock.
fn deadline(epoch_ms: u64) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Instant::now() + Duration::from_millis(epoch_ms.saturating_sub(now_ms))
}

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
        let until = deadline(event.context.deadline);
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
