//! The deployed stack (template.yaml), the emulated one (infra/local/bootstrap) and the code
//! (table and queue definitions, settings names, redrive defaults) must describe the same
//! resources: any disagreement on a name, a key or a redrive setting fails here.

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use hookline_aws::dynamo::schema::TABLE;
use hookline_aws::provision::queues::QUEUES;
use hookline_aws::settings::ENV_VARS;
use hookline_ports::QueueName;
use serde_json::Value;
use support::moto::{Moto, unique};
use support::stack::{root, template};

fn logical_id(queue: QueueName) -> &'static str {
    match queue {
        QueueName::Events => "EventsQueue",
        QueueName::EventsDlq => "EventsDeadLetterQueue",
        QueueName::Deliveries => "DeliveriesQueue",
        QueueName::DeliveriesDlq => "DeliveriesDeadLetterQueue",
    }
}

#[test]
fn template_table_matches_the_code() {
    let t = template();
    let table = &t["Resources"]["Table"]["Properties"];
    assert_eq!(table["BillingMode"], TABLE.billing_mode);
    assert_eq!(table["KeySchema"][0]["AttributeName"], TABLE.partition_key);
    assert_eq!(table["KeySchema"][0]["KeyType"], "HASH");
    assert_eq!(table["KeySchema"][1]["AttributeName"], TABLE.sort_key);
    assert_eq!(table["KeySchema"][1]["KeyType"], "RANGE");
    let declared: BTreeSet<String> = table["AttributeDefinitions"]
        .as_array()
        .expect("attribute definitions")
        .iter()
        .map(|a| a["AttributeName"].as_str().expect("name").to_string())
        .collect();
    let used: BTreeSet<String> = TABLE
        .key_attributes()
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(declared, used, "key attributes");
    let gsis = table["GlobalSecondaryIndexes"].as_array().expect("GSIs");
    assert_eq!(gsis.len(), TABLE.gsis.len());
    for g in TABLE.gsis {
        let t = gsis
            .iter()
            .find(|x| x["IndexName"] == g.name)
            .unwrap_or_else(|| panic!("{} is not in the template", g.name));
        assert_eq!(
            t["KeySchema"][0]["AttributeName"], g.partition_key,
            "{}",
            g.name
        );
        assert_eq!(t["KeySchema"][1]["AttributeName"], g.sort_key, "{}", g.name);
        assert_eq!(
            t["Projection"]["ProjectionType"], TABLE.projection,
            "{}",
            g.name
        );
    }
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"],
        TABLE.ttl_attribute
    );
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
}

#[test]
fn template_queues_and_redrive_match_the_code_and_the_runtimes_defaults() {
    let t = template();
    let resources = &t["Resources"];
    for q in QUEUES {
        let props = &resources[logical_id(q.queue)]["Properties"];
        assert_eq!(
            props["MessageRetentionPeriod"].as_u64(),
            q.retention_secs.map(u64::from),
            "{:?} retention",
            q.queue
        );
        assert_eq!(
            props["VisibilityTimeout"].as_u64(),
            q.visibility_timeout_secs.map(u64::from),
            "{:?} visibility",
            q.queue
        );
        match q.dead_letter {
            Some(dlq) => assert_eq!(
                props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0],
                logical_id(dlq),
                "{:?} redrives to {:?}",
                q.queue,
                dlq
            ),
            None => assert!(
                props["RedrivePolicy"].is_null(),
                "{:?} has no redrive",
                q.queue
            ),
        }
    }
    // maxReceiveCount defaults: the template's parameters, the embedded queue's and the runner's.
    let params = &t["Parameters"];
    let embedded = hookline_embedded::QueueOptions::default();
    assert_eq!(
        resources["DeliveriesQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]["Ref"],
        "DeliveriesMaxReceiveCount"
    );
    assert_eq!(
        resources["EventsQueue"]["Properties"]["RedrivePolicy"]["maxReceiveCount"]["Ref"],
        "EventsMaxReceiveCount"
    );
    assert_eq!(
        params["DeliveriesMaxReceiveCount"]["Default"],
        embedded.max_receives_deliveries
    );
    assert_eq!(
        params["EventsMaxReceiveCount"]["Default"],
        embedded.max_receives_events
    );
    assert!(
        params["DeliveriesMaxReceiveCount"]["MinValue"].as_u64()
            > Some(u64::from(hookline_domain::subscription::MAX_MAX_ATTEMPTS)),
        "redrive must come after the largest max_attempts"
    );
}

#[test]
fn template_gives_every_function_the_settings_the_code_reads() {
    let t = template();
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    for name in ENV_VARS {
        assert!(!env[name].is_null(), "template.yaml does not set {name}");
    }
}

#[test]
fn bootstrap_creates_what_the_template_declares_and_prints_the_settings() {
    let moto = Moto::start();
    let stack = unique("tpl");
    let out = Command::new(root().join("infra/local/bootstrap"))
        .env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("HOOKLINE_STACK", &stack)
        .output()
        .expect("infra/local/bootstrap");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let exports: std::collections::BTreeMap<&str, &str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .collect();
    for name in ENV_VARS {
        assert!(
            exports.contains_key(name),
            "bootstrap does not print {name}"
        );
    }
    assert_eq!(exports.get("HOOKLINE_BACKEND"), Some(&"aws"));
    // Receivers beside an emulator are local: the runner needs this to start on it.
    assert_eq!(
        exports.get("HOOKLINE_ALLOW_UNSAFE_DESTINATIONS"),
        Some(&"true")
    );

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let sdk = moto.sdk_config().await;
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let table = ddb
            .describe_table()
            .table_name(exports["HOOKLINE_TABLE"])
            .send()
            .await
            .expect("the bootstrapped table");
        let desc = table.table().expect("table description");
        let gsis: BTreeSet<String> = desc
            .global_secondary_indexes()
            .iter()
            .filter_map(|g| g.index_name().map(String::from))
            .collect();
        let expected: BTreeSet<String> = TABLE.gsis.iter().map(|g| g.name.to_string()).collect();
        assert_eq!(gsis, expected);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        for (var, q) in [
            ("HOOKLINE_EVENTS_QUEUE_URL", QueueName::Events),
            ("HOOKLINE_DELIVERIES_QUEUE_URL", QueueName::Deliveries),
        ] {
            let attrs = sqs
                .get_queue_attributes()
                .queue_url(exports[var])
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                .send()
                .await
                .expect("queue attributes");
            let attrs = attrs.attributes().expect("attributes");
            let def = QUEUES.iter().find(|d| d.queue == q).expect("definition");
            assert_eq!(
                attrs
                    .get(&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
                    .map(String::as_str),
                def.visibility_timeout_secs
                    .map(|v| v.to_string())
                    .as_deref()
            );
            let redrive: Value = serde_json::from_str(
                attrs
                    .get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
                    .expect("redrive policy"),
            )
            .expect("redrive JSON");
            let dlq = def.dead_letter.expect("a source queue");
            assert!(
                redrive["deadLetterTargetArn"]
                    .as_str()
                    .is_some_and(|arn| arn.ends_with(&format!("{stack}-{}", dlq.as_str()))),
                "{redrive}"
            );
        }
    });
}

/// Runs infra/local/bootstrap against `moto` for `stack` (reading `template` when given, else
/// template.yaml) and returns the settings it prints.
fn bootstrap(
    moto: &Moto,
    stack: &str,
    template: Option<&std::path::Path>,
) -> std::collections::BTreeMap<String, String> {
    let mut cmd = Command::new(root().join("infra/local/bootstrap"));
    cmd.env("AWS_ENDPOINT_URL", &moto.endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("HOOKLINE_STACK", stack)
        .env_remove("HOOKLINE_TEMPLATE");
    if let Some(path) = template {
        cmd.env("HOOKLINE_TEMPLATE", path);
    }
    let out = cmd.output().expect("infra/local/bootstrap");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn bootstrap_converges_after_a_template_change() {
    let moto = Moto::start();
    let stack = unique("converge");
    let first = bootstrap(&moto, &stack, None);

    // The template changed: another visibility timeout on the deliveries queue, one index
    // more and one less on the table. (JSON is YAML, so the bootstrap reads it as it is.)
    let deliveries = QUEUES
        .iter()
        .find(|d| d.queue == QueueName::Deliveries)
        .expect("definition");
    let visibility = deliveries.visibility_timeout_secs.unwrap_or(30) + 60;
    let dropped = TABLE.gsis.last().expect("a GSI");
    let mut t = template();
    t["Resources"]["DeliveriesQueue"]["Properties"]["VisibilityTimeout"] = visibility.into();
    let table = &mut t["Resources"]["Table"]["Properties"];
    let definitions = table["AttributeDefinitions"]
        .as_array_mut()
        .expect("attribute definitions");
    definitions.retain(|a| {
        a["AttributeName"] != dropped.partition_key && a["AttributeName"] != dropped.sort_key
    });
    definitions.push(serde_json::json!({ "AttributeName": "extrapk", "AttributeType": "S" }));
    definitions.push(serde_json::json!({ "AttributeName": "extrask", "AttributeType": "S" }));
    let gsis = table["GlobalSecondaryIndexes"]
        .as_array_mut()
        .expect("GSIs");
    gsis.retain(|g| g["IndexName"] != dropped.name);
    gsis.push(serde_json::json!({
        "IndexName": "extra",
        "KeySchema": [
            { "AttributeName": "extrapk", "KeyType": "HASH" },
            { "AttributeName": "extrask", "KeyType": "RANGE" }
        ],
        "Projection": { "ProjectionType": "ALL" }
    }));
    let changed = std::env::temp_dir().join(format!("{stack}-template.json"));
    std::fs::write(&changed, serde_json::to_vec_pretty(&t).expect("JSON"))
        .expect("changed template");

    let second = bootstrap(&moto, &stack, Some(&changed));
    let _ = std::fs::remove_file(&changed);
    assert_eq!(second, first, "same resources, same secrets");

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let sdk = moto.sdk_config().await;
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&second["HOOKLINE_DELIVERIES_QUEUE_URL"])
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
            .send()
            .await
            .expect("queue attributes");
        assert_eq!(
            attrs
                .attributes()
                .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout))
                .map(String::as_str),
            Some(visibility.to_string().as_str())
        );
        let ddb = aws_sdk_dynamodb::Client::new(&sdk);
        let table = ddb
            .describe_table()
            .table_name(&second["HOOKLINE_TABLE"])
            .send()
            .await
            .expect("the bootstrapped table");
        let desc = table.table().expect("table description");
        let gsis: BTreeSet<String> = desc
            .global_secondary_indexes()
            .iter()
            .filter_map(|g| g.index_name().map(String::from))
            .collect();
        let mut expected: BTreeSet<String> = TABLE
            .gsis
            .iter()
            .filter(|g| g.name != dropped.name)
            .map(|g| g.name.to_string())
            .collect();
        expected.insert("extra".to_string());
        assert_eq!(gsis, expected);
        let extra = desc
            .global_secondary_indexes()
            .iter()
            .find(|g| g.index_name() == Some("extra"))
            .expect("the new index");
        let keys: Vec<&str> = extra
            .key_schema()
            .iter()
            .map(|k| k.attribute_name())
            .collect();
        assert_eq!(keys, ["extrapk", "extrask"]);
    });

    // And back: template.yaml again restores the queue and the indexes.
    let third = bootstrap(&moto, &stack, None);
    assert_eq!(third, first);
    rt.block_on(async {
        let sdk = moto.sdk_config().await;
        let table = aws_sdk_dynamodb::Client::new(&sdk)
            .describe_table()
            .table_name(&third["HOOKLINE_TABLE"])
            .send()
            .await
            .expect("the bootstrapped table");
        let gsis: BTreeSet<String> = table
            .table()
            .expect("table description")
            .global_secondary_indexes()
            .iter()
            .filter_map(|g| g.index_name().map(String::from))
            .collect();
        let expected: BTreeSet<String> = TABLE.gsis.iter().map(|g| g.name.to_string()).collect();
        assert_eq!(gsis, expected);
        let attrs = aws_sdk_sqs::Client::new(&sdk)
            .get_queue_attributes()
            .queue_url(&third["HOOKLINE_DELIVERIES_QUEUE_URL"])
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout)
            .send()
            .await
            .expect("queue attributes");
        assert_eq!(
            attrs
                .attributes()
                .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout))
                .cloned(),
            deliveries.visibility_timeout_secs.map(|v| v.to_string())
        );
    });
}
