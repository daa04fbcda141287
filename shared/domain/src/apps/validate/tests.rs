//! Tests of [`super::validate`]: the example apps pass, and each rule names its field.

use serde_json::{Value, json};

use super::*;

const EXAMPLES: [&str; 3] = [
    include_str!("../../../../../apps/assessment-plugin.json"),
    include_str!("../../../../../apps/marketplace-orders.json"),
    include_str!("../../../../../apps/shop-orders.json"),
];

fn parse(v: Value) -> AppDefinition {
    serde_json::from_value(v).expect("deserializes")
}

/// The shop example with `change` applied to its JSON.
fn shop_with(change: impl FnOnce(&mut Value)) -> AppDefinition {
    let mut v: Value = serde_json::from_str(EXAMPLES[2]).expect("JSON");
    change(&mut v);
    parse(v)
}

/// The fields of the problems found, in order.
fn problems(def: &AppDefinition) -> Vec<String> {
    validate(def)
        .err()
        .map(|e| e.errors.into_iter().map(|e| e.field).collect())
        .unwrap_or_default()
}

#[test]
fn the_example_apps_are_valid() {
    for source in EXAMPLES {
        let def: AppDefinition = serde_json::from_str(source).expect("an example deserializes");
        assert_eq!(validate(&def), Ok(()), "{}", def.key);
    }
}

#[test]
fn meta_fields_have_their_shapes() {
    let def = shop_with(|v| {
        v["key"] = json!("Shop Orders");
        v["name"] = json!(" ");
        v["version"] = json!("1.0");
    });
    assert_eq!(problems(&def), ["key", "name", "version"]);
    for (version, ok) in [
        ("2.0.0-beta.1", true),
        ("1.0.0+build.5", false),
        ("01.0.0", false),
        ("99999999999.0.0", false),
    ] {
        assert_eq!(check_version(version).is_ok(), ok, "{version}");
    }
}

#[test]
fn an_undeclared_reference_or_one_outside_the_context_is_refused_with_its_path() {
    let def = shop_with(|v| {
        let update = &mut v["actions"]["update_status"]["request"];
        update["url"] = json!("{{ env.BASE_URL }}/orders/{{ found.id }}/{{ props.locaton_id }}");
        update["body"]["status"] = json!("{{ input.state }}");
        update["body"]["lines"] = json!([{"sku": "{{ cursor }}"}]);
        v["actions"]["create_order"]["request"]["query"] = json!({"x": "{{ found.id }}"});
        v["auth"]["token_url"] = json!("{{ env.TOKEN_URL }}");
        v["triggers"]["order_updated"]["verify"]["secret"] = json!("{{ credentials.nope }}");
        v["test"]["url"] = json!("{{ event.id }}");
    });
    assert_eq!(
        problems(&def),
        [
            "auth.token_url",
            "test.url",
            "actions.create_order.request.query.x",
            "actions.update_status.request.url",
            "actions.update_status.request.body.lines[0].sku",
            "actions.update_status.request.body.status",
            "triggers.order_updated.verify.secret",
        ]
    );
}

#[test]
fn a_template_that_does_not_parse_is_refused_with_its_line() {
    let def = shop_with(|v| {
        v["actions"]["create_order"]["request"]["body"]["ref"] = json!("x\n{{ input.reference ");
    });
    let err = validate(&def).expect_err("syntax");
    assert_eq!(err.code, crate::subscription::INVALID_TEMPLATE);
    assert_eq!(err.errors[0].field, "actions.create_order.request.body.ref");
    assert_eq!(err.errors[0].line, Some(2));
}

#[test]
fn searches_name_search_actions_and_fallbacks_name_create_actions() {
    let def = shop_with(|v| {
        v["actions"]["update_status"]["search"] = json!("create_order");
        v["actions"]["update_status"]["if_not_found"] = json!("retry");
        v["actions"]["find_order"]
            .as_object_mut()
            .expect("object")
            .remove("result");
        v["actions"]["create_order"]["if_not_found"] = json!("skip");
    });
    assert_eq!(
        problems(&def),
        [
            "actions.create_order.if_not_found",
            "actions.find_order.result",
            "actions.update_status.search",
            "actions.update_status.if_not_found",
        ]
    );
    let def = shop_with(|v| {
        v["actions"]["update_status"]["search"] = json!("lookup");
        v["actions"]["update_status"]["if_not_found"] = json!("update_status");
        v["actions"]["update_status"]["inputs"] = json!([{"key": "status", "required": true}]);
        v["actions"]["update_status"]["request"]["body"]["status"] = json!("{{ input.status }}");
    });
    assert_eq!(
        problems(&def),
        [
            "actions.update_status.search",
            "actions.update_status.if_not_found"
        ]
    );
    // The search's required inputs must be the action's too.
    let def = shop_with(|v| {
        v["actions"]["update_status"]["if_not_found"] = json!("fail");
        v["actions"]["update_status"]["inputs"] = json!([{"key": "status", "required": true}]);
    });
    assert_eq!(problems(&def), ["actions.update_status.search"]);
}

#[test]
fn headers_pointers_and_intervals_are_checked() {
    let def = shop_with(|v| {
        v["actions"]["create_order"]["request"]["headers"] = json!({"Authorization": "Bearer x", "Content-Length": "1", "X-Ok": "{{ props.location_id }}"});
        v["actions"]["find_order"]["result"] = json!("orders/0");
        v["triggers"]["order_updated"]["id"] = json!("/a~2");
        v["triggers"]["order_updated"]["verify"] =
            json!({"type": "token", "secret": "{{ props.webhook_secret }}"});
        v["triggers"]["poll"] = json!({
            "event_type": "", "kind": "polling",
            "request": {"method": "GET", "url": "{{ env.BASE_URL }}/x?c={{ cursor }}"},
            "items": "/items", "id": "/id",
            "min_interval_seconds": 0, "default_interval_seconds": 86401
        });
    });
    let found = problems(&def);
    assert_eq!(
        found,
        [
            "actions.create_order.request.headers.Authorization",
            "actions.create_order.request.headers.Content-Length",
            "actions.find_order.result",
            "triggers.order_updated.verify",
            "triggers.order_updated.id",
            "triggers.poll.event_type",
            "triggers.poll.min_interval_seconds",
            "triggers.poll.default_interval_seconds",
        ]
    );
    let err = validate(&def).expect_err("bad");
    assert_eq!(err.code, crate::subscription::CREDENTIAL_IN_HEADERS);
}

#[test]
fn a_hook_secret_names_where_the_secret_is_kept() {
    let def = shop_with(|v| v["triggers"]["order_updated"]["verify"]["secret"] = json!("hunter2"));
    assert_eq!(problems(&def), ["triggers.order_updated.verify.secret"]);
    let err = validate(&def).expect_err("literal");
    assert!(!err.detail.contains("hunter2"), "{}", err.detail);
}

#[test]
fn session_templates_see_their_own_contexts() {
    let def = parse(json!({
        "key": "sessions", "name": "S", "version": "1.0.0",
        "environment": [{"key": "BASE_URL"}],
        "auth": {
            "type": "session",
            "fields": [{"key": "username", "required": true}, {"key": "password", "secret": true}],
            "login": {
                "method": "POST", "url": "{{ env.BASE_URL }}/login",
                "body": {"u": "{{ credentials.username }}", "p": "{{ credentials.pasword }}", "e": "{{ event.id }}"}
            },
            "token": "token",
            "ttl_seconds": 0,
            "apply": {"header": "X-Session", "value": "{{ session.id }} {{ props.x }}"}
        }
    }));
    assert_eq!(
        problems(&def),
        [
            "auth.login.body.e",
            "auth.login.body.p",
            "auth.token",
            "auth.ttl_seconds",
            "auth.apply.value",
            "auth.apply.value",
        ]
    );
}

#[test]
fn fields_keys_and_sizes_are_bounded() {
    let def = shop_with(|v| {
        v["properties"] = json!([
            {"key": "Location"},
            {"key": "a"},
            {"key": "a"},
            {"key": "n", "type": "integer", "choices": [1, "two"]}
        ]);
        v["environment"] = json!([{"key": "base_url"}, {"key": "BASE_URL"}]);
        v["actions"] = json!({});
        v["triggers"] = json!({});
    });
    assert_eq!(
        problems(&def),
        [
            "properties[0].key",
            "properties[2].key",
            "properties[3].choices[1]",
            "environment[0].key",
        ]
    );
    let huge = shop_with(|v| v["description"] = json!("x".repeat(MAX_DEFINITION_BYTES)));
    assert_eq!(problems(&huge), [""]);
    let many = shop_with(|v| {
        let props: Vec<Value> = (0..=MAX_ITEMS)
            .map(|i| json!({"key": format!("p{i}")}))
            .collect();
        v["properties"] = Value::Array(props);
    });
    assert!(problems(&many).contains(&"properties".to_string()));
}
