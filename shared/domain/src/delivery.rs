//! Deliveries: one event for one subscription, and the record of every attempt.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Longest response excerpt kept per attempt.
pub const RESPONSE_EXCERPT_BYTES: usize = 1024;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Enqueued, not yet attempted.
    Pending,
    /// A 2xx was received.
    Succeeded,
    /// Failed at least once; another attempt is scheduled.
    Retrying,
    /// Gave up after the last attempt; the message is in the dead-letter queue.
    Failed,
}

impl DeliveryStatus {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Retrying, Self::Failed]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// No further attempt will be made without a manual retry.
    pub fn is_terminal(self) -> bool {
        matches!(self, DeliveryStatus::Succeeded | DeliveryStatus::Failed)
    }
}

/// One attempt to deliver.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// 1-based attempt number over the delivery's whole life.
    pub attempt: u32,
    /// When it was sent.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub at: OffsetDateTime,
    /// HTTP status, if a response arrived.
    pub status_code: Option<u16>,
    /// Time to response or failure.
    pub duration_ms: u64,
    /// Why it failed, if it did (timeout, connection refused, blocked destination …).
    pub error: Option<String>,
    /// First 1 KiB of the response body.
    pub response_excerpt: String,
}

/// A delivery of one event to one subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// `dlv_…`, derived from (event, subscription) for fan-out deliveries.
    pub id: String,
    /// The event.
    pub event_id: String,
    /// The subscription.
    pub subscription_id: String,
    /// The subscription's owner, for access checks without a second read.
    pub client_id: String,
    /// Current status.
    pub status: DeliveryStatus,
    /// Every attempt, oldest first.
    pub attempts: Vec<Attempt>,
    /// How many attempts had been made when the current cycle (first send, or a manual
    /// retry) began; `max_attempts` counts from here.
    #[serde(default)]
    pub cycle_start: u32,
    /// When the next attempt is due, if one is scheduled.
    #[serde(default, with = "crate::time_fmt::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// Creation time.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Optimistic-concurrency version: `Store::update_delivery` writes only over the version
    /// it read, so two workers holding the same delivery can never both send or overwrite
    /// each other's attempt record.
    #[serde(default)]
    pub version: u64,
}

impl Delivery {
    /// A new pending delivery.
    pub fn new(
        id: String,
        event_id: &str,
        subscription_id: &str,
        client_id: &str,
        now: OffsetDateTime,
    ) -> Self {
        Delivery {
            id,
            event_id: event_id.to_string(),
            subscription_id: subscription_id.to_string(),
            client_id: client_id.to_string(),
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            cycle_start: 0,
            next_attempt_at: Some(now),
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// Number of the next attempt (1-based, over the whole life).
    pub fn next_attempt_number(&self) -> u32 {
        self.attempts.len() as u32 + 1
    }

    /// Attempts made in the current cycle.
    pub fn attempts_in_cycle(&self) -> u32 {
        (self.attempts.len() as u32).saturating_sub(self.cycle_start)
    }

    /// Starts a new cycle (manual retry or replay): status pending, counter reset.
    pub fn restart(&mut self, now: OffsetDateTime) {
        self.cycle_start = self.attempts.len() as u32;
        self.status = DeliveryStatus::Pending;
        self.next_attempt_at = Some(now);
        self.updated_at = now;
    }
}

/// Truncates a response body to the excerpt kept with an attempt, on a char boundary.
pub fn excerpt(body: &[u8]) -> String {
    let cut = &body[..body.len().min(RESPONSE_EXCERPT_BYTES)];
    let s = String::from_utf8_lossy(cut);
    let mut s = s.into_owned();
    while s.len() > RESPONSE_EXCERPT_BYTES {
        s.pop();
    }
    s
}
