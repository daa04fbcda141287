//! The last step of every message: its [`Disposition`] carried out on the queue
//! ([`acknowledge`]), and the typed [`DeliveryError`] that leaves a message where it is.

use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsMessage;
use hookline_domain::retry::{Wait, plan_wait};
use hookline_ports::{PortError, QueueMessage, QueueName};
use time::OffsetDateTime;

use crate::context::WorkerContext;

/// A message arriving this much before its delivery is due counts as on time (clock skew).
pub(crate) const EARLY_TOLERANCE: Duration = Duration::from_secs(1);

/// What becomes of a received message once the delivery's steps are done with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Done with: delete it.
    Ack,
    /// Receive it again after this long: it stays in the queue, invisible, or — when the
    /// queue could not keep it that long (its 12 hours from the receive, its retention, its
    /// receive count) — goes out again as a fresh message, and this one is done with.
    RetryIn(Duration),
    /// Move the message, as received, to the dead-letter queue; then delete it.
    DeadLetter,
}

/// Why a message is left in the queue as it is, until its visibility timeout ends: nothing
/// was decided that could be written or sent.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// A store read or write failed.
    #[error("the store failed {doing}: {source}")]
    Store {
        /// What the step was doing.
        doing: &'static str,
        /// The store's error.
        #[source]
        source: PortError,
    },
    /// The dead-letter queue did not take a message.
    #[error("could not dead-letter a message: {0}")]
    DeadLetter(#[source] PortError),
    /// The delivery changed between this worker's read and its write: looked at again later.
    #[error("the delivery changed meanwhile")]
    Changed,
    /// The attempt panicked (a bug); the message is retried.
    #[error("the attempt panicked")]
    Panicked,
}

impl DeliveryError {
    /// A store failure while `doing` something.
    pub(crate) fn store(doing: &'static str) -> impl FnOnce(PortError) -> DeliveryError {
        move |source| DeliveryError::Store { doing, source }
    }

    /// Logs the error of a message left in the queue (`delivery_id` if it parsed).
    pub(crate) fn log(&self, delivery_id: Option<&str>) {
        match self {
            // An ordinary race, resolved at the next receive.
            DeliveryError::Changed => {
                tracing::debug!(
                    delivery_id,
                    "deliver: the delivery changed meanwhile; the message waits"
                )
            }
            e => {
                tracing::error!(error = %e, delivery_id, "deliver: the message is left for a later attempt")
            }
        }
    }
}

/// What the queue does with a message: delete it, or leave it (for the wait it was given,
/// or its visibility timeout), which the handler reports as a batch-item failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settled {
    /// Done with it.
    Delete,
    /// It stays.
    Leave,
}

/// A received message, as the steps of its attempt need it.
pub(crate) struct Inbound<'a> {
    /// The message.
    pub(crate) record: &'a SqsMessage,
    /// Its body.
    pub(crate) body: &'a str,
    /// When its batch reached this handler: the queue's 12 hours of invisibility count from
    /// about then.
    pub(crate) received: Instant,
}

impl<'a> Inbound<'a> {
    /// The message `record`, received with its batch at `received`.
    pub(crate) fn new(record: &'a SqsMessage, received: Instant) -> Self {
        Inbound {
            record,
            body: record.body.as_deref().unwrap_or(""),
            received,
        }
    }

    /// `ApproximateReceiveCount` of the message (1 if absent).
    pub(crate) fn receive_count(&self) -> u32 {
        self.record
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1)
    }

    /// How long ago the message was first sent (`SentTimestamp`; zero if absent).
    fn age(&self, now: OffsetDateTime) -> Duration {
        let sent_ms = self
            .record
            .attributes
            .get("SentTimestamp")
            .and_then(|t| t.parse::<i128>().ok());
        match sent_ms {
            Some(ms) => {
                let now_ms = now.unix_timestamp_nanos() / 1_000_000;
                Duration::from_millis(u64::try_from(now_ms - ms).unwrap_or(0))
            }
            None => Duration::ZERO,
        }
    }
}

/// Acknowledge: carries out the message's disposition on the deliveries queue.
pub(crate) async fn acknowledge(
    ctx: &WorkerContext,
    inbound: &Inbound<'_>,
    disposition: Disposition,
) -> Result<Settled, DeliveryError> {
    match disposition {
        Disposition::Ack => Ok(Settled::Delete),
        Disposition::RetryIn(delay) => Ok(retry_in(ctx, inbound, delay).await),
        Disposition::DeadLetter => {
            dead_letter(ctx, inbound.body.to_string()).await?;
            Ok(Settled::Delete)
        }
    }
}

/// Makes the message wait `delay` before its next receive (see [`Disposition::RetryIn`]).
async fn retry_in(ctx: &WorkerContext, inbound: &Inbound<'_>, delay: Duration) -> Settled {
    let wait = plan_wait(
        delay,
        inbound.received.elapsed(),
        inbound.age(ctx.clock.now()),
        inbound.receive_count(),
        &ctx.config.delivery_queue,
    );
    let hide = match wait {
        Wait::Hide(hide) => hide,
        Wait::Resend(send_delay) => {
            let fresh = QueueMessage {
                body: inbound.body.to_string(),
                delay: send_delay,
            };
            match ctx.queue.send(QueueName::Deliveries, vec![fresh]).await {
                Ok(()) => return Settled::Delete,
                Err(e) => {
                    tracing::warn!(error = %e, "deliver: could not send the message again; it waits where it is");
                    delay.min(send_delay.max(EARLY_TOLERANCE))
                }
            }
        }
    };
    if let Some(handle) = inbound.record.receipt_handle.as_deref()
        && let Err(e) = ctx
            .queue
            .change_visibility(QueueName::Deliveries, handle, hide)
            .await
    {
        tracing::warn!(error = %e, "deliver: could not set the retry delay; the queue's visibility timeout applies");
    }
    Settled::Leave
}

/// Sends `body` to the deliveries' dead-letter queue.
pub(crate) async fn dead_letter(ctx: &WorkerContext, body: String) -> Result<(), DeliveryError> {
    ctx.queue
        .send(QueueName::DeliveriesDlq, vec![QueueMessage::now(body)])
        .await
        .map_err(DeliveryError::DeadLetter)
}
