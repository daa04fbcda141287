//! The pull port on the table. A subscription's log is one partition `PULL#sub`: the counter
//! `LOG` (`last` and `acked` positions), the messages `MSG#position` (fixed-width, so that
//! sort order is position order) and each delivery cycle's append key `DLV#delivery#cycle`
//! (holding its message's position). An append reads the counter and writes, in one
//! `TransactWriteItems`, the counter moved on from the value read, the append key (absent
//! before) and the message: of concurrent appends one wins each position and the others try
//! again with the next, so positions follow one another without a gap, and a cycle appends
//! once. Reads are strongly consistent queries of the partition. Messages and append keys
//! expire with their retention (`expires_at`); the counter stays until the log is deleted,
//! so that positions never start over.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use hookline_domain::{PullMessage, SubscriptionId, ids};
use hookline_ports::{Ack, Appended, PortError, PullLog, PullStore};
use time::OffsetDateTime;

use super::DynamoStore;
use super::error::{backend, build};
use super::item::{Item, body, from_body, key, n, names, s};
use super::ops::{Must, Transaction, conditional_check_failed};
use super::partition::SortKeys;
use super::schema::{BODY, EXPIRES_AT, PK, SK};

/// Sort key of a log's counter.
const LOG_SK: &str = "LOG";
/// The counter's attributes.
const LAST: &str = "last";
const ACKED: &str = "acked";
/// An append key's attribute: its message's position.
const POSITION: &str = "position";
/// Tries of an append whose counter another append moved meanwhile.
const APPEND_TRIES: u32 = 100;

fn log_pk(sub: &SubscriptionId) -> String {
    format!("PULL#{sub}")
}

fn message_sk(position: u64) -> String {
    format!("MSG#{position:020}")
}

fn append_sk(m: &PullMessage) -> String {
    format!("DLV#{}#{}", m.delivery_id, m.cycle)
}

fn number(item: &Item, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn expiry(t: OffsetDateTime) -> aws_sdk_dynamodb::types::AttributeValue {
    n(t.unix_timestamp())
}

impl DynamoStore {
    /// The counter moved from `last` to `last + 1`, only if it still stands at `last`.
    fn tx_next_position(
        &self,
        op: &str,
        sub: &SubscriptionId,
        last: u64,
    ) -> Result<TransactWriteItem, PortError> {
        let condition = if last == 0 {
            "attribute_not_exists(#last)"
        } else {
            "#last = :last"
        };
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(log_pk(sub), LOG_SK)))
            .update_expression("SET #last = :next, #acked = if_not_exists(#acked, :zero)")
            .condition_expression(condition)
            .set_expression_attribute_names(Some(names(&[LAST, ACKED])))
            .expression_attribute_values(":next", n(last + 1))
            .expression_attribute_values(":zero", n(0));
        if last > 0 {
            update = update.expression_attribute_values(":last", n(last));
        }
        let update = update.build().map_err(|e| build(op, e))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The position a cycle's append key holds, if it was appended.
    async fn appended_at(&self, op: &str, m: &PullMessage) -> Result<Option<u64>, PortError> {
        let found = self
            .get_item(op, log_pk(&m.subscription_id), &append_sk(m))
            .await?;
        Ok(found.map(|i| number(&i, POSITION)))
    }
}

#[async_trait]
impl PullStore for DynamoStore {
    async fn append_pull_message(&self, message: &PullMessage) -> Result<Appended, PortError> {
        const OP: &str = "append_pull_message";
        let sub = &message.subscription_id;
        let pk = log_pk(sub);
        for _ in 0..APPEND_TRIES {
            let last = self.pull_log(sub).await?.last;
            let mut stored = message.clone();
            stored.position = last + 1;
            let append_key = Item::from([
                (PK.to_string(), s(pk.clone())),
                (SK.to_string(), s(append_sk(message))),
                (POSITION.to_string(), n(stored.position)),
                (EXPIRES_AT.to_string(), expiry(message.kept_until)),
            ]);
            let item = Item::from([
                (PK.to_string(), s(pk.clone())),
                (SK.to_string(), s(message_sk(stored.position))),
                (BODY.to_string(), body(OP, &stored)?),
                (EXPIRES_AT.to_string(), expiry(message.kept_until)),
            ]);
            let writes = vec![
                self.tx_next_position(OP, sub, last)?,
                self.tx_put(OP, append_key, Must::BeAbsent)?,
                self.tx_put(OP, item, Must::BeAbsent)?,
            ];
            let outcome = self.transact(OP, writes).await?;
            if matches!(outcome, Transaction::Done) {
                return Ok(Appended::New(stored.position));
            }
            if outcome.condition_failed(1) {
                match self.appended_at(OP, message).await? {
                    Some(p) => return Ok(Appended::Already(p)),
                    None => continue,
                }
            }
            // Another append took the position: a moment's jitter, then the next one.
            let pause = 5.0 + 20.0 * ids::random_unit();
            tokio::time::sleep(Duration::from_secs_f64(pause / 1000.0)).await;
        }
        Err(PortError::backend(format!(
            "dynamodb {OP}: no position won in {APPEND_TRIES} tries"
        )))
    }

    async fn list_pull_messages(
        &self,
        subscription: &SubscriptionId,
        after: u64,
        limit: usize,
        now: OffsetDateTime,
    ) -> Result<Vec<PullMessage>, PortError> {
        const OP: &str = "list_pull_messages";
        let pk = log_pk(subscription);
        let sort = SortKeys::Between(message_sk(after.saturating_add(1)), message_sk(u64::MAX));
        let page_size = Some(i32::try_from(limit).unwrap_or(i32::MAX).max(1));
        let mut found: Vec<PullMessage> = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .query_partition(OP, &pk, &sort, page_size, false, start)
                .await?;
            for it in &page.items {
                let m: PullMessage = from_body(OP, it)?;
                // Past its retention, not yet deleted by the time to live.
                if m.kept_until > now && found.len() < limit {
                    found.push(m);
                }
            }
            match page.next {
                Some(k) if found.len() < limit => start = Some(k),
                _ => return Ok(found),
            }
        }
    }

    async fn pull_log(&self, subscription: &SubscriptionId) -> Result<PullLog, PortError> {
        const OP: &str = "pull_log";
        let found = self.get_item(OP, log_pk(subscription), LOG_SK).await?;
        Ok(found.map_or_else(PullLog::default, |i| PullLog {
            last: number(&i, LAST),
            acked: number(&i, ACKED),
        }))
    }

    async fn ack_pull_messages(
        &self,
        subscription: &SubscriptionId,
        position: u64,
    ) -> Result<Ack, PortError> {
        const OP: &str = "ack_pull_messages";
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(log_pk(subscription), LOG_SK)))
            .update_expression("SET #acked = :p")
            .condition_expression("#last >= :p AND #acked < :p")
            .set_expression_attribute_names(Some(names(&[LAST, ACKED])))
            .expression_attribute_values(":p", n(position))
            .send()
            .await;
        match res {
            Ok(_) => Ok(Ack::At(position)),
            Err(e) if conditional_check_failed(&e) => {
                let log = self.pull_log(subscription).await?;
                Ok(if position > log.last {
                    Ack::Beyond
                } else {
                    Ack::At(log.acked)
                })
            }
            Err(e) => Err(backend(OP, e)),
        }
    }

    async fn delete_pull_log(&self, subscription: &SubscriptionId) -> Result<(), PortError> {
        self.delete_partition("delete_pull_log", &log_pk(subscription), &SortKeys::All)
            .await
    }
}
