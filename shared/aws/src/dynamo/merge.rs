//! The group of partitions a list page is reading: the keys fetched from each, merged in walk
//! order, and the cursor after those taken (see `query` for how a list is walked).

use std::cmp::Ordering;
use std::collections::VecDeque;

use super::cursor::Cursor;
use super::item::{Item, get_s};
use super::query::ListQuery;
use super::schema::PK;

/// How far a partition has been queried on this page.
pub(super) enum Read {
    /// Not yet: what it holds next is unknown.
    Unread,
    /// Up to its `start` (the last `LastEvaluatedKey`); more may follow.
    More,
    /// To its end.
    End,
}

/// One partition of the group being read.
pub(super) struct Member {
    /// Its partition key value.
    pub(super) name: String,
    /// The exclusive start key of its next `Query`: the cursor's, then the last
    /// `LastEvaluatedKey`.
    pub(super) start: Option<Item>,
    /// Keys fetched and not yet taken, in walk order.
    pub(super) buf: VecDeque<Item>,
    /// How far it has been queried.
    pub(super) read: Read,
}

/// The group being read: its partitions, and how far the page has taken it.
pub(super) struct Group {
    /// The group's name (what a cursor names).
    pub(super) name: String,
    /// Its partitions (one, or the shards).
    pub(super) members: Vec<Member>,
    /// Sharded: the merge point every shard resumes after (index sort key and `pk`).
    pub(super) point: Option<Item>,
    /// The key of the last item taken, or where the cursor resumed.
    pub(super) upto: Option<Item>,
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
    pub(super) fn waiting(&self, q: &ListQuery) -> Vec<usize> {
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
    pub(super) fn take(&mut self, q: &ListQuery) -> Option<Item> {
        let (i, _) = self.head(q)?;
        let item = self.members[i].buf.pop_front()?;
        self.upto = Some(q.key_of(&item));
        Some(item)
    }

    /// The cursor after what has been taken so far.
    pub(super) fn cursor(&self, q: &ListQuery) -> Cursor {
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
