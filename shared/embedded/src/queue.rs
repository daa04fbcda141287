//! The `Queue` port over the `messages` table, with SQS's long polling.
//!
//! A receive that finds nothing waits until the earliest of: its deadline, a `send` or
//! `change_visibility` in this process (a `Notify` per queue wakes one waiter per batch's
//! worth of messages, or every waiter after a visibility change), the moment the
//! queue's next delayed or in-flight message becomes visible, or a short re-check interval
//! (which also picks up messages written by another process sharing the data directory).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hookline_domain::ids;
use hookline_ports::{PortError, Queue, QueueMessage, QueueName, ReceivedMessage};
use tokio::sync::Notify;

use crate::EmbeddedBackend;
use crate::messages::{self, Outgoing, Redrive};

/// Longest long-poll wait, as in SQS.
pub const MAX_WAIT: Duration = Duration::from_secs(20);
/// Longest visibility timeout, as in SQS.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 3600);
/// Longest initial delay, as in SQS.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Most messages one receive returns, as in SQS.
pub const MAX_BATCH: usize = 10;
/// Most waiting receives one send wakes.
const WAKE_LIMIT: usize = 64;
/// How often a waiting receive re-checks when nothing wakes it earlier.
const RECHECK: Duration = Duration::from_millis(100);

/// How many receives a message may have before the next one moves it to the dead-letter queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueOptions {
    /// Max receives on the events queue.
    pub max_receives_events: u32,
    /// Max receives on the deliveries queue.
    pub max_receives_deliveries: u32,
}

impl Default for QueueOptions {
    fn default() -> Self {
        QueueOptions {
            max_receives_events: 5,
            max_receives_deliveries: 60,
        }
    }
}

impl QueueOptions {
    fn redrive(&self, queue: QueueName) -> Option<Redrive> {
        let max_receives = match queue {
            QueueName::Events => self.max_receives_events,
            QueueName::Deliveries => self.max_receives_deliveries,
            QueueName::EventsDlq | QueueName::DeliveriesDlq => return None,
        };
        queue.dlq().map(|dlq| Redrive { dlq, max_receives })
    }
}

/// One wake-up signal per queue, for receives waiting in this process.
#[derive(Debug, Default)]
pub(crate) struct Signals {
    events: Notify,
    events_dlq: Notify,
    deliveries: Notify,
    deliveries_dlq: Notify,
}

impl Signals {
    fn of(&self, queue: QueueName) -> &Notify {
        match queue {
            QueueName::Events => &self.events,
            QueueName::EventsDlq => &self.events_dlq,
            QueueName::Deliveries => &self.deliveries,
            QueueName::DeliveriesDlq => &self.deliveries_dlq,
        }
    }
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

fn ms(d: Duration, max: Duration) -> i64 {
    // Bounded by `max` (hours at most), so this always fits.
    i64::try_from(d.min(max).as_millis()).unwrap_or(i64::MAX)
}

fn receipt_handle() -> String {
    let mut bytes = [0u8; 16];
    ids::random_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl Queue for EmbeddedBackend {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        if messages.is_empty() {
            return Ok(());
        }
        let now = now_ms();
        let count = messages.len();
        let rows: Vec<Outgoing> = messages
            .into_iter()
            .map(|m| Outgoing {
                message_id: ids::new_id("msg_", i128::from(now)),
                body: m.body,
                visible_at_ms: now.saturating_add(ms(m.delay, MAX_DELAY)),
            })
            .collect();
        self.db
            .write("send", move |tx| messages::send(tx, queue, &rows, now))
            .await?;
        // One waiting receive per batch's worth, not every waiter: the rest would only find
        // the queue emptied by the first (a receive that fills its batch wakes the next).
        let notify = self.signals.of(queue);
        for _ in 0..count.div_ceil(MAX_BATCH).min(WAKE_LIMIT) {
            notify.notify_one();
        }
        Ok(())
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>, PortError> {
        let max = max.clamp(1, MAX_BATCH);
        let visibility_ms = ms(visibility, MAX_VISIBILITY);
        let redrive = self.opts.redrive(queue);
        let deadline = Instant::now() + wait.min(MAX_WAIT);
        let notify = self.signals.of(queue);
        loop {
            // Registered before looking, so a send that lands after the look still wakes us.
            let woken = notify.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();

            let now = now_ms();
            let got = self
                .db
                .write("receive", move |tx| {
                    messages::receive(tx, queue, max, visibility_ms, redrive, now, receipt_handle)
                })
                .await?;
            if got.moved > 0
                && let Some(r) = redrive
            {
                self.signals.of(r.dlq).notify_waiters();
            }
            if got.messages.len() == max {
                // There may be more: pass the word on to another waiting receive.
                notify.notify_one();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if !got.messages.is_empty() || left.is_zero() {
                return Ok(got.messages);
            }
            let mut nap = left.min(RECHECK);
            if let Some(at) = got.next_visible_ms {
                let until =
                    Duration::from_millis(u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0));
                nap = nap.min(until.max(Duration::from_millis(1)));
            }
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }

    async fn delete(
        &self,
        queue: QueueName,
        receipt_handles: Vec<String>,
    ) -> Result<(), PortError> {
        if receipt_handles.is_empty() {
            return Ok(());
        }
        self.db
            .write("delete", move |tx| {
                messages::delete(tx, queue, &receipt_handles)
            })
            .await
    }

    async fn change_visibility(
        &self,
        queue: QueueName,
        receipt_handle: &str,
        visibility: Duration,
    ) -> Result<(), PortError> {
        let handle = receipt_handle.to_string();
        let visible_at = now_ms().saturating_add(ms(visibility, MAX_VISIBILITY));
        let changed = self
            .db
            .write("change_visibility", move |tx| {
                messages::change_visibility(tx, queue, &handle, visible_at)
            })
            .await?;
        if changed {
            // Waiting receives recompute when the queue's next message shows.
            self.signals.of(queue).notify_waiters();
        }
        Ok(())
    }

    async fn depth(&self, queue: QueueName) -> Result<u64, PortError> {
        self.db
            .read("depth", move |conn| messages::depth(conn, queue))
            .await
    }
}
