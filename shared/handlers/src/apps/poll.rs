//! A polling trigger's request, and which items of its answer are new.
//!
//! An item is new when its cursor field is past the cursor kept from the last poll, or at the
//! cursor's value and its id is not among the ids already published at that value (`seen`):
//! tools list the items of the last cursor value again (`since=` is inclusive, or several
//! items share a timestamp). A trigger without a cursor judges by `seen` alone. Cursor values
//! compare as numbers when both are numbers, as text when both are strings (RFC 3339
//! timestamps of one format sort as text).

use std::cmp::Ordering;
use std::collections::HashSet;
use std::time::Duration;

use aws_lc_rs::digest;
use hookline_domain::apps::{MAX_SEEN_IDS, PollCursor, PollState, TriggerKind};
use serde_json::Value;

use super::Resolved;
use super::engine::{AppEngine, StepOutcome};

/// Longest item id used as it is in an idempotency key and in `seen`; a longer one is replaced
/// by its SHA-256 (hex).
pub const MAX_ITEM_ID_CHARS: usize = 100;

/// What one poll found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PollPage {
    /// The new items, in the answer's order, each with its id (as [`item_key`] gives it: the
    /// id to publish under, `poll:{connection}:{trigger}:{id}`).
    pub items: Vec<(String, Value)>,
    /// The cursor to keep for the next poll (the largest cursor value seen so far; `None`
    /// when the trigger has no cursor or no item had one yet).
    pub cursor: Option<Value>,
    /// The ids to keep as `seen` once the items are published (those at the new cursor's
    /// value, or without a cursor the latest ones), at most [`MAX_SEEN_IDS`].
    pub seen: Vec<String>,
}

impl AppEngine {
    /// Runs the polling trigger `trigger_key` of `resolved` from `state` (its cursor and
    /// seen ids), within `timeout`. A failed request, an answer that is not JSON or holds no
    /// list of items is an `Err` outcome (the poll keeps its cursor); an unknown or non-polling
    /// trigger and a template error are permanent ones.
    pub async fn poll(
        &self,
        resolved: &Resolved,
        trigger_key: &str,
        state: &PollState,
        timeout: Duration,
    ) -> Result<PollPage, StepOutcome> {
        let Some(trigger) = resolved.app.definition.triggers.get(trigger_key) else {
            return Err(StepOutcome::permanent(format!(
                "unknown trigger {trigger_key}"
            )));
        };
        let TriggerKind::Polling {
            request,
            items,
            id,
            cursor,
            ..
        } = &trigger.kind
        else {
            return Err(StepOutcome::permanent(format!(
                "{trigger_key} is not a polling trigger"
            )));
        };
        let ctx = resolved.request_context(state.cursor.as_ref());
        let field = format!("triggers.{trigger_key}.request");
        let sent = self.send(resolved, request, &ctx, &field, timeout).await;
        if !sent.outcome.succeeded() {
            return Err(sent.outcome);
        }
        let Ok(answer) = serde_json::from_slice::<Value>(&sent.body) else {
            return Err(sent.outcome.failed("the answer is not JSON"));
        };
        new_items(&answer, items, id, cursor.as_ref(), state).map_err(|e| sent.outcome.failed(e))
    }
}

/// The new items of `answer` (its list at pointer `items`, each item's id at pointer `id`)
/// after `state`, with the cursor and seen ids that follow. Items without a string or
/// number id are left out (nothing could tell their repeats).
pub fn new_items(
    answer: &Value,
    items: &str,
    id: &str,
    cursor: Option<&PollCursor>,
    state: &PollState,
) -> Result<PollPage, String> {
    let Some(list) = answer.pointer(items).and_then(Value::as_array) else {
        return Err(format!("the answer has no list of items at \"{items}\""));
    };
    let old = state.cursor.as_ref().filter(|c| !c.is_null());
    let seen: HashSet<&str> = state.seen.iter().map(String::as_str).collect();
    let mut taken = HashSet::new();
    let mut next = old.cloned();
    // Items with their id and cursor value, in order.
    let mut listed = Vec::with_capacity(list.len());
    let mut fresh = Vec::new();
    for item in list {
        let Some(key) = item_id(item, id) else {
            continue;
        };
        let position = cursor
            .and_then(|c| item.pointer(&c.field))
            .filter(|v| !v.is_null());
        let is_new = match (position, old) {
            (Some(at), Some(old)) => match compare(at, old) {
                Some(Ordering::Greater) => true,
                Some(Ordering::Less) => false,
                Some(Ordering::Equal) | None => !seen.contains(key.as_str()),
            },
            _ => !seen.contains(key.as_str()),
        };
        if let Some(at) = position
            && next
                .as_ref()
                .is_none_or(|n| compare(at, n) == Some(Ordering::Greater))
        {
            next = Some(at.clone());
        }
        if is_new && taken.insert(key.clone()) {
            fresh.push((key.clone(), item.clone()));
        }
        listed.push((key, position));
    }
    let mut kept: Vec<String> = match (&next, cursor) {
        // The cursor moved: the ids at its new value (and those without one) are what a
        // repeat of it lists again.
        (Some(at), Some(_)) if Some(at) != old => listed
            .into_iter()
            .filter(|(_, position)| position.is_none_or(|p| p == at))
            .map(|(key, _)| key)
            .collect(),
        _ => {
            let mut kept = state.seen.clone();
            kept.extend(fresh.iter().map(|(key, _)| key.clone()));
            kept
        }
    };
    dedupe(&mut kept);
    if kept.len() > MAX_SEEN_IDS {
        kept.drain(..kept.len() - MAX_SEEN_IDS);
    }
    Ok(PollPage {
        items: fresh,
        cursor: next,
        seen: kept,
    })
}

/// An item's id (string or number) at pointer `id`, as [`item_key`] gives it.
fn item_id(item: &Value, id: &str) -> Option<String> {
    match item.pointer(id)? {
        Value::String(s) if !s.is_empty() => Some(item_key(s)),
        Value::Number(n) => Some(item_key(&n.to_string())),
        _ => None,
    }
}

/// An item's id as published: itself, or over [`MAX_ITEM_ID_CHARS`] its SHA-256 in hex.
pub fn item_key(id: &str) -> String {
    if id.chars().count() <= MAX_ITEM_ID_CHARS {
        return id.to_string();
    }
    digest::digest(&digest::SHA256, id.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How two cursor values compare, if they do.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
        },
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// `ids` without repeats, the first of each kept in place.
fn dedupe(ids: &mut Vec<String>) {
    let mut once = HashSet::with_capacity(ids.len());
    ids.retain(|id| once.insert(id.clone()));
}

#[cfg(test)]
mod tests {
    use hookline_domain::apps::PollCursor;
    use serde_json::json;

    use super::*;

    fn state(cursor: Option<Value>, seen: &[&str]) -> PollState {
        serde_json::from_value(json!({
            "connection_id": crate::apps::fixtures::CONNECTION,
            "trigger": "orders",
            "client_id": "cl_1",
            "interval_seconds": 60,
            "next_run_at": "2026-01-01T00:00:00Z",
            "cursor": cursor,
            "seen": seen,
        }))
        .expect("a poll state")
    }

    fn seq() -> PollCursor {
        PollCursor {
            field: "/seq".into(),
        }
    }

    fn ids(page: &PollPage) -> Vec<&str> {
        page.items.iter().map(|(id, _)| id.as_str()).collect()
    }

    #[test]
    fn a_first_poll_takes_every_item_and_keeps_the_largest_cursor() {
        let answer = json!({"orders": [
            {"id": "a", "seq": 1}, {"id": "b", "seq": 3}, {"id": "c", "seq": 3}, {"id": "d", "seq": 2}
        ]});
        let page =
            new_items(&answer, "/orders", "/id", Some(&seq()), &state(None, &[])).expect("a page");
        assert_eq!(ids(&page), ["a", "b", "c", "d"]);
        assert_eq!(page.items[1].1, json!({"id": "b", "seq": 3}));
        assert_eq!(page.cursor, Some(json!(3)));
        assert_eq!(page.seen, ["b", "c"]);
    }

    #[test]
    fn a_repeat_of_the_cursor_value_publishes_only_unseen_ids() {
        // The tool's `since=` is inclusive: b and c come again, with e at the same value and
        // f after it; a is older than the cursor.
        let answer = json!({"orders": [
            {"id": "a", "seq": 1}, {"id": "b", "seq": 3}, {"id": "c", "seq": 3},
            {"id": "e", "seq": 3}, {"id": "f", "seq": 4}
        ]});
        let before = state(Some(json!(3)), &["b", "c"]);
        let page = new_items(&answer, "/orders", "/id", Some(&seq()), &before).expect("a page");
        assert_eq!(ids(&page), ["e", "f"]);
        assert_eq!(page.cursor, Some(json!(4)));
        assert_eq!(page.seen, ["f"]);

        // The same answer again, after that poll: nothing new.
        let after = state(page.cursor.clone(), &["f"]);
        let again = new_items(&answer, "/orders", "/id", Some(&seq()), &after).expect("a page");
        assert!(again.items.is_empty(), "{:?}", ids(&again));
        assert_eq!(again.cursor, Some(json!(4)));
        assert_eq!(again.seen, ["f"]);
    }

    #[test]
    fn at_an_unmoved_cursor_seen_ids_accumulate() {
        let answer = json!([{"id": "b", "at": "2026-01-02T00:00:00Z"}, {"id": "g", "at": "2026-01-02T00:00:00Z"}]);
        let cursor = PollCursor {
            field: "/at".into(),
        };
        let before = state(Some(json!("2026-01-02T00:00:00Z")), &["b"]);
        let page = new_items(&answer, "", "/id", Some(&cursor), &before).expect("a page");
        assert_eq!(ids(&page), ["g"]);
        assert_eq!(page.cursor, Some(json!("2026-01-02T00:00:00Z")));
        assert_eq!(page.seen, ["b", "g"]);
    }

    #[test]
    fn without_a_cursor_seen_ids_alone_tell_repeats_and_stay_bounded() {
        let answer =
            json!({"items": [{"id": 7}, {"id": 8}, {"id": 7}, {"id": null}, {"name": "no id"}]});
        let page = new_items(&answer, "/items", "/id", None, &state(None, &["8"])).expect("a page");
        assert_eq!(
            ids(&page),
            ["7"],
            "numbers are ids, repeats within a page count once"
        );
        assert_eq!(page.cursor, None);
        assert_eq!(page.seen, ["8", "7"]);

        let many: Vec<String> = (0..MAX_SEEN_IDS).map(|i| format!("old{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let page = new_items(&answer, "/items", "/id", None, &state(None, &many)).expect("a page");
        assert_eq!(page.seen.len(), MAX_SEEN_IDS);
        assert_eq!(page.seen.last().map(String::as_str), Some("8"));
        assert_eq!(page.seen.first().map(String::as_str), Some("old2"));
    }

    #[test]
    fn a_long_id_is_published_as_its_sha256() {
        let long = "x".repeat(MAX_ITEM_ID_CHARS + 1);
        let answer = json!([{"id": long}]);
        let page = new_items(&answer, "", "/id", None, &state(None, &[])).expect("a page");
        assert_eq!(page.items[0].0.len(), 64);
        assert_eq!(page.items[0].0, item_key(&long));
        assert_eq!(item_key("short"), "short");
        // Seen under the same key: not new again.
        let again =
            new_items(&answer, "", "/id", None, &state(None, &[&page.seen[0]])).expect("a page");
        assert!(again.items.is_empty());
    }

    #[test]
    fn an_answer_without_its_list_is_an_error() {
        let err = new_items(
            &json!({"orders": {}}),
            "/orders",
            "/id",
            None,
            &state(None, &[]),
        )
        .expect_err("no list");
        assert!(err.contains("/orders"), "{err}");
    }
}
