//! How a subscription's deliveries reach its client: pushed (an HTTP POST to its URL) or
//! pulled (kept in its message log, which the client fetches with a cursor).

use serde::{Deserialize, Serialize};

use super::{Subscription, SubscriptionInput};
use crate::error::ValidationError;

/// A subscription's delivery mode; fixed when it is created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryMode {
    /// Signed HTTP POSTs to the subscription's URL.
    #[default]
    Push,
    /// Messages kept for the client to fetch (`GET …/messages`), for receivers without a
    /// public URL.
    Pull,
    /// A workflow: each delivery performs the subscription's `actions` (app actions of the
    /// client's connections) instead of a POST.
    Action,
}

impl DeliveryMode {
    /// `push` or `pull`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMode::Push => "push",
            DeliveryMode::Pull => "pull",
            DeliveryMode::Action => "action",
        }
    }

    /// Whether it is [`DeliveryMode::Push`] (records from before modes leave it out).
    pub fn is_push(&self) -> bool {
        *self == DeliveryMode::Push
    }
}

/// Sets the mode of a new subscription, refuses a change of an existing one's, and refuses
/// the fields that mean something only for an HTTP push on a pull subscription.
pub(super) fn apply_mode(
    sub: &mut Subscription,
    input: &SubscriptionInput,
    creating: bool,
) -> Result<(), ValidationError> {
    match input.mode {
        Some(mode) if creating => sub.mode = mode,
        Some(mode) if mode != sub.mode => {
            return Err(ValidationError::invalid(
                "mode",
                "cannot be changed: create a new subscription instead",
            ));
        }
        _ => {}
    }
    if sub.mode == DeliveryMode::Pull {
        let push_only = [
            ("url", input.url.is_some()),
            ("timeout_ms", input.timeout_ms.is_some()),
            ("rate_limit", matches!(input.rate_limit, Some(Some(_)))),
            ("auth", matches!(input.auth, Some(Some(_)))),
        ];
        if let Some((field, _)) = push_only.iter().find(|(_, given)| *given) {
            return Err(ValidationError::invalid(
                *field,
                "a pull subscription has no URL to send to: this field applies to push only",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::ids::{ClientId, SubscriptionId};
    use crate::subscription::new_subscription;

    fn sub() -> Subscription {
        new_subscription(
            SubscriptionId::from_stored("sub_1"),
            ClientId::from_stored("cl_1"),
            "whsec_x".into(),
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    fn field(r: Result<(), ValidationError>) -> Option<String> {
        r.err().map(|e| e.errors[0].field.clone())
    }

    #[test]
    fn a_pull_subscription_refuses_what_only_a_push_uses_and_keeps_its_mode() {
        let pull = SubscriptionInput {
            mode: Some(DeliveryMode::Pull),
            ..Default::default()
        };
        let mut s = sub();
        assert_eq!(field(apply_mode(&mut s, &pull, true)), None);
        assert_eq!(s.mode, DeliveryMode::Pull);
        let push_only = [
            (
                "url",
                SubscriptionInput {
                    url: Some("https://x.example.org/".into()),
                    ..Default::default()
                },
            ),
            (
                "timeout_ms",
                SubscriptionInput {
                    timeout_ms: Some(1000),
                    ..Default::default()
                },
            ),
            (
                "rate_limit",
                SubscriptionInput {
                    rate_limit: Some(Some(5)),
                    ..Default::default()
                },
            ),
        ];
        for (name, input) in push_only {
            assert_eq!(
                field(apply_mode(&mut s, &input, false)).as_deref(),
                Some(name)
            );
        }
        let cleared = SubscriptionInput {
            rate_limit: Some(None),
            auth: Some(None),
            ..Default::default()
        };
        assert_eq!(
            field(apply_mode(&mut s, &cleared, false)),
            None,
            "null is nothing set"
        );
        let to_push = SubscriptionInput {
            mode: Some(DeliveryMode::Push),
            ..Default::default()
        };
        assert_eq!(
            field(apply_mode(&mut s, &to_push, false)).as_deref(),
            Some("mode")
        );
        assert_eq!(
            field(apply_mode(&mut s, &pull, false)),
            None,
            "the same mode again"
        );
        assert_eq!(s.mode, DeliveryMode::Pull);
    }
}
