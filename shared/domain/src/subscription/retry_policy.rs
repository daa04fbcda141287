//! A subscription's own retry schedule (`retry`), in place of the stack's: exponential backoff
//! or an explicit list of delays, each within what a queue message can wait
//! ([`MAX_DELAY`](crate::retry::MAX_DELAY), 12 hours; a longer wait than one receive can hide a
//! message goes out again as a fresh message, as for the stack's schedule, so no accepted
//! schedule outlives the queue's retention or receive count).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::MAX_MAX_ATTEMPTS;
use crate::error::ValidationError;
use crate::retry::{MAX_DELAY, RetrySchedule};

/// Problem code of a schedule outside the stack's limits (422).
pub const INVALID_RETRY_SCHEDULE: &str = "invalid_retry_schedule";
/// Largest multiplier of an exponential backoff.
pub const MAX_MULTIPLIER: u32 = 10;

fn two() -> u32 {
    2
}

/// Exponential backoff: `initial_delay_s`, then times `multiplier` after each further failure,
/// at most `max_delay_s` (default 12 hours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExponentialBackoff {
    /// Delay after the first failed attempt (1-43,200 s).
    pub initial_delay_s: u32,
    /// Growth factor (1-10; default 2).
    #[serde(default = "two")]
    pub multiplier: u32,
    /// Longest delay (`initial_delay_s`-43,200 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_s: Option<u32>,
}

/// How long to wait after each failed attempt (±20% jitter, as for the stack's schedule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "backoff", rename_all = "snake_case", deny_unknown_fields)]
pub enum RetryPolicy {
    /// Exponential backoff.
    Exponential(ExponentialBackoff),
    /// The delays after failed attempts 1, 2, …; attempts past the end repeat the last one.
    Explicit {
        /// 1-49 delays of 1-43,200 s each.
        delays_s: Vec<u32>,
    },
}

fn out_of_limits(field: impl Into<String>, message: impl Into<String>) -> ValidationError {
    ValidationError::with_code(INVALID_RETRY_SCHEDULE, field, message)
}

const LONGEST_S: u32 = MAX_DELAY.as_secs() as u32;
const DELAY_RANGE: std::ops::RangeInclusive<u32> = 1..=LONGEST_S;

fn in_range() -> String {
    format!("must be between 1 and {LONGEST_S} seconds (12 hours)")
}

impl ExponentialBackoff {
    fn validate(&self) -> Result<(), ValidationError> {
        if !DELAY_RANGE.contains(&self.initial_delay_s) {
            return Err(out_of_limits("retry.initial_delay_s", in_range()));
        }
        if !(1..=MAX_MULTIPLIER).contains(&self.multiplier) {
            return Err(out_of_limits(
                "retry.multiplier",
                format!("must be between 1 and {MAX_MULTIPLIER}"),
            ));
        }
        if self
            .max_delay_s
            .is_some_and(|m| !(self.initial_delay_s..=LONGEST_S).contains(&m))
        {
            return Err(out_of_limits(
                "retry.max_delay_s",
                format!("must be between initial_delay_s and {LONGEST_S} seconds"),
            ));
        }
        Ok(())
    }

    fn delays(&self) -> Vec<Duration> {
        let cap = u64::from(self.max_delay_s.unwrap_or(LONGEST_S).min(LONGEST_S));
        let mut out = Vec::new();
        let mut d = u64::from(self.initial_delay_s).min(cap);
        while out.len() < MAX_MAX_ATTEMPTS as usize {
            out.push(Duration::from_secs(d));
            if d >= cap || self.multiplier <= 1 {
                break;
            }
            d = (d * u64::from(self.multiplier)).min(cap);
        }
        out
    }
}

impl RetryPolicy {
    /// Checks the policy against the stack's limits.
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            RetryPolicy::Exponential(backoff) => backoff.validate(),
            RetryPolicy::Explicit { delays_s } => {
                let most = MAX_MAX_ATTEMPTS as usize - 1;
                if delays_s.is_empty() || delays_s.len() > most {
                    return Err(out_of_limits(
                        "retry.delays_s",
                        format!("1-{most} delays are required"),
                    ));
                }
                if let Some(i) = delays_s.iter().position(|d| !DELAY_RANGE.contains(d)) {
                    return Err(out_of_limits(format!("retry.delays_s[{i}]"), in_range()));
                }
                Ok(())
            }
        }
    }

    /// The base delays (before jitter) after failed attempts 1, 2, …, up to the last distinct
    /// one (later attempts repeat it).
    pub fn delays(&self) -> Vec<Duration> {
        match self {
            RetryPolicy::Exponential(backoff) => backoff.delays(),
            RetryPolicy::Explicit { delays_s } => delays_s
                .iter()
                .map(|d| Duration::from_secs(u64::from(*d).min(u64::from(LONGEST_S))))
                .collect(),
        }
    }

    /// The schedule the delivery worker follows for this subscription.
    pub fn schedule(&self) -> RetrySchedule {
        RetrySchedule::from_delays(self.delays())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(d: &[u64]) -> Vec<Duration> {
        d.iter().map(|s| Duration::from_secs(*s)).collect()
    }

    #[test]
    fn exponential_backoff_doubles_up_to_its_cap() {
        let p: RetryPolicy = serde_json::from_value(serde_json::json!(
            {"backoff": "exponential", "initial_delay_s": 10, "max_delay_s": 60}
        ))
        .expect("policy");
        assert_eq!(p.validate(), Ok(()));
        assert_eq!(p.delays(), secs(&[10, 20, 40, 60]));
        let s = p.schedule();
        assert_eq!(s.delay_after(2, 0.5), Duration::from_secs(20));
        assert_eq!(s.delay_after(9, 0.5), Duration::from_secs(60));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let parsed = serde_json::from_value::<RetryPolicy>(serde_json::json!(
            {"backoff": "exponential", "initial_delay_s": 10, "factor": 3}
        ));
        assert!(parsed.is_err(), "{parsed:?}");
    }

    #[test]
    fn a_schedule_outside_the_stacks_limits_is_refused_with_the_field() {
        let refused = |v: serde_json::Value| {
            let p: RetryPolicy = serde_json::from_value(v).expect("shape");
            let e = p.validate().expect_err("out of limits");
            assert_eq!(e.code, INVALID_RETRY_SCHEDULE);
            e.errors[0].field.clone()
        };
        assert_eq!(
            refused(serde_json::json!({"backoff": "exponential", "initial_delay_s": 0})),
            "retry.initial_delay_s"
        );
        assert_eq!(
            refused(
                serde_json::json!({"backoff": "exponential", "initial_delay_s": 5, "max_delay_s": 43201})
            ),
            "retry.max_delay_s"
        );
        assert_eq!(
            refused(
                serde_json::json!({"backoff": "exponential", "initial_delay_s": 5, "multiplier": 11})
            ),
            "retry.multiplier"
        );
        assert_eq!(
            refused(serde_json::json!({"backoff": "explicit", "delays_s": [1, 50000]})),
            "retry.delays_s[1]"
        );
        assert_eq!(
            refused(serde_json::json!({"backoff": "explicit", "delays_s": []})),
            "retry.delays_s"
        );
    }
}
