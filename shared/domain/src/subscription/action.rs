//! A workflow's steps: a subscription whose mode is `action` performs, for each event it
//! matches, one or more actions of its client's connections, in order.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::apps::{Problems, Scope, is_field_key};
use crate::error::ValidationError;
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

/// Most inputs one step maps.
pub const MAX_STEP_INPUTS: usize = 50;

/// Checks a workflow's steps as far as the domain can without the store: their number, the
/// shape of action and input keys, and that each input template parses and names only the
/// event (`actions[1].input.status`). That the connections are the client's, the actions
/// exist and are no searches, and the inputs are the action's, the API checks.
pub fn validate_steps(steps: &[ActionStep]) -> Result<(), ValidationError> {
    let mut p = Problems::default();
    if steps.is_empty() || steps.len() > MAX_ACTION_STEPS {
        p.add("actions", format!("1-{MAX_ACTION_STEPS} steps"));
    }
    let scope = Scope::workflow_input();
    for (i, step) in steps.iter().enumerate() {
        if !is_field_key(&step.action) {
            p.add(format!("actions[{i}].action"), "not an action key");
        }
        if step.input.len() > MAX_STEP_INPUTS {
            p.add(
                format!("actions[{i}].input"),
                format!("at most {MAX_STEP_INPUTS} inputs"),
            );
        }
        for (key, value) in &step.input {
            let field = format!("actions[{i}].input.{key}");
            if !is_field_key(key) {
                p.add(field, "not an input key");
            } else if let Value::String(source) = value {
                scope.check(&mut p, &field, source);
            }
        }
    }
    p.finish()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn step(action: &str, input: Value) -> ActionStep {
        serde_json::from_value(json!({"connection_id": "con_1", "action": action, "input": input}))
            .expect("a step")
    }

    #[test]
    fn steps_are_counted_and_their_inputs_see_only_the_event() {
        let good = step(
            "update_status",
            json!({"reference": "{{ event.data.lot_id }}", "status": "ready_to_ship", "n": 3}),
        );
        assert_eq!(validate_steps(std::slice::from_ref(&good)), Ok(()));
        let fields = |steps: &[ActionStep]| -> Vec<String> {
            validate_steps(steps)
                .err()
                .map(|e| e.errors.into_iter().map(|e| e.field).collect())
                .unwrap_or_default()
        };
        assert_eq!(fields(&[]), ["actions"]);
        assert_eq!(
            fields(&vec![good.clone(); MAX_ACTION_STEPS + 1]),
            ["actions"]
        );
        let bad = step(
            "Update",
            json!({"a": "{{ props.x }}", "b": "{{ event.dta }}", "c": "{{ event.", "D": 1}),
        );
        assert_eq!(
            fields(&[good, bad]),
            [
                "actions[1].action",
                "actions[1].input.D",
                "actions[1].input.a",
                "actions[1].input.b",
                "actions[1].input.c"
            ]
        );
    }
}
