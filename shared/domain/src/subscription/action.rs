//! A workflow's steps: a subscription whose mode is `action` performs, for each event it
//! matches, one or more actions of its client's connections, in order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::ConnectionId;

/// Most steps one workflow has.
pub const MAX_ACTION_STEPS: usize = 5;

/// One step of a workflow: an action of a connection, with its inputs mapped from the event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionStep {
    /// A connection of the subscription's client.
    pub connection_id: ConnectionId,
    /// The key of an action of the connection's app version (not a search).
    pub action: String,
    /// Each input of the action: a value, or (a string) a template over `event` (the
    /// envelope); a string that is exactly one `{{ expression }}` keeps the value's JSON type.
    #[serde(default)]
    pub input: BTreeMap<String, Value>,
}
