//! Subscriptions (`SUB#id`; listed by client in `CLIENT#id#SUBS` and in all in `SUBS`, both
//! by id). Every write is a transaction with `ADD gen 1` on `META#SUBS_GENERATION`, so the
//! generation moves exactly when a subscription changed.

use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem};
use hookline_domain::Subscription;
use hookline_ports::PortError;

use super::DynamoStore;
use super::error::build;
use super::item::{Item, body, key, n, names, s};
use super::ops::{GENERATION_PK, GENERATION_SK, Must, Transaction};
use super::query::ListQuery;
use super::schema::{BODY, GENERATION, GSI1, GSI2, PK, SK, VERSION};

/// Sort key of a subscription item.
pub(crate) const SUB_SK: &str = "SUB";

/// Partition key of a subscription.
pub(crate) fn sub_pk(id: &str) -> String {
    format!("SUB#{id}")
}

/// The item of a subscription.
fn sub_item(op: &str, sub: &Subscription) -> Result<Item, PortError> {
    Ok(Item::from([
        (PK.to_string(), s(sub_pk(&sub.id))),
        (SK.to_string(), s(SUB_SK)),
        (
            GSI1.partition_key.to_string(),
            s(format!("CLIENT#{}#SUBS", sub.client_id)),
        ),
        (GSI1.sort_key.to_string(), s(sub.id.clone())),
        (GSI2.partition_key.to_string(), s("SUBS")),
        (GSI2.sort_key.to_string(), s(sub.id.clone())),
        (VERSION.to_string(), n(sub.version)),
        (BODY.to_string(), body(op, sub)?),
    ]))
}

/// The subscriptions of one client, or all, by id.
pub(crate) fn subscriptions_list(client_id: Option<&str>) -> ListQuery {
    match client_id {
        Some(c) => {
            ListQuery::partition("list_subscriptions", GSI1, format!("CLIENT#{c}#SUBS"), true)
        }
        None => ListQuery::partition("list_subscriptions", GSI2, "SUBS".to_string(), true),
    }
}

impl DynamoStore {
    /// Writes many subscriptions at once — `BatchWriteItem`, 25 per request, unconditional —
    /// then bumps the generation once, so every fan-out instance reloads them. For seeding
    /// or restoring a table (an export, a migration, a test), not for the API: unlike
    /// `insert_subscription` it does not refuse an id that exists, it replaces it.
    pub async fn import_subscriptions(&self, subs: &[Subscription]) -> Result<(), PortError> {
        const OP: &str = "import_subscriptions";
        for chunk in subs.chunks(25) {
            let mut writes = chunk
                .iter()
                .map(|sub| {
                    let put = aws_sdk_dynamodb::types::PutRequest::builder()
                        .set_item(Some(sub_item(OP, sub)?))
                        .build()
                        .map_err(|e| build(OP, e))?;
                    Ok(aws_sdk_dynamodb::types::WriteRequest::builder()
                        .put_request(put)
                        .build())
                })
                .collect::<Result<Vec<_>, PortError>>()?;
            // Whatever DynamoDB leaves unprocessed (throttling) is sent again.
            for _ in 0..8 {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, writes)
                    .send()
                    .await
                    .map_err(|e| super::error::backend(OP, e))?;
                writes = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                    .unwrap_or_default();
                if writes.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            if !writes.is_empty() {
                return Err(PortError::backend(format!(
                    "dynamodb {OP}: {} writes left unprocessed",
                    writes.len()
                )));
            }
        }
        let bump = vec![self.tx_bump_generation(OP)?];
        match self.transact(OP, bump).await? {
            Transaction::Done => Ok(()),
            Transaction::Cancelled(_) => Err(PortError::backend(format!(
                "dynamodb {OP}: the generation was not bumped"
            ))),
        }
    }

    /// Puts a subscription that must be absent (insert), with the bump.
    pub(crate) async fn write_subscription(
        &self,
        op: &str,
        sub: &Subscription,
        must: Must,
    ) -> Result<(), PortError> {
        let items = vec![
            self.tx_put(op, sub_item(op, sub)?, must)?,
            self.tx_bump_generation(op)?,
        ];
        self.settle(op, self.transact(op, items).await?, must)
    }

    /// `update_subscription`: a put conditioned on the stored version, with the bump; false
    /// if the version moved.
    pub(crate) async fn update_subscription_over(
        &self,
        sub: &Subscription,
    ) -> Result<bool, PortError> {
        const OP: &str = "update_subscription";
        let expected = sub.version;
        let mut next = sub.clone();
        next.version = expected.saturating_add(1);
        // An item written before subscriptions had versions has none: it is at version 0.
        let condition = if expected == 0 {
            "attribute_exists(#pk) AND (attribute_not_exists(#version) OR #version = :expected)"
        } else {
            "attribute_exists(#pk) AND #version = :expected"
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(sub_item(OP, &next)?))
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names(&[PK, VERSION])))
            .expression_attribute_values(":expected", n(expected))
            .build()
            .map_err(|e| build(OP, e))?;
        let items = vec![
            TransactWriteItem::builder().put(put).build(),
            self.tx_bump_generation(OP)?,
        ];
        match self.transact(OP, items).await? {
            Transaction::Done => Ok(true),
            o if o.condition_failed(0) => match self.get_item(OP, sub_pk(&sub.id), SUB_SK).await? {
                Some(_) => Ok(false),
                None => Err(PortError::NotFound),
            },
            _ => Err(PortError::backend(format!(
                "dynamodb {OP}: transaction cancelled"
            ))),
        }
    }

    /// Deletes an existing subscription, with the bump.
    pub(crate) async fn remove_subscription(&self, id: &str) -> Result<(), PortError> {
        const OP: &str = "delete_subscription";
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(sub_pk(id), SUB_SK)))
            .condition_expression("attribute_exists(#pk)")
            .set_expression_attribute_names(Some(names(&[PK])))
            .build()
            .map_err(|e| build(OP, e))?;
        let items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.tx_bump_generation(OP)?,
        ];
        self.settle(OP, self.transact(OP, items).await?, Must::Exist)
    }

    /// The port's answer to a subscription transaction.
    fn settle(&self, op: &str, outcome: Transaction, must: Must) -> Result<(), PortError> {
        match outcome {
            Transaction::Done => Ok(()),
            o if o.condition_failed(0) && must == Must::BeAbsent => Err(PortError::Conflict(
                "subscription id already exists".to_string(),
            )),
            o if o.condition_failed(0) => Err(PortError::NotFound),
            // Typically `TransactionConflict`: a concurrent write on the generation counter.
            _ => Err(PortError::backend(format!(
                "dynamodb {op}: transaction cancelled"
            ))),
        }
    }

    /// The generation counter (0 before the first subscription write).
    pub(crate) async fn generation(&self) -> Result<u64, PortError> {
        const OP: &str = "subscriptions_generation";
        let item = self
            .get_item(OP, GENERATION_PK.to_string(), GENERATION_SK)
            .await?;
        let Some(value) = item.as_ref().and_then(|i| i.get(GENERATION)) else {
            return Ok(0);
        };
        value
            .as_n()
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| super::error::corrupt(OP, "generation is not a number"))
    }
}
