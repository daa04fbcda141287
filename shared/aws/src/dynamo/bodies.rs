//! Items read back by key: the indexes project keys only (see the table design in `mod.rs`),
//! so a list queries an index for the keys of a page and then reads the items themselves with
//! `BatchGetItem`, [`KEYS_PER_REQUEST`] keys a request.
//!
//! Eventually consistent reads (`ConsistentRead` unset): the keys come from a GSI, which is
//! eventually consistent whatever the read of the table, so a strongly consistent read of the
//! bodies would not make a list any more current; it would only cost twice the read units.
//! Key lookups (`get_item`) stay strongly consistent.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::types::KeysAndAttributes;
use hookline_ports::PortError;

use super::DynamoStore;
use super::error::{backend, build};
use super::item::{Item, get_s, key, names};
use super::schema::{PK, SK};

/// Keys per `BatchGetItem` request (DynamoDB's limit).
pub(crate) const KEYS_PER_REQUEST: usize = 100;
/// Requests of one batch of keys before keys DynamoDB leaves unprocessed (throttling, or a
/// response past 16 MB) are an error.
const TRIES: u32 = 8;
/// The wait before the first retry of unprocessed keys, doubled for each next one.
const FIRST_BACKOFF: Duration = Duration::from_millis(25);
/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_millis(800);

/// An item's primary key as a pair (`pk`, `sk`).
pub(crate) type PrimaryKey = (String, String);

/// The primary key of an item or key.
fn primary_key(item: &Item) -> Option<PrimaryKey> {
    Some((get_s(item, PK)?.to_string(), get_s(item, SK)?.to_string()))
}

/// `keys` in their order, each with the item read for it in place of the key (`items`, by
/// primary key), those whose item is gone (deleted after the index was queried) dropped, and
/// each primary key only once. The payload `C` (a cursor) goes along with each.
pub(crate) fn in_order<C>(
    keys: impl IntoIterator<Item = (Item, C)>,
    items: &mut HashMap<PrimaryKey, Item>,
) -> Vec<(Item, C)> {
    keys.into_iter()
        .filter_map(|(k, c)| Some((items.remove(&primary_key(&k)?)?, c)))
        .collect()
}

impl DynamoStore {
    /// The items of `keys` (their `pk` and `sk`; other attributes are ignored), with only the
    /// attributes `attrs` (and `pk`, `sk`), by primary key; an item that does not exist is
    /// absent. The requests of [`KEYS_PER_REQUEST`] keys go out at once.
    pub(crate) async fn get_items<'a>(
        &self,
        op: &str,
        keys: impl IntoIterator<Item = &'a Item>,
        attrs: &[&str],
    ) -> Result<HashMap<PrimaryKey, Item>, PortError> {
        // DynamoDB refuses a request that names one key twice.
        let mut seen = HashSet::new();
        let unique: Vec<Item> = keys
            .into_iter()
            .filter_map(|k| {
                let (pk, sk) = primary_key(k)?;
                seen.insert((pk.clone(), sk.clone())).then(|| key(pk, &sk))
            })
            .collect();
        let mut projected = vec![PK, SK];
        for a in attrs {
            if !projected.contains(a) {
                projected.push(a);
            }
        }
        let requests = unique
            .chunks(KEYS_PER_REQUEST)
            .map(|chunk| self.get_batch(op, chunk.to_vec(), &projected));
        let mut found = HashMap::with_capacity(unique.len());
        for items in futures_util::future::try_join_all(requests).await? {
            found.extend(
                items
                    .into_iter()
                    .filter_map(|item| Some((primary_key(&item)?, item))),
            );
        }
        Ok(found)
    }

    /// One `BatchGetItem` of at most [`KEYS_PER_REQUEST`] distinct keys, sending what comes
    /// back unprocessed again after a short backoff, [`TRIES`] times at most.
    async fn get_batch(
        &self,
        op: &str,
        mut keys: Vec<Item>,
        attrs: &[&str],
    ) -> Result<Vec<Item>, PortError> {
        let projection = attrs
            .iter()
            .map(|a| format!("#{a}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut items = Vec::with_capacity(keys.len());
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=TRIES {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .projection_expression(&projection)
                .set_expression_attribute_names(Some(names(attrs)))
                .build()
                .map_err(|e| build(op, e))?;
            let mut out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(|e| backend(op, e))?;
            items.extend(
                out.responses
                    .as_mut()
                    .and_then(|r| r.remove(&self.table))
                    .unwrap_or_default(),
            );
            keys = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if keys.is_empty() {
                return Ok(items);
            }
            if attempt < TRIES {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        Err(PortError::backend(format!(
            "dynamodb {op}: {} items left unread by BatchGetItem",
            keys.len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::super::item::s;
    use super::*;

    /// A key of the index: primary key and an index key.
    fn index_key(id: &str) -> Item {
        Item::from([
            (PK.to_string(), s(format!("DELIVERY#{id}"))),
            (SK.to_string(), s("DELIVERY")),
            ("gsi4sk".to_string(), s(id)),
        ])
    }

    /// The item of `id` as read from the table.
    fn item(id: &str) -> Item {
        Item::from([
            (PK.to_string(), s(format!("DELIVERY#{id}"))),
            (SK.to_string(), s("DELIVERY")),
            ("body".to_string(), s(format!("{{\"id\":\"{id}\"}}"))),
        ])
    }

    #[test]
    fn bodies_replace_keys_in_the_index_order_and_gone_items_are_dropped() {
        let keys = ["d", "a", "c", "b", "e"].map(|id| (index_key(id), id));
        // "c" was deleted between the query and the read; the read returns in any order.
        let mut read: HashMap<PrimaryKey, Item> = ["b", "e", "a", "d"]
            .iter()
            .map(|id| (primary_key(&item(id)).expect("a primary key"), item(id)))
            .collect();
        let got = in_order(keys, &mut read);
        let ids: Vec<&str> = got.iter().map(|(_, id)| *id).collect();
        assert_eq!(
            ids,
            ["d", "a", "b", "e"],
            "the index's order, the gone one dropped"
        );
        assert!(
            got.iter().all(|(i, id)| *i == item(id)),
            "each key's own item"
        );
        assert!(read.is_empty());
    }

    #[test]
    fn a_key_listed_twice_gets_its_item_once() {
        let keys = vec![
            (index_key("a"), 1),
            (index_key("b"), 2),
            (index_key("a"), 3),
        ];
        let mut read: HashMap<PrimaryKey, Item> = ["a", "b"]
            .iter()
            .map(|id| (primary_key(&item(id)).expect("a primary key"), item(id)))
            .collect();
        let got: Vec<i32> = in_order(keys, &mut read)
            .into_iter()
            .map(|(_, c)| c)
            .collect();
        assert_eq!(got, [1, 2]);
    }

    #[test]
    fn a_key_without_a_primary_key_is_dropped() {
        let mut broken = index_key("a");
        broken.remove(SK);
        let mut read: HashMap<PrimaryKey, Item> = HashMap::from([(
            ("DELIVERY#a".to_string(), "DELIVERY".to_string()),
            item("a"),
        )]);
        assert!(in_order([(broken, ())], &mut read).is_empty());
    }
}
