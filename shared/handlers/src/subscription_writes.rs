//! Read-modify-write of a subscription. Every change to a stored subscription — an API edit,
//! a secret rotation, the delivery worker disabling a gone or failing endpoint, or tracking
//! its failures — reads it, applies the change to that copy and writes it only over the
//! version it read (`Store::update_subscription`). A write that finds it changed meanwhile
//! reads it again and re-applies the change, so no writer overwrites another's.
//!
//! A workflow's steps are checked here too ([`check_workflow`]): against the connections and
//! app versions the store holds, which the domain's checks of the input cannot see.

use hookline_domain::apps::ActionKind;
use hookline_domain::subscription::ActionStep;
use hookline_domain::{ClientId, Subscription, SubscriptionId};
use hookline_ports::{PortError, Store};
use serde_json::Value;

use crate::api::app_checks::field;
use crate::problem::ApiResult;

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

/// Checks a workflow's steps (a subscription of mode `action`) against what only the store
/// knows: each step's connection is one of `owner`'s, its app version has the action and it
/// is not a search, every required input is mapped and every mapped input is declared (the
/// domain has checked the steps' shape and input templates). 422 naming the step's field
/// (`actions[1].connection_id`, `actions[0].input.status`).
pub async fn check_workflow(
    store: &dyn Store,
    owner: &ClientId,
    steps: &[ActionStep],
) -> ApiResult<()> {
    for (i, step) in steps.iter().enumerate() {
        let at = |name: &str| format!("actions[{i}].{name}");
        let connection = match store.get_connection(&step.connection_id).await? {
            Some(c) if c.client_id == *owner => c,
            _ => {
                return Err(field(
                    &at("connection_id"),
                    "not a connection of the subscription's client",
                ));
            }
        };
        let Some(app) = store
            .get_app_version(&connection.app, &connection.app_version)
            .await?
        else {
            return Err(field(
                &at("connection_id"),
                "the connection's app version is gone",
            ));
        };
        let action = match app.definition.actions.get(&step.action) {
            Some(a) if a.kind != ActionKind::Search => a,
            Some(_) => {
                return Err(field(
                    &at("action"),
                    "a search action is not a step: name the create or update action that searches first",
                ));
            }
            None => {
                return Err(field(
                    &at("action"),
                    &format!(
                        "not an action of {} {}",
                        connection.app, connection.app_version
                    ),
                ));
            }
        };
        if let Some(key) = step
            .input
            .keys()
            .find(|k| !action.inputs.iter().any(|f| &f.key == *k))
        {
            return Err(field(
                &at(&format!("input.{key}")),
                "not an input of this action",
            ));
        }
        if let Some(f) = action
            .inputs
            .iter()
            .find(|f| f.required && step.input.get(&f.key).is_none_or(Value::is_null))
        {
            return Err(field(&at(&format!("input.{}", f.key)), "is required"));
        }
    }
    Ok(())
}
