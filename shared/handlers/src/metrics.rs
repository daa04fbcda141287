//! What the handlers count: the port itself is `hookline_ports::metrics` (re-exported here);
//! this module says how a delivery's [`Outcome`] counts.

use crate::delivery::outcome::Outcome;

pub use hookline_ports::metrics::{AttemptOutcome, Metrics, NoMetrics};

impl From<&Outcome> for AttemptOutcome {
    fn from(outcome: &Outcome) -> AttemptOutcome {
        match outcome {
            Outcome::Succeeded => AttemptOutcome::Succeeded,
            Outcome::Retry(_) => AttemptOutcome::Retried,
            Outcome::Gone | Outcome::GiveUp => AttemptOutcome::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_gone_endpoint_and_a_last_attempt_both_count_as_failed() {
        let of = |o: Outcome| AttemptOutcome::from(&o);
        assert_eq!(of(Outcome::Succeeded), AttemptOutcome::Succeeded);
        assert_eq!(
            of(Outcome::Retry(Duration::from_secs(5))),
            AttemptOutcome::Retried
        );
        assert_eq!(of(Outcome::GiveUp), AttemptOutcome::Failed);
        assert_eq!(of(Outcome::Gone), AttemptOutcome::Failed);
    }
}
