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
//!
//! This module describes a list; `merge` holds the walk of one group, `list` the reads.

use std::cmp::Ordering;
use std::collections::VecDeque;

use hookline_ports::PortError;
use time::Date;
use time::macros::format_description;

use super::cursor::Cursor;
use super::item::{Item, day, get_s, s};
use super::merge::{Group, Member, Read};
use super::schema::{BODY, GsiDefinition, PK, SK, STATUS};
use super::shard::list_partitions;

/// Largest page a list returns, whatever the caller asks (as the embedded store).
pub(crate) const MAX_LIMIT: usize = 1000;

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
    /// Only items whose body (JSON) has each of these top-level fields equal to one of the
    /// values (checked on the items read, as the status).
    pub fields: Vec<(&'static str, Vec<String>)>,
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
            fields: Vec::new(),
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
    pub(super) fn read_attrs(&self) -> &'static [&'static str] {
        match self.status {
            Some(_) => &[BODY, STATUS],
            None => &[BODY],
        }
    }

    /// Whether the list drops some of the items it reads (a status or body filter).
    pub(super) fn filtered(&self) -> bool {
        self.status.is_some() || !self.fields.is_empty()
    }

    /// Whether an item read from the table belongs in the list (the status and body filters).
    pub(super) fn accepts(&self, item: &Item) -> bool {
        let status = self
            .status
            .as_deref()
            .is_none_or(|status| get_s(item, STATUS) == Some(status));
        status && (self.fields.is_empty() || self.body_matches(item))
    }

    /// Whether the item's body holds every field filter's value.
    fn body_matches(&self, item: &Item) -> bool {
        let Some(body) =
            get_s(item, BODY).and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
        else {
            return false;
        };
        self.fields.iter().all(|(field, values)| {
            body.get(*field)
                .and_then(serde_json::Value::as_str)
                .is_some_and(|v| values.iter().any(|want| want == v))
        })
    }

    /// The partitions of a group: itself, or its shards.
    pub(super) fn members(&self, group: &str) -> Vec<String> {
        match self.sharded {
            true => list_partitions(group),
            false => vec![group.to_string()],
        }
    }

    /// The key attributes of an item in this index (what `ExclusiveStartKey` needs).
    pub(super) fn key_attrs(&self) -> [&'static str; 4] {
        [PK, SK, self.index.partition_key, self.index.sort_key]
    }

    /// The key of an item.
    pub(super) fn key_of(&self, item: &Item) -> Item {
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
    pub(super) fn walk(&self, a: &Item, b: &Item) -> Ordering {
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
    pub(super) fn resume(&self, text: &str) -> Result<(usize, Option<Item>), PortError> {
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
    pub(super) fn group(&self, at: usize, from: Option<Item>) -> Option<Group> {
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
    /// `prefix` + `YYYY-MM-DD` for every day from `first` to `last`, oldest first, or newest
    /// first (made as they are walked: a window may span many days).
    Days {
        /// E.g. `EVENTS#`.
        prefix: &'static str,
        /// First day.
        first: Date,
        /// Last day (inclusive).
        last: Date,
        /// Walked from `last` back to `first`.
        newest_first: bool,
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
                newest_first,
            } => {
                let step = time::Duration::days(i64::try_from(i).ok()?);
                let d = match newest_first {
                    true => last.checked_sub(step)?,
                    false => first.checked_add(step)?,
                };
                (*first <= d && d <= *last).then(|| format!("{prefix}{}", day(d)))
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
                newest_first,
            } => {
                let text = p.strip_prefix(prefix)?;
                let d = Date::parse(text, format_description!("[year]-[month]-[day]")).ok()?;
                if d < *first || d > *last || day(d) != text {
                    return None;
                }
                let days = match newest_first {
                    true => *last - d,
                    false => d - *first,
                };
                usize::try_from(days.whole_days()).ok()
            }
        }
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

    #[test]
    fn day_partitions_newest_first_walk_back_from_the_last_day() {
        let days = Partitions::Days {
            prefix: "EVENTS#",
            first: date!(2026 - 02 - 27),
            last: date!(2026 - 03 - 01),
            newest_first: true,
        };
        let all: Vec<String> = (0..10).map_while(|i| days.get(i)).collect();
        assert_eq!(
            all,
            [
                "EVENTS#2026-03-01",
                "EVENTS#2026-02-28",
                "EVENTS#2026-02-27"
            ]
        );
        for (i, p) in all.iter().enumerate() {
            assert_eq!(days.position(p), Some(i), "{p}");
        }
        assert_eq!(days.position("EVENTS#2026-03-02"), None);
    }

    /// The key attributes of a gsi4 item.
    const GSI4_ATTRS: [&str; 4] = [PK, SK, GSI4.partition_key, GSI4.sort_key];

    #[test]
    fn day_partitions_are_found_where_they_were_made() {
        let days = Partitions::Days {
            prefix: "EVENTS#",
            first: date!(2026 - 02 - 27),
            last: date!(2026 - 03 - 02),
            newest_first: false,
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
