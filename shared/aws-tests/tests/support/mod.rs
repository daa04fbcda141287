//! Shared test support.
#![allow(dead_code)]
#[path = "../../../handlers/tests/support/api.rs"]
pub mod api;
#[path = "../../../handlers/tests/support/apps.rs"]
pub mod apps;
pub mod moto;
#[path = "../../../handlers/tests/support/receiver.rs"]
pub mod receiver;
pub mod stack;
pub mod stack_on_moto;
pub mod sweep;
#[path = "../../../handlers/tests/support/tool.rs"]
pub mod tool;

use hookline_domain::{Event, EventId, StatePattern};
use time::OffsetDateTime;

/// A `LotDispatched` event of `cl_publisher` in AP, accepted at `now`, as the API stores one.
pub fn lot_dispatched(id: EventId, data: serde_json::Value, now: OffsetDateTime) -> Event {
    Event {
        id,
        event_type: "LotDispatched".into(),
        state: StatePattern::from_stored("AP"),
        occurred_at: now,
        received_at: now,
        source: "cl_publisher".into(),
        publisher_key: None,
        recipient: None,
        data,
    }
}
