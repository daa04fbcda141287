//! The `fanout` Lambda function: SQS batches of accepted events in, one delivery per matching
//! subscription out; failed items are reported (`ReportBatchItemFailures`).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};

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
        async move {
            Ok::<SqsBatchResponse, lambda_runtime::Error>(
                hookline_handlers::fanout::handle_events(ctx, event.payload).await,
            )
        }
    }))
    .await
}
