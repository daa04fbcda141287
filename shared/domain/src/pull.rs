//! Pull delivery: the message log of a pull subscription, and the cursors a client reads it
//! with.
//!
//! Each delivery cycle of a pull subscription's delivery appends one [`PullMessage`] at the
//! next [`position`](PullMessage::position) of the subscription's log (1, 2, …). A client
//! reads the messages after a position and acknowledges one, and sees each message's body as
//! a push receiver would get it, rendered and signed when it is fetched.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{DeliveryId, EventId, SubscriptionId};

/// One message of a pull subscription's log, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullMessage {
    /// The subscription whose log holds it.
    pub subscription_id: SubscriptionId,
    /// Its place in the log: 1 for the first message ever appended, then one more each.
    pub position: u64,
    /// The delivery it was appended for.
    pub delivery_id: DeliveryId,
    /// The delivery's cycle of attempts that appended it (one message per cycle).
    pub cycle: u32,
    /// The delivered event.
    pub event_id: EventId,
    /// Its type.
    pub event_type: String,
    /// The attempt that appended it (`hookline-attempt`).
    pub attempt: u32,
    /// When it was appended.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub stored_at: OffsetDateTime,
    /// When it stops being kept (its retention's end).
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub kept_until: OffsetDateTime,
}

/// Where a reader of one subscription's log stands: after `position` (0: before the first).
/// Its text form is opaque to clients, and names the subscription, so that a cursor of one
/// subscription is refused on another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullCursor {
    /// The subscription.
    pub subscription_id: SubscriptionId,
    /// The last position read (or acknowledged).
    pub position: u64,
}

impl PullCursor {
    /// The cursor after `position` of `subscription_id`'s log.
    pub fn new(subscription_id: &SubscriptionId, position: u64) -> PullCursor {
        PullCursor {
            subscription_id: subscription_id.clone(),
            position,
        }
    }

    /// The opaque text form.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}:{}", self.subscription_id, self.position))
    }

    /// The position of a cursor text of `subscription_id`; `None` if it is malformed or
    /// another subscription's.
    pub fn parse(text: &str, subscription_id: &SubscriptionId) -> Option<u64> {
        if text.len() > 200 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let plain = std::str::from_utf8(&bytes).ok()?;
        let (sub, position) = plain.rsplit_once(':')?;
        if sub != subscription_id.as_str() || !position.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        position.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_on_its_own_subscription_only() {
        let sub = SubscriptionId::from_stored("sub_1");
        let text = PullCursor::new(&sub, 42).encode();
        assert_eq!(PullCursor::parse(&text, &sub), Some(42));
        let other = SubscriptionId::from_stored("sub_2");
        assert_eq!(PullCursor::parse(&text, &other), None);
        for bad in ["", "x", "!!!", &URL_SAFE_NO_PAD.encode("sub_1:-1")] {
            assert_eq!(PullCursor::parse(bad, &sub), None, "{bad}");
        }
    }
}
