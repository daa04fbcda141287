//! The retry schedule: how long to wait after each failed attempt.

use std::time::Duration;

/// Longest delay SQS can hold a message invisible (12 hours).
pub const MAX_DELAY: Duration = Duration::from_secs(12 * 3600);
/// Longest delay of a freshly sent message (SQS `DelaySeconds`: 15 minutes).
pub const MAX_SEND_DELAY: Duration = Duration::from_secs(15 * 60);
/// Time a message may spend between its receive and the handler's start (Lambda's batching
/// window and polling), counted against the 12 hours a receive may hide it.
pub const RECEIVE_MARGIN: Duration = Duration::from_secs(120);
/// Receives kept free on every message for what may come between two attempts besides the
/// wait itself: waits for a busy endpoint, a delivery not yet readable, a claim lost to
/// another worker.
pub const RESERVED_RECEIVES: u32 = 10;
/// Age kept free below a queue's retention.
pub const RETENTION_MARGIN: Duration = Duration::from_secs(3600);

/// What a queue lets one message carry: SQS hides a message for at most 12 hours from its
/// receive, keeps it `retention` after it was sent, and dead-letters it after `max_receives`
/// receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Receives before the queue moves the message to its dead-letter queue.
    pub max_receives: u32,
    /// How long the queue keeps a message after it was sent (`None`: for ever).
    pub retention: Option<Duration>,
    /// Longest invisibility one receive may give a message.
    pub max_visibility: Duration,
}

impl QueueLimits {
    /// SQS's limits with this redrive count and retention.
    pub fn sqs(max_receives: u32, retention: Duration) -> QueueLimits {
        QueueLimits {
            max_receives,
            retention: Some(retention),
            max_visibility: MAX_DELAY,
        }
    }
}

/// How a message waits for its delivery's next attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Stay in the queue, invisible this long (`ChangeMessageVisibility`); it may come back
    /// before the attempt is due, and then waits again.
    Hide(Duration),
    /// Leave the queue and come back as a fresh message, sent with this delay (at most 15
    /// minutes): this one could not wait that long, by its age or its receive count, without
    /// being dropped by the queue or dead-lettered.
    Resend(Duration),
}

/// Plans a wait of `delay` for a message received `receives` times, sent `age` ago and
/// received `since_receive` ago, so that no wait the API allows outlives the queue's limits.
pub fn plan_wait(
    delay: Duration,
    since_receive: Duration,
    age: Duration,
    receives: u32,
    limits: &QueueLimits,
) -> Wait {
    // The 12 hours count from the receive, not from now.
    let allowance = limits
        .max_visibility
        .saturating_sub(since_receive + RECEIVE_MARGIN);
    let hide = delay.min(allowance);
    // Receives this wait takes: one when it is due, one more each time it had to be cut.
    let mut needed = 1u32;
    let mut rest = delay.saturating_sub(hide);
    let step = limits.max_visibility.saturating_sub(RECEIVE_MARGIN);
    while !rest.is_zero() && !step.is_zero() {
        needed += 1;
        rest = rest.saturating_sub(step);
    }
    let out_of_receives = receives
        .saturating_add(needed)
        .saturating_add(RESERVED_RECEIVES)
        > limits.max_receives;
    let too_old = limits
        .retention
        .is_some_and(|retention| age + delay + RETENTION_MARGIN > retention);
    if out_of_receives || too_old || hide.is_zero() {
        Wait::Resend(delay.min(MAX_SEND_DELAY))
    } else {
        Wait::Hide(hide)
    }
}

/// Why a retry schedule ([`RetrySchedule::parse`]) was refused; `delay` is the refused item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetryScheduleError {
    /// No delay at all.
    #[error("the retry schedule needs at least one delay")]
    Empty,
    /// The number before the unit is not one.
    #[error("'{delay}' is not a duration (e.g. 500ms, 5s, 2m, 1h)")]
    NotANumber {
        /// The refused delay.
        delay: String,
        /// The number's parse error.
        #[source]
        source: std::num::ParseFloatError,
    },
    /// The unit is none of `ms`, `s`, `m`, `h`.
    #[error("'{delay}' is not a duration (e.g. 500ms, 5s, 2m, 1h)")]
    UnknownUnit {
        /// The refused delay.
        delay: String,
    },
    /// Longer than 12 hours (SQS's longest wait).
    #[error("'{delay}' must be between 0 and 12h")]
    OutOfRange {
        /// The refused delay.
        delay: String,
    },
}

/// Delays after failed attempts 1, 2, …; attempts past the end repeat the last delay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

impl Default for RetrySchedule {
    /// 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 12 h, 12 h (about 40 hours).
    fn default() -> Self {
        let s = [
            5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200, 43200,
        ];
        RetrySchedule {
            delays: s.into_iter().map(Duration::from_secs).collect(),
        }
    }
}

impl RetrySchedule {
    /// Parses a comma list of durations: `500ms`, `5s`, `2m`, `1h` (plain numbers are seconds).
    pub fn parse(text: &str) -> Result<RetrySchedule, RetryScheduleError> {
        let mut delays = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            delays.push(parse_duration(part)?);
        }
        if delays.is_empty() {
            return Err(RetryScheduleError::Empty);
        }
        Ok(RetrySchedule { delays })
    }

    /// A schedule of these delays, each cut to 12 hours; none at all is one of no delay.
    pub fn from_delays(mut delays: Vec<Duration>) -> RetrySchedule {
        if delays.is_empty() {
            delays.push(Duration::ZERO);
        }
        for d in &mut delays {
            *d = (*d).min(MAX_DELAY);
        }
        RetrySchedule { delays }
    }

    /// The delay after failed attempt `attempt` (1-based) of the current cycle, with `unit` a
    /// uniform random number in [0, 1) that spreads it by ±20%.
    pub fn delay_after(&self, attempt: u32, unit: f64) -> Duration {
        let idx = (attempt.max(1) as usize - 1).min(self.delays.len() - 1);
        let base = self.delays[idx];
        let factor = 0.8 + 0.4 * unit.clamp(0.0, 1.0);
        base.mul_f64(factor).min(MAX_DELAY)
    }

    /// The delays, for display.
    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }
}

fn parse_duration(s: &str) -> Result<Duration, RetryScheduleError> {
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|source| RetryScheduleError::NotANumber {
            delay: s.to_string(),
            source,
        })?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(RetryScheduleError::UnknownUnit {
                delay: s.to_string(),
            });
        }
    };
    if !(0.0..=43200.0).contains(&secs) {
        return Err(RetryScheduleError::OutOfRange {
            delay: s.to_string(),
        });
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses a `Retry-After` value (delay-seconds or HTTP-date relative to `now_unix`), capped
/// at 12 hours.
pub fn parse_retry_after(value: &str, now_unix: i64) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(MAX_DELAY));
    }
    let when = httpdate_parse(v)?;
    Some(Duration::from_secs((when - now_unix).max(0) as u64).min(MAX_DELAY))
}

fn httpdate_parse(v: &str) -> Option<i64> {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(v, &fmt)
        .ok()
        .map(|t| t.assume_utc().unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_wait_is_cut_at_twelve_hours_from_the_receive() {
        let limits = QueueLimits::sqs(60, 14 * 24 * HOUR);
        let t = Duration::from_secs(40);
        assert_eq!(
            plan_wait(Duration::from_secs(5), t, HOUR, 1, &limits),
            Wait::Hide(Duration::from_secs(5))
        );
        assert_eq!(
            plan_wait(12 * HOUR, t, HOUR, 1, &limits),
            Wait::Hide(MAX_DELAY - t - RECEIVE_MARGIN)
        );
    }

    #[test]
    fn a_message_that_cannot_wait_that_long_is_sent_again() {
        let limits = QueueLimits::sqs(60, 14 * 24 * HOUR);
        let t = Duration::from_secs(1);
        assert_eq!(
            plan_wait(
                HOUR,
                t,
                14 * 24 * HOUR - 90 * 60 * Duration::from_secs(1),
                3,
                &limits
            ),
            Wait::Resend(MAX_SEND_DELAY),
            "too old"
        );
        assert_eq!(
            plan_wait(Duration::from_secs(30), t, HOUR, 50, &limits),
            Wait::Resend(Duration::from_secs(30)),
            "too many receives"
        );
        assert_eq!(
            plan_wait(Duration::from_secs(30), t, HOUR, 49, &limits),
            Wait::Hide(Duration::from_secs(30))
        );
        let local = QueueLimits {
            max_receives: 60,
            retention: None,
            max_visibility: MAX_DELAY,
        };
        assert_eq!(
            plan_wait(HOUR, t, 400 * 24 * HOUR, 1, &local),
            Wait::Hide(HOUR),
            "a queue that keeps messages for ever"
        );
    }

    #[test]
    fn default_schedule_spans_about_forty_hours() {
        let s = RetrySchedule::default();
        let total: u64 = (1..=11).map(|a| s.delay_after(a, 0.5).as_secs()).sum();
        assert_eq!(
            total,
            5 + 30 + 120 + 600 + 1800 + 3600 + 7200 + 14400 + 28800 + 43200 + 43200
        );
        assert_eq!(s.delay_after(40, 0.5), Duration::from_secs(43200));
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let s = RetrySchedule::parse("10s").expect("schedule");
        assert_eq!(s.delay_after(1, 0.0), Duration::from_secs(8));
        assert_eq!(s.delay_after(1, 1.0), Duration::from_secs(12));
    }

    #[test]
    fn parses_units_and_refuses_junk() {
        let s = RetrySchedule::parse("500ms, 2s,1m,1h").expect("schedule");
        assert_eq!(s.delays()[0], Duration::from_millis(500));
        assert_eq!(s.delays()[3], Duration::from_secs(3600));
        assert!(RetrySchedule::parse("").is_err());
        assert!(RetrySchedule::parse("5x").is_err());
        assert!(RetrySchedule::parse("13h").is_err());
    }

    #[test]
    fn a_refused_schedule_says_which_delay_and_why() {
        assert_eq!(
            RetrySchedule::parse(" , "),
            Err(RetryScheduleError::Empty),
            "only separators"
        );
        let delay = |d: &str| d.to_string();
        assert_eq!(
            RetrySchedule::parse("5s,5x"),
            Err(RetryScheduleError::UnknownUnit { delay: delay("5x") })
        );
        assert_eq!(
            RetrySchedule::parse("13h"),
            Err(RetryScheduleError::OutOfRange {
                delay: delay("13h")
            })
        );
        let err = RetrySchedule::parse("1.2.3s").expect_err("two dots");
        assert!(
            matches!(&err, RetryScheduleError::NotANumber { delay, .. } if delay == "1.2.3s"),
            "{err:?}"
        );
        assert!(std::error::Error::source(&err).is_some(), "keeps the cause");
        // The texts a refused HOOKLINE_RETRY_SCHEDULE is reported with.
        assert_eq!(
            RetrySchedule::parse("").expect_err("empty").to_string(),
            "the retry schedule needs at least one delay"
        );
        assert_eq!(
            RetrySchedule::parse("5x").expect_err("unit").to_string(),
            "'5x' is not a duration (e.g. 500ms, 5s, 2m, 1h)"
        );
        assert_eq!(
            err.to_string(),
            "'1.2.3s' is not a duration (e.g. 500ms, 5s, 2m, 1h)"
        );
        assert_eq!(
            RetrySchedule::parse("13h").expect_err("long").to_string(),
            "'13h' must be between 0 and 12h"
        );
    }

    #[test]
    fn retry_after_seconds_and_dates_are_capped() {
        assert_eq!(parse_retry_after("7", 0), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("999999", 0), Some(MAX_DELAY));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", 40),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }
}
