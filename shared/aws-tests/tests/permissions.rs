//! Least privilege, held in place: every function's IAM role in template.yaml grants exactly
//! what the table in infra/README.md ("Permissions") says, action by action and resource by
//! resource, and nothing else beyond its own log group and X-Ray. A permission added to the
//! template without the table (or the other way round) fails here.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use support::stack::{root, template};

/// The end of the ARN of the secret store's names (`HOOKLINE_SECRETS_PREFIX`).
const STACK_SECRETS: &str = ":secret:hookline/${AWS::StackName}/*";

/// (service, action, resource logical id); the table's resource for DynamoDB is `Table`.
type Grant = (String, String, String);

/// The grants of each function, as the README's table states them.
fn readme_grants() -> BTreeMap<String, BTreeSet<Grant>> {
    let text = std::fs::read_to_string(root().join("infra/README.md")).expect("infra/README.md");
    let section = text
        .split("\n## Permissions\n")
        .nth(1)
        .expect("a Permissions section")
        .split("\n## ")
        .next()
        .unwrap_or_default();
    let mut out = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| ")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells.len() != 4 || cells[0] == "function" {
            continue;
        }
        let mut grants = BTreeSet::new();
        for a in list(cells[1]) {
            grants.insert(("dynamodb".into(), a, "Table".into()));
        }
        for (service, cell) in [("sqs", cells[2]), ("secretsmanager", cells[3])] {
            for group in cell
                .split(';')
                .map(str::trim)
                .filter(|g| *g != "–" && !g.is_empty())
            {
                let (actions, resources) = group
                    .split_once(':')
                    .unwrap_or_else(|| panic!("'{group}': actions: resources"));
                for a in list(actions) {
                    for r in list(resources) {
                        grants.insert((service.into(), a.clone(), r));
                    }
                }
            }
        }
        out.insert(cells[0].to_string(), grants);
    }
    out
}

fn list(cell: &str) -> Vec<String> {
    cell.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "–")
        .map(str::to_string)
        .collect()
}

/// A statement's resources as logical ids: `!GetAtt X.Arn`, `!Ref X`, the table's index
/// ARN (`!Sub "${Table.Arn}/index/*"`) as `Table`, and the secret store's names
/// (`!Sub "…:secret:hookline/${AWS::StackName}/*"`) as `StackSecrets`.
fn resources(statement: &Value) -> Vec<String> {
    let r = &statement["Resource"];
    let items: Vec<&Value> = match r {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    items
        .into_iter()
        .map(|v| {
            if let Some(att) = v["Fn::GetAtt"].as_array() {
                att[0].as_str().unwrap_or_default().to_string()
            } else if let Some(name) = v["Ref"].as_str() {
                name.to_string()
            } else if let Some(sub) = v["Fn::Sub"].as_str()
                && sub.ends_with(STACK_SECRETS)
            {
                assert_eq!(
                    sub,
                    format!("arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}{STACK_SECRETS}"),
                    "the secret store's names, in this stack's region and account"
                );
                "StackSecrets".to_string()
            } else if let Some(sub) = v["Fn::Sub"].as_str() {
                sub.trim_start_matches("${")
                    .split('.')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            } else {
                v.as_str().unwrap_or_default().to_string()
            }
        })
        .collect()
}

/// The grants of each function's role in the template (its log group and X-Ray aside).
fn template_grants(t: &Value) -> BTreeMap<String, BTreeSet<Grant>> {
    let resources_of = &t["Resources"];
    let mut out = BTreeMap::new();
    for (name, r) in resources_of.as_object().expect("resources") {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        assert!(
            r["Properties"]["Policies"].is_null(),
            "{name}: SAM policy templates grant more than a function uses; use its role"
        );
        let role = r["Properties"]["Role"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has its own role"));
        let function = name.trim_end_matches("Function").to_ascii_lowercase();
        let mut grants = BTreeSet::new();
        let policies = resources_of[role]["Properties"]["Policies"]
            .as_array()
            .unwrap_or_else(|| panic!("{role} has inline policies"));
        for policy in policies {
            for st in policy["PolicyDocument"]["Statement"]
                .as_array()
                .expect("statements")
            {
                assert_eq!(st["Effect"], "Allow", "{role}: only Allow statements");
                let actions: Vec<String> = match &st["Action"] {
                    Value::Array(a) => a
                        .iter()
                        .filter_map(|x| x.as_str())
                        .map(str::to_string)
                        .collect(),
                    Value::String(s) => vec![s.clone()],
                    _ => panic!("{role}: a statement without actions"),
                };
                for action in actions {
                    let (service, op) = action.split_once(':').expect("service:Action");
                    assert!(!op.contains('*'), "{role}: no wildcard actions ({action})");
                    match service {
                        "logs" => {
                            assert_eq!(
                                resources(st),
                                vec![format!(
                                    "{}LogGroup",
                                    &name[..name.len() - "Function".len()]
                                )],
                                "{role}: logs only to its own group"
                            );
                        }
                        "xray" => {}
                        _ => {
                            for res in resources(st) {
                                assert_ne!(res, "*", "{role}: {action} on every resource");
                                grants.insert((service.to_string(), op.to_string(), res));
                            }
                        }
                    }
                }
            }
        }
        out.insert(function, grants);
    }
    out
}

#[test]
fn every_function_role_grants_exactly_what_the_permissions_table_says() {
    let t = template();
    let from_template = template_grants(&t);
    let from_readme = readme_grants();
    assert_eq!(
        from_template.keys().collect::<Vec<_>>(),
        from_readme.keys().collect::<Vec<_>>(),
        "the same functions"
    );
    for (function, granted) in &from_template {
        let documented = &from_readme[function];
        let extra: Vec<_> = granted.difference(documented).collect();
        let missing: Vec<_> = documented.difference(granted).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "{function}: granted but not in the table: {extra:?}; in the table but not granted: {missing:?}"
        );
    }
    // What the least privilege rules out, whatever the table says.
    for (function, granted) in &from_template {
        for (service, action, resource) in granted {
            assert_ne!(action, "Scan", "{function}: nothing scans the table");
            if service == "secretsmanager"
                && action == "PutSecretValue"
                && resource != "StackSecrets"
            {
                assert_eq!(function, "keys", "only the keys function writes a key");
            }
            if resource == "StackSecrets" && action != "GetSecretValue" {
                assert_eq!(function, "manage", "only manage writes the secret store");
            }
            if resource == "SigningKeySecret" && action == "GetSecretValue" {
                assert!(
                    ["token", "keys"].contains(&function.as_str()),
                    "{function} may not read the private keys"
                );
            }
        }
    }
}
