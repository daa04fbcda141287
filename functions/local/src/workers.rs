//! The runner's workers: the fan-out and delivery pollers that stand in for Lambda's SQS
//! event source mappings, over the delivery context (which derefs to the workers'), and the
//! scheduler of the integration apps' polling triggers, which stands in for the poll
//! function's `rate(1 minute)` schedule.

use std::sync::Arc;
use std::time::Duration;

use hookline_handlers::apps::scheduler::{PollContext, run_polls_until};
use hookline_handlers::delivery::{self, DeliveryContext};
use hookline_handlers::fanout;
use hookline_ports::{Queue, QueueName};
use hookline_runtime::worker::{PollerConfig, run_message_poller, run_poller};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{Backend, Config};

/// The running workers.
pub(crate) struct Workers {
    fanout: JoinHandle<()>,
    deliver: JoinHandle<()>,
    poll: JoinHandle<()>,
}

impl Workers {
    /// Waits for the workers to finish the batches they hold (after `stop` turned true).
    pub(crate) async fn finished(self) {
        let _ = self.fanout.await;
        let _ = self.deliver.await;
        let _ = self.poll.await;
    }
}

/// Spawns the fan-out and delivery pollers over `queue` and the polling triggers'
/// scheduler, until `stop` turns true.
pub(crate) fn spawn(
    queue: &Arc<dyn Queue>,
    deliver_ctx: &Arc<DeliveryContext>,
    poll_ctx: &Arc<PollContext>,
    config: &Config,
    stop: &watch::Receiver<bool>,
) -> Workers {
    let deliver_ctx = deliver_ctx.clone();
    let fanout_ctx = deliver_ctx.worker.clone();
    // Fan-out loops. On the embedded queue, four: while one stores a batch's deliveries (one
    // write of up to a thousand rows, waiting for its commit) and another queues them, the
    // others receive and match the next events, so that the writer always has the next batch
    // waiting. With two, the writer sat idle for a quarter of fanout-100's fan-out phase while
    // both loops matched or serialised; four took fanout-100 from 9,100-13,700 to
    // 11,600-15,600 deliveries/s in alternating runs (4 pairs of 5 faster) and throughput-1's
    // p99 from 1.1-1.5 s to 0.26-0.30 s, with fanout-10 within the noise. On SQS, one: there
    // the runner emulates Lambda for tests against moto, whose TransactWriteItems backs up
    // each table it touches and, when the transaction is cancelled (a repeated idempotency
    // key), restores the backup, losing any write another request made meanwhile; a second
    // loop made a fanned-out delivery vanish that way in about half of the end-to-end runs.
    let fanout_loops = match config.backend {
        Backend::Embedded => 4,
        Backend::Aws => 1,
    };
    let fanout_worker = tokio::spawn(run_poller(
        queue.clone(),
        PollerConfig {
            queue: QueueName::Events,
            batch_size: 10,
            wait: Duration::from_secs(1),
            visibility: config.visibility,
            concurrency: fanout_loops,
        },
        move |event| fanout::handle_events(fanout_ctx.clone(), event),
        stop.clone(),
    ));
    // Each delivery on its own: a receiver that hangs holds one slot, not a batch.
    let deliver_worker = tokio::spawn(run_message_poller(
        queue.clone(),
        PollerConfig {
            queue: QueueName::Deliveries,
            batch_size: 10,
            wait: Duration::from_secs(1),
            visibility: config.visibility,
            concurrency: 2,
        },
        config.delivery_concurrency,
        {
            // The subscription index once per received batch, as a Lambda invocation would.
            let ctx = deliver_ctx.clone();
            move || {
                let ctx = ctx.clone();
                async move {
                    ctx.index
                    .get(ctx.store.as_ref())
                    .await
                    .inspect_err(|e| tracing::error!(error = %e, "deliver: could not load subscriptions"))
                    .ok()
                }
            }
        },
        move |index, event| {
            delivery::handle_deliveries(
                deliver_ctx.clone(),
                delivery::Batch::with_index(event, index),
            )
        },
        stop.clone(),
    ));
    Workers {
        fanout: fanout_worker,
        deliver: deliver_worker,
        poll: tokio::spawn(run_scheduler(
            poll_ctx.clone(),
            config.poll_tick,
            stop.clone(),
        )),
    }
}

/// Every `tick`, runs the polls that are due (all of them, batch after batch), until `stop`
/// turns true; a run under way when it does is finished (its outcome recorded), so that no
/// poll waits for its lease to end after a restart.
async fn run_scheduler(ctx: Arc<PollContext>, tick: Duration, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let run = run_polls_until(&ctx, None).await;
        if run.ran > 0 {
            tracing::debug!(
                ran = run.ran,
                published = run.published,
                failed = run.failed,
                "polling triggers run"
            );
        }
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = stop.changed() => {}
        }
    }
}
