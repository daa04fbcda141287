//! `GET /v1/deliveries/stats`: deliveries per hour by their current status (the console's
//! chart). Counted over the same listing as `GET /v1/deliveries` (its key, ownership and
//! filters), so both backends answer alike without a counter to keep; bounded by the window
//! (at most [`MAX_WINDOW_DAYS`] days, one bucket an hour) and by [`MAX_COUNTED`] deliveries
//! read, past which the answer says it is `truncated`.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use hookline_domain::{DeliveryStatus, SubscriptionId, time_fmt};
use hookline_ports::DeliveryFilter;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use utoipa::{IntoParams, ToSchema};

use crate::api::deliveries::visible_key;
use crate::api::extract::{QueryParams, id_param};
use crate::api::filters::{Window, event_type_param};
use crate::api::responses::{BadRequest, Forbidden, NotFound};
use crate::api::subscriptions::{READ, owned};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::problem::ApiResult;

/// Deliveries counted at most; the rest of the window is left out (`truncated`).
pub const MAX_COUNTED: usize = 10_000;
/// The widest window, in days.
pub const MAX_WINDOW_DAYS: i64 = 7;
/// Deliveries read per call to the store.
const READ_PAGE: usize = 1000;

/// Filters of `GET /v1/deliveries/stats`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// One subscription's deliveries (an id of another shape is a 400).
    #[param(pattern = "^sub_[0-9a-hjkmnp-tv-z]{26}$")]
    pub subscription_id: Option<String>,
    /// Only deliveries of events of this type.
    #[param(pattern = r"^[A-Za-z0-9._\-]{0,100}$")]
    pub event_type: Option<String>,
    /// Start of the window (RFC 3339; default 24 hours before `until`).
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    /// End of the window (RFC 3339; default now; at most 7 days after `since`).
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
}

/// The deliveries created in one hour, by their current status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct HourBucket {
    /// The hour's start (UTC, RFC 3339).
    pub hour: String,
    /// Not attempted yet.
    pub pending: u64,
    /// Failed at least once, another attempt scheduled.
    pub retrying: u64,
    /// Delivered.
    pub succeeded: u64,
    /// Given up (dead-lettered).
    pub failed: u64,
}

/// Deliveries per hour of a window.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    /// Every hour of the window, oldest first.
    pub buckets: Vec<HourBucket>,
    /// Whether counting stopped after 10,000 deliveries (the newest are counted first).
    pub truncated: bool,
}

/// The start of the hour `t` is in.
fn hour_of(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_time(time::Time::from_hms(t.hour(), 0, 0).unwrap_or(time::Time::MIDNIGHT))
}

/// Empty buckets for every hour `[since, until)` touches.
fn empty_buckets(w: &Window) -> (OffsetDateTime, Vec<HourBucket>) {
    let first = hour_of(w.since);
    let last = hour_of(w.until - Duration::nanoseconds(1));
    let hours = (last - first).whole_hours().max(0);
    let buckets = (0..=hours)
        .map(|h| HourBucket {
            hour: time_fmt::format(first + Duration::hours(h)),
            ..HourBucket::default()
        })
        .collect();
    (first, buckets)
}

/// Counts deliveries per hour of creation and current status.
#[utoipa::path(get, path = "/v1/deliveries/stats", operation_id = "delivery_stats", tag = "deliveries", params(StatsParams),
    responses((status = 200, description = "Deliveries per hour of the window, by current status.", body = StatsView),
        (status = 400, response = BadRequest),
        (status = 403, response = Forbidden), (status = 404, response = NotFound)),
    security(("bearer" = ["subscriptions:read"])))]
pub async fn stats(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    QueryParams(q): QueryParams<StatsParams>,
) -> ApiResult<Json<StatsView>> {
    caller.require_any(&READ)?;
    let window = Window::of(
        q.since.as_deref(),
        q.until.as_deref(),
        ctx.clock.now(),
        Duration::days(1),
        Duration::days(MAX_WINDOW_DAYS),
    )?;
    let filter = DeliveryFilter {
        event_type: event_type_param("event_type", q.event_type.as_deref())?,
        since: Some(window.since),
        until: Some(window.until),
        ..DeliveryFilter::default()
    };
    let sub = q
        .subscription_id
        .as_deref()
        .map(|id| id_param::<SubscriptionId>("subscription_id", id))
        .transpose()?;
    if let Some(sub) = &sub {
        owned(&ctx, &caller, sub).await?;
    }
    let key = visible_key(&caller, sub);
    let (first, mut buckets) = empty_buckets(&window);
    let mut counted = 0usize;
    let mut cursor: Option<String> = None;
    let mut truncated = false;
    loop {
        let page = ctx
            .store
            .list_deliveries(&key, &filter, cursor.as_deref(), READ_PAGE)
            .await?;
        for d in page.items.iter().filter(|d| caller.owns(&d.client_id)) {
            if counted == MAX_COUNTED {
                truncated = true;
                break;
            }
            counted += 1;
            let at = usize::try_from((hour_of(d.created_at) - first).whole_hours()).ok();
            if let Some(b) = at.and_then(|i| buckets.get_mut(i)) {
                match d.status {
                    DeliveryStatus::Pending => b.pending += 1,
                    DeliveryStatus::Retrying => b.retrying += 1,
                    DeliveryStatus::Succeeded => b.succeeded += 1,
                    DeliveryStatus::Failed => b.failed += 1,
                }
            }
        }
        match page.next_cursor {
            Some(_) if counted == MAX_COUNTED => {
                truncated = true;
                break;
            }
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(Json(StatsView { buckets, truncated }))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn every_hour_the_window_touches_has_a_bucket() {
        let w = Window {
            since: datetime!(2026-12-07 10:30 UTC),
            until: datetime!(2026-12-07 12:15 UTC),
        };
        let (first, buckets) = empty_buckets(&w);
        assert_eq!(first, datetime!(2026-12-07 10:00 UTC));
        let hours: Vec<&str> = buckets.iter().map(|b| b.hour.as_str()).collect();
        assert_eq!(
            hours,
            [
                "2026-12-07T10:00:00Z",
                "2026-12-07T11:00:00Z",
                "2026-12-07T12:00:00Z"
            ]
        );
        let whole = Window {
            since: datetime!(2026-12-07 10:00 UTC),
            until: datetime!(2026-12-07 11:00 UTC),
        };
        assert_eq!(empty_buckets(&whole).1.len(), 1, "until is exclusive");
    }
}
