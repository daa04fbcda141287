//! Lists: queries on one index partition — or on a run of day partitions walked in order —
//! optionally by sort-key range and status, assembled into pages of exactly `limit` items.
//!
//! A page is read as `limit + 1` items (across as many `Query` calls, 1 MB responses and
//! partitions as that takes); the extra item only says that another page exists, so the last
//! page of a list has no cursor. A page takes at most `MAX_ROUNDS` calls: when a status
//! filter (which DynamoDB applies after `Limit`) drops most items, or a day walk crosses many
//! empty days, the page is returned short, with a cursor at the `LastEvaluatedKey` or at the
//! next day, rather than reading without bound.

use std::collections::HashMap;

use hookline_ports::{Page, PortError};
use serde::de::DeserializeOwned;
use time::Date;
use time::macros::format_description;

use super::DynamoStore;
use super::cursor::Cursor;
use super::error::backend;
use super::item::{Item, day, from_body, s};
use super::schema::{GsiDefinition, PK, SK, STATUS};

/// Largest page a list returns, whatever the caller asks (as the embedded store).
pub(crate) const MAX_LIMIT: usize = 1000;
/// `Query` calls one page may take before it is returned short.
const MAX_ROUNDS: usize = 40;
/// Items evaluated per call when a filter may drop most of them.
const FILTER_BATCH: usize = 200;

/// One list: which index partitions, in which order, which part of them.
pub(crate) struct ListQuery {
    /// Operation name for errors.
    pub op: &'static str,
    /// The index queried.
    pub index: GsiDefinition,
    /// The partitions walked, in order.
    pub partitions: Partitions,
    /// Sort key range, inclusive at both ends (`BETWEEN`).
    pub range: Option<(String, String)>,
    /// Ascending sort key order (false: newest first).
    pub forward: bool,
    /// Only items whose `status` attribute equals this.
    pub status: Option<String>,
}

impl ListQuery {
    /// A list of one whole partition.
    pub fn partition(op: &'static str, index: GsiDefinition, p: String, forward: bool) -> Self {
        ListQuery {
            op,
            index,
            partitions: Partitions::One(p),
            range: None,
            forward,
            status: None,
        }
    }

    /// The key attributes of an item in this index (what `ExclusiveStartKey` needs).
    fn key_attrs(&self) -> [&'static str; 4] {
        [PK, SK, self.index.partition_key, self.index.sort_key]
    }

    /// Where a cursor resumes: partition position and start key.
    fn resume(&self, text: &str) -> Result<(usize, Option<Item>), PortError> {
        let c = Cursor::decode(text)?;
        let part = self
            .partitions
            .position(&c.p)
            .ok_or(PortError::InvalidCursor)?;
        if let Some(k) = &c.k {
            let attrs = self.key_attrs();
            let exact = k.len() == attrs.len() && attrs.iter().all(|a| k.contains_key(*a));
            let same_partition = k.get(self.index.partition_key) == Some(&c.p);
            let in_range = match (&self.range, k.get(self.index.sort_key)) {
                (Some((lo, hi)), Some(sk)) => lo <= sk && sk <= hi,
                _ => true,
            };
            if !(exact && same_partition && in_range) {
                return Err(PortError::InvalidCursor);
            }
        }
        Ok((part, c.start_key()))
    }
}

/// The partitions a list walks.
pub(crate) enum Partitions {
    /// One partition.
    One(String),
    /// `prefix` + `YYYY-MM-DD` for every day from `first` to `last`, oldest first (made as
    /// they are walked: a window may span many days).
    Days {
        /// E.g. `EVENTS#`.
        prefix: &'static str,
        /// First day.
        first: Date,
        /// Last day (inclusive).
        last: Date,
    },
}

impl Partitions {
    /// The `i`-th partition.
    pub fn get(&self, i: usize) -> Option<String> {
        match self {
            Partitions::One(p) => (i == 0).then(|| p.clone()),
            Partitions::Days {
                prefix,
                first,
                last,
            } => {
                let d = first.checked_add(time::Duration::days(i64::try_from(i).ok()?))?;
                (d <= *last).then(|| format!("{prefix}{}", day(d)))
            }
        }
    }

    /// The position of partition `p`, if it is one of these.
    pub fn position(&self, p: &str) -> Option<usize> {
        match self {
            Partitions::One(one) => (one == p).then_some(0),
            Partitions::Days {
                prefix,
                first,
                last,
            } => {
                let text = p.strip_prefix(prefix)?;
                let d = Date::parse(text, format_description!("[year]-[month]-[day]")).ok()?;
                if d < *first || d > *last || day(d) != text {
                    return None;
                }
                usize::try_from((d - *first).whole_days()).ok()
            }
        }
    }
}

/// One `Query` call's result.
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
        let (mut part, mut start) = match cursor {
            Some(text) => q.resume(text)?,
            None => (0, None),
        };
        let mut found: Vec<(usize, Item)> = Vec::new();
        let mut next = None;
        for _ in 0..MAX_ROUNDS {
            let Some(p) = q.partitions.get(part) else {
                break;
            };
            let batch = match q.status {
                Some(_) => FILTER_BATCH.max(want - found.len()),
                None => want - found.len(),
            };
            let out = self.query_once(q, &p, start.take(), batch).await?;
            found.extend(out.items.into_iter().map(|i| (part, i)));
            if found.len() >= want {
                found.truncate(size);
                next = found.last().and_then(|(at, item)| {
                    let p = q.partitions.get(*at)?;
                    Some(Cursor::after(&p, item, &q.key_attrs()))
                });
                break;
            }
            match out.last_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => part += 1,
            }
            next = q.partitions.get(part).map(|p| Cursor { p, k: None });
            if let (Some(c), Some(k)) = (next.as_mut(), start.as_ref()) {
                *c = Cursor::from_key(&c.p, k);
            }
        }
        let items = found
            .iter()
            .map(|(_, item)| from_body(q.op, item))
            .collect::<Result<Vec<T>, PortError>>()?;
        Ok(Page {
            items,
            next_cursor: next.map(|c| c.encode()),
        })
    }

    /// Every item of a (small) list, following `LastEvaluatedKey` to the end.
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        q: &ListQuery,
    ) -> Result<Vec<T>, PortError> {
        let mut items = Vec::new();
        let mut part = 0;
        while let Some(p) = q.partitions.get(part) {
            part += 1;
            let mut start = None;
            loop {
                let out = self.query_once(q, &p, start.take(), MAX_LIMIT).await?;
                for item in &out.items {
                    items.push(from_body(q.op, item)?);
                }
                match out.last_key {
                    Some(k) if !k.is_empty() => start = Some(k),
                    _ => break,
                }
            }
        }
        Ok(items)
    }

    /// One `Query` call on partition `p` of the list's index.
    async fn query_once(
        &self,
        q: &ListQuery,
        p: &str,
        start: Option<Item>,
        limit: usize,
    ) -> Result<Batch, PortError> {
        let mut names = HashMap::from([("#p".to_string(), q.index.partition_key.to_string())]);
        let mut values = HashMap::from([(":p".to_string(), s(p))]);
        let mut condition = "#p = :p".to_string();
        if let Some((lo, hi)) = &q.range {
            condition.push_str(" AND #s BETWEEN :lo AND :hi");
            names.insert("#s".to_string(), q.index.sort_key.to_string());
            values.insert(":lo".to_string(), s(lo.clone()));
            values.insert(":hi".to_string(), s(hi.clone()));
        }
        let mut req = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(q.index.name)
            .key_condition_expression(condition)
            .scan_index_forward(q.forward)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start);
        if let Some(status) = &q.status {
            names.insert("#status".to_string(), STATUS.to_string());
            values.insert(":status".to_string(), s(status.clone()));
            req = req.filter_expression("#status = :status");
        }
        let out = req
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(|e| backend(q.op, &e))?;
        Ok(Batch {
            items: out.items.unwrap_or_default(),
            last_key: out.last_evaluated_key,
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    #[test]
    fn day_partitions_are_found_where_they_were_made() {
        let days = Partitions::Days {
            prefix: "EVENTS#",
            first: date!(2026 - 02 - 27),
            last: date!(2026 - 03 - 02),
        };
        let all: Vec<String> = (0..10).map_while(|i| days.get(i)).collect();
        assert_eq!(
            all,
            [
                "EVENTS#2026-02-27",
                "EVENTS#2026-02-28",
                "EVENTS#2026-03-01",
                "EVENTS#2026-03-02"
            ]
        );
        for (i, p) in all.iter().enumerate() {
            assert_eq!(days.position(p), Some(i));
        }
        for outside in [
            "EVENTS#2026-02-26",
            "EVENTS#2026-03-03",
            "EVENTS#2026-3-01",
            "X#2026-03-01",
        ] {
            assert_eq!(days.position(outside), None, "{outside}");
        }
    }
}
