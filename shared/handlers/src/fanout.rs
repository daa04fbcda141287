//! The fan-out handler: one SQS batch of accepted events in; for each, one delivery per
//! matching subscription, recorded and queued. Delivery ids derive from (event, subscription),
//! so a repeated fan-out (redelivered message, crash mid-batch) creates nothing twice.
//!
//! An event may match thousands of subscriptions. Its deliveries are made in subscription-id
//! order and stored and queued a chunk at a time; when the invocation nears its deadline, what
//! is left of each event goes back to the events queue as a continuation message naming the
//! last subscription done, so a large fan-out finishes across invocations, each within its
//! time budget, without spending the message's receives.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use hookline_domain::{Delivery, DeliveryId, DeliveryStatus, EventId, SubscriptionId};
use hookline_ports::{PortError, QueueMessage, QueueName};
use time::OffsetDateTime;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::context::WorkerContext;
use crate::index::SubscriptionIndex;
use crate::messages::{DeliveryMessage, EventMessage, to_body};
use crate::queueing::enqueue_messages;
use crate::recent::KnownEvent;

mod error;
use error::FanoutError;

/// Time kept free before the deadline: one step takes well under this, and the continuation
/// messages are sent in it.
const DEADLINE_MARGIN: Duration = Duration::from_secs(8);
/// Existing deliveries looked up at once when a fan-out runs again.
const LOOKUPS_IN_FLIGHT: usize = 32;

/// Fans out every event of the batch; returns the items that could not be processed.
pub async fn handle_events(ctx: Arc<WorkerContext>, event: SqsEvent) -> SqsBatchResponse {
    handle_events_until(ctx, event, None).await
}

/// [`handle_events`] for an invocation that must answer by `deadline` (Lambda's): no new step
/// starts within [`DEADLINE_MARGIN`] of it, and what is left goes to continuation messages.
///
/// The deliveries of all the batch's events are stored together, `fanout_step` at a time,
/// and queued after each step: on the embedded backend one commit then carries the index
/// pages that every event's deliveries share, instead of one commit per event. A message that
/// cannot be read, or names an unknown event, fails alone; if a step fails, each event still
/// unfinished is tried on its own, and only the ones that fail again are retried by the queue
/// (the retry creates nothing twice).
pub async fn handle_events_until(
    ctx: Arc<WorkerContext>,
    mut event: SqsEvent,
    deadline: Option<Instant>,
) -> SqsBatchResponse {
    // The events queue also carries the chunks of manufacturer imports.
    let records = std::mem::take(&mut event.records);
    let (chunk_failures, rest) = crate::imports::chunks::take_and_run(&ctx, records).await;
    if rest.is_empty() {
        let mut response = SqsBatchResponse::default();
        response.batch_item_failures = chunk_failures;
        return response;
    }
    event.records = rest;
    let mut response = fan_out(ctx, event, deadline).await;
    response.batch_item_failures.extend(chunk_failures);
    response
}

/// Fans out the batch on a task of its own.
async fn fan_out(
    ctx: Arc<WorkerContext>,
    event: SqsEvent,
    deadline: Option<Instant>,
) -> SqsBatchResponse {
    let all: Vec<BatchItemFailure> = event.records.iter().filter_map(failure).collect();
    // A panic would leave unknown which messages were handled: the batch runs on a task of
    // its own, and if that task fails, all of it is retried (a re-run creates nothing twice).
    // In the invocation's span, so that the batch's log lines carry its request id.
    match tokio::spawn(fan_out_batch(ctx, event, deadline).in_current_span()).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "fanout: task failed; retrying the batch");
            let mut response = SqsBatchResponse::default();
            response.batch_item_failures = all;
            response
        }
    }
}

/// The deliveries one event message calls for, and how far they have been stored and queued.
struct EventWork {
    record: SqsMessage,
    event_id: EventId,
    /// The event (its state and type label the metrics).
    event: Arc<KnownEvent>,
    /// In subscription-id order, past the message's `after`.
    deliveries: Vec<Delivery>,
    /// How many of `deliveries` are stored and queued.
    done: usize,
    /// The message's own starting point (for a continuation that made no progress).
    after: Option<SubscriptionId>,
    failed: bool,
}

impl EventWork {
    fn remaining(&self) -> &[Delivery] {
        &self.deliveries[self.done..]
    }

    fn finished(&self) -> bool {
        self.failed || self.done == self.deliveries.len()
    }

    /// Where a continuation of this event starts.
    fn resume_after(&self) -> Option<SubscriptionId> {
        match self.done {
            0 => self.after.clone(),
            n => Some(self.deliveries[n - 1].subscription_id.clone()),
        }
    }
}

async fn fan_out_batch(
    ctx: Arc<WorkerContext>,
    event: SqsEvent,
    deadline: Option<Instant>,
) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    let all: Vec<BatchItemFailure> = event.records.iter().filter_map(failure).collect();
    let index = match ctx.index.get(ctx.store.as_ref()).await {
        Ok(i) => i,
        Err(e) => {
            tracing::error!(error = %e, "fanout: could not load subscriptions; retrying the batch");
            response.batch_item_failures = all;
            return response;
        }
    };
    let now = ctx.clock.now();
    // The events are read side by side (each may be a store read); their deliveries are then
    // stored in the messages' order.
    let mut reads = JoinSet::new();
    for (i, record) in event.records.into_iter().enumerate() {
        let (ctx, index) = (ctx.clone(), index.clone());
        reads.spawn(
            async move {
                let work = work_of(&ctx, &index, record, now).await;
                (i, work)
            }
            .in_current_span(),
        );
    }
    let mut read = Vec::new();
    while let Some(joined) = reads.join_next().await {
        match joined {
            Ok(r) => read.push(r),
            Err(e) => {
                tracing::error!(error = %e, "fanout: task failed; retrying the batch");
                response.batch_item_failures = all;
                return response;
            }
        }
    }
    read.sort_by_key(|(i, _)| *i);
    let mut works = Vec::new();
    for (_, r) in read {
        match r {
            Ok(work) => works.push(work),
            Err((record, why)) => {
                tracing::warn!(message_id = ?record.message_id, reason = %why, "fanout: message failed");
                response.batch_item_failures.extend(failure(&record));
            }
        }
    }
    run(&ctx, &mut works, deadline).await;
    continue_unfinished(&ctx, &mut works).await;
    // What this invocation stored and queued: a failed event counts once its retry succeeds
    // (from where its message starts), a continued one part by part.
    for w in works.iter().filter(|w| !w.failed) {
        let (state, event_type) = (&w.event.state, &w.event.event_type);
        ctx.metrics.fanned_out(state, event_type, w.done as u64);
    }
    for w in works.iter().filter(|w| w.failed) {
        response.batch_item_failures.extend(failure(&w.record));
    }
    response
}

/// Stores and queues the works' deliveries, all events together while that succeeds, then
/// each event alone; stops when the deadline nears.
async fn run(ctx: &WorkerContext, works: &mut [EventWork], deadline: Option<Instant>) {
    let out_of_time = || deadline.is_some_and(|d| Instant::now() + DEADLINE_MARGIN >= d);
    let step = ctx.config.fanout_step.max(1);
    // Together: one step takes from as many events as fit.
    while !out_of_time() && works.iter().any(|w| !w.finished()) {
        let mut chunk = Vec::new();
        let mut taken = Vec::new();
        for (i, w) in works.iter().enumerate().filter(|(_, w)| !w.finished()) {
            let room = step - chunk.len();
            if room == 0 {
                break;
            }
            let part = &w.remaining()[..w.remaining().len().min(room)];
            chunk.extend_from_slice(part);
            taken.push((i, part.len()));
        }
        match store_and_queue(ctx, &chunk).await {
            Ok(()) => {
                for (i, n) in taken {
                    works[i].done += n;
                }
            }
            Err(why) => {
                tracing::warn!(reason = %why, "fanout: a step failed; each event is tried alone");
                break;
            }
        }
    }
    // Alone: an event that fails here fails by itself.
    for w in works.iter_mut() {
        while !w.finished() && !out_of_time() {
            let n = w.remaining().len().min(step);
            match store_and_queue(ctx, &w.remaining()[..n]).await {
                Ok(()) => w.done += n,
                Err(why) => {
                    tracing::warn!(event_id = %w.event_id, reason = %why, "fanout: event failed; it will be retried");
                    w.failed = true;
                }
            }
        }
    }
}

/// Hands what is left of each unfinished event to a continuation message; an event whose
/// continuation cannot be sent is retried by the queue instead.
async fn continue_unfinished(ctx: &WorkerContext, works: &mut [EventWork]) {
    let unfinished: Vec<usize> = (0..works.len()).filter(|&i| !works[i].finished()).collect();
    if unfinished.is_empty() {
        return;
    }
    let messages = unfinished
        .iter()
        .map(|&i| {
            QueueMessage::now(to_body(&EventMessage {
                event_id: works[i].event_id.clone(),
                after: works[i].resume_after(),
            }))
        })
        .collect();
    match ctx.queue.send(QueueName::Events, messages).await {
        Ok(()) => {
            for &i in &unfinished {
                tracing::info!(event_id = %works[i].event_id, done = works[i].done, left = works[i].remaining().len(), "fanout: continues in another invocation");
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "fanout: could not queue continuations; the events will be retried");
            for &i in &unfinished {
                works[i].failed = true;
            }
        }
    }
}

fn failure(record: &SqsMessage) -> Option<BatchItemFailure> {
    let mut f = BatchItemFailure::default();
    f.item_identifier = record.message_id.clone()?;
    Some(f)
}

/// The deliveries that one event message calls for: one per matching subscription, in
/// subscription-id order, after the message's starting point.
async fn work_of(
    ctx: &WorkerContext,
    index: &SubscriptionIndex,
    record: SqsMessage,
    now: OffsetDateTime,
) -> Result<EventWork, (SqsMessage, FanoutError)> {
    match deliveries_of(ctx, index, &record, now).await {
        Ok((msg, event, deliveries)) => Ok(EventWork {
            record,
            event_id: msg.event_id,
            event,
            deliveries,
            done: 0,
            after: msg.after,
            failed: false,
        }),
        Err(why) => Err((record, why)),
    }
}

async fn deliveries_of(
    ctx: &WorkerContext,
    index: &SubscriptionIndex,
    record: &SqsMessage,
    now: OffsetDateTime,
) -> Result<(EventMessage, Arc<KnownEvent>, Vec<Delivery>), FanoutError> {
    let msg = event_message(record)?;
    let event = ctx
        .events
        .get(ctx.store.as_ref(), &msg.event_id)
        .await
        .map_err(FanoutError::ReadEvent)?
        .ok_or_else(|| FanoutError::UnknownEvent(msg.event_id.clone()))?;
    let envelope = event.envelope();
    let mut deliveries: Vec<Delivery> = index
        .candidates_of(&event)
        .into_iter()
        .filter(|entry| msg.after.as_ref().is_none_or(|a| entry.sub.id > *a))
        .filter(|entry| entry.sub.matches(&event, entry.filter.as_ref(), &envelope))
        .map(|entry| {
            let id = DeliveryId::for_event(&event.id, &entry.sub.id);
            Delivery::new(id, &event.id, &entry.sub.id, &entry.sub.client_id, now)
                .with_event_type(&event.event_type)
        })
        .collect();
    deliveries.sort_by(|a, b| a.subscription_id.cmp(&b.subscription_id));
    tracing::debug!(event_id = %event.id, deliveries = deliveries.len(), "fanned out");
    Ok((msg, event, deliveries))
}

/// The event message a record carries.
fn event_message(record: &SqsMessage) -> Result<EventMessage, FanoutError> {
    let body = record.body.as_deref().unwrap_or("");
    serde_json::from_str(body).map_err(FanoutError::MalformedMessage)
}

/// Stores the deliveries and queues the ones that need it.
async fn store_and_queue(ctx: &WorkerContext, deliveries: &[Delivery]) -> Result<(), FanoutError> {
    if deliveries.is_empty() {
        return Ok(());
    }
    let created = ctx
        .store
        .insert_deliveries(deliveries)
        .await
        .map_err(FanoutError::Store)?;
    let mut to_send = Vec::with_capacity(deliveries.len());
    let mut existing = Vec::new();
    for (d, new) in deliveries.iter().zip(created) {
        if new {
            // Stored as made here: the message carries it, and the worker skips a read.
            to_send.push(DeliveryMessage::created(d));
        } else {
            existing.push(d.id.clone());
        }
    }
    // Created by an earlier run of this message that stopped before queueing them, and still
    // untouched: queued again (their stored copies differ from these in creation time).
    for id in untouched(ctx, existing).await.map_err(FanoutError::Store)? {
        to_send.push(DeliveryMessage::id(&id));
    }
    enqueue_messages(ctx.queue.as_ref(), &to_send)
        .await
        .map_err(FanoutError::Queue)
}

/// Of these stored deliveries, the ones still pending and never attempted, looked up
/// [`LOOKUPS_IN_FLIGHT`] at a time.
async fn untouched(
    ctx: &WorkerContext,
    ids: Vec<DeliveryId>,
) -> Result<Vec<DeliveryId>, PortError> {
    let mut out = Vec::new();
    for group in ids.chunks(LOOKUPS_IN_FLIGHT) {
        let found =
            futures_util::future::join_all(group.iter().map(|id| ctx.store.get_delivery(id))).await;
        for (id, d) in group.iter().zip(found) {
            if d?.is_some_and(|d| d.status == DeliveryStatus::Pending && d.attempt_count() == 0) {
                out.push(id.clone());
            }
        }
    }
    Ok(out)
}
