//! The pull port: each pull subscription's message log and its acknowledged cursor.
//!
//! A log is ordered by position (1, 2, …): a message is readable only once every earlier
//! position is (no gap a reader could skip), and a delivery's cycle appends at most one
//! message, however often it is attempted. As in `store`, every method is a bounded run of
//! DynamoDB-cheap operations:
//!
//! | method | access pattern (DynamoDB shape) |
//! |---|---|
//! | `append_pull_message` | read `PULL#sub` / `LOG`, then a transaction: update the counter (conditional on the value read) + conditional put `PULL#sub` / `DLV#delivery#cycle` + put `PULL#sub` / `MSG#position`; retried when the counter moved |
//! | `list_pull_messages` | consistent query partition `PULL#sub`, sort key range after `MSG#position`, the expired skipped |
//! | `pull_log` | key lookup `PULL#sub` / `LOG` |
//! | `ack_pull_messages` | update `PULL#sub` / `LOG` conditional on `acked < position <= last` |
//! | `delete_pull_log` | query partition `PULL#sub`, delete each item |

use std::time::Duration;

use async_trait::async_trait;
use hookline_domain::{PullMessage, SubscriptionId};
use time::OffsetDateTime;

use crate::error::PortError;

/// How a backend without notifications looks for new messages while a reader waits.
pub const PULL_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// What [`PullStore::append_pull_message`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Appended now, at this position.
    New(u64),
    /// The delivery's cycle had appended its message already, at this position: nothing
    /// was written.
    Already(u64),
}

impl Appended {
    /// The message's position.
    pub fn position(self) -> u64 {
        match self {
            Appended::New(p) | Appended::Already(p) => p,
        }
    }
}

/// Where a subscription's log stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PullLog {
    /// The position of the last message appended (0: none ever).
    pub last: u64,
    /// The position acknowledged (0: none).
    pub acked: u64,
}

/// What [`PullStore::ack_pull_messages`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ack {
    /// The acknowledged position now (never lower than before).
    At(u64),
    /// The position is beyond the last message appended: nothing changed.
    Beyond,
}

/// The message logs of pull subscriptions.
#[async_trait]
pub trait PullStore: Send + Sync + 'static {
    /// Appends `message` (whose `position` is ignored) at the next position of its
    /// subscription's log, unless its delivery's cycle (`delivery_id`, `cycle`) appended one
    /// already. Of concurrent appends to one log each gets its own position, with no gap.
    async fn append_pull_message(&self, message: &PullMessage) -> Result<Appended, PortError>;
    /// Up to `limit` messages after `after`, oldest first, leaving out those whose
    /// `kept_until` is not after `now` (so a position before the oldest kept one reads from
    /// the oldest kept).
    async fn list_pull_messages(
        &self,
        subscription: &SubscriptionId,
        after: u64,
        limit: usize,
        now: OffsetDateTime,
    ) -> Result<Vec<PullMessage>, PortError>;
    /// Where the log stands (zeros for a log nothing was appended to).
    async fn pull_log(&self, subscription: &SubscriptionId) -> Result<PullLog, PortError>;
    /// Moves the acknowledged position to `position` if that is further (an earlier one
    /// leaves it where it is); [`Ack::Beyond`] if `position` is past the last message.
    async fn ack_pull_messages(
        &self,
        subscription: &SubscriptionId,
        position: u64,
    ) -> Result<Ack, PortError>;
    /// Deletes a subscription's whole log (its messages and its positions).
    async fn delete_pull_log(&self, subscription: &SubscriptionId) -> Result<(), PortError>;
    /// A mark of the appends seen so far, for [`PullStore::await_pull_append`]. A backend
    /// that cannot notify answers 0.
    fn pull_appends_seen(&self) -> u64 {
        0
    }
    /// Waits at most `max` for an append made after `seen` was taken (any subscription's: the
    /// caller reads again). A backend that cannot notify waits [`PULL_POLL_INTERVAL`] (or
    /// `max`, if shorter), so that the caller re-reads about that often.
    async fn await_pull_append(&self, seen: u64, max: Duration) {
        let _ = seen;
        tokio::time::sleep(max.min(PULL_POLL_INTERVAL)).await;
    }
}
