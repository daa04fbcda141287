//! Webhook delivery: one queue message at a time, through named steps (`pipeline.rs`):
//! load → admit → claim → render → sign → send → decide → record → acknowledge (a workflow's
//! delivery runs its steps where a webhook's is rendered, signed and sent: `action.rs`).
//!
//! The entry is [`handle_deliveries`], for the `deliver` Lambda function and the local
//! runner alike, over a [`DeliveryContext`], which only the functions that deliver build.

mod action;
mod admission;
pub mod client;
pub mod context;
mod disposition;
mod exchange;
pub mod handler;
pub mod health;
pub mod in_flight;
pub mod outcome;
pub mod pacer;
mod pipeline;
pub mod pull;
mod record;
pub mod request;
mod send;

pub use context::DeliveryContext;
pub use disposition::{DeliveryError, Disposition};
pub use handler::{Batch, handle_deliveries};
