//! The schedule and progress of one connection's polling trigger.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::ids::{ClientId, ConnectionId};

/// Ids of the items at the cursor's value kept to tell repeats (the tool may list the last
/// cursor value's items again).
pub const MAX_SEEN_IDS: usize = 1000;

/// One polling trigger of one connection: when it runs next, and what it has seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollState {
    /// The connection.
    pub connection_id: ConnectionId,
    /// The trigger's key.
    pub trigger: String,
    /// The connection's owner (the events' publisher).
    pub client_id: ClientId,
    /// Seconds between polls.
    pub interval_seconds: u32,
    /// When it is due.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub next_run_at: OffsetDateTime,
    /// The cursor after the last successful poll (`None` before the first).
    #[serde(default)]
    pub cursor: Option<Value>,
    /// Ids of the items published at the cursor's value (at most [`MAX_SEEN_IDS`]).
    #[serde(default)]
    pub seen: Vec<String>,
    /// When it last ran.
    #[serde(default, with = "crate::time_fmt::rfc3339::option")]
    pub last_run_at: Option<OffsetDateTime>,
    /// Why the last run failed, if it did (no secret: redacted like an attempt's error).
    #[serde(default)]
    pub last_error: Option<String>,
    /// Events published by this trigger so far.
    #[serde(default)]
    pub published: u64,
    /// Until when a poller holds it (a run in progress); `None` when free.
    #[serde(default, with = "crate::time_fmt::rfc3339::option")]
    pub lease_until: Option<OffsetDateTime>,
    /// Optimistic-concurrency version.
    #[serde(default)]
    pub version: u64,
}
