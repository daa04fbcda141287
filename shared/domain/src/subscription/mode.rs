//! How a subscription's deliveries reach its client: pushed (an HTTP POST to its URL),
//! pulled (kept in its message log, which the client fetches with a cursor), or performed as
//! a workflow's actions on the client's connections.

use serde::{Deserialize, Serialize};

use super::{Subscription, SubscriptionInput, validate_steps};
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
    /// `push`, `pull` or `action`.
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

/// Sets the mode of a new subscription, refuses a change of an existing one's, refuses the
/// fields that mean something only for an HTTP push on a pull or action subscription, and
/// sets a workflow's steps (mode `action` only, required on create).
pub(super) fn apply_mode(
    sub: &mut Subscription,
    input: &SubscriptionInput,
    creating: bool,
) -> Result<(), ValidationError> {
    match input.mode {
        Some(mode) if creating => {
            sub.mode = mode;
            // A workflow acts on its own client's trigger events ("packed here, ready to ship
            // there": both connections are the client's) unless it says otherwise.
            sub.include_own_events = mode == DeliveryMode::Action;
        }
        Some(mode) if mode != sub.mode => {
            return Err(ValidationError::invalid(
                "mode",
                "cannot be changed: create a new subscription instead",
            ));
        }
        _ => {}
    }
    let refused: &[(&str, bool)] = match sub.mode {
        DeliveryMode::Push => &[],
        DeliveryMode::Pull => &[
            ("url", input.url.is_some()),
            ("timeout_ms", input.timeout_ms.is_some()),
            ("rate_limit", matches!(input.rate_limit, Some(Some(_)))),
            ("auth", matches!(input.auth, Some(Some(_)))),
        ],
        DeliveryMode::Action => &[
            ("url", input.url.is_some()),
            ("headers", input.headers.is_some()),
            ("rate_limit", matches!(input.rate_limit, Some(Some(_)))),
            ("auth", matches!(input.auth, Some(Some(_)))),
            ("format", input.format.is_some()),
            ("template", input.template.is_some()),
        ],
    };
    if let Some((field, _)) = refused.iter().find(|(_, given)| *given) {
        let why = match sub.mode {
            DeliveryMode::Action => {
                "a workflow performs its `actions`, whose app says how each request is made: this field applies to push only"
            }
            _ => "a pull subscription has no URL to send to: this field applies to push only",
        };
        return Err(ValidationError::invalid(*field, why));
    }
    match (&input.actions, sub.mode) {
        (Some(steps), DeliveryMode::Action) => {
            validate_steps(steps)?;
            sub.actions = steps.clone();
        }
        (None, DeliveryMode::Action) if creating => {
            return Err(ValidationError::invalid(
                "actions",
                "is required with \"mode\": \"action\"",
            ));
        }
        (Some(_), _) => {
            return Err(ValidationError::invalid(
                "actions",
                "only with \"mode\": \"action\"",
            ));
        }
        (None, _) => {}
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

    #[test]
    fn a_workflow_has_steps_and_none_of_the_fields_of_a_push() {
        let steps: Vec<crate::subscription::ActionStep> =
            serde_json::from_value(serde_json::json!([
                {"connection_id": "con_1", "action": "update_status", "input": {"status": "ready"}}
            ]))
            .expect("steps");
        let mut s = sub();
        let missing = SubscriptionInput {
            mode: Some(DeliveryMode::Action),
            ..Default::default()
        };
        assert_eq!(
            field(apply_mode(&mut s, &missing, true)).as_deref(),
            Some("actions")
        );
        let mut s = sub();
        let workflow = SubscriptionInput {
            mode: Some(DeliveryMode::Action),
            actions: Some(steps.clone()),
            ..Default::default()
        };
        assert_eq!(field(apply_mode(&mut s, &workflow, true)), None);
        assert_eq!((s.mode, s.actions.len()), (DeliveryMode::Action, 1));
        // A workflow takes its own client's trigger events unless told otherwise.
        assert!(s.include_own_events);
        let push_only = [
            (
                "url",
                SubscriptionInput {
                    url: Some("https://x.example.org/".into()),
                    ..Default::default()
                },
            ),
            (
                "headers",
                SubscriptionInput {
                    headers: Some(Default::default()),
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
            (
                "format",
                SubscriptionInput {
                    format: Some(crate::subscription::PayloadFormat::Cloudevents),
                    ..Default::default()
                },
            ),
            (
                "template",
                SubscriptionInput {
                    template: Some("{}".into()),
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
        let empty = SubscriptionInput {
            actions: Some(Vec::new()),
            ..Default::default()
        };
        assert_eq!(
            field(apply_mode(&mut s, &empty, false)).as_deref(),
            Some("actions")
        );
        assert_eq!(
            field(apply_mode(&mut s, &SubscriptionInput::default(), false)),
            None
        );
        assert_eq!(s.actions, steps, "a patch without actions keeps them");
        // Other modes have no steps.
        for mode in [DeliveryMode::Push, DeliveryMode::Pull] {
            let mut s = sub();
            let input = SubscriptionInput {
                mode: Some(mode),
                actions: Some(steps.clone()),
                ..Default::default()
            };
            assert_eq!(
                field(apply_mode(&mut s, &input, true)).as_deref(),
                Some("actions")
            );
        }
    }
}
