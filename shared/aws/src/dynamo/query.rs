//! Lists: queries on index partitions, assembled into pages of exactly `limit` items.
//!
//! A list is a run of groups walked in order: one partition, or the day partitions of a window
//! oldest first. A group is one partition, or — for a sharded list (`shard`) — its shards
//! merged by sort key. The indexes project keys only: a page is walked as keys, `limit + 1`
//! of them (across as many `Query` calls, shards and groups as that takes), and the items
//! themselves are then read by key (`bodies`: `BatchGetItem`, a request per 100), in the
//! index's order, a key whose item is gone by then being dropped (the walk goes on for
//! another). The extra key only says that another page exists, so its item is not read
//! (`limit` 100: one `Query` per partition and one `BatchGetItem`), and the last page of a
//! list has no cursor.
//!
//! The status filter of deliveries needs the items (`status` is not in the index): every key
//! walked is read, the items that do not match are dropped, and the walk goes on until
//! `limit + 1` match. A page takes at most `MAX_ROUNDS` rounds of `Query` calls: when the
//! filter drops most items, or a day walk crosses many empty days, the page is returned short,
//! with a cursor past what was read, rather than reading without bound.
//!
//! Merging shards: each shard is queried (in one round, all at once) for as many keys as the
//! page still needs, and keys are taken in sort-key order (ties by `pk`), each only once every
//! shard that could hold an earlier one has shown its next key, or been read past it, or
//! ended. Without a status filter that is one `Query` per shard per page. Since the merge takes
//! keys in order, every shard has been returned up to the last key taken: the cursor of a
//! sharded list is that one merge point, and every shard resumes after it by a sort-key
//! condition (`<=` or `>=` the point, the point itself dropped). One position per shard would
//! make cursors of seventeen keys, and would leave a shard that gave nothing to a page at its
//! start, so that items written after the first page would surface, out of order, on later
//! ones.

use std::cmp::Ordering;
use std::collections::{HashMap, VecDeque};

use hookline_ports::{Page, PortError};
use serde::de::DeserializeOwned;
use time::Date;
use time::macros::format_description;

use super::DynamoStore;
use super::bodies::{KEYS_PER_REQUEST, in_order};
use super::cursor::Cursor;
use super::error::backend;
use super::item::{Item, day, from_body, get_s, s};
use super::schema::{BODY, GsiDefinition, PK, SK, STATUS};
use super::shard::list_partitions;

/// Largest page a list returns, whatever the caller asks (as the embedded store).
pub(crate) const MAX_LIMIT: usize = 1000;
/// Rounds of `Query` calls (one call, or one per shard at once) one page may take before it
/// is returned short.
const MAX_ROUNDS: usize = 40;
/// Keys read per round when a filter may drop most of their items (split between the shards).
const FILTER_BATCH: usize = 200;

/// One list: which index partitions, in which order, which part of them.
pub(crate) struct ListQuery {
    /// Operation name for errors.
    pub op: &'static str,
    /// The index queried.
    pub index: GsiDefinition,
    /// The groups walked, in order.
    pub partitions: Partitions,
    /// Whether each group is spread over shards (`shard::list_partitions`) and read merged.
    pub sharded: bool,
    /// Sort key range, inclusive at both ends (`BETWEEN`).
    pub range: Option<(String, String)>,
    /// Ascending sort key order (false: newest first).
    pub forward: bool,
    /// Only items whose `status` attribute equals this (checked on the items read, the
    /// indexes holding keys only).
    pub status: Option<String>,
}

impl ListQuery {
    /// A list of one whole partition.
    pub fn partition(op: &'static str, index: GsiDefinition, p: String, forward: bool) -> Self {
        ListQuery {
            op,
            index,
            partitions: Partitions::One(p),
            sharded: false,
            range: None,
            forward,
            status: None,
        }
    }

    /// A list of one whole sharded list, its shards merged.
    pub fn sharded(op: &'static str, index: GsiDefinition, list: String, forward: bool) -> Self {
        ListQuery {
            sharded: true,
            ..ListQuery::partition(op, index, list, forward)
        }
    }

    /// The attributes read from the table for each key: the body, and the status to filter on.
    fn read_attrs(&self) -> &'static [&'static str] {
        match self.status {
            Some(_) => &[BODY, STATUS],
            None => &[BODY],
        }
    }

    /// Whether an item read from the table belongs in the list (the status filter).
    fn accepts(&self, item: &Item) -> bool {
        self.status
            .as_deref()
            .is_none_or(|status| get_s(item, STATUS) == Some(status))
    }

    /// The partitions of a group: itself, or its shards.
    fn members(&self, group: &str) -> Vec<String> {
        match self.sharded {
            true => list_partitions(group),
            false => vec![group.to_string()],
        }
    }

    /// The key attributes of an item in this index (what `ExclusiveStartKey` needs).
    fn key_attrs(&self) -> [&'static str; 4] {
        [PK, SK, self.index.partition_key, self.index.sort_key]
    }

    /// The key of an item.
    fn key_of(&self, item: &Item) -> Item {
        self.key_attrs()
            .iter()
            .filter_map(|a| item.get(*a).map(|v| ((*a).to_string(), v.clone())))
            .collect()
    }

    /// Whether an index sort key lies in the range.
    fn in_range(&self, sk: &str) -> bool {
        self.range
            .as_ref()
            .is_none_or(|(lo, hi)| lo.as_str() <= sk && sk <= hi.as_str())
    }

    /// The order in which two items (or keys, or points) are walked: by index sort key, then
    /// by `pk` (which makes the order total across shards), ascending or descending.
    fn walk(&self, a: &Item, b: &Item) -> Ordering {
        fn by<'a>(i: &'a Item, sort_key: &str) -> (Option<&'a str>, Option<&'a str>) {
            (get_s(i, sort_key), get_s(i, PK))
        }
        let sk = self.index.sort_key;
        let order = by(a, sk).cmp(&by(b, sk));
        match self.forward {
            true => order,
            false => order.reverse(),
        }
    }

    /// Where a cursor resumes: the group's position, and the start key (one partition) or
    /// the merge point (sharded, as an item of the index sort key and `pk`).
    fn resume(&self, text: &str) -> Result<(usize, Option<Item>), PortError> {
        let c = Cursor::decode(text)?;
        let group = self
            .partitions
            .position(&c.p)
            .ok_or(PortError::InvalidCursor)?;
        if self.sharded {
            if c.k.is_some() {
                return Err(PortError::InvalidCursor);
            }
            let Some((sk, pk)) = c.m else {
                return Ok((group, None));
            };
            if sk.is_empty() || pk.is_empty() || !self.in_range(&sk) {
                return Err(PortError::InvalidCursor);
            }
            let point = Item::from([
                (self.index.sort_key.to_string(), s(sk)),
                (PK.to_string(), s(pk)),
            ]);
            return Ok((group, Some(point)));
        }
        if c.m.is_some() {
            return Err(PortError::InvalidCursor);
        }
        if let Some(k) = &c.k {
            let attrs = self.key_attrs();
            let exact = k.len() == attrs.len() && attrs.iter().all(|a| k.contains_key(*a));
            let same_partition = k.get(self.index.partition_key) == Some(&c.p);
            let in_range = k
                .get(self.index.sort_key)
                .is_none_or(|sk| self.in_range(sk));
            if !(exact && same_partition && in_range) {
                return Err(PortError::InvalidCursor);
            }
        }
        Ok((group, c.start_key()))
    }

    /// Group `at`, read from `from` (as `resume` gives it), if the list has that many.
    fn group(&self, at: usize, from: Option<Item>) -> Option<Group> {
        let name = self.partitions.get(at)?;
        let members = self
            .members(&name)
            .into_iter()
            .map(|p| Member {
                name: p,
                start: if self.sharded { None } else { from.clone() },
                buf: VecDeque::new(),
                read: Read::Unread,
            })
            .collect();
        Some(Group {
            name,
            members,
            point: if self.sharded { from.clone() } else { None },
            upto: from,
        })
    }
}

/// The groups a list walks.
pub(crate) enum Partitions {
    /// One partition (or sharded list).
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
    /// The `i`-th group.
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

    /// The position of group `p`, if it is one of these.
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

/// How far a partition has been queried on this page.
enum Read {
    /// Not yet: what it holds next is unknown.
    Unread,
    /// Up to its `start` (the last `LastEvaluatedKey`); more may follow.
    More,
    /// To its end.
    End,
}

/// One partition of the group being read.
struct Member {
    /// Its partition key value.
    name: String,
    /// The exclusive start key of its next `Query`: the cursor's, then the last
    /// `LastEvaluatedKey`.
    start: Option<Item>,
    /// Keys fetched and not yet taken, in walk order.
    buf: VecDeque<Item>,
    /// How far it has been queried.
    read: Read,
}

/// The group being read: its partitions, and how far the page has taken it.
struct Group {
    /// The group's name (what a cursor names).
    name: String,
    /// Its partitions (one, or the shards).
    members: Vec<Member>,
    /// Sharded: the merge point every shard resumes after (index sort key and `pk`).
    point: Option<Item>,
    /// The key of the last item taken, or where the cursor resumed.
    upto: Option<Item>,
}

impl Group {
    /// The partition holding the next fetched item in walk order, and that item.
    fn head(&self, q: &ListQuery) -> Option<(usize, &Item)> {
        self.members
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.buf.front().map(|item| (i, item)))
            .min_by(|a, b| q.walk(a.1, b.1))
    }

    /// The partitions to query before the next item is known: those with nothing fetched
    /// that may hold an item before the head (not queried yet, or queried only up to a key
    /// that the head comes after).
    fn waiting(&self, q: &ListQuery) -> Vec<usize> {
        let head = self.head(q).map(|(_, item)| item);
        let blocks = |m: &Member| match m.read {
            Read::Unread => true,
            Read::More => match (head, &m.start) {
                (Some(h), Some(k)) => q.walk(h, k) == Ordering::Greater,
                _ => true,
            },
            Read::End => false,
        };
        (0..self.members.len())
            .filter(|&i| self.members[i].buf.is_empty() && blocks(&self.members[i]))
            .collect()
    }

    /// Takes the next item (call when nothing is `waiting`); `None` at the group's end.
    fn take(&mut self, q: &ListQuery) -> Option<Item> {
        let (i, _) = self.head(q)?;
        let item = self.members[i].buf.pop_front()?;
        self.upto = Some(q.key_of(&item));
        Some(item)
    }

    /// The cursor after what has been taken so far.
    fn cursor(&self, q: &ListQuery) -> Cursor {
        let mut c = Cursor {
            p: self.name.clone(),
            k: None,
            m: None,
        };
        // A partition with nothing fetched left, read up to a key: everything up to that key
        // has been taken or dropped by the filter.
        let evaluated = |m: &&Member| m.buf.is_empty() && matches!(m.read, Read::More);
        if !q.sharded {
            let at = match self.members.first().filter(evaluated) {
                Some(m) => m.start.as_ref(),
                None => self.upto.as_ref(),
            };
            if let Some(k) = at {
                c.k = Cursor::after(&self.name, k, &q.key_attrs()).k;
            }
            return c;
        }
        // Every shard has been read past the last item taken up to the earliest of those
        // keys, if that comes before every item fetched and not taken: resume there, so that a
        // page cut short by the filter still moves on.
        let mut point = self.upto.as_ref();
        let earliest = self
            .members
            .iter()
            .filter(evaluated)
            .filter_map(|m| m.start.as_ref())
            .min_by(|a, b| q.walk(a, b));
        let unread = self.members.iter().any(|m| matches!(m.read, Read::Unread));
        if let Some(e) = earliest
            && !unread
            && point.is_none_or(|p| q.walk(e, p) == Ordering::Greater)
            && self
                .members
                .iter()
                .filter_map(|m| m.buf.front())
                .all(|h| q.walk(e, h) == Ordering::Less)
        {
            point = Some(e);
        }
        c.m = point.and_then(|p| {
            let sk = get_s(p, q.index.sort_key)?;
            Some((sk.to_string(), get_s(p, PK)?.to_string()))
        });
        c
    }
}

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
        let filtered = q.status.is_some();
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
        let batch = match q.status {
            Some(_) => FILTER_BATCH.div_ceil(g.members.len()).max(need),
            None => need,
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

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    use super::super::schema::GSI4;

    /// An item of gsi4 with sort key `sk` in partition `p`.
    fn item(p: &str, sk: &str) -> Item {
        Item::from([
            (PK.to_string(), s(format!("DELIVERY#{sk}"))),
            (SK.to_string(), s("DELIVERY")),
            (GSI4.partition_key.to_string(), s(p)),
            (GSI4.sort_key.to_string(), s(sk)),
        ])
    }

    /// The merge point of a cursor.
    fn point(c: &Cursor) -> Option<&str> {
        c.m.as_ref().map(|(sk, _)| sk.as_str())
    }

    #[test]
    fn a_merged_cursor_moves_past_what_every_shard_has_been_read_past() {
        let q = ListQuery::sharded("t", GSI4, "L".to_string(), true);
        let mut g = q.group(0, None).expect("the one group");
        assert_eq!(g.members.len(), 17);
        g.upto = Some(item("L#0", "1"));
        for m in &mut g.members {
            m.read = Read::End;
        }
        assert_eq!(point(&g.cursor(&q)), Some("1"), "nothing read further");
        // Shard 1 read up to 3 with nothing left; shard 2 holds 6 and was read up to 7.
        g.members[1].read = Read::More;
        g.members[1].start = Some(item("L#1", "3"));
        g.members[2].read = Read::More;
        g.members[2].start = Some(item("L#2", "7"));
        g.members[2].buf.push_back(item("L#2", "6"));
        assert_eq!(point(&g.cursor(&q)), Some("3"));
        assert_eq!(
            g.waiting(&q),
            [1],
            "6 may not be taken before shard 1 is read on"
        );
        g.members[1].start = Some(item("L#1", "8"));
        assert_eq!(point(&g.cursor(&q)), Some("1"), "6 is not taken yet");
        assert!(g.waiting(&q).is_empty());
        assert_eq!(g.take(&q), Some(item("L#2", "6")));
        assert_eq!(point(&g.cursor(&q)), Some("7"));
        g.members[3].read = Read::Unread;
        assert_eq!(
            point(&g.cursor(&q)),
            Some("6"),
            "an unread shard stays at the point"
        );
        let c = g.cursor(&q);
        assert_eq!((c.p.as_str(), c.k), ("L", None));
    }

    #[test]
    fn a_one_partition_cursor_is_the_last_key_read() {
        let q = ListQuery::partition("t", GSI4, "P".to_string(), true);
        let mut g = q.group(0, None).expect("the one group");
        g.upto = Some(item("P", "1"));
        g.members[0].read = Read::More;
        g.members[0].start = Some(item("P", "5"));
        let sk = |c: Cursor| c.k.and_then(|k| k.get(GSI4.sort_key).cloned());
        assert_eq!(sk(g.cursor(&q)).as_deref(), Some("5"));
        g.members[0].buf.push_back(item("P", "4"));
        assert_eq!(sk(g.cursor(&q)).as_deref(), Some("1"));
        assert_eq!(g.cursor(&q).m, None);
    }

    #[test]
    fn cursors_outside_their_list_are_invalid() {
        let encode = |p: &str, k: Option<Item>, m: Option<(&str, &str)>| {
            let mut c = match k {
                Some(k) => Cursor::after(p, &k, &GSI4_ATTRS),
                None => Cursor {
                    p: p.to_string(),
                    k: None,
                    m: None,
                },
            };
            c.m = m.map(|(a, b)| (a.to_string(), b.to_string()));
            c.encode()
        };
        let mut sharded = ListQuery::sharded("t", GSI4, "L".to_string(), false);
        sharded.range = Some(("2".to_string(), "8".to_string()));
        let one = ListQuery::partition("t", GSI4, "L".to_string(), false);
        let ok = |q: &ListQuery, text: String| q.resume(&text).is_ok();
        assert!(ok(&sharded, encode("L", None, Some(("5", "DELIVERY#5")))));
        assert!(ok(&sharded, encode("L", None, None)));
        assert!(!ok(&sharded, encode("M", None, Some(("5", "DELIVERY#5")))));
        assert!(!ok(&sharded, encode("L", None, Some(("9", "DELIVERY#9")))));
        assert!(!ok(&sharded, encode("L", None, Some(("5", "")))));
        assert!(!ok(&sharded, encode("L", Some(item("L", "5")), None)));
        assert!(ok(&one, encode("L", Some(item("L", "5")), None)));
        assert!(!ok(&one, encode("L", Some(item("L#3", "5")), None)));
        assert!(!ok(&one, encode("L", None, Some(("5", "DELIVERY#5")))));
    }

    /// The key attributes of a gsi4 item.
    const GSI4_ATTRS: [&str; 4] = [PK, SK, GSI4.partition_key, GSI4.sort_key];

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
