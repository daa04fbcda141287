//! Waiting for conditions instead of sleeping.

use std::future::Future;
use std::time::Duration;

use super::backend::Backend;

/// How long "nothing more arrives" checks watch after the expected requests came.
///
/// This is the one bounded wait of the suite: absence cannot be awaited. Tests that use it
/// run with retry delays of a few hundred milliseconds at most, so a duplicate or a stray
/// delivery would show up well inside the window.
pub const QUIET_WINDOW: Duration = Duration::from_millis(1200);

/// The quiet window on the AWS backend. SQS counts whole seconds, so the same sub-second retry
/// schedule runs there as 1 s visibility timeouts (rounded up by the adapter), and a message
/// that becomes visible again is picked up by the next long poll (1 s wait; moto rechecks its
/// queue once a second): a stray retry shows up about 2 s after the attempt before it, so the
/// window must be longer than that for "nothing more arrives" to mean the same thing.
pub const AWS_QUIET_WINDOW: Duration = Duration::from_millis(3500);

/// The quiet window of the backend under test (`HOOKLINE_E2E_BACKEND`).
pub fn quiet_window() -> Duration {
    match Backend::from_env() {
        Backend::Embedded => QUIET_WINDOW,
        Backend::Aws => AWS_QUIET_WINDOW,
    }
}

/// How often `eventually` probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(50);

/// Probes until `probe` yields `Some`, or panics after `timeout` saying what it waited for.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(PROBE_INTERVAL).await;
    }
}
