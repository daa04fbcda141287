//! The `poll` Lambda function: on its schedule (`rate(1 minute)` in template.yaml), runs the
//! connections' polling triggers that are due, batch after batch, until none is left or the
//! invocation's time runs short. Each new item becomes an event (stored, queued for fan-out)
//! exactly as `POST /v1/events` makes one; a run that does not finish is taken up again once
//! its lease ends.

use std::sync::Arc;
use std::time::Duration;

use hookline_handlers::apps::scheduler::{PollContext, run_polls_until};
use hookline_runtime as runtime;
use lambda_runtime::{LambdaEvent, service_fn};

/// Time kept back from the invocation's deadline: no batch starts later than a poll's
/// longest run before it (see `run_polls_until`), and this covers the answer.
const MARGIN: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    runtime::init_logs();
    let metrics = Arc::new(runtime::metrics_from_env());
    // The queue workers' context (no JWT keys: it verifies no token) and the app engine.
    let start = || {
        let worker = runtime::worker_context_from_env(metrics.clone())?;
        Ok::<_, runtime::StartError>(PollContext::from_worker(worker)?)
    };
    let ctx = start().inspect_err(|e| {
        tracing::error!(error = %e, "hookline-poll cannot start");
    })?;
    // The schedule's event says nothing the run needs: it runs whatever is due now.
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let (ctx, metrics) = (ctx.clone(), metrics.clone());
        let deadline = runtime::invocation_deadline(event.context.deadline);
        let until = deadline.checked_sub(MARGIN).unwrap_or(deadline);
        async move {
            let run = runtime::invocation(&metrics, run_polls_until(&ctx, Some(until))).await;
            tracing::info!(
                ran = run.ran,
                published = run.published,
                failed = run.failed,
                "polling triggers run"
            );
            Ok::<serde_json::Value, lambda_runtime::Error>(serde_json::json!({
                "ran": run.ran,
                "published": run.published,
                "failed": run.failed,
            }))
        }
    }))
    .await
}
