//! A workflow step (an action of a connection, with its inputs mapped from the event) and a
//! connection test.
//!
//! An action that names a `search` runs that search first with the same inputs; the item its
//! `result` pointer finds is `found` in the action's templates. When nothing is found the
//! action's `if_not_found` decides: `fail` (the default: the attempt fails and is retried,
//! the item may appear), `skip` (the step succeeds doing nothing) or the key of a create
//! action run instead.

use std::time::Duration;

use hookline_domain::apps::ActionSpec;
use hookline_domain::subscription::ActionStep;
use serde_json::{Map, Value, json};

use super::Resolved;
use super::engine::{AppEngine, StepOutcome};
use super::render::render_json_value;

/// What a step records when its search found nothing and the action skips.
pub const SKIPPED_NOT_FOUND: &str = "skipped: not found";

impl AppEngine {
    /// Runs `step` for `event` (the envelope, as its input templates see it) with the
    /// connection `resolved`, each request within `timeout`. Never fails: the outcome says
    /// what happened, and whether retrying can help.
    pub async fn run_step(
        &self,
        resolved: &Resolved,
        step: &ActionStep,
        event: &Value,
        timeout: Duration,
    ) -> StepOutcome {
        let actions = &resolved.app.definition.actions;
        let Some(action) = actions.get(&step.action) else {
            return StepOutcome::permanent(format!("unknown action {}", step.action));
        };
        let input = match render_inputs(step, action, event) {
            Ok(input) => input,
            Err(outcome) => return outcome,
        };
        let Some(search_key) = &action.search else {
            return self
                .perform(
                    resolved,
                    &step.action,
                    action,
                    event,
                    &input,
                    &Value::Null,
                    timeout,
                )
                .await;
        };
        let Some(search) = actions.get(search_key) else {
            return StepOutcome::permanent(format!("unknown search action {search_key}"));
        };
        let sent = self
            .send(
                resolved,
                &search.request,
                &resolved.action_context(event, &input, &Value::Null),
                &format!("actions.{search_key}.request"),
                timeout,
            )
            .await;
        if !sent.outcome.succeeded() {
            return sent.outcome;
        }
        let searched = sent.outcome;
        let found = match found_item(search, &sent.body) {
            Ok(found) => found,
            Err(why) => return searched.failed(why),
        };
        let next = match found {
            Some(found) => {
                self.perform(
                    resolved,
                    &step.action,
                    action,
                    event,
                    &input,
                    &found,
                    timeout,
                )
                .await
            }
            None => match action.if_not_found.as_deref() {
                None | Some("fail") => return searched.failed("not found"),
                Some("skip") => {
                    return StepOutcome {
                        response_excerpt: SKIPPED_NOT_FOUND.to_string(),
                        ..searched
                    };
                }
                Some(create_key) => match actions.get(create_key) {
                    Some(create) => {
                        self.perform(
                            resolved,
                            create_key,
                            create,
                            event,
                            &input,
                            &Value::Null,
                            timeout,
                        )
                        .await
                    }
                    None => return StepOutcome::permanent(format!("unknown action {create_key}")),
                },
            },
        };
        let duration_ms = next.duration_ms.saturating_add(searched.duration_ms);
        if next.request_excerpt.is_empty() {
            // The action did not render: the search is the last request that went out.
            return StepOutcome {
                duration_ms,
                request_excerpt: searched.request_excerpt,
                response_excerpt: searched.response_excerpt,
                ..next
            };
        }
        StepOutcome {
            duration_ms,
            ..next
        }
    }

    /// Runs the app's test request for `resolved` within `timeout`: a 2xx answer means the
    /// connection works.
    pub async fn test_connection(&self, resolved: &Resolved, timeout: Duration) -> StepOutcome {
        let Some(test) = &resolved.app.definition.test else {
            return StepOutcome::permanent("the app has no test request");
        };
        self.send(
            resolved,
            test,
            &resolved.request_context(None),
            "test",
            timeout,
        )
        .await
        .outcome
    }

    /// Sends the request of `action` (key `key`) with `found`.
    #[allow(clippy::too_many_arguments)]
    async fn perform(
        &self,
        resolved: &Resolved,
        key: &str,
        action: &ActionSpec,
        event: &Value,
        input: &Map<String, Value>,
        found: &Value,
        timeout: Duration,
    ) -> StepOutcome {
        let ctx = resolved.action_context(event, input, found);
        self.send(
            resolved,
            &action.request,
            &ctx,
            &format!("actions.{key}.request"),
            timeout,
        )
        .await
        .outcome
    }
}

/// The step's inputs rendered with `{event}`: every declared input present (`null` when the
/// step maps none, so templates may test it), and every required one not null.
pub fn render_inputs(
    step: &ActionStep,
    action: &ActionSpec,
    event: &Value,
) -> Result<Map<String, Value>, StepOutcome> {
    let ctx = json!({ "event": event });
    let mut input = Map::with_capacity(action.inputs.len().max(step.input.len()));
    for (key, template) in &step.input {
        let value = render_json_value(template, &ctx, &format!("input.{key}"))
            .map_err(|failure| StepOutcome::permanent(format!("template error: {failure}")))?;
        input.insert(key.clone(), value);
    }
    for spec in &action.inputs {
        let value = input.entry(spec.key.clone()).or_insert(Value::Null);
        if spec.required && value.is_null() {
            return Err(StepOutcome::permanent(format!(
                "missing required input {}",
                spec.key
            )));
        }
    }
    Ok(input)
}

/// The item a search's answer holds at its `result` pointer (the whole body without one):
/// `None` when it is missing, `null` or an empty list.
fn found_item(search: &ActionSpec, body: &[u8]) -> Result<Option<Value>, String> {
    let answer: Value =
        serde_json::from_slice(body).map_err(|_| "the search's answer is not JSON".to_string())?;
    let found = answer.pointer(search.result.as_deref().unwrap_or(""));
    Ok(match found {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) if items.is_empty() => None,
        Some(item) => Some(item.clone()),
    })
}
