//! The published JSON Schema of an app definition (`apps/schema.json`) and the Rust types
//! agree: the example apps pass both (and `validate`), a definition serialized back from the
//! types passes the schema, and each malformed definition is refused by the schema and by the
//! types alike.

use hookline_domain::apps::{APP_SCHEMA, AppDefinition, check_definition, validate};
use serde_json::{Value, json};

const EXAMPLES: [(&str, &str); 3] = [
    (
        "assessment-plugin",
        include_str!("../../../apps/assessment-plugin.json"),
    ),
    (
        "marketplace-orders",
        include_str!("../../../apps/marketplace-orders.json"),
    ),
    (
        "shop-orders",
        include_str!("../../../apps/shop-orders.json"),
    ),
];

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(APP_SCHEMA).expect("the schema is JSON");
    jsonschema::draft202012::new(&schema).expect("the schema compiles as draft 2020-12")
}

fn example(name: &str) -> Value {
    let (_, text) = EXAMPLES
        .iter()
        .find(|(n, _)| *n == name)
        .expect("an example");
    serde_json::from_str(text).expect("JSON")
}

#[test]
fn the_example_apps_match_the_schema_the_types_and_the_rules() {
    let validator = validator();
    for (name, text) in EXAMPLES {
        let json: Value = serde_json::from_str(text).expect("JSON");
        let errors: Vec<String> = validator
            .iter_errors(&json)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        let def: AppDefinition = serde_json::from_value(json.clone()).expect("deserializes");
        assert_eq!(def.key, name, "the file is named after the key");
        validate(&def).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(check_definition(&json), Ok(def.clone()));
        // What the API shows (the definition serialized from the types) is schema-valid too.
        let shown = serde_json::to_value(&def).expect("serializes");
        let errors: Vec<String> = validator
            .iter_errors(&shown)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name} serialized: {errors:?}");
    }
}

/// A malformed change to the shop example, and the field path the schema names.
fn malformed() -> Vec<(Value, &'static str)> {
    let shop = example("shop-orders");
    let with = |change: &dyn Fn(&mut Value)| {
        let mut v = shop.clone();
        change(&mut v);
        v
    };
    vec![
        (with(&|v| v["colour"] = json!("red")), ""),
        (with(&|v| v["version"] = json!(1)), "version"),
        (
            with(&|v| v["auth"] = json!({"type": "kerberos"})),
            "auth.type",
        ),
        (
            with(&|v| v["auth"] = json!({"type": "api_key", "in": "cookie", "name": "k"})),
            "auth.in",
        ),
        (
            with(&|v| v["auth"] = json!({"type": "api_key", "in": "header"})),
            "auth",
        ),
        (
            with(&|v| v["properties"][0]["type"] = json!("date")),
            "properties[0].type",
        ),
        (
            with(&|v| v["properties"][1]["secrett"] = json!(true)),
            "properties[1]",
        ),
        (
            with(&|v| v["actions"]["find_order"]["request"]["method"] = json!("FETCH")),
            "actions.find_order.request.method",
        ),
        (
            with(&|v| v["actions"]["find_order"]["request"]["headers"] = json!({"X-N": 1})),
            "actions.find_order.request.headers.X-N",
        ),
        (
            with(&|v| v["actions"]["create_order"]["kind"] = json!("upsert")),
            "actions.create_order.kind",
        ),
        (
            with(&|v| {
                v["actions"]["create_order"]
                    .as_object_mut()
                    .expect("object")
                    .remove("request");
            }),
            "actions.create_order",
        ),
        (
            with(&|v| v["triggers"]["order_updated"]["verify"]["algorithm"] = json!("md5")),
            "triggers.order_updated.verify.algorithm",
        ),
        (
            with(&|v| v["triggers"]["order_updated"]["kind"] = json!("stream")),
            "triggers.order_updated.kind",
        ),
        (
            with(&|v| v["triggers"]["order_updated"]["kind"] = json!("polling")),
            "triggers.order_updated",
        ),
        (
            with(&|v| v["environment"] = json!({"BASE_URL": ""})),
            "environment",
        ),
    ]
}

#[test]
fn malformed_definitions_are_refused_by_the_schema_and_the_types_alike() {
    let validator = validator();
    for (json, path) in malformed() {
        let paths: Vec<String> = match check_definition(&json) {
            Err(e) => {
                assert_eq!(e.code, "schema_mismatch", "{json}");
                e.errors.into_iter().map(|e| e.field).collect()
            }
            Ok(_) => panic!("accepted: {json}"),
        };
        assert!(paths.iter().any(|p| p == path), "{path} not in {paths:?}");
        assert!(!validator.is_valid(&json), "the schema accepts {json}");
        assert!(
            serde_json::from_value::<AppDefinition>(json.clone()).is_err(),
            "the types accept {json}"
        );
    }
}

/// Where serde is lenient (a trigger's fields sit beside its flattened kind; a unit auth
/// scheme ignores other members), the schema, which `check_definition` applies first, is not.
#[test]
fn the_schema_refuses_unknown_fields_that_the_types_would_ignore() {
    let mut shop = example("shop-orders");
    shop["triggers"]["order_updated"]["verfy"] = json!({});
    assert!(serde_json::from_value::<AppDefinition>(shop.clone()).is_ok());
    let err = check_definition(&shop).expect_err("refused");
    assert_eq!(err.errors[0].field, "triggers.order_updated");
    let mut shop = example("shop-orders");
    shop["auth"] = json!({"type": "basic", "token_url": "x"});
    assert!(serde_json::from_value::<AppDefinition>(shop.clone()).is_ok());
    let err = check_definition(&shop).expect_err("refused");
    assert_eq!(err.errors[0].field, "auth");
}

#[test]
fn a_definition_that_matches_the_schema_still_obeys_the_rules() {
    let mut shop = example("shop-orders");
    shop["actions"]["update_status"]["request"]["url"] = json!("{{ env.BASE }}/x");
    let err = check_definition(&shop).expect_err("undeclared env");
    assert_eq!(err.errors[0].field, "actions.update_status.request.url");
}
