//! Deliveries (`DELIVERY#id`), listed newest first by `created_at#id` in three partitions,
//! `SUB#id#DELIVERIES`, `CLIENT#id#DELIVERIES` and `EVENT#id#DELIVERIES`, and in the sharded
//! list of all deliveries, `DELIVERIES#0` … `DELIVERIES#15` (`shard`), read merged.

use hookline_domain::{Delivery, DeliveryStatus};
use hookline_ports::{DeliveryFilter, DeliveryKey, PortError};
use time::OffsetDateTime;

use super::DynamoStore;
use super::item::{Item, body, expires_at, n, s, sort_time, timed};
use super::ops::Must;
use super::query::ListQuery;
use super::schema::{BODY, EXPIRES_AT, GSI1, GSI2, GSI3, GSI4, PK, SK, STATUS, VERSION};
use super::shard::shard_partition;

/// Sort key of a delivery item.
pub(crate) const DELIVERY_SK: &str = "DELIVERY";

/// The sharded list of every delivery (gsi4): a delivery is in `DELIVERIES#n`, `n` the shard
/// of its id, since every new delivery writes an entry to it (its claim and attempts, which
/// change no key, write no index: the indexes project keys only).
const ALL_DELIVERIES: &str = "DELIVERIES";

/// Partition key of a delivery.
pub(crate) fn delivery_pk(id: &str) -> String {
    format!("DELIVERY#{id}")
}

/// A status as stored in the `status` attribute (its serde name, e.g. `failed`).
fn status_name(status: DeliveryStatus) -> Result<String, PortError> {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        _ => Err(PortError::backend(
            "dynamodb: delivery status has no name".to_string(),
        )),
    }
}

/// Conditional puts of one `insert_deliveries` in flight at once.
const PUTS_IN_FLIGHT: usize = 32;

impl DynamoStore {
    /// `insert_deliveries`: one conditional put (`attribute_not_exists`) per delivery,
    /// [`PUTS_IN_FLIGHT`] at a time, so that an event matching thousands of subscriptions is
    /// stored in a fraction of a second. A delivery that exists already is reported as not
    /// new and left as it is, so a re-run over half-stored deliveries writes each missing one
    /// once and overwrites none.
    ///
    /// Not `BatchWriteItem`: it takes no conditions, and an unconditional put over a delivery
    /// that a worker has already claimed would reset it and send it twice. Not transactions of
    /// 100 conditional puts: each item of a transaction costs two write units instead of one,
    /// and one existing item cancels the other 99.
    pub(crate) async fn insert_delivery_batch(
        &self,
        deliveries: &[Delivery],
    ) -> Result<Vec<bool>, PortError> {
        const OP: &str = "insert_deliveries";
        let mut created = Vec::with_capacity(deliveries.len());
        for group in deliveries.chunks(PUTS_IN_FLIGHT) {
            let puts = group.iter().map(|d| async move {
                let item = self.delivery_item(OP, d)?;
                self.put_item(OP, item, Must::BeAbsent).await
            });
            for put in futures_util::future::join_all(puts).await {
                created.push(put?);
            }
        }
        Ok(created)
    }

    /// The item of a delivery.
    pub(crate) fn delivery_item(&self, op: &str, d: &Delivery) -> Result<Item, PortError> {
        let sort = timed(d.created_at, &d.id);
        let mut item = Item::from([
            (PK.to_string(), s(delivery_pk(&d.id))),
            (SK.to_string(), s(DELIVERY_SK)),
            (STATUS.to_string(), s(status_name(d.status)?)),
            (VERSION.to_string(), n(d.version)),
            (
                EXPIRES_AT.to_string(),
                expires_at(d.created_at, self.retention),
            ),
            (BODY.to_string(), body(op, d)?),
        ]);
        let partitions = [
            (GSI1, format!("SUB#{}#DELIVERIES", d.subscription_id)),
            (GSI2, format!("CLIENT#{}#DELIVERIES", d.client_id)),
            (GSI3, format!("EVENT#{}#DELIVERIES", d.event_id)),
            (GSI4, shard_partition(ALL_DELIVERIES, &d.id)),
        ];
        for (gsi, p) in partitions {
            item.insert(gsi.partition_key.to_string(), s(p));
            item.insert(gsi.sort_key.to_string(), s(sort.clone()));
        }
        Ok(item)
    }

    /// `update_delivery` and `claim_delivery` (named `op`): a put conditioned on the stored
    /// version; false if it moved.
    pub(crate) async fn put_delivery_over(
        &self,
        op: &'static str,
        d: &Delivery,
    ) -> Result<bool, PortError> {
        let expected = d.version;
        let mut next = d.clone();
        next.version = expected.saturating_add(1);
        let item = self.delivery_item(op, &next)?;
        if self.put_over_version(op, item, expected, None).await? {
            return Ok(true);
        }
        match self.get_item(op, delivery_pk(&d.id), DELIVERY_SK).await? {
            Some(_) => Ok(false),
            None => Err(PortError::NotFound),
        }
    }
}

/// `list_deliveries`: the key's partition (all deliveries: the shards, merged), newest first,
/// the creation window as the sort-key range, the status and the event type as filters on
/// the items read.
pub(crate) fn deliveries_list(
    key: &DeliveryKey,
    filter: &DeliveryFilter,
) -> Result<ListQuery, PortError> {
    const OP: &str = "list_deliveries";
    let part = |index, p| ListQuery::partition(OP, index, p, false);
    let mut q = match key {
        DeliveryKey::Subscription(id) => part(GSI1, format!("SUB#{id}#DELIVERIES")),
        DeliveryKey::Client(id) => part(GSI2, format!("CLIENT#{id}#DELIVERIES")),
        DeliveryKey::Event(id) => part(GSI3, format!("EVENT#{id}#DELIVERIES")),
        DeliveryKey::All => ListQuery::sharded(OP, GSI4, ALL_DELIVERIES.to_string(), false),
    };
    q.status = filter.status.map(status_name).transpose()?;
    if let Some(event_type) = &filter.event_type {
        q.fields.push(("event_type", vec![event_type.clone()]));
    }
    if filter.since.is_some() || filter.until.is_some() {
        // `time#id` keys in [since, until) lie between the bare times (as for events).
        let lo = filter
            .since
            .unwrap_or(OffsetDateTime::UNIX_EPOCH - time::Duration::days(365_000));
        let hi = filter
            .until
            .unwrap_or(OffsetDateTime::UNIX_EPOCH + time::Duration::days(365_000));
        q.range = Some((sort_time(lo), sort_time(hi)));
    }
    Ok(q)
}
