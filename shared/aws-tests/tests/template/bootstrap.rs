//! infra/local/bootstrap against moto: it creates what the template declares, prints the
//! settings the code reads, and converges when the template changes.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::TableDescription;
use aws_sdk_sqs::types::QueueAttributeName;
use hookline_aws::dynamo::schema::TABLE;
use hookline_aws::provision::queues::QUEUES;
use hookline_aws::settings::ENV_VARS;
use hookline_ports::QueueName;
use serde_json::Value;

use super::support::moto::{Moto, unique};
use super::support::stack::{root, template};

#[test]
fn bootstrap_creates_what_the_template_declares_and_prints_the_settings() {
    let moto = Moto::start();
    let stack = unique("tpl");
    let exports = bootstrap(&moto, &stack, None);
    for name in ENV_VARS {
        assert!(
            exports.contains_key(name),
            "bootstrap does not print {name}"
        );
    }
    assert_eq!(
        exports.get("HOOKLINE_BACKEND").map(String::as_str),
        Some("aws")
    );
    assert_eq!(
        exports.get("HOOKLINE_SECRETS_PREFIX"),
        Some(&format!("hookline/{stack}/")),
        "the secret store's prefix, as the template's"
    );
    // Receivers beside an emulator are local: the runner needs this to start on it.
    assert_eq!(
        exports
            .get("HOOKLINE_ALLOW_UNSAFE_DESTINATIONS")
            .map(String::as_str),
        Some("true")
    );

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let sdk = moto.sdk_config().await;
        let desc = described_table(&sdk, &exports["HOOKLINE_TABLE"]).await;
        assert_eq!(index_names(&desc), declared_index_names());
        for (var, q) in [
            ("HOOKLINE_EVENTS_QUEUE_URL", QueueName::Events),
            ("HOOKLINE_DELIVERIES_QUEUE_URL", QueueName::Deliveries),
        ] {
            let attrs = queue_attributes(&sdk, &exports[var]).await;
            let def = QUEUES.iter().find(|d| d.queue == q).expect("definition");
            assert_eq!(
                attrs
                    .get(&QueueAttributeName::VisibilityTimeout)
                    .map(String::as_str),
                def.visibility_timeout_secs
                    .map(|v| v.to_string())
                    .as_deref()
            );
            let redrive: Value = serde_json::from_str(
                attrs
                    .get(&QueueAttributeName::RedrivePolicy)
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

/// The table `name` as moto describes it.
async fn described_table(sdk: &SdkConfig, name: &str) -> TableDescription {
    let out = aws_sdk_dynamodb::Client::new(sdk)
        .describe_table()
        .table_name(name)
        .send()
        .await
        .expect("the bootstrapped table");
    out.table().expect("table description").clone()
}

/// The names of a described table's indexes.
fn index_names(desc: &TableDescription) -> BTreeSet<String> {
    desc.global_secondary_indexes()
        .iter()
        .filter_map(|g| g.index_name().map(String::from))
        .collect()
}

/// The names of the indexes the code declares.
fn declared_index_names() -> BTreeSet<String> {
    TABLE.gsis.iter().map(|g| g.name.to_string()).collect()
}

/// Every attribute of the queue at `url`, as moto reports them.
async fn queue_attributes(sdk: &SdkConfig, url: &str) -> HashMap<QueueAttributeName, String> {
    let out = aws_sdk_sqs::Client::new(sdk)
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("queue attributes");
    out.attributes().expect("attributes").clone()
}

/// The visibility timeout of the queue at `url`, as moto reports it.
async fn visibility_timeout(sdk: &SdkConfig, url: &str) -> Option<String> {
    let attrs = queue_attributes(sdk, url).await;
    attrs.get(&QueueAttributeName::VisibilityTimeout).cloned()
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
        let url = &second["HOOKLINE_DELIVERIES_QUEUE_URL"];
        assert_eq!(
            visibility_timeout(&sdk, url).await,
            Some(visibility.to_string())
        );
        let desc = described_table(&sdk, &second["HOOKLINE_TABLE"]).await;
        let mut expected = declared_index_names();
        expected.remove(dropped.name);
        expected.insert("extra".to_string());
        assert_eq!(index_names(&desc), expected);
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
        let desc = described_table(&sdk, &third["HOOKLINE_TABLE"]).await;
        assert_eq!(index_names(&desc), declared_index_names());
        let url = &third["HOOKLINE_DELIVERIES_QUEUE_URL"];
        assert_eq!(
            visibility_timeout(&sdk, url).await,
            deliveries.visibility_timeout_secs.map(|v| v.to_string())
        );
    });
}
