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
}

impl DeliveryMode {
    /// `push` or `pull`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryMode::Push => "push",
            DeliveryMode::Pull => "pull",
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
