//! Strongly consistent queries of one partition of the table itself (not an index): the
//! items that share a partition key, in sort-key order, a page at a time — an import's
//! chunks, a pull subscription's log — and the deletion of such a set of items.

use futures_util::{StreamExt, stream};
use hookline_ports::PortError;

use super::DynamoStore;
use super::error::backend;
use super::item::{Item, names, s};
use super::schema::{PK, SK};

/// Which sort keys of the partition a query reads.
pub(crate) enum SortKeys {
    /// Every item of the partition.
    All,
    /// Those whose sort key starts with this.
    Prefix(String),
    /// Those whose sort key is in this inclusive range.
    Between(String, String),
}

/// Deletes in flight while a partition's items are deleted.
const DELETES_IN_FLIGHT: usize = 16;

/// One page of a partition query.
pub(crate) struct PartitionPage {
    /// The items read (only their keys, for a keys-only query).
    pub items: Vec<Item>,
    /// Where the next page starts; `None` after the last.
    pub next: Option<Item>,
}

impl DynamoStore {
    /// One page of the items of partition `pk` whose sort keys `sort` names, from `start`:
    /// at most `limit` items (DynamoDB's own page size if `None`), only their keys if
    /// `keys_only`.
    pub(crate) async fn query_partition(
        &self,
        op: &str,
        pk: &str,
        sort: &SortKeys,
        limit: Option<i32>,
        keys_only: bool,
        start: Option<Item>,
    ) -> Result<PartitionPage, PortError> {
        let condition = match sort {
            SortKeys::All => "#pk = :pk",
            SortKeys::Prefix(_) => "#pk = :pk AND begins_with(#sk, :from)",
            SortKeys::Between(..) => "#pk = :pk AND #sk BETWEEN :from AND :to",
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(condition)
            .set_expression_attribute_names(Some(names(&[PK, SK])))
            .expression_attribute_values(":pk", s(pk))
            .consistent_read(true)
            .set_limit(limit)
            .set_exclusive_start_key(start);
        match sort {
            SortKeys::All => {}
            SortKeys::Prefix(from) => query = query.expression_attribute_values(":from", s(from)),
            SortKeys::Between(from, to) => {
                query = query
                    .expression_attribute_values(":from", s(from))
                    .expression_attribute_values(":to", s(to));
            }
        }
        if keys_only {
            query = query.projection_expression("#pk, #sk");
        }
        let out = query.send().await.map_err(|e| backend(op, e))?;
        Ok(PartitionPage {
            items: out.items.unwrap_or_default(),
            next: out.last_evaluated_key.filter(|k| !k.is_empty()),
        })
    }

    /// Deletes every item of partition `pk` whose sort key `sort` names, a page of keys at a
    /// time with several deletes in flight. An item deleted meanwhile by someone else is no
    /// error; the first other error stops it (what was deleted stays deleted, and a second
    /// call finishes the rest).
    pub(crate) async fn delete_partition(
        &self,
        op: &str,
        pk: &str,
        sort: &SortKeys,
    ) -> Result<(), PortError> {
        let mut start = None;
        loop {
            let page = self
                .query_partition(op, pk, sort, None, true, start)
                .await?;
            let keys: Vec<String> = page
                .items
                .iter()
                .filter_map(|i| i.get(SK).and_then(|v| v.as_s().ok()).cloned())
                .collect();
            let deleted: Vec<Result<bool, PortError>> = stream::iter(keys)
                .map(|sk: String| async move { self.delete_item(op, pk.to_string(), &sk).await })
                .buffer_unordered(DELETES_IN_FLIGHT)
                .collect()
                .await;
            for d in deleted {
                d?;
            }
            match page.next {
                Some(k) => start = Some(k),
                None => return Ok(()),
            }
        }
    }
}
