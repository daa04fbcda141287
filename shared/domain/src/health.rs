//! Endpoint health: why and when the system disables a subscription. A 410 Gone disables it
//! at once; otherwise the first failed attempt after a success starts its failing period, the
//! next success ends it, and a failed attempt `disable_after` or more into it disables it.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::subscription::Subscription;

/// Why the system disabled a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisabledReason {
    /// The endpoint answered 410 Gone.
    Gone,
    /// Every attempt failed for longer than the stack's `disable_after`.
    Failing,
}

impl DisabledReason {
    /// The name the API shows (`gone`, `failing`).
    pub fn as_str(self) -> &'static str {
        match self {
            DisabledReason::Gone => "gone",
            DisabledReason::Failing => "failing",
        }
    }
}

/// What a failed attempt changed on its subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureStep {
    /// Nothing: already failing, not yet for long enough (or already disabled).
    Unchanged,
    /// The first failure since a success: `failing_since` is now set.
    StartedFailing,
    /// Failing for `disable_after` or longer: now disabled, reason `failing`.
    Disabled,
}

impl Subscription {
    /// Disables the subscription for `reason` at `at`; false (nothing changed) if it was
    /// disabled already.
    pub fn disable(&mut self, reason: DisabledReason, at: OffsetDateTime) -> bool {
        if !self.enabled {
            return false;
        }
        self.enabled = false;
        self.disabled_reason = Some(reason);
        self.disabled_at = Some(at);
        self.updated_at = at;
        true
    }

    /// What an attempt that failed at `at` would change (see [`Subscription::record_failure`]),
    /// without changing it: a worker holding a snapshot writes nothing when it is `Unchanged`.
    pub fn failure_step(&self, at: OffsetDateTime, disable_after: Duration) -> FailureStep {
        match self.failing_since {
            _ if !self.enabled => FailureStep::Unchanged,
            None => FailureStep::StartedFailing,
            Some(since) if at - since >= disable_after => FailureStep::Disabled,
            Some(_) => FailureStep::Unchanged,
        }
    }

    /// Records an attempt that failed at `at`: the first failure since a success starts the
    /// failing period; a failure `disable_after` or more into it disables the subscription.
    pub fn record_failure(&mut self, at: OffsetDateTime, disable_after: Duration) -> FailureStep {
        let step = self.failure_step(at, disable_after);
        match step {
            FailureStep::StartedFailing => self.failing_since = Some(at),
            FailureStep::Disabled => {
                self.disable(DisabledReason::Failing, at);
            }
            FailureStep::Unchanged => {}
        }
        step
    }

    /// Records a successful attempt: ends the failing period; false if there was none.
    pub fn record_success(&mut self) -> bool {
        self.failing_since.take().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ClientId, SubscriptionId};
    use crate::subscription::new_subscription;

    #[test]
    fn failures_for_disable_after_disable_and_a_success_ends_the_period() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(10_000);
        let after = Duration::days(5);
        let mut s = new_subscription(
            SubscriptionId::from_stored("sub_1"),
            ClientId::from_stored("cl_1"),
            "whsec_x".into(),
            t0,
        );
        assert_eq!(s.record_failure(t0, after), FailureStep::StartedFailing);
        assert_eq!(s.failing_since, Some(t0));
        let almost = t0 + after - Duration::seconds(1);
        assert_eq!(s.record_failure(almost, after), FailureStep::Unchanged);
        assert!(s.record_success());
        assert!(!s.record_success(), "nothing to end twice");
        let t1 = t0 + Duration::days(1);
        assert_eq!(s.record_failure(t1, after), FailureStep::StartedFailing);
        let t2 = t1 + after;
        assert_eq!(s.record_failure(t2, after), FailureStep::Disabled);
        assert!(!s.enabled);
        assert_eq!(s.disabled_reason, Some(DisabledReason::Failing));
        assert_eq!((s.disabled_at, s.failing_since), (Some(t2), Some(t1)));
        assert_eq!(s.record_failure(t2, after), FailureStep::Unchanged);
        assert!(!s.disable(DisabledReason::Gone, t2), "already disabled");
        assert_eq!(s.disabled_reason, Some(DisabledReason::Failing));
    }
}
