//! Hookline's handlers, written once against the ports and run unchanged on Lambda and in
//! the local runner: the HTTP routers (token, ingest, manage) and the SQS handlers (fan-out,
//! delivery) that take `aws_lambda_events` SQS batches and answer with partial failures.

pub mod api;
pub mod apps;
pub mod auth;
pub mod bootstrap;
pub mod browser;
pub mod catalog;
pub mod config;
pub mod console;
pub mod context;
pub mod delivery;
pub mod fanout;
pub mod imports;
pub mod index;
pub mod limits;
pub mod messages;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod queueing;
pub mod recent;
pub mod router;
pub mod services;
pub mod sqs_event;
pub mod subscription_writes;
#[cfg(test)]
mod test_support;

pub use config::HandlerConfig;
pub use context::AppContext;
pub use router::{app, ingest_router, manage_router, token_router};
