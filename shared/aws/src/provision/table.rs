//! Creates the store's table from `dynamo::schema::TABLE`: on-demand billing, string `pk`/`sk`,
//! the GSIs (keys only projected), then TTL on `expires_at` once the table is active.
//! `template.yaml` declares the same definition; a test compares the two.

use std::time::Duration;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::error::{BuildError, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use hookline_ports::PortError;

pub use crate::dynamo::schema::{GsiDefinition, TABLE, TableDefinition};

/// How long to wait for a new table to become active.
const ACTIVE_WITHIN: Duration = Duration::from_secs(300);

/// The table definition the store needs (and the template must declare).
pub fn table_definition() -> &'static TableDefinition {
    &TABLE
}

/// Creates `table` with the store's definition and enables TTL on it.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), PortError> {
    let def = table_definition();
    let mut req = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(def.partition_key, KeyType::Hash)?)
        .key_schema(key(def.sort_key, KeyType::Range)?);
    for name in def.key_attributes() {
        let attr = AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(built)?;
        req = req.attribute_definitions(attr);
    }
    for gsi in def.gsis {
        let index = GlobalSecondaryIndex::builder()
            .index_name(gsi.name)
            .key_schema(key(gsi.partition_key, KeyType::Hash)?)
            .key_schema(key(gsi.sort_key, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::from(def.projection))
                    .build(),
            )
            .build()
            .map_err(built)?;
        req = req.global_secondary_indexes(index);
    }
    req.send().await.map_err(|e| sdk("CreateTable", e))?;
    client
        .wait_until_table_exists()
        .table_name(table)
        .wait(ACTIVE_WITHIN)
        .await
        .map_err(|e| {
            PortError::backend_caused_by(format!("table {table} did not become active: {e}"), e)
        })?;
    let ttl = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(def.ttl_attribute)
        .build()
        .map_err(built)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| sdk("UpdateTimeToLive", e))?;
    Ok(())
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, PortError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(built)
}

fn built(e: BuildError) -> PortError {
    PortError::backend_caused_by(format!("dynamodb request not built: {e}"), e)
}

fn sdk<E, R>(op: &str, e: SdkError<E, R>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let summary = format!(
        "dynamodb {op}: {} {}",
        e.code().unwrap_or("-"),
        e.message().unwrap_or("")
    );
    PortError::backend_caused_by(summary, e)
}
