//! The manufacturer registry (`MANUFACTURER#fssai` / `MANUFACTURER`), listed in all in
//! `MANUFACTURERS` (gsi2) and by each state that uses it in `STATE#code#MANUFACTURERS` (gsi1),
//! both by `manufacturer_sort_key` (name key, `\u{1}`, number), a name prefix being a range of
//! it. A manufacturer lists under several states, and an item sits in one partition of an
//! index, so each state has an entry of its own: `MANUFACTURER#fssai` / `STATE#code`, carrying
//! a copy of the body (the lists read the items of the keys they find, see `bodies`).
//!
//! The record and its entries are written in one transaction, the record's put conditioned
//! (`attribute_not_exists` on insert, the version read on update): of two racing inserts of
//! one number DynamoDB lets exactly one through, and the other's whole transaction is
//! cancelled. An update rewrites every entry (the body copy, and the sort key when the name
//! changed) and overwrites the entries of the states left with their bare key, which takes
//! them out of the index without a `DeleteItem` (the ingest function, which writes the
//! registry, has no right to delete): 1 + 40 + 40 items at most, within DynamoDB's 100 (the
//! domain allows 40 states).

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use hookline_domain::Manufacturer;
use hookline_domain::manufacturer::FssaiLicence;
use hookline_ports::{ManufacturerQuery, PortError, manufacturer_sort_key};

use super::DynamoStore;
use super::error::build;
use super::item::{Item, body, from_body, key, n, names, s};
use super::ops::{Must, Transaction};
use super::query::ListQuery;
use super::schema::{BODY, GSI1, GSI2, PK, SK, VERSION};

/// Sort key of a manufacturer's record.
pub(crate) const MANUFACTURER_SK: &str = "MANUFACTURER";

/// Partition key of a manufacturer (its record and its state entries).
pub(crate) fn manufacturer_pk(fssai: &str) -> String {
    format!("MANUFACTURER#{fssai}")
}

/// Sort key of a manufacturer's entry for `state`.
fn state_sk(state: &str) -> String {
    format!("STATE#{state}")
}

/// The list partition of a state's manufacturers.
fn state_partition(state: &str) -> String {
    format!("STATE#{state}#MANUFACTURERS")
}

/// The record item of `m`.
fn record_item(op: &str, m: &Manufacturer) -> Result<Item, PortError> {
    Ok(Item::from([
        (PK.to_string(), s(manufacturer_pk(&m.details.fssai_licence))),
        (SK.to_string(), s(MANUFACTURER_SK)),
        (GSI2.partition_key.to_string(), s("MANUFACTURERS")),
        (
            GSI2.sort_key.to_string(),
            s(manufacturer_sort_key(&m.details)),
        ),
        (VERSION.to_string(), n(m.version)),
        (BODY.to_string(), body(op, m)?),
    ]))
}

/// The entry items of `m`, one per state.
fn state_items(op: &str, m: &Manufacturer) -> Result<Vec<Item>, PortError> {
    let pk = manufacturer_pk(&m.details.fssai_licence);
    let sort_key = manufacturer_sort_key(&m.details);
    let copy = body(op, m)?;
    Ok(m.details
        .states
        .iter()
        .map(|state| {
            Item::from([
                (PK.to_string(), s(pk.clone())),
                (SK.to_string(), s(state_sk(state))),
                (GSI1.partition_key.to_string(), s(state_partition(state))),
                (GSI1.sort_key.to_string(), s(sort_key.clone())),
                (BODY.to_string(), copy.clone()),
            ])
        })
        .collect())
}

/// The list of a query: a state's partition, or every manufacturer, within the name prefix.
pub(crate) fn manufacturers_list(query: &ManufacturerQuery) -> ListQuery {
    const OP: &str = "list_manufacturers";
    let base = match &query.state {
        Some(state) => ListQuery::partition(OP, GSI1, state_partition(state), true),
        None => ListQuery::partition(OP, GSI2, "MANUFACTURERS".to_string(), true),
    };
    ListQuery {
        range: query.sort_key_range(),
        ..base
    }
}

impl DynamoStore {
    /// `insert_manufacturer`: the record (absent) and its entries, in one transaction.
    pub(crate) async fn insert_manufacturer_items(
        &self,
        m: &Manufacturer,
    ) -> Result<bool, PortError> {
        const OP: &str = "insert_manufacturer";
        let record = self.tx_put(OP, record_item(OP, m)?, Must::BeAbsent)?;
        self.write_manufacturer(OP, m, record, Vec::new()).await
    }

    /// `update_manufacturer`: the record over the version read, every entry of its states,
    /// and the deletion of the entries of the states it left, in one transaction.
    pub(crate) async fn update_manufacturer_items(
        &self,
        m: &Manufacturer,
        expected: u64,
    ) -> Result<bool, PortError> {
        const OP: &str = "update_manufacturer";
        let Some(stored) = self.read_manufacturer(OP, &m.details.fssai_licence).await? else {
            return Err(PortError::NotFound);
        };
        if stored.version != expected {
            return Ok(false);
        }
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(record_item(OP, m)?))
            .condition_expression("attribute_exists(#pk) AND #version = :expected")
            .set_expression_attribute_names(Some(names(&[PK, VERSION])))
            .expression_attribute_values(":expected", n(expected))
            .build()
            .map_err(|e| build(OP, e))?;
        let record = TransactWriteItem::builder().put(put).build();
        let kept: BTreeSet<&str> = m.details.states.iter().map(|s| s.as_str()).collect();
        let pk = manufacturer_pk(&m.details.fssai_licence);
        let left = stored
            .details
            .states
            .iter()
            .filter(|s| !kept.contains(s.as_str()))
            .map(|s| key(pk.clone(), &state_sk(s)))
            .collect();
        self.write_manufacturer(OP, m, record, left).await
    }

    /// One transaction: the `record` write (whose condition decides), an entry of each state of
    /// `m`, and the bare keys `left` of the states it left. False if the record's condition
    /// failed (registered already; written by someone else since the read).
    async fn write_manufacturer(
        &self,
        op: &str,
        m: &Manufacturer,
        record: TransactWriteItem,
        left: Vec<Item>,
    ) -> Result<bool, PortError> {
        let mut items = vec![record];
        for entry in state_items(op, m)?.into_iter().chain(left) {
            items.push(self.tx_put(op, entry, Must::Anything)?);
        }
        match self.transact(op, items).await? {
            Transaction::Done => Ok(true),
            o if o.condition_failed(0) => Ok(false),
            _ => Err(PortError::backend(format!(
                "dynamodb {op}: transaction cancelled"
            ))),
        }
    }

    /// A manufacturer's record, read strongly consistent.
    pub(crate) async fn read_manufacturer(
        &self,
        op: &str,
        fssai: &FssaiLicence,
    ) -> Result<Option<Manufacturer>, PortError> {
        let item = self
            .get_item(op, manufacturer_pk(fssai), MANUFACTURER_SK)
            .await?;
        item.map(|i| from_body(op, &i)).transpose()
    }
}
