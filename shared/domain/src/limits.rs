//! What one client may ask of a stack: a request rate, and quotas on what it may create or
//! set off. A stack has defaults; an admin can override any of them for one client.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// One client's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Sustained `/v1` requests per second (a batch publish counts one per event); 0 = no
    /// limit.
    pub requests_per_second: u32,
    /// Requests that may come at once above that rate.
    pub burst: u32,
    /// Subscriptions the client may have.
    pub max_subscriptions: u32,
    /// Events one replay call re-delivers at most.
    pub max_replay_events: u32,
    /// Test pings per minute.
    pub test_pings_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            requests_per_second: 200,
            burst: 400,
            max_subscriptions: 1_000,
            max_replay_events: 10_000,
            test_pings_per_minute: 10,
        }
    }
}

/// An admin's overrides of a stack's limits for one client: each field set replaces the
/// stack's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitOverrides {
    /// See [`Limits::requests_per_second`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_second: Option<u32>,
    /// See [`Limits::burst`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// See [`Limits::max_subscriptions`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_subscriptions: Option<u32>,
    /// See [`Limits::max_replay_events`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replay_events: Option<u32>,
    /// See [`Limits::test_pings_per_minute`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_pings_per_minute: Option<u32>,
}

/// Largest value of any limit: a bound that still fits every counter, and that no stack
/// needs to exceed.
pub const MAX_LIMIT: u32 = 1_000_000;

impl Limits {
    /// These limits with a client's overrides applied.
    pub fn with(self, o: &LimitOverrides) -> Limits {
        Limits {
            requests_per_second: o.requests_per_second.unwrap_or(self.requests_per_second),
            burst: o.burst.unwrap_or(self.burst),
            max_subscriptions: o.max_subscriptions.unwrap_or(self.max_subscriptions),
            max_replay_events: o.max_replay_events.unwrap_or(self.max_replay_events),
            test_pings_per_minute: o
                .test_pings_per_minute
                .unwrap_or(self.test_pings_per_minute),
        }
    }

    /// Fails on a value above [`MAX_LIMIT`], or a rate without room for one request.
    pub fn validate(&self) -> Result<(), ValidationError> {
        self.as_overrides().validate()
    }

    fn as_overrides(&self) -> LimitOverrides {
        LimitOverrides {
            requests_per_second: Some(self.requests_per_second),
            burst: Some(self.burst),
            max_subscriptions: Some(self.max_subscriptions),
            max_replay_events: Some(self.max_replay_events),
            test_pings_per_minute: Some(self.test_pings_per_minute),
        }
    }
}

impl LimitOverrides {
    /// Fails on a value above [`MAX_LIMIT`], or a burst of 0.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let fields = [
            ("limits.requests_per_second", self.requests_per_second),
            ("limits.burst", self.burst),
            ("limits.max_subscriptions", self.max_subscriptions),
            ("limits.max_replay_events", self.max_replay_events),
            ("limits.test_pings_per_minute", self.test_pings_per_minute),
        ];
        for (field, value) in fields {
            if value.is_some_and(|v| v > MAX_LIMIT) {
                return Err(ValidationError::invalid(
                    field,
                    format!("must be at most {MAX_LIMIT}"),
                ));
            }
        }
        if self.burst == Some(0) {
            return Err(ValidationError::invalid(
                "limits.burst",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// Whether no limit is overridden.
    pub fn is_empty(&self) -> bool {
        *self == LimitOverrides::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_override_replaces_only_the_fields_it_sets() {
        let base = Limits::default();
        let o = LimitOverrides {
            requests_per_second: Some(5),
            max_subscriptions: Some(3),
            ..LimitOverrides::default()
        };
        let l = base.with(&o);
        assert_eq!(l.requests_per_second, 5);
        assert_eq!(l.max_subscriptions, 3);
        assert_eq!(l.burst, base.burst);
        assert_eq!(l.max_replay_events, base.max_replay_events);
    }

    #[test]
    fn values_out_of_range_are_refused() {
        let too_big = LimitOverrides {
            burst: Some(MAX_LIMIT + 1),
            ..LimitOverrides::default()
        };
        assert_eq!(
            too_big.validate().unwrap_err().errors[0].field,
            "limits.burst"
        );
        let no_burst = LimitOverrides {
            burst: Some(0),
            ..LimitOverrides::default()
        };
        assert!(no_burst.validate().is_err());
        assert!(Limits::default().validate().is_ok());
    }
}
