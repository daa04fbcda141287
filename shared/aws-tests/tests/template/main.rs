//! The deployed stack (template.yaml), the emulated one (infra/local/bootstrap) and the code
//! (table and queue definitions, settings names, redrive defaults) must describe the same
//! resources: any disagreement on a name, a key or a redrive setting fails here.
//! Here the template against the code; `bootstrap` runs the emulated stack's bootstrap.

#[path = "../support/mod.rs"]
mod support;

mod bootstrap;

use std::collections::BTreeSet;

use hookline_aws::dynamo::schema::TABLE;
use hookline_aws::provision::queues::QUEUES;
use hookline_aws::settings::ENV_VARS;
use hookline_ports::QueueName;
use support::stack::template;

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
fn the_secret_store_prefix_is_the_one_the_roles_are_scoped_to() {
    let t = template();
    let prefix = &t["Globals"]["Function"]["Environment"]["Variables"]["HOOKLINE_SECRETS_PREFIX"];
    assert_eq!(prefix["Fn::Sub"], "hookline/${AWS::StackName}/");
    let scope = format!(
        "arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{}*",
        prefix["Fn::Sub"].as_str().unwrap_or_default()
    );
    let resources = serde_json::to_string(&t["Resources"]).expect("JSON");
    let scoped = resources.matches(&scope).count();
    assert!(
        scoped >= 3,
        "manage, ingest and deliver reach the secret store's names ({scoped} statements)"
    );
    assert_eq!(
        resources.matches(":secret:").count(),
        scoped,
        "every secret ARN the template spells is the secret store's"
    );
}
