//! The `fanout` Lambda function: SQS batches of accepted events in, one delivery per matching
//! subscription out; failed items are reported (`ReportBatchItemFailures`), and an event whose
//! fan-out outlasts the invocation continues in another.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
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
    hookline_aws::runtime::init_logs();
    let ctx = hookline_aws::runtime::context_from_env(hookline_aws::runtime::QueueAccess::Send)
        .await
        .inspect_err(|e| {
            tracing::error!(error = %e, "hookline-fanout cannot start");
        })?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let ctx = ctx.clone();
        let until = deadline(event.context.deadline);
        async move {
            Ok::<SqsBatchResponse, lambda_runtime::Error>(
                hookline_handlers::fanout::handle_events_until(ctx, event.payload, Some(until))
                    .await,
            )
        }
    }))
    .await
}
