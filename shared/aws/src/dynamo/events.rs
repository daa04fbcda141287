//! Events (`EVENT#id`; listed by state in `STATE#code#EVENTS` and by day in the sharded lists
//! `EVENTS#YYYY-MM-DD#0` … `#15` (`shard`), both sorted by `received_at#id`) and idempotency
//! claims (`IDEM#source#key` → `event_id`), written in one transaction with the event.

use aws_sdk_dynamodb::types::AttributeValue;
use hookline_domain::{Event, EventId};
use hookline_ports::{EventInsert, EventListing, PortError};
use time::OffsetDateTime;

use super::DynamoStore;
use super::item::{Item, body, day, expires_at, get_s, s, sort_time, timed};
use super::ops::{Must, Transaction};
use super::query::{ListQuery, Partitions};
use super::schema::{BODY, ENQUEUED, EVENT_ID, EXPIRES_AT, GSI1, GSI2, PK, SK};
use super::shard::shard_partition;

/// Sort key of an event item.
pub(crate) const EVENT_SK: &str = "EVENT";
/// Sort key of an idempotency claim.
const CLAIM_SK: &str = "IDEM";

/// Partition key of an event.
pub(crate) fn event_pk(id: &str) -> String {
    format!("EVENT#{id}")
}

/// Partition key of the claim of `key` by `source` (a client id, which holds no `#`).
fn claim_pk(source: &str, key: &str) -> String {
    format!("IDEM#{source}#{key}")
}

/// The events of one state, by receipt time.
fn state_partition(state: &str) -> String {
    format!("STATE#{state}#EVENTS")
}

/// The events of every state received on one day (UTC): a sharded list, an event being in
/// `EVENTS#YYYY-MM-DD#n`, `n` the shard of its id.
fn day_list(d: time::Date) -> String {
    format!("{DAY_PREFIX}{}", day(d))
}

/// Prefix of the day partitions.
const DAY_PREFIX: &str = "EVENTS#";

/// The UTC day of a time (its own day at the very ends of the calendar, where UTC is out of
/// range).
fn utc_day(t: OffsetDateTime) -> time::Date {
    t.checked_to_offset(time::UtcOffset::UTC)
        .unwrap_or(t)
        .date()
}

impl DynamoStore {
    /// The item of an event, not yet enqueued.
    fn event_item(&self, op: &str, e: &Event) -> Result<Item, PortError> {
        let sort = timed(e.received_at, &e.id);
        Ok(Item::from([
            (PK.to_string(), s(event_pk(&e.id))),
            (SK.to_string(), s(EVENT_SK)),
            (GSI1.partition_key.to_string(), s(state_partition(&e.state))),
            (GSI1.sort_key.to_string(), s(sort.clone())),
            (
                GSI2.partition_key.to_string(),
                s(shard_partition(&day_list(utc_day(e.received_at)), &e.id)),
            ),
            (GSI2.sort_key.to_string(), s(sort)),
            (ENQUEUED.to_string(), AttributeValue::Bool(false)),
            (
                EXPIRES_AT.to_string(),
                expires_at(e.received_at, self.retention),
            ),
            (BODY.to_string(), body(op, e)?),
        ]))
    }

    /// `insert_event`: the claim (if a key is given) and the event, atomically.
    pub(crate) async fn insert_event_items(
        &self,
        e: &Event,
        idempotency_key: Option<&str>,
    ) -> Result<EventInsert, PortError> {
        const OP: &str = "insert_event";
        let event = self.event_item(OP, e)?;
        let Some(key) = idempotency_key else {
            return match self.put_item(OP, event, Must::BeAbsent).await? {
                true => Ok(EventInsert::Created),
                false => Err(PortError::Conflict("event id already exists".to_string())),
            };
        };
        let claim = Item::from([
            (PK.to_string(), s(claim_pk(&e.source, key))),
            (SK.to_string(), s(CLAIM_SK)),
            (EVENT_ID.to_string(), s(e.id.clone())),
            (
                EXPIRES_AT.to_string(),
                expires_at(e.received_at, self.retention),
            ),
        ]);
        let items = vec![
            self.tx_put(OP, claim, Must::BeAbsent)?,
            self.tx_put(OP, event, Must::BeAbsent)?,
        ];
        let outcome = self.transact(OP, items).await?;
        if let Transaction::Done = outcome {
            return Ok(EventInsert::Created);
        }
        if outcome.condition_failed(0) {
            return self.existing_claim(&e.source, key).await;
        }
        if outcome.condition_failed(1) {
            return Err(PortError::Conflict("event id already exists".to_string()));
        }
        Err(PortError::backend(
            "dynamodb insert_event: transaction cancelled".to_string(),
        ))
    }

    /// The original event of a claim that exists.
    async fn existing_claim(&self, source: &str, key: &str) -> Result<EventInsert, PortError> {
        const OP: &str = "insert_event";
        let claim = self.get_item(OP, claim_pk(source, key), CLAIM_SK).await?;
        let event_id = claim
            .as_ref()
            .and_then(|c| get_s(c, EVENT_ID))
            .map(str::to_string)
            // The claim expired between the failed write and this read: a retry will succeed.
            .ok_or_else(|| PortError::Conflict("idempotency claim changed".to_string()))?;
        let event = self.get_item(OP, event_pk(&event_id), EVENT_SK).await?;
        let enqueued = event
            .as_ref()
            .and_then(|i| i.get(ENQUEUED))
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false);
        Ok(EventInsert::Existing {
            event_id: EventId::from_stored(event_id),
            enqueued,
        })
    }

    /// `mark_event_enqueued`: sets the flag on an existing event.
    pub(crate) async fn set_enqueued(&self, event_id: &str) -> Result<(), PortError> {
        const OP: &str = "mark_event_enqueued";
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(super::item::key(event_pk(event_id), EVENT_SK)))
            .update_expression("SET #enqueued = :true")
            .condition_expression("attribute_exists(#pk)")
            .set_expression_attribute_names(Some(super::item::names(&[PK, ENQUEUED])))
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Err(PortError::NotFound)
            }
            Err(e) => Err(super::error::backend(OP, e)),
        }
    }
}

/// `list_events`: one state's partition, or the days from `since` to `until` oldest first
/// (each day's shards merged), by the sort-key range `[since, until)`. `None` for an empty
/// window.
pub(crate) fn events_list(
    state: Option<&str>,
    since: OffsetDateTime,
    until: OffsetDateTime,
) -> Option<ListQuery> {
    window_list("list_events", state, since, until, true)
}

/// `list_recent_events`: as `list_events`, newest first (the days newest first); several
/// states walk the days and keep those states' events, and a type is kept the same way.
pub(crate) fn recent_events_list(listing: &EventListing) -> Option<ListQuery> {
    let one_state = match listing.states.as_deref() {
        Some([state]) => Some(state.as_str()),
        _ => None,
    };
    let mut q = window_list(
        "list_recent_events",
        one_state,
        listing.since,
        listing.until,
        false,
    )?;
    if let Some(states) = listing.states.as_ref().filter(|s| s.len() != 1) {
        q.fields
            .push(("state", states.iter().map(|s| s.to_string()).collect()));
    }
    if let Some(event_type) = &listing.event_type {
        q.fields.push(("type", vec![event_type.clone()]));
    }
    Some(q)
}

/// The events received in `[since, until)`, of one state or all, oldest or newest first.
fn window_list(
    op: &'static str,
    state: Option<&str>,
    since: OffsetDateTime,
    until: OffsetDateTime,
    forward: bool,
) -> Option<ListQuery> {
    if since >= until {
        return None;
    }
    // `time#id` entries in [since, until) lie between the bare times: `since` < `since#…`,
    // and `until` < `until#…`, so BETWEEN excludes entries at `until`.
    let range = Some((sort_time(since), sort_time(until)));
    let (index, partitions, sharded) = match state {
        Some(state) => (GSI1, Partitions::One(state_partition(state)), false),
        None => {
            let days = Partitions::Days {
                prefix: DAY_PREFIX,
                first: utc_day(since),
                last: utc_day(
                    until
                        .checked_sub(time::Duration::nanoseconds(1))
                        .unwrap_or(until),
                ),
                newest_first: !forward,
            };
            (GSI2, days, true)
        }
    };
    Some(ListQuery {
        op,
        index,
        partitions,
        sharded,
        range,
        forward,
        status: None,
        fields: Vec::new(),
    })
}
