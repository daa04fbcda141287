//! What the handlers count, as a port: the events ingest accepts, the deliveries fan-out
//! creates, and the outcome and latency of every webhook attempt, each by the event's state
//! and type. A Lambda function reports them to CloudWatch (EMF lines in its log: see
//! `hookline_aws::metrics`); the local runner and the tests keep [`NoMetrics`], which costs a
//! virtual call and nothing else.

/// What became of one webhook attempt, as the metrics count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The receiver accepted the delivery.
    Succeeded,
    /// The attempt failed and another one is scheduled.
    Retried,
    /// The delivery gave up for good: it goes to the dead-letter queue.
    Failed,
}

/// Where the handlers' counts go. The handlers call it on their hot paths, from many tasks at
/// once: an implementation must be cheap, must not wait on I/O, and must never panic (the
/// delivery handler records inside an attempt, whose panic costs its message).
pub trait Metrics: Send + Sync {
    /// Ingest stored `n` new events of `event_type` in `state` (duplicates are not counted).
    fn events_accepted(&self, state: &str, event_type: &str, n: u64);

    /// Fan-out stored and queued `deliveries` deliveries for one event of `event_type` in
    /// `state` (an event continued across invocations reports each part once).
    fn fanned_out(&self, state: &str, event_type: &str, deliveries: u64);

    /// One webhook attempt for an event of `event_type` in `state` ended in `outcome`;
    /// `latency_ms` is how long the request took, `None` if it was not sent (the endpoint had
    /// too many requests in flight).
    fn attempt(
        &self,
        state: &str,
        event_type: &str,
        outcome: AttemptOutcome,
        latency_ms: Option<u64>,
    );
}

/// Records nothing: the default of every handler context.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn events_accepted(&self, _: &str, _: &str, _: u64) {}

    fn fanned_out(&self, _: &str, _: &str, _: u64) {}

    fn attempt(&self, _: &str, _: &str, _: AttemptOutcome, _: Option<u64>) {}
}
