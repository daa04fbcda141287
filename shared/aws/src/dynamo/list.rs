//! `DynamoStore`'s list reads: a page walked over `Query` calls and its items read by key, or
//! a whole (small) list (see `query` for how a list is walked).

use std::cmp::Ordering;
use std::collections::HashMap;

use hookline_ports::{Page, PortError};
use serde::de::DeserializeOwned;

use super::DynamoStore;
use super::bodies::{KEYS_PER_REQUEST, in_order};
use super::cursor::Cursor;
use super::error::backend;
use super::item::{Item, from_body, get_s, s};
use super::merge::{Group, Read};
use super::query::{ListQuery, MAX_LIMIT};

/// Rounds of `Query` calls (one call, or one per shard at once) one page may take before it
/// is returned short.
const MAX_ROUNDS: usize = 40;
/// Keys read per round when a filter may drop most of their items (split between the shards).
const FILTER_BATCH: usize = 200;
/// The cursor after the `size`-th item found, if there is one.
fn page_end(found: &[(Item, Cursor)], size: usize) -> Option<Cursor> {
    size.checked_sub(1)
        .and_then(|last| found.get(last))
        .map(|(_, c)| c.clone())
}

/// One `Query` call's result: keys (the indexes project nothing else).
struct Batch {
    items: Vec<Item>,
    last_key: Option<Item>,
}

impl DynamoStore {
    /// One page of a list, as domain values decoded from the items' bodies.
    pub(crate) async fn list_page<T: DeserializeOwned>(
        &self,
        q: &ListQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<T>, PortError> {
        let size = limit.clamp(1, MAX_LIMIT);
        let want = size + 1;
        let (mut at, from) = match cursor {
            Some(text) => q.resume(text)?,
            None => (0, None),
        };
        let mut group = q.group(at, from);
        // Items read and accepted, in list order, each with the cursor after it.
        let mut found: Vec<(Item, Cursor)> = Vec::new();
        // Keys taken from the index after those, their items not read yet, each with the
        // cursor after it.
        let mut taken: Vec<(Item, Cursor)> = Vec::new();
        let filtered = q.filtered();
        let mut rounds = 0;
        let next = loop {
            // The page is known once `want` items are, or (no filter: any key is an item, bar
            // one deleted meanwhile) once `size` are read and a key follows them.
            if found.len() >= want || (!filtered && found.len() == size && !taken.is_empty()) {
                break page_end(&found, size);
            }
            let need = want - found.len();
            let Some(g) = group.as_mut() else {
                // The list's end: what was taken is all there is.
                self.read_taken(q, &mut taken, &mut found).await?;
                break page_end(&found, size).filter(|_| found.len() > size);
            };
            let waiting = g.waiting(q);
            // Enough keys taken to fill the page if their items are there (and match): read
            // them — without a filter all but the last, which only has to exist; with one, all
            // of them, and as many more (up to a request's worth) as the fetched keys offer.
            let ready = taken.len() >= need
                && (!filtered || taken.len() >= KEYS_PER_REQUEST || !waiting.is_empty());
            if ready {
                let lookahead = usize::from(!filtered);
                let mut read: Vec<(Item, Cursor)> =
                    taken.drain(..taken.len() - lookahead).collect();
                self.read_taken(q, &mut read, &mut found).await?;
                continue;
            }
            if waiting.is_empty() {
                match g.take(q) {
                    Some(key) => {
                        let c = g.cursor(q);
                        taken.push((key, c));
                    }
                    None => {
                        at += 1;
                        group = q.group(at, None);
                    }
                }
                continue;
            }
            if rounds == MAX_ROUNDS {
                // Short: every key taken is read, so the group's cursor is past them all,
                // unless the page is full and ends before them.
                self.read_taken(q, &mut taken, &mut found).await?;
                break match found.len() > size {
                    true => page_end(&found, size),
                    false => Some(g.cursor(q)),
                };
            }
            rounds += 1;
            self.fetch(q, g, &waiting, need.saturating_sub(taken.len()).max(1))
                .await?;
        };
        found.truncate(size);
        let items = found
            .iter()
            .map(|(item, _)| from_body(q.op, item))
            .collect::<Result<Vec<T>, PortError>>()?;
        Ok(Page {
            items,
            next_cursor: next.map(|c| c.encode()),
        })
    }

    /// Reads the items of the keys `taken` (emptied), and appends those that exist and that
    /// the list accepts to `found`, in order.
    async fn read_taken(
        &self,
        q: &ListQuery,
        taken: &mut Vec<(Item, Cursor)>,
        found: &mut Vec<(Item, Cursor)>,
    ) -> Result<(), PortError> {
        if taken.is_empty() {
            return Ok(());
        }
        let keys = std::mem::take(taken);
        let mut items = self
            .get_items(q.op, keys.iter().map(|(k, _)| k), q.read_attrs())
            .await?;
        found.extend(
            in_order(keys, &mut items)
                .into_iter()
                .filter(|(item, _)| q.accepts(item)),
        );
        Ok(())
    }

    /// One round: a `Query` on each of the group's partitions `which`, all at once, for up to
    /// `need` keys each (more when a filter may drop most of their items).
    async fn fetch(
        &self,
        q: &ListQuery,
        g: &mut Group,
        which: &[usize],
        need: usize,
    ) -> Result<(), PortError> {
        let batch = match q.filtered() {
            true => FILTER_BATCH.div_ceil(g.members.len()).max(need),
            false => need,
        };
        let point = g.point.clone();
        let calls = which.iter().map(|&i| {
            let m = &g.members[i];
            // The first read from the merge point may return the point itself, dropped.
            let first = point.is_some() && matches!(m.read, Read::Unread);
            self.query_once(
                q,
                &m.name,
                m.start.clone(),
                point.as_ref(),
                batch + usize::from(first),
            )
        });
        let batches = futures_util::future::try_join_all(calls).await?;
        for (&i, out) in which.iter().zip(batches) {
            let m = &mut g.members[i];
            let after_point = |item: &Item| {
                point
                    .as_ref()
                    .is_none_or(|p| q.walk(item, p) == Ordering::Greater)
            };
            m.buf.extend(out.items.into_iter().filter(after_point));
            match out.last_key {
                Some(k) if !k.is_empty() => {
                    m.start = Some(k);
                    m.read = Read::More;
                }
                _ => m.read = Read::End,
            }
        }
        Ok(())
    }

    /// Every item of a (small) list, following `LastEvaluatedKey` to the end (a sharded list
    /// comes shard after shard, not merged), each `Query` page's items read by key.
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        q: &ListQuery,
    ) -> Result<Vec<T>, PortError> {
        let mut items = Vec::new();
        let mut at = 0;
        while let Some(group) = q.partitions.get(at) {
            at += 1;
            for p in q.members(&group) {
                let mut start = None;
                loop {
                    let out = self
                        .query_once(q, &p, start.take(), None, MAX_LIMIT)
                        .await?;
                    let mut read = self.get_items(q.op, &out.items, q.read_attrs()).await?;
                    let keys = out.items.into_iter().map(|k| (k, ()));
                    for (item, ()) in in_order(keys, &mut read) {
                        if q.accepts(&item) {
                            items.push(from_body(q.op, &item)?);
                        }
                    }
                    match out.last_key {
                        Some(k) if !k.is_empty() => start = Some(k),
                        _ => break,
                    }
                }
            }
        }
        Ok(items)
    }

    /// One `Query` call on partition `p` of the list's index, within the list's range and,
    /// given a merge point, from it on (inclusive: the caller drops the point itself).
    async fn query_once(
        &self,
        q: &ListQuery,
        p: &str,
        start: Option<Item>,
        point: Option<&Item>,
        limit: usize,
    ) -> Result<Batch, PortError> {
        let mut names = HashMap::from([("#p".to_string(), q.index.partition_key.to_string())]);
        let mut values = HashMap::from([(":p".to_string(), s(p))]);
        let mut condition = "#p = :p".to_string();
        let (mut lo, mut hi) = match &q.range {
            Some((lo, hi)) => (Some(lo.as_str()), Some(hi.as_str())),
            None => (None, None),
        };
        if let Some(x) = point.and_then(|i| get_s(i, q.index.sort_key)) {
            match q.forward {
                true => lo = Some(lo.map_or(x, |lo| lo.max(x))),
                false => hi = Some(hi.map_or(x, |hi| hi.min(x))),
            }
        }
        let bound = match (lo, hi) {
            (Some(lo), Some(hi)) => {
                values.insert(":lo".to_string(), s(lo));
                values.insert(":hi".to_string(), s(hi));
                Some(" AND #s BETWEEN :lo AND :hi")
            }
            (Some(lo), None) => {
                values.insert(":lo".to_string(), s(lo));
                Some(" AND #s >= :lo")
            }
            (None, Some(hi)) => {
                values.insert(":hi".to_string(), s(hi));
                Some(" AND #s <= :hi")
            }
            (None, None) => None,
        };
        if let Some(bound) = bound {
            condition.push_str(bound);
            names.insert("#s".to_string(), q.index.sort_key.to_string());
        }
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(q.index.name)
            .key_condition_expression(condition)
            .scan_index_forward(q.forward)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(|e| backend(q.op, e))?;
        Ok(Batch {
            items: out.items.unwrap_or_default(),
            last_key: out.last_evaluated_key,
        })
    }
}
