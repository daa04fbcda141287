//! The delivery handler: one SQS batch of delivery messages in, partial batch failures out —
//! the one entry for the `deliver` Lambda function and for the local runner's poller. A
//! failed attempt is reported as a batch-item failure after its visibility timeout was set to
//! the retry delay, so SQS itself (or the embedded queue) schedules the next attempt.

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::delivery::context::DeliveryContext;
use crate::delivery::disposition::{DeliveryError, Disposition, Inbound, Settled, acknowledge};
use crate::delivery::pipeline::process;
use crate::index::SubscriptionIndex;
use crate::messages::DeliveryMessage;

/// A batch of delivery messages, as Lambda's event source mapping or the local runner's
/// poller hands it over.
pub struct Batch {
    event: SqsEvent,
    /// The subscription index the caller loaded for this batch, if it did (the local runner
    /// loads it once per received batch and hands each message over alone).
    index: Option<Arc<SubscriptionIndex>>,
}

impl Batch {
    /// `event`'s messages, with the subscription index the caller loaded for them.
    pub fn with_index(event: SqsEvent, index: Arc<SubscriptionIndex>) -> Batch {
        Batch {
            event,
            index: Some(index),
        }
    }
}

impl From<SqsEvent> for Batch {
    fn from(event: SqsEvent) -> Batch {
        Batch { event, index: None }
    }
}

/// Attempts every delivery of the batch concurrently; returns the items to retry.
pub async fn handle_deliveries(
    ctx: Arc<DeliveryContext>,
    batch: impl Into<Batch>,
) -> SqsBatchResponse {
    let Batch { event, index } = batch.into();
    let mut response = SqsBatchResponse::default();
    let index = match index {
        Some(index) => index,
        None => match ctx.index.get(ctx.store.as_ref()).await {
            Ok(index) => index,
            Err(e) => {
                tracing::error!(error = %e, "deliver: could not load subscriptions; retrying the batch");
                response.batch_item_failures = event.records.iter().filter_map(failure).collect();
                return response;
            }
        },
    };
    let received = Instant::now();
    // The local runner hands messages over one at a time, each on a task of its own already:
    // attempt it right here, without a second task (its spawn, join and bookkeeping were 3%
    // of the runner's CPU in fan-out). A panic is still caught, and still costs only this
    // message.
    if let [record] = event.records.as_slice() {
        let done = CatchPanic(Box::pin(deliver_one(&ctx, &index, record, received))).await;
        let settled = done.unwrap_or_else(|| {
            DeliveryError::Panicked.log(None);
            Settled::Leave
        });
        if settled == Settled::Leave {
            response.batch_item_failures.extend(failure(record));
        }
        return response;
    }
    let mut tasks = JoinSet::new();
    // A task that panics returns no record: remember which message each task holds, so that
    // its message is reported as failed (and retried) rather than deleted as done.
    let mut held = HashMap::new();
    for record in event.records {
        let ctx = ctx.clone();
        let index = index.clone();
        let message_id = record.message_id.clone();
        // In the invocation's span, so that the attempt's log lines carry its request id.
        let handle = tasks.spawn(
            async move { deliver_one(&ctx, &index, &record, received).await }.in_current_span(),
        );
        held.insert(handle.id(), message_id);
    }
    while let Some(joined) = tasks.join_next_with_id().await {
        let (id, settled) = match joined {
            Ok((id, settled)) => (id, settled),
            Err(e) => {
                tracing::error!(error = %e, "deliver: task failed; the message will be retried");
                (e.id(), Settled::Leave)
            }
        };
        if settled == Settled::Leave
            && let Some(Some(message_id)) = held.remove(&id)
        {
            let mut f = BatchItemFailure::default();
            f.item_identifier = message_id;
            response.batch_item_failures.push(f);
        }
    }
    response
}

/// Polls a future, turning a panic into `None`, as a task's `JoinError` would be.
struct CatchPanic<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(move || fut.poll(cx))) {
            Ok(Poll::Ready(out)) => Poll::Ready(Some(out)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(None),
        }
    }
}

fn failure(record: &SqsMessage) -> Option<BatchItemFailure> {
    let mut f = BatchItemFailure::default();
    f.item_identifier = record.message_id.clone()?;
    Some(f)
}

/// One message: its steps ([`process`]) decide its disposition, which is then carried out
/// on the queue (acknowledge). A message that does not parse is dead-lettered.
async fn deliver_one(
    ctx: &DeliveryContext,
    index: &SubscriptionIndex,
    record: &SqsMessage,
    received: Instant,
) -> Settled {
    let inbound = Inbound::new(record, received);
    let msg: Option<DeliveryMessage> = serde_json::from_str(inbound.body).ok();
    let disposition = match &msg {
        Some(msg) => process(ctx, index, &inbound, msg).await,
        None => {
            tracing::warn!(message_id = ?record.message_id, "deliver: malformed message; dead-lettering it");
            Ok(Disposition::DeadLetter)
        }
    };
    let delivery_id = msg.as_ref().map(|m| m.delivery_id.as_str());
    let settled = match disposition {
        Ok(disposition) => acknowledge(ctx, &inbound, disposition).await,
        Err(e) => Err(e),
    };
    match settled {
        Ok(settled) => settled,
        Err(e) => {
            e.log(delivery_id);
            Settled::Leave
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_attempt_becomes_a_failure_not_a_crash() {
        assert_eq!(CatchPanic(Box::pin(async { 7 })).await, Some(7));
        let panicked = CatchPanic(Box::pin(async {
            tokio::task::yield_now().await;
            panic!("a bug in an attempt")
        }))
        .await;
        assert_eq!(panicked, None::<()>);
    }
}
