//! The `deliver` Lambda function: SQS batches of deliveries in; each is attempted, and a
//! failed one is reported after its visibility timeout was set to the retry delay.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    hookline_aws::runtime::init_logs();
    let ctx = hookline_aws::runtime::context_from_env(hookline_aws::runtime::QueueAccess::Send)
        .await
        .inspect_err(|e| {
            tracing::error!(error = %e, "hookline-deliver cannot start");
        })?;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let ctx = ctx.clone();
        async move {
            Ok::<SqsBatchResponse, lambda_runtime::Error>(
                hookline_handlers::delivery::handle_deliveries(ctx, event.payload).await,
            )
        }
    }))
    .await
}
