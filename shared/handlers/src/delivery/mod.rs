//! Webhook delivery, one step per function: render the request, sign it, send it, record the
//! attempt, and decide what happens next (done, retry later, or give up).

pub mod client;
pub mod first_attempt;
pub mod handler;
pub mod health;
pub mod in_flight;
pub mod outcome;
pub mod pacer;
pub mod request;

pub use handler::handle_deliveries;
