//! The table as DynamoDB reports it: keys, indexes, projection, billing and TTL as defined.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{KeyType, ProjectionType, TimeToLiveStatus};
use hookline_aws::provision::table::table_definition;

use super::support::moto::Moto;
use super::{client, new_table};

/// A GSI as compared: name, (hash key, range key), projection.
type GsiShape = (
    String,
    (Option<String>, Option<String>),
    Option<ProjectionType>,
);

#[tokio::test]
async fn table_definition_has_ttl_and_the_gsis() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let table = new_table(&client).await;
    let def = table_definition();

    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("describe_table");
    let t = described.table().expect("a table description");
    let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| {
        let of = |kind: KeyType| {
            schema
                .iter()
                .find(|k| *k.key_type() == kind)
                .map(|k| k.attribute_name().to_string())
        };
        (of(KeyType::Hash), of(KeyType::Range))
    };
    assert_eq!(
        keys(t.key_schema()),
        (
            Some(def.partition_key.to_string()),
            Some(def.sort_key.to_string())
        )
    );
    let attrs: BTreeSet<String> = t
        .attribute_definitions()
        .iter()
        .map(|a| a.attribute_name().to_string())
        .collect();
    let want: BTreeSet<String> = def.key_attributes().iter().map(|a| a.to_string()).collect();
    assert_eq!(
        attrs, want,
        "every key attribute is defined, and nothing else"
    );
    assert!(
        t.attribute_definitions()
            .iter()
            .all(|a| a.attribute_type().as_str() == "S"),
        "every key attribute is a string"
    );

    let mut gsis: Vec<GsiShape> = t
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            (
                g.index_name().unwrap_or_default().to_string(),
                keys(g.key_schema()),
                g.projection().and_then(|p| p.projection_type().cloned()),
            )
        })
        .collect();
    gsis.sort();
    let mut expected: Vec<GsiShape> = def
        .gsis
        .iter()
        .map(|g| {
            (
                g.name.to_string(),
                (
                    Some(g.partition_key.to_string()),
                    Some(g.sort_key.to_string()),
                ),
                Some(ProjectionType::from(def.projection)),
            )
        })
        .collect();
    expected.sort();
    assert_eq!(
        def.projection, "KEYS_ONLY",
        "a write that changes no key writes no index"
    );
    assert_eq!(
        gsis, expected,
        "the GSIs are the definition's, projecting keys only"
    );
    if let Some(billing) = t.billing_mode_summary().and_then(|b| b.billing_mode()) {
        assert_eq!(billing.as_str(), def.billing_mode);
    }

    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("describe_time_to_live");
    let ttl = ttl.time_to_live_description().expect("a TTL description");
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
    assert_eq!(ttl.attribute_name(), Some(def.ttl_attribute));
}
