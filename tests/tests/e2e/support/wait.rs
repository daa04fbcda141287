//! Waiting for conditions instead of sleeping.

use std::future::Future;
use std::time::Duration;

/// How long "nothing more arrives" checks watch after the expected requests came.
///
/// This is the one bounded wait of the suite: absence cannot be awaited. Tests that use it
/// run with retry delays of a few hundred milliseconds at most, so a duplicate or a stray
/// delivery would show up well inside the window.
pub const QUIET_WINDOW: Duration = Duration::from_millis(1200);

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
