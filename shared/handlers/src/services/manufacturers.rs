//! Writing the manufacturer registry: what the API's `POST`/`PUT /v1/manufacturers…` and the
//! bulk import share. A write that changes a record publishes `ManufacturerCreated` or
//! `ManufacturerUpdated` through the normal ingest path (stored, queued, fanned out to every
//! subscription of the states concerned); a write that changes nothing publishes nothing.
//!
//! The rules for other states' records are the domain's (`manufacturer::plan_upsert`): a
//! writer speaks only for its own states; a record the writer's states use is replaced; a
//! record only other states use is joined (the writer's states added) when it names the same
//! business, and otherwise reported as a conflict and left as it is.
//!
//! Events: one per state concerned (the record's states, and on an update also those it
//! left, so that a portal learns it no longer uses the manufacturer), each under that state,
//! for the states this stack serves; the source is the writing client, whose own
//! subscriptions do not receive its writes back unless they include their own events.
//!
//! The record is written first, marked `unpublished`, then its events are published and the
//! mark cleared. A write that fails in between (the queue down, the process gone) leaves the
//! record written and marked: the next write of that manufacturer, even one that changes
//! nothing (the client's retry, a re-import), publishes its events then (under the same keys,
//! so no portal gets them twice). Only the notice to states that the lost write removed is
//! not sent again.

use hookline_domain::ValidationError;
use hookline_domain::event::NewEvent;
use hookline_domain::manufacturer::{
    CREATED_TYPE, UPDATED_TYPE, UpsertOutcome, UpsertPlan, ValidManufacturer, forbidden_states,
    plan_upsert,
};
use hookline_domain::{Client, Event, EventId, Manufacturer, StateCode, StatePattern};
use time::OffsetDateTime;

use std::ops::Deref;

use hookline_ports::QueueSender;

use crate::api::events::accept;
use crate::context::{AppContext, Core, WorkerContext};
use crate::problem::{ApiError, ApiResult};
use crate::recent::RecentEvents;

/// What writing the registry needs: the core, and where its events go. The API writes with its
/// context; the bulk import's worker (a fan-out worker) with its own.
pub struct RegistryWriter<'a> {
    core: &'a Core,
    queue: &'a dyn QueueSender,
    events: &'a RecentEvents,
}

impl<'a> From<&'a AppContext> for RegistryWriter<'a> {
    fn from(ctx: &'a AppContext) -> Self {
        RegistryWriter {
            core: &ctx.core,
            queue: ctx.queue.as_ref(),
            events: &ctx.events,
        }
    }
}

impl<'a> From<&'a WorkerContext> for RegistryWriter<'a> {
    fn from(ctx: &'a WorkerContext) -> Self {
        RegistryWriter {
            core: &ctx.core,
            queue: ctx.queue.as_ref(),
            events: &ctx.events,
        }
    }
}

impl Deref for RegistryWriter<'_> {
    type Target = Core;

    fn deref(&self) -> &Core {
        self.core
    }
}

/// Tries of a write that lost a race (another writer changed the record in between).
const TRIES: usize = 5;

/// Writes `details` by its licence number as `writer` may (see the module), publishing what
/// changed. `writer`'s scopes are those of its token (admin writes for every state). Errors:
/// 403 `forbidden` (a `states` entry the writer may not speak for, one field error each), 409
/// `conflict` (the record kept changing under the write), 503 (the backend).
pub async fn upsert_manufacturer(
    ctx: &AppContext,
    writer: &Client,
    details: ValidManufacturer,
) -> ApiResult<UpsertOutcome> {
    upsert_manufacturer_with(&RegistryWriter::from(ctx), writer, details).await
}

/// [`upsert_manufacturer`] from any context that writes the registry (the import's worker).
pub async fn upsert_manufacturer_with(
    ctx: &RegistryWriter<'_>,
    writer: &Client,
    details: ValidManufacturer,
) -> ApiResult<UpsertOutcome> {
    check_states(&details, writer)?;
    for _ in 0..TRIES {
        let stored = ctx.store.get_manufacturer(&details.fssai_licence).await?;
        let now = ctx.clock.now();
        match (
            plan_upsert(stored.as_ref(), details.clone(), writer),
            stored,
        ) {
            (UpsertPlan::Create(d), _) => {
                let m = Manufacturer::new(d, writer.id.clone(), now);
                if ctx.store.insert_manufacturer(&m).await? {
                    let m = publish(ctx, &m, &[], now).await?;
                    return Ok(UpsertOutcome::Created(m));
                }
            }
            (UpsertPlan::Update(d), Some(old)) => {
                let m = old.updated(d, writer.id.clone(), now);
                if ctx.store.update_manufacturer(&m, old.version).await? {
                    let m = publish(ctx, &m, &old.details.states, now).await?;
                    return Ok(UpsertOutcome::Updated(m));
                }
            }
            (UpsertPlan::Unchanged, Some(old)) if old.unpublished => {
                // Written, its events never confirmed published: publish them now.
                let m = publish(ctx, &old, &[], now).await?;
                return Ok(UpsertOutcome::Unchanged(m));
            }
            (UpsertPlan::Unchanged, Some(old)) => return Ok(UpsertOutcome::Unchanged(old)),
            (UpsertPlan::Conflict { fields }, Some(existing)) => {
                return Ok(UpsertOutcome::Conflict { existing, fields });
            }
            // A plan over a record implies the record; read again.
            (_, None) => {}
        }
    }
    Err(raced(&details))
}

/// Registers `details` as a new manufacturer (`POST`): `None` if the number is registered
/// already (nothing written). Errors as [`upsert_manufacturer`]'s.
pub async fn create_manufacturer(
    ctx: &AppContext,
    writer: &Client,
    details: ValidManufacturer,
) -> ApiResult<Option<Manufacturer>> {
    check_states(&details, writer)?;
    let now = ctx.clock.now();
    let m = Manufacturer::new(details, writer.id.clone(), now);
    if !ctx.store.insert_manufacturer(&m).await? {
        return Ok(None);
    }
    publish(&RegistryWriter::from(ctx), &m, &[], now)
        .await
        .map(Some)
}

/// 403 unless `writer` may speak for every state of `details`.
fn check_states(details: &ValidManufacturer, writer: &Client) -> ApiResult<()> {
    let errors = forbidden_states(details, writer);
    if errors.is_empty() {
        return Ok(());
    }
    Err(ValidationError {
        code: "forbidden",
        detail: "a client registers manufacturers only for the states it is allowed".into(),
        errors,
    }
    .into())
}

/// The 409 of a write that kept losing races.
fn raced(details: &ValidManufacturer) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::CONFLICT,
        "conflict",
        format!(
            "manufacturer {} kept changing while it was written; try again",
            details.fssai_licence
        ),
    )
}

/// Publishes the events of `m` (a record written with `unpublished` set), then writes it again
/// without the flag; returns it so. A failure to clear the flag only means that a later write
/// publishes the events again, which their keys make duplicates.
async fn publish(
    ctx: &RegistryWriter<'_>,
    m: &Manufacturer,
    left: &[StateCode],
    now: OffsetDateTime,
) -> ApiResult<Manufacturer> {
    let event_type = match m.version {
        1 => CREATED_TYPE,
        _ => UPDATED_TYPE,
    };
    let m = m.published();
    send_events(ctx, event_type, &m, left, now).await?;
    match ctx.store.update_manufacturer(&m, m.version).await {
        // False: written again since; that write publishes its own events.
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(error = %e, fssai = %m.details.fssai_licence, "manufacturer events published, the record not marked so");
        }
    }
    Ok(m)
}

/// Publishes `event_type` about `m` for each state of `m` and of `left` that the stack serves.
async fn send_events(
    ctx: &RegistryWriter<'_>,
    event_type: &str,
    m: &Manufacturer,
    left: &[StateCode],
    now: OffsetDateTime,
) -> ApiResult<()> {
    let mut states: Vec<&StateCode> = m.details.states.iter().chain(left).collect();
    states.sort();
    states.dedup();
    let data = serde_json::to_value(m).map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the manufacturer could not be written as JSON",
        )
    })?;
    let ms = now.unix_timestamp_nanos() / 1_000_000;
    let events: Vec<NewEvent> = states
        .into_iter()
        .filter(|s| ctx.config.serves(s))
        .map(|state| {
            // One key per (record version, state): a retry of this publication is a duplicate.
            let key = format!(
                "manufacturer:{}:v{}:{state}",
                m.details.fssai_licence, m.version
            );
            NewEvent {
                event: Event {
                    id: EventId::new(ms),
                    event_type: event_type.to_string(),
                    state: StatePattern::Code(state.clone()),
                    occurred_at: m.updated_at,
                    received_at: now,
                    source: m.updated_by.to_string(),
                    publisher_key: Some(key.clone()),
                    data: data.clone(),
                    recipient: None,
                },
                key: Some(key),
            }
        })
        .collect();
    if events.is_empty() {
        return Ok(());
    }
    accept(ctx.core, ctx.queue, ctx.events, events).await?;
    Ok(())
}
