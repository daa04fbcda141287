//! The checks of what an app does: its actions (a search names a search action of the app, a
//! search says where its item is, the fallback of a search that finds nothing is a create
//! action) and its triggers (pointers, intervals, the verification of a hook).

use super::problems::Problems;
use super::request::{check_header_name, check_pointer, check_request, is_parameter_name};
use super::scope::Scope;
use super::{
    MAX_DESCRIPTION_CHARS, MAX_ITEMS, MAX_NAME_CHARS, check_fields, check_text, is_field_key,
};
use crate::apps::{ActionKind, ActionSpec, AppDefinition, HookVerify, TriggerKind};

/// Longest interval a polling trigger may ask for (seconds: a day).
pub const MAX_POLL_INTERVAL_SECONDS: u32 = 86_400;

/// `if_not_found` values that name no action.
const FAIL: &str = "fail";
const SKIP: &str = "skip";

pub(super) fn check_actions(p: &mut Problems, def: &AppDefinition) {
    check_count(p, "actions", def.actions.len());
    for (key, action) in &def.actions {
        let at = format!("actions.{key}");
        check_entry(p, &at, key, &action.label, &action.description);
        check_fields(p, &format!("{at}.inputs"), &action.inputs);
        let searches = action.search.is_some();
        check_request(
            p,
            &format!("{at}.request"),
            &action.request,
            &Scope::action(def, &action.inputs, searches),
        );
        match action.kind {
            ActionKind::Search => check_search_action(p, &at, action),
            ActionKind::Create | ActionKind::Update => check_acting(p, def, &at, action),
        }
    }
}

fn check_count(p: &mut Problems, field: &str, count: usize) {
    if count > MAX_ITEMS {
        p.add(field, format!("at most {MAX_ITEMS} {field}"));
    }
}

/// What every action and trigger has: a key of the field-key shape (it appears in hook URLs
/// and workflow steps), a label and a description.
fn check_entry(p: &mut Problems, at: &str, key: &str, label: &str, description: &str) {
    if !is_field_key(key) {
        p.add(
            at,
            "a key is 1-64 characters: a lower-case letter, then lower-case letters, digits or `_`",
        );
    }
    check_text(p, &format!("{at}.label"), label, MAX_NAME_CHARS, false);
    check_text(
        p,
        &format!("{at}.description"),
        description,
        MAX_DESCRIPTION_CHARS,
        false,
    );
}

fn check_search_action(p: &mut Problems, at: &str, action: &ActionSpec) {
    match &action.result {
        Some(pointer) => check_pointer(p, &format!("{at}.result"), pointer),
        None => p.add(
            format!("{at}.result"),
            "a search says where its item is in the answer (a JSON pointer, `/orders/0`)",
        ),
    }
    if action.search.is_some() {
        p.add(format!("{at}.search"), "a search does not search first");
    }
    if action.if_not_found.is_some() {
        p.add(
            format!("{at}.if_not_found"),
            "only an action that searches first has one",
        );
    }
}

/// A create or update: its search (if any) is a search action of the app whose required
/// inputs it declares, and what it does when the search finds nothing is `fail`, `skip` or a
/// create action that searches nothing.
fn check_acting(p: &mut Problems, def: &AppDefinition, at: &str, action: &ActionSpec) {
    if action.result.is_some() {
        p.add(format!("{at}.result"), "only a search has a result");
    }
    let Some(search) = &action.search else {
        if action.if_not_found.is_some() {
            p.add(
                format!("{at}.if_not_found"),
                "only an action that searches first has one",
            );
        }
        return;
    };
    match def.actions.get(search) {
        Some(found) if found.kind == ActionKind::Search => {
            check_inputs_cover(p, &format!("{at}.search"), action, found, search);
        }
        Some(_) => p.add(
            format!("{at}.search"),
            format!("`{search}` is not a search action"),
        ),
        None => p.add(
            format!("{at}.search"),
            format!("`{search}` is not an action of this app"),
        ),
    }
    let field = format!("{at}.if_not_found");
    match action.if_not_found.as_deref() {
        None | Some(FAIL) | Some(SKIP) => {}
        Some(other) => match def.actions.get(other) {
            Some(create) if create.kind == ActionKind::Create && create.search.is_none() => {
                check_inputs_cover(p, &field, action, create, other);
            }
            Some(_) => p.add(
                field,
                format!("`{other}` is not a create action that runs without a search"),
            ),
            None => p.add(
                field,
                format!(
                    "`fail`, `skip`, or the key of a create action (`{other}` is none of them)"
                ),
            ),
        },
    }
}

/// The action run in `action`'s stead or before it gets `action`'s inputs: `action` must
/// declare each of `other`'s required inputs.
fn check_inputs_cover(
    p: &mut Problems,
    field: &str,
    action: &ActionSpec,
    other: &ActionSpec,
    other_key: &str,
) {
    for input in other.inputs.iter().filter(|i| i.required) {
        if !action.inputs.iter().any(|mine| mine.key == input.key) {
            p.add(
                field,
                format!(
                    "`{other_key}` requires input `{}`, which this action does not declare",
                    input.key
                ),
            );
        }
    }
}

pub(super) fn check_triggers(p: &mut Problems, def: &AppDefinition) {
    check_count(p, "triggers", def.triggers.len());
    for (key, trigger) in &def.triggers {
        let at = format!("triggers.{key}");
        check_entry(p, &at, key, &trigger.label, &trigger.description);
        check_text(
            p,
            &format!("{at}.event_type"),
            &trigger.event_type,
            MAX_NAME_CHARS,
            true,
        );
        match &trigger.kind {
            TriggerKind::Hook { verify, id, data } => {
                if let Some(verify) = verify {
                    check_verify(p, def, &format!("{at}.verify"), verify);
                }
                if let Some(id) = id {
                    check_pointer(p, &format!("{at}.id"), id);
                }
                if let Some(data) = data {
                    check_pointer(p, &format!("{at}.data"), data);
                }
            }
            TriggerKind::Polling {
                request,
                items,
                id,
                cursor,
                min_interval_seconds,
                default_interval_seconds,
            } => {
                check_request(p, &format!("{at}.request"), request, &Scope::poll(def));
                check_pointer(p, &format!("{at}.items"), items);
                check_pointer(p, &format!("{at}.id"), id);
                if let Some(cursor) = cursor {
                    check_pointer(p, &format!("{at}.cursor.field"), &cursor.field);
                }
                let min = *min_interval_seconds;
                if !(1..=MAX_POLL_INTERVAL_SECONDS).contains(&min) {
                    p.add(
                        format!("{at}.min_interval_seconds"),
                        format!("1 to {MAX_POLL_INTERVAL_SECONDS} seconds"),
                    );
                }
                if let Some(default) = default_interval_seconds
                    && !(min..=MAX_POLL_INTERVAL_SECONDS).contains(default)
                {
                    p.add(
                        format!("{at}.default_interval_seconds"),
                        format!(
                            "from `min_interval_seconds` to {MAX_POLL_INTERVAL_SECONDS} seconds"
                        ),
                    );
                }
            }
        }
    }
}

fn check_verify(p: &mut Problems, def: &AppDefinition, at: &str, verify: &HookVerify) {
    let scope = Scope::with_credentials(def);
    let secret = format!("{at}.secret");
    match verify {
        HookVerify::Hmac {
            header,
            secret: source,
            prefix,
            ..
        } => {
            check_header_name(p, &format!("{at}.header"), header);
            scope.check(p, &secret, source);
            if let Some(prefix) = prefix {
                check_text(p, &format!("{at}.prefix"), prefix, 100, false);
            }
        }
        HookVerify::StandardWebhooks { secret: source } => scope.check(p, &secret, source),
        HookVerify::Token {
            header,
            query,
            secret: source,
        } => {
            match (header, query) {
                (Some(header), None) => check_header_name(p, &format!("{at}.header"), header),
                (None, Some(query)) if !is_parameter_name(query) => p.add(
                    format!("{at}.query"),
                    "not a valid parameter name (1-100 printable ASCII characters)",
                ),
                (None, Some(_)) => {}
                _ => p.add(
                    at,
                    "a token is in a `header` or a `query` parameter: exactly one",
                ),
            }
            scope.check(p, &secret, source);
        }
    }
    let source = match verify {
        HookVerify::Hmac { secret, .. }
        | HookVerify::StandardWebhooks { secret }
        | HookVerify::Token { secret, .. } => secret,
    };
    // A literal would be readable by every reader of the app: the secret comes from a
    // connection's credential or secret property, or a secret environment variable.
    let literal = crate::template::referenced_variables(source).is_ok_and(|names| names.is_empty());
    if literal {
        p.add(
            secret,
            "names where the secret is kept (`{{ props.webhook_secret }}`, `{{ env.HOOK_SECRET }}`, `{{ credentials.… }}`), never the secret itself",
        );
    }
}
