//! Read-modify-write of a subscription. Every change to a stored subscription — an API edit,
//! a secret rotation, the delivery worker disabling a gone or failing endpoint, or tracking
//! its failures — reads it, applies the change to that copy and writes it only over the
//! version it read (`Store::update_subscription`). A write that finds it changed meanwhile
//! reads it again and re-applies the change, so no writer overwrites another's.

use hookline_domain::{Subscription, SubscriptionId};
use hookline_ports::{PortError, Store};

/// Reads of a subscription one change may take when others keep changing it meanwhile.
pub const WRITE_TRIES: u32 = 5;

/// What [`modify_subscription`] did.
#[derive(Debug)]
pub enum Modified {
    /// The change was written: the subscription as stored now.
    Written(Subscription),
    /// The change asked for no write (nothing to change): the subscription as read.
    Unchanged(Subscription),
    /// There is no such subscription (any more).
    Missing,
}

/// Applies `change` to the stored subscription `id` and writes it over the version it read,
/// reading and re-applying up to [`WRITE_TRIES`] times while concurrent writes get in first.
/// `change` returns whether there is anything to write, or an error that ends the attempt
/// unwritten. A subscription that keeps changing ends in `PortError::Conflict`.
pub async fn modify_subscription<E: From<PortError>>(
    store: &dyn Store,
    id: &SubscriptionId,
    mut change: impl FnMut(&mut Subscription) -> Result<bool, E>,
) -> Result<Modified, E> {
    for _ in 0..WRITE_TRIES {
        let Some(mut sub) = store.get_subscription(id).await? else {
            return Ok(Modified::Missing);
        };
        if !change(&mut sub)? {
            return Ok(Modified::Unchanged(sub));
        }
        match store.update_subscription(&sub).await {
            Ok(true) => {
                sub.version += 1;
                return Ok(Modified::Written(sub));
            }
            Ok(false) => continue,
            Err(PortError::NotFound) => return Ok(Modified::Missing),
            Err(e) => return Err(e.into()),
        }
    }
    Err(PortError::Conflict(format!(
        "subscription {id} changed {WRITE_TRIES} times during this change; try again"
    ))
    .into())
}
