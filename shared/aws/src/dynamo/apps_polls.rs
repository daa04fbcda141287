//! The polling triggers' schedule on the table: a connection's polls share the partition
//! `POLL#connection` (sort key `TRIGGER#trigger`; `version` the condition of `update_poll`),
//! so that `delete_polls` is one strongly consistent query of it, and each is listed in gsi1
//! `POLLS` by `next_run#connection#trigger` (`item::sort_time`), the order `due_polls` wants.
//!
//! `due_polls` queries `POLLS` from its oldest entry up to `now` and reads the items (the
//! index holds keys only), leaving out those whose lease has not ended: a page reads at most
//! `limit` due polls plus the leased ones before them. The bound of one list: an index
//! partition takes about 1,000 write units a second, and a poll whose next run moves writes
//! two entries (the old key deleted, the new one put), so the partition carries some 500 runs
//! a second — 30,000 polls a minute at the shortest interval. The index is eventually
//! consistent, as every GSI: a poll just rescheduled may be listed at its old time, which the
//! claim (`update_poll` over the version read) settles.

use async_trait::async_trait;
use hookline_domain::ConnectionId;
use hookline_domain::apps::PollState;
use hookline_ports::{PollStore, PortError};
use time::OffsetDateTime;

use super::DynamoStore;
use super::item::{Item, body, from_body, n, s, sort_time};
use super::ops::Must;
use super::partition::SortKeys;
use super::query::{ListQuery, MAX_LIMIT};
use super::schema::{BODY, GSI1, PK, SK, VERSION};

/// The index partition of every poll.
const POLLS: &str = "POLLS";

fn poll_pk(connection: &str) -> String {
    format!("POLL#{connection}")
}

fn trigger_sk(trigger: &str) -> String {
    format!("TRIGGER#{trigger}")
}

fn poll_item(op: &str, p: &PollState) -> Result<Item, PortError> {
    let due = format!(
        "{}#{}#{}",
        sort_time(p.next_run_at),
        p.connection_id,
        p.trigger
    );
    Ok(Item::from([
        (PK.to_string(), s(poll_pk(&p.connection_id))),
        (SK.to_string(), s(trigger_sk(&p.trigger))),
        (GSI1.partition_key.to_string(), s(POLLS)),
        (GSI1.sort_key.to_string(), s(due)),
        (VERSION.to_string(), n(p.version)),
        (BODY.to_string(), body(op, p)?),
    ]))
}

#[async_trait]
impl PollStore for DynamoStore {
    async fn put_poll(&self, p: &PollState) -> Result<(), PortError> {
        const OP: &str = "put_poll";
        self.put_item(OP, poll_item(OP, p)?, Must::Anything)
            .await
            .map(|_| ())
    }

    async fn get_poll(
        &self,
        connection: &ConnectionId,
        trigger: &str,
    ) -> Result<Option<PollState>, PortError> {
        const OP: &str = "get_poll";
        let item = self
            .get_item(OP, poll_pk(connection), &trigger_sk(trigger))
            .await?;
        item.map(|i| from_body(OP, &i)).transpose()
    }

    async fn update_poll(&self, p: &PollState) -> Result<bool, PortError> {
        const OP: &str = "update_poll";
        let mut next = p.clone();
        next.version = p.version.saturating_add(1);
        self.put_over_version(OP, poll_item(OP, &next)?, p.version, None)
            .await
    }

    async fn delete_polls(&self, connection: &ConnectionId) -> Result<(), PortError> {
        self.delete_partition(
            "delete_polls",
            &poll_pk(connection),
            &SortKeys::Prefix(trigger_sk("")),
        )
        .await
    }

    async fn due_polls(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<PollState>, PortError> {
        const OP: &str = "due_polls";
        let mut q = ListQuery::partition(OP, GSI1, POLLS.to_string(), true);
        // Every key at or before `now` (`~` sorts after every id character).
        q.range = Some(("0".to_string(), format!("{}#~", sort_time(now))));
        let mut due = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .list_page::<PollState>(&q, cursor.as_deref(), limit.min(MAX_LIMIT))
                .await?;
            let free = |p: &PollState| p.lease_until.is_none_or(|l| l <= now);
            due.extend(page.items.into_iter().filter(free));
            match page.next_cursor {
                Some(c) if due.len() < limit => cursor = Some(c),
                _ => break,
            }
        }
        due.truncate(limit);
        Ok(due)
    }
}
