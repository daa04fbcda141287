//! The single-item operations every entity uses: consistent key lookups, conditional puts and
//! deletes, and transactions whose cancellation reasons are handed back to the caller.

use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use hookline_ports::PortError;

use super::DynamoStore;
use super::error::{backend, build};
use super::item::{Item, key, n, names};
use super::schema::{GENERATION, PK, VERSION};

/// What must hold for a write to happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Must {
    /// The item must not exist (insert).
    BeAbsent,
    /// The item must exist (replace, delete).
    Exist,
    /// Nothing (upsert).
    Anything,
}

impl Must {
    /// The condition expression, using `#pk`.
    pub fn expression(self) -> Option<&'static str> {
        match self {
            Must::BeAbsent => Some("attribute_not_exists(#pk)"),
            Must::Exist => Some("attribute_exists(#pk)"),
            Must::Anything => None,
        }
    }
}

/// Partition key of the subscriptions generation counter.
pub(crate) const GENERATION_PK: &str = "META#SUBS_GENERATION";
/// Sort key of the counter.
pub(crate) const GENERATION_SK: &str = "META";

/// Tries of a transaction cancelled by concurrent transactions.
const TRANSACT_ATTEMPTS: u32 = 4;

/// The outcome of a transaction.
pub(crate) enum Transaction {
    /// Every write happened.
    Done,
    /// Nothing happened: one cancellation reason code per item, in order (`None` for an
    /// item that did not cause the cancellation).
    Cancelled(Vec<Option<String>>),
}

impl Transaction {
    /// Whether item `i`'s condition failed.
    pub fn condition_failed(&self, i: usize) -> bool {
        match self {
            Transaction::Done => false,
            Transaction::Cancelled(codes) => {
                codes.get(i).and_then(|c| c.as_deref()) == Some("ConditionalCheckFailed")
            }
        }
    }
}

impl DynamoStore {
    /// A strongly consistent key lookup.
    pub(crate) async fn get_item(
        &self,
        op: &str,
        pk: String,
        sk: &str,
    ) -> Result<Option<Item>, PortError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| backend(op, e))?;
        Ok(out.item)
    }

    /// A put under a condition; false if the condition failed.
    pub(crate) async fn put_item(
        &self,
        op: &str,
        item: Item,
        must: Must,
    ) -> Result<bool, PortError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        if let Some(cond) = must.expression() {
            req = req
                .condition_expression(cond)
                .set_expression_attribute_names(Some(names(&[PK])));
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) if conditional_check_failed(&e) => Ok(false),
            Err(e) => Err(backend(op, e)),
        }
    }

    /// A put of an item whose stored `version` attribute must equal `expected` (the item
    /// carries the next one), under `also` as well where given (`AND`ed, with its own names
    /// and values); false if the condition failed (the version moved, or no such item).
    pub(crate) async fn put_over_version(
        &self,
        op: &str,
        item: Item,
        expected: u64,
        also: Option<(&str, &str, AttributeValue)>,
    ) -> Result<bool, PortError> {
        let mut condition = "attribute_exists(#pk) AND #version = :expected".to_string();
        let mut attrs = vec![PK, VERSION];
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .expression_attribute_values(":expected", n(expected));
        if let Some((attr, placeholder, value)) = also {
            condition.push_str(&format!(" AND #{attr} = {placeholder}"));
            attrs.push(attr);
            req = req.expression_attribute_values(placeholder, value);
        }
        let res = req
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names(&attrs)))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if conditional_check_failed(&e) => Ok(false),
            Err(e) => Err(backend(op, e)),
        }
    }

    /// A delete of an existing item; false if there was none.
    pub(crate) async fn delete_item(
        &self,
        op: &str,
        pk: String,
        sk: &str,
    ) -> Result<bool, PortError> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(#pk)")
            .set_expression_attribute_names(Some(names(&[PK])))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if conditional_check_failed(&e) => Ok(false),
            Err(e) => Err(backend(op, e)),
        }
    }

    /// Runs a `TransactWriteItems`; a cancellation is an outcome, not an error. A
    /// cancellation caused only by concurrent transactions on the same items (the
    /// subscriptions generation counter is one hot item) wrote nothing and is retried.
    pub(crate) async fn transact(
        &self,
        op: &str,
        items: Vec<TransactWriteItem>,
    ) -> Result<Transaction, PortError> {
        let mut attempt = 0;
        loop {
            let outcome = self.transact_once(op, items.clone()).await?;
            attempt += 1;
            match &outcome {
                Transaction::Cancelled(codes)
                    if attempt < TRANSACT_ATTEMPTS && only_conflicts(codes) =>
                {
                    tokio::time::sleep(Duration::from_millis(20 << attempt)).await;
                }
                _ => return Ok(outcome),
            }
        }
    }

    async fn transact_once(
        &self,
        op: &str,
        items: Vec<TransactWriteItem>,
    ) -> Result<Transaction, PortError> {
        let res = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match res {
            Ok(_) => Ok(Transaction::Done),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    Ok(Transaction::Cancelled(
                        c.cancellation_reasons()
                            .iter()
                            .map(|r| r.code().map(str::to_string))
                            .collect(),
                    ))
                }
                _ => Err(backend(op, e)),
            },
        }
    }

    /// A transaction item: a put under a condition.
    pub(crate) fn tx_put(
        &self,
        op: &str,
        item: Item,
        must: Must,
    ) -> Result<TransactWriteItem, PortError> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some(cond) = must.expression() {
            put = put
                .condition_expression(cond)
                .set_expression_attribute_names(Some(names(&[PK])));
        }
        let put = put.build().map_err(|e| build(op, e))?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// A transaction item: the subscriptions generation counter, incremented.
    pub(crate) fn tx_bump_generation(&self, op: &str) -> Result<TransactWriteItem, PortError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(GENERATION_PK.to_string(), GENERATION_SK)))
            .update_expression("ADD #gen :one")
            .set_expression_attribute_names(Some(names(&[GENERATION])))
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(|e| build(op, e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// Whether every reason is a transaction conflict or no reason at all (and one is a conflict).
fn only_conflicts(codes: &[Option<String>]) -> bool {
    let conflict = |c: &Option<String>| c.as_deref() == Some("TransactionConflict");
    codes.iter().any(conflict)
        && codes
            .iter()
            .all(|c| conflict(c) || matches!(c.as_deref(), None | Some("None")))
}

/// Whether a write failed only because its condition did not hold.
pub(crate) fn conditional_check_failed<E, R>(e: &aws_sdk_dynamodb::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    e.as_service_error()
        .and_then(|s| s.code())
        .is_some_and(|c| c == "ConditionalCheckFailedException")
}
