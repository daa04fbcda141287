//! `GET /v1/events`: the events of a window, newest first — what the console's event log and
//! `hookline events list` show. A reader (`events:read`) sees the events of its states (a
//! client of every state, and an admin, all of them); a system event addressed to one client
//! is shown to that client only, as `GET /v1/events/{id}` does.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use hookline_domain::{Scope, StateCode, StatePattern, ValidationError};
use hookline_ports::EventListing;
use serde::Deserialize;
use time::Duration;
use utoipa::IntoParams;

use crate::api::events::readable;
use crate::api::extract::{PageParams, QueryParams};
use crate::api::filters::{Window, event_type_param};
use crate::api::responses::{BadRequest, Forbidden};
use crate::api::views::{EventView, ListView};
use crate::auth::Caller;
use crate::context::AppContext;
use crate::problem::{ApiError, ApiResult};

/// The widest window of the list, in days.
pub const MAX_WINDOW_DAYS: i64 = 31;

/// Filters of `GET /v1/events`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventListParams {
    /// Start of the window (RFC 3339; default 24 hours before `until`).
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<String>,
    /// End of the window (RFC 3339, exclusive; default now; at most 31 days after `since`).
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
    /// Only events of this type.
    #[serde(rename = "type")]
    #[param(pattern = r"^[A-Za-z0-9._\-]{0,100}$")]
    pub event_type: Option<String>,
    /// Only events of this state (one of the caller's).
    #[param(pattern = "^([A-Z0-9]{2,8})?$")]
    pub state: Option<String>,
    /// Opaque cursor from the previous page's `next_cursor`; empty is the first page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// The states a caller lists: `None` for every state (an admin, or a client of `*`).
fn states_of(caller: &Caller, asked: Option<StateCode>) -> ApiResult<Option<Vec<StateCode>>> {
    let every = caller.is_admin() || caller.client.states.contains(&StatePattern::Any);
    match asked {
        Some(code) if caller.allows_state(code.as_str()) => Ok(Some(vec![code])),
        Some(code) => Err(ValidationError::with_code(
            "forbidden",
            "state",
            format!("'{code}' is not one of this client's states"),
        )
        .into()),
        None if every => Ok(None),
        None => Ok(Some(
            caller
                .client
                .states
                .iter()
                .filter_map(|p| match p {
                    StatePattern::Code(code) => Some(code.clone()),
                    StatePattern::Any => None,
                })
                .collect(),
        )),
    }
}

/// Lists the events of a window, newest first.
#[utoipa::path(get, path = "/v1/events", operation_id = "list_events", tag = "events", params(EventListParams),
    responses((status = 200, description = "A page of events, newest first (without delivery counts). A page may hold fewer than `limit` events while `next_cursor` follows.", body = ListView<EventView>),
        (status = 400, response = BadRequest), (status = 403, response = Forbidden)),
    security(("bearer" = ["events:read"])))]
pub async fn list(
    State(ctx): State<Arc<AppContext>>,
    caller: Caller,
    QueryParams(q): QueryParams<EventListParams>,
) -> ApiResult<Json<ListView<EventView>>> {
    caller.require(Scope::EventsRead)?;
    let window = Window::of(
        q.since.as_deref(),
        q.until.as_deref(),
        ctx.clock.now(),
        Duration::days(1),
        Duration::days(MAX_WINDOW_DAYS),
    )?;
    let asked = match q.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(StateCode::parse(s).ok_or_else(|| {
            ApiError::from(ValidationError::invalid(
                "state",
                "a state code is 2-8 upper-case letters or digits (e.g. AP)",
            ))
        })?),
    };
    let listing = EventListing {
        states: states_of(&caller, asked)?,
        event_type: event_type_param("type", q.event_type.as_deref())?,
        since: window.since,
        until: window.until,
    };
    let page = PageParams {
        cursor: q.cursor,
        limit: q.limit,
    };
    let limit = page.limit()?;
    if listing.states.as_ref().is_some_and(Vec::is_empty) {
        return Ok(Json(ListView {
            data: Vec::new(),
            next_cursor: None,
        }));
    }
    let p = ctx
        .store
        .list_recent_events(&listing, page.cursor(), limit)
        .await?;
    let data = p
        .items
        .iter()
        .filter(|e| readable(&caller, e))
        .map(|e| EventView::of(e, None))
        .collect();
    Ok(Json(ListView {
        data,
        next_cursor: p.next_cursor,
    }))
}
