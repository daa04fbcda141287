//! The end-to-end harness: the local runner as a real child process (`TestApp`), real
//! webhook receivers on 127.0.0.1 (`Receiver`), and the small helpers the tests share.
//!
//! Every test builds its own app (fresh data directory, free port) and its own receivers,
//! so tests are independent and run in parallel under `cargo test` threads or nextest
//! processes alike.

pub mod api;
pub mod app;
pub mod apps;
pub mod backend;
pub mod deliveries;
pub mod flow;
pub mod imports;
pub mod integration;
pub mod manufacturers;
pub mod receiver;
pub mod scenario;
pub mod secrets;
pub mod third_party;
pub mod wait;

pub use api::{PORTAL_SCOPES, TestClient, event};
pub use app::TestApp;
pub use deliveries::{attempts, finished_attempts};
pub use receiver::{Receiver, Recorded, Reply};
pub use third_party::{Guard, ThirdParty};
pub use wait::eventually;

/// The event types of the default (fortification) catalog.
pub const FORTIFICATION_TYPES: [&str; 19] = [
    "BatchCreated",
    "BatchUpdated",
    "BatchSampleSentToLab",
    "BatchSampleRejected",
    "BatchTestPassed",
    "BatchTestFailed",
    "BatchRejected",
    "BatchApproved",
    "LotCreated",
    "LotSampleSentToLab",
    "LotSampleRejected",
    "LotTestPassed",
    "LotTestFailed",
    "LotRejected",
    "LotApproved",
    "LotDispatched",
    "LotReceived",
    "LotSentBack",
    "LotRejectedReceived",
];

/// A destination URL on the portal's public host (for tests that never deliver to it).
pub fn portal_hook(path: &str) -> String {
    format!("https://portal.example.org{path}")
}

/// Current time as RFC 3339, as the API writes it.
pub fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .expect("an RFC 3339 time")
}

/// Parses an RFC 3339 time from the API.
pub fn parse_rfc3339(s: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("'{s}' is not RFC 3339: {e}"))
}
