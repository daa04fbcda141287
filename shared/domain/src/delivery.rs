//! Deliveries: one event for one subscription, and the record of every attempt.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{ClientId, DeliveryId, EventId, SubscriptionId};

/// Longest response excerpt kept per attempt, counted as it is stored: JSON-escaped (a control
/// character takes six bytes there), so that no body a receiver sends can grow a record past it.
pub const RESPONSE_EXCERPT_BYTES: usize = 1024;
/// Longest error text kept per attempt, counted the same way.
pub const ATTEMPT_ERROR_BYTES: usize = 512;
/// Attempts a record lists: the first, and the latest `KEPT_ATTEMPTS - 1`; the ones between
/// are counted in `attempts_omitted`. With the excerpts above, a record stays under about
/// 40 KB however often it is retried, far below DynamoDB's 400 KB item limit.
pub const KEPT_ATTEMPTS: usize = 21;

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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    /// Time to response or failure.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub duration_ms: u64,
    /// Why it failed, if it did (timeout, connection refused, blocked destination …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// First 1 KiB of the response body.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub response_excerpt: String,
    /// An action's request (`PUT https://…/orders/42` and the start of its body), credentials
    /// redacted; empty for a webhook, whose request is the event's.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub request_excerpt: String,
}

/// Zero counts and durations are left out of stored records: a delivery's record is one
/// DynamoDB write unit per KB, and at its creation and claim it is just under one.
fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}

/// What an attempt whose outcome was never recorded says about itself.
/// (Short: the claim that lists an attempt under way is one write unit on DynamoDB only while
/// the record stays within 1 KB.)
pub const OUTCOME_NOT_RECORDED: &str = "outcome not recorded; the request may have been sent";

impl Attempt {
    /// Attempt `attempt`, begun `at`, as a claim lists it until its outcome replaces it: if
    /// the outcome is never written (the store failing after the request went out), the
    /// record keeps this, and the next attempt shows why it was made.
    pub fn under_way(attempt: u32, at: OffsetDateTime) -> Attempt {
        Attempt {
            attempt,
            at,
            status_code: None,
            duration_ms: 0,
            error: Some(OUTCOME_NOT_RECORDED.into()),
            response_excerpt: String::new(),
            request_excerpt: String::new(),
        }
    }
}

/// A delivery of one event to one subscription.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// `dlv_…`, derived from (event, subscription) for fan-out deliveries.
    pub id: DeliveryId,
    /// The event.
    pub event_id: EventId,
    /// The subscription.
    pub subscription_id: SubscriptionId,
    /// The subscription's owner, for access checks without a second read.
    pub client_id: ClientId,
    /// The event's type, copied at creation so that lists filter by it without reading the
    /// event (records made before it was kept have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Current status.
    pub status: DeliveryStatus,
    /// The first attempt and the latest ones (at most [`KEPT_ATTEMPTS`]), oldest first.
    pub attempts: Vec<Attempt>,
    /// Attempts made but no longer listed: the ones between the first and the latest.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts_omitted: u32,
    /// How many attempts had been made when the current cycle (first send, or a manual
    /// retry) began; `max_attempts` counts from here.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cycle_start: u32,
    /// Which cycle of attempts is the current one: 0 for the first, one more for each manual
    /// retry, replay or redrive.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cycle: u32,
    /// A workflow's steps that have succeeded in the current cycle: the next attempt starts
    /// at the step after them (0 for a webhook).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub steps_done: u32,
    /// When the next attempt is due, if one is scheduled.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time_fmt::rfc3339::option"
    )]
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
        id: DeliveryId,
        event_id: &EventId,
        subscription_id: &SubscriptionId,
        client_id: &ClientId,
        now: OffsetDateTime,
    ) -> Self {
        Delivery {
            id,
            event_id: event_id.clone(),
            subscription_id: subscription_id.clone(),
            client_id: client_id.clone(),
            event_type: None,
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            attempts_omitted: 0,
            cycle_start: 0,
            cycle: 0,
            steps_done: 0,
            next_attempt_at: Some(now),
            created_at: now,
            updated_at: now,
            version: 0,
        }
    }

    /// The same delivery, of an event of type `event_type` (what every creator of a delivery
    /// sets: fan-out, test pings, replays).
    pub fn with_event_type(mut self, event_type: &str) -> Self {
        self.event_type = Some(event_type.to_string());
        self
    }

    /// Attempts made over the whole life, listed or not.
    pub fn attempt_count(&self) -> u32 {
        (self.attempts.len() as u32).saturating_add(self.attempts_omitted)
    }

    /// Number of the next attempt (1-based, over the whole life).
    pub fn next_attempt_number(&self) -> u32 {
        self.attempt_count() + 1
    }

    /// Attempts made in the current cycle.
    pub fn attempts_in_cycle(&self) -> u32 {
        self.attempt_count().saturating_sub(self.cycle_start)
    }

    /// Records an attempt, bounded: its error text and excerpt are cut to their limits, and
    /// once more than [`KEPT_ATTEMPTS`] are listed, the oldest after the first is dropped
    /// (and counted in `attempts_omitted`).
    pub fn record_attempt(&mut self, mut attempt: Attempt) {
        attempt.response_excerpt = bounded(&attempt.response_excerpt, RESPONSE_EXCERPT_BYTES);
        if let Some(error) = &attempt.error {
            attempt.error = Some(bounded(error, ATTEMPT_ERROR_BYTES));
        }
        self.attempts.push(attempt);
        while self.attempts.len() > KEPT_ATTEMPTS {
            self.attempts.remove(1);
            self.attempts_omitted = self.attempts_omitted.saturating_add(1);
        }
    }

    /// Whether cycle number `cycle` (asked for by a manual retry, a replay or a redrive from
    /// the dead-letter queue, as the cycle after the one they saw) is still to begin: the
    /// delivery has finished, and no later cycle began since.
    pub fn awaits_cycle(&self, cycle: u32) -> bool {
        self.status.is_terminal() && self.cycle < cycle
    }

    /// Starts a new cycle (manual retry or replay): status pending, counter reset.
    pub fn restart(&mut self, now: OffsetDateTime) {
        self.cycle = self.cycle.saturating_add(1);
        self.cycle_start = self.attempt_count();
        self.steps_done = 0;
        self.status = DeliveryStatus::Pending;
        self.next_attempt_at = Some(now);
        self.updated_at = now;
    }
}

/// Truncates a response body to the excerpt kept with an attempt, on a char boundary, at
/// most [`RESPONSE_EXCERPT_BYTES`] once JSON-escaped.
pub fn excerpt(body: &[u8]) -> String {
    let cut = &body[..body.len().min(RESPONSE_EXCERPT_BYTES)];
    bounded(&String::from_utf8_lossy(cut), RESPONSE_EXCERPT_BYTES)
}

/// The longest prefix of `text` whose JSON-escaped form (inside a string) takes at most `max`
/// bytes.
pub fn bounded(text: &str, max: usize) -> String {
    let mut used = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        used += escaped_len(c);
        if used > max {
            break;
        }
        end = i + c.len_utf8();
    }
    text[..end].to_string()
}

/// Bytes a character takes inside a JSON string, as serde_json writes it.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(n: u32, excerpt: &str) -> Attempt {
        Attempt {
            attempt: n,
            at: OffsetDateTime::UNIX_EPOCH,
            status_code: Some(500),
            duration_ms: 1,
            error: Some("HTTP 500".into()),
            response_excerpt: excerpt.to_string(),
            request_excerpt: String::new(),
        }
    }

    #[test]
    fn an_excerpt_is_bounded_as_stored_not_as_received() {
        let controls = vec![1u8; 4096];
        let e = excerpt(&controls);
        let stored = serde_json::to_string(&e).expect("json");
        assert!(
            stored.len() <= RESPONSE_EXCERPT_BYTES + 2,
            "{}",
            stored.len()
        );
        assert_eq!(e.len(), RESPONSE_EXCERPT_BYTES / 6);
        let plain = excerpt(&[b'a'; 4096]);
        assert_eq!(plain.len(), RESPONSE_EXCERPT_BYTES);
        assert_eq!(bounded("\"é\"", 4), "\"é");
    }

    #[test]
    fn a_record_keeps_the_first_and_the_latest_attempts_and_counts_the_rest() {
        let mut d = Delivery::new(
            DeliveryId::new(1),
            &EventId::new(1),
            &SubscriptionId::new(1),
            &ClientId::new(1),
            OffsetDateTime::UNIX_EPOCH,
        );
        for n in 1..=100 {
            d.record_attempt(attempt(n, &"\u{1}".repeat(5000)));
        }
        assert_eq!(d.attempts.len(), KEPT_ATTEMPTS);
        assert_eq!(d.attempts_omitted, 100 - KEPT_ATTEMPTS as u32);
        assert_eq!(d.attempt_count(), 100);
        assert_eq!(d.next_attempt_number(), 101);
        assert_eq!(d.attempts[0].attempt, 1);
        assert_eq!(d.attempts[1].attempt, 100 - KEPT_ATTEMPTS as u32 + 2);
        assert_eq!(d.attempts.last().map(|a| a.attempt), Some(100));
        d.status = DeliveryStatus::Failed;
        assert!(d.awaits_cycle(1));
        d.restart(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(d.attempts_in_cycle(), 0);
        assert_eq!(d.cycle_start, 100);
        assert!(!d.awaits_cycle(1), "begun already");
        let size = serde_json::to_string(&d).expect("json").len();
        assert!(size < 40_000, "a record of 100 attempts takes {size} bytes");
    }
}
