//! The SQS handlers (fan-out and delivery), driven the way Lambda's SQS event source mapping
//! drives them: receive a batch, hand it over as an `SqsEvent`, then delete every message the
//! partial batch response does not name. The backend is the embedded one in a temporary
//! directory; webhook receivers are real HTTP servers on loopback. One test binary (one
//! link), a module per area.

#[path = "../support/mod.rs"]
mod support;

mod attempts;
mod claims;
mod fanout;
mod imports;
