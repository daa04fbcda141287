//! The queue ports (`QueueSender`, `QueueConsumer`) over the `messages` table, with SQS's long
//! polling.
//!
//! A receive that finds nothing waits until the earliest of: its deadline, a `send` in this
//! process (a `Notify` per queue wakes one waiter per batch's worth of messages), a
//! `change_visibility` that makes a message due within the re-check interval (one waiter),
//! the moment the queue's next delayed or in-flight message becomes visible (for one waiter:
//! the others would find it taken), or a short re-check interval.

use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::task::{Context, Waker};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hookline_domain::ids;
use hookline_ports::{
    PortError, QueueConsumer, QueueMessage, QueueName, QueueSender, ReceivedMessage,
};
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

/// How the receives waiting on one queue in this process are woken.
#[derive(Debug)]
pub(crate) struct Signal {
    /// Woken by a send (one waiter per batch sent) and by a receive that filled its batch.
    notify: Notify,
    /// Sends so far: a receive that began after the `n`th send saw its messages.
    sends: AtomicU64,
    /// When the one waiter that naps until the queue's next message shows will look again
    /// (Unix ms; `i64::MIN` when none does). Messages postponed by a busy worker become
    /// visible one by one; if every waiter napped until each, all would wake for it and all
    /// but one would find nothing.
    timer_at: AtomicI64,
}

impl Default for Signal {
    fn default() -> Self {
        Signal {
            notify: Notify::new(),
            sends: AtomicU64::new(0),
            timer_at: AtomicI64::new(i64::MIN),
        }
    }
}

impl Signal {
    /// Makes this waiter the one that wakes at `at`, unless another already wakes by then.
    fn arm(&self, at: i64, now: i64) -> bool {
        let mut current = self.timer_at.load(Ordering::Acquire);
        loop {
            if current > now && current <= at {
                return false;
            }
            match self.timer_at.compare_exchange_weak(
                current,
                at,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(seen) => current = seen,
            }
        }
    }

    /// Gives up the wake-up at `at` if it is still this waiter's.
    fn disarm(&self, at: i64) {
        let _ = self
            .timer_at
            .compare_exchange(at, i64::MIN, Ordering::AcqRel, Ordering::Relaxed);
    }
}

/// The wake-up signals of each queue, for receives waiting in this process.
#[derive(Debug, Default)]
pub(crate) struct Signals {
    events: Signal,
    events_dlq: Signal,
    deliveries: Signal,
    deliveries_dlq: Signal,
}

impl Signals {
    fn of(&self, queue: QueueName) -> &Signal {
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

#[async_trait]
impl QueueSender for EmbeddedBackend {
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
        // Without a savepoint: a send that fails half-way has sent some of the messages, and
        // the caller's retry sends them again, a duplicate that consumers already tolerate
        // (SQS's own sends may duplicate, and its batches can fail in part).
        self.db
            .write_each("send", move |tx| messages::send(tx, queue, &rows, now))
            .await?;
        // One waiting receive per batch's worth, not every waiter: the rest would only find
        // the queue emptied by the first (a receive that fills its batch wakes the next).
        let signal = self.signals.of(queue);
        signal.sends.fetch_add(1, Ordering::AcqRel);
        for _ in 0..count.div_ceil(MAX_BATCH).min(WAKE_LIMIT) {
            signal.notify.notify_one();
        }
        Ok(())
    }

    async fn change_visibility(
        &self,
        queue: QueueName,
        receipt_handle: &str,
        visibility: Duration,
    ) -> Result<(), PortError> {
        let handle = receipt_handle.to_string();
        let now = now_ms();
        let visible_at = now.saturating_add(ms(visibility, MAX_VISIBILITY));
        let changed = self
            .db
            .write_each("change_visibility", move |tx| {
                messages::change_visibility(tx, queue, &handle, visible_at)
            })
            .await?;
        // A waiting receive looks again within `RECHECK` in any case, and then naps until the
        // queue's next message shows; only a message due before that needs to wake one. (A
        // busy worker postpones many messages a second: waking every receive for each would
        // turn each postponement into that many empty receive transactions.)
        if changed && visible_at < now.saturating_add(ms(RECHECK, RECHECK)) {
            self.signals.of(queue).notify.notify_one();
        }
        Ok(())
    }
}

#[async_trait]
impl QueueConsumer for EmbeddedBackend {
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
        let signal = self.signals.of(queue);
        let mut armed = None;
        let got = loop {
            // Registered before looking, so a send that lands after the look still wakes us.
            let woken = signal.notify.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            let sends_before = signal.sends.load(Ordering::Acquire);

            let now = now_ms();
            let got = self
                .db
                // Without a savepoint: a receive that fails half-way has only hidden some
                // messages, which come back when their visibility timeout ends.
                .write_each("receive", move |tx| {
                    messages::receive(tx, queue, max, visibility_ms, redrive, now)
                })
                .await?;
            if got.moved > 0
                && let Some(r) = redrive
            {
                self.signals.of(r.dlq).notify.notify_waiters();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if !got.messages.is_empty() || left.is_zero() {
                if signal.sends.load(Ordering::Acquire) == sends_before {
                    // No send since this look began: a wake-up that came meanwhile was for
                    // messages the look saw. Taken here, it is not passed on to another
                    // waiter, which would only find them gone.
                    let _ = woken.as_mut().poll(&mut Context::from_waker(Waker::noop()));
                }
                if got.messages.len() == max {
                    // There may be more: pass the word on to another waiting receive.
                    signal.notify.notify_one();
                }
                break got;
            }
            let mut nap = left.min(RECHECK);
            if let Some(at) = got.next_visible_ms {
                let now = now_ms();
                if signal.arm(at, now) {
                    armed = Some(at);
                    let until = Duration::from_millis(u64::try_from(at - now).unwrap_or(0));
                    nap = nap.min(until.max(Duration::from_millis(1)));
                }
            }
            tokio::select! {
                _ = &mut woken => {}
                _ = tokio::time::sleep(nap) => {}
            }
            if let Some(at) = armed.take() {
                signal.disarm(at);
            }
        };
        Ok(got.messages)
    }

    async fn delete(
        &self,
        queue: QueueName,
        receipt_handles: Vec<String>,
    ) -> Result<(), PortError> {
        if receipt_handles.is_empty() {
            return Ok(());
        }
        // Without a savepoint: a delete that fails half-way leaves messages that are received
        // again and acknowledged again.
        self.db
            .write_each("delete", move |tx| {
                messages::delete(tx, queue, &receipt_handles)
            })
            .await
    }

    async fn depth(&self, queue: QueueName) -> Result<u64, PortError> {
        self.db
            .read("depth", move |conn| messages::depth(conn, queue))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_current_handle_of_a_message_deletes_it_or_changes_its_visibility() {
        let dir = tempfile::tempdir().expect("tempdir");
        let backend = EmbeddedBackend::open(dir.path(), QueueOptions::default()).expect("open");
        let q = QueueName::Deliveries;
        backend
            .send(q, vec![QueueMessage::now("m".into())])
            .await
            .expect("send");
        let first = backend
            .receive(q, 1, Duration::ZERO, Duration::ZERO)
            .await
            .expect("receive");
        let handle = first[0].receipt_handle.clone();
        let (seq, _) = handle.split_once('.').expect("seq.secret");
        // The message is visible again at once: a second receive replaces the handle.
        let second = backend
            .receive(q, 1, Duration::ZERO, Duration::from_secs(60))
            .await
            .expect("receive");
        assert_eq!(second.len(), 1);
        let current = second[0].receipt_handle.clone();
        assert_ne!(current, handle);
        let forged = [
            handle.clone(),
            format!("{seq}.00"),
            seq.to_string(),
            "x.y".into(),
            String::new(),
            format!(
                "{seq}.{}",
                current.split_once('.').map(|p| p.1).unwrap_or("")
            ) + "0",
        ];
        for h in &forged {
            backend
                .change_visibility(q, h, Duration::ZERO)
                .await
                .expect("change_visibility");
        }
        backend.delete(q, forged.to_vec()).await.expect("delete");
        assert_eq!(backend.depth(q).await.expect("depth"), 1);
        assert!(
            backend
                .receive(q, 1, Duration::ZERO, Duration::ZERO)
                .await
                .expect("receive")
                .is_empty(),
            "still hidden: no stale or forged handle changed its visibility"
        );
        backend.delete(q, vec![current]).await.expect("delete");
        assert_eq!(backend.depth(q).await.expect("depth"), 0);
    }

    #[test]
    fn one_waiter_wakes_for_the_next_message_and_hands_the_duty_back_when_done() {
        let signal = Signal::default();
        let now = 1_000;
        assert!(
            signal.arm(1_200, now),
            "no one wakes yet: the first waiter does"
        );
        assert!(
            !signal.arm(1_200, now),
            "a second waiter leaves it to the first"
        );
        assert!(
            !signal.arm(1_500, now),
            "nor waits for a later message itself"
        );
        assert!(
            signal.arm(1_100, now),
            "an earlier message needs an earlier wake-up"
        );
        signal.disarm(1_200);
        assert!(
            !signal.arm(1_300, now),
            "a stale disarm leaves the newer wake-up"
        );
        signal.disarm(1_100);
        assert!(
            signal.arm(1_300, now),
            "once disarmed, the next waiter takes over"
        );
        assert!(
            signal.arm(1_400, 1_350),
            "a wake-up in the past is nobody's"
        );
    }
}
