//! What follows an attempt: done, the endpoint is gone, retry after a delay, or give up.

use std::time::Duration;

use hookline_domain::RetrySchedule;
use hookline_domain::retry::parse_retry_after;

use crate::delivery::client::SendResult;

/// The decision after one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// 2xx: delivered.
    Succeeded,
    /// 410: the subscription is disabled, the delivery fails.
    Gone,
    /// Try again after this delay.
    Retry(Duration),
    /// No attempt left in this cycle.
    GiveUp,
}

/// Decides the outcome of attempt number `attempt_in_cycle` (1-based) of `max_attempts`.
/// `unit` is a uniform random number in [0, 1) for the jitter.
pub fn decide(
    result: &SendResult,
    attempt_in_cycle: u32,
    max_attempts: u32,
    schedule: &RetrySchedule,
    now_unix: i64,
    unit: f64,
) -> Outcome {
    match result.status {
        Some(s) if (200..300).contains(&s) && result.error.is_none() => return Outcome::Succeeded,
        Some(410) => return Outcome::Gone,
        _ => {}
    }
    if attempt_in_cycle >= max_attempts {
        return Outcome::GiveUp;
    }
    let honour_retry_after = matches!(result.status, Some(429) | Some(503));
    let delay = result
        .retry_after
        .as_deref()
        .filter(|_| honour_retry_after)
        .and_then(|v| parse_retry_after(v, now_unix))
        .unwrap_or_else(|| schedule.delay_after(attempt_in_cycle, unit));
    Outcome::Retry(delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(status: Option<u16>, retry_after: Option<&str>) -> SendResult {
        SendResult {
            status,
            duration_ms: 1,
            error: status
                .filter(|s| !(200..300).contains(s))
                .map(|s| format!("HTTP {s}"))
                .or(if status.is_none() {
                    Some("timeout".into())
                } else {
                    None
                }),
            excerpt: String::new(),
            retry_after: retry_after.map(str::to_string),
        }
    }

    #[test]
    fn success_gone_retry_and_give_up() {
        let s = RetrySchedule::parse("1s,2s").expect("schedule");
        assert_eq!(
            decide(&res(Some(204), None), 1, 3, &s, 0, 0.5),
            Outcome::Succeeded
        );
        assert_eq!(
            decide(&res(Some(410), None), 1, 3, &s, 0, 0.5),
            Outcome::Gone
        );
        assert_eq!(
            decide(&res(Some(500), None), 2, 3, &s, 0, 0.5),
            Outcome::Retry(Duration::from_secs(2))
        );
        assert_eq!(decide(&res(None, None), 3, 3, &s, 0, 0.5), Outcome::GiveUp);
        assert_eq!(
            decide(&res(Some(302), None), 1, 3, &s, 0, 0.5),
            Outcome::Retry(Duration::from_secs(1))
        );
    }

    #[test]
    fn retry_after_is_honoured_only_on_429_and_503() {
        let s = RetrySchedule::parse("1s").expect("schedule");
        assert_eq!(
            decide(&res(Some(429), Some("7")), 1, 3, &s, 0, 0.5),
            Outcome::Retry(Duration::from_secs(7))
        );
        assert_eq!(
            decide(&res(Some(503), Some("99999")), 1, 3, &s, 0, 0.5),
            Outcome::Retry(Duration::from_secs(43200))
        );
        assert_eq!(
            decide(&res(Some(500), Some("7")), 1, 3, &s, 0, 0.5),
            Outcome::Retry(Duration::from_secs(1))
        );
    }
}
