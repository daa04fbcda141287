//! What `GET /v1/subscriptions/{id}/messages` shows of a stored pull message: the request a
//! push receiver would get, rendered and signed now by the deliver path's own `render` and
//! `sign` (so that its timestamp is fresh whenever it is fetched).

use std::collections::BTreeMap;

use hookline_domain::time_fmt::format;
use hookline_domain::{PullCursor, PullMessage, Subscription};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::delivery::request::{RequestError, render, sign};
use crate::recent::KnownEvent;

/// One message of a pull subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct PullMessageView {
    /// This message's cursor: fetch `after` it, or acknowledge it.
    pub cursor: String,
    /// The delivery it belongs to (`dlv_…`).
    pub delivery_id: String,
    /// The event (`evt_…`).
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// When it was stored.
    pub stored_at: String,
    /// The headers a push receiver would get (lower-case names): `content-type`, `user-agent`,
    /// the Standard Webhooks `webhook-id`, `webhook-timestamp` (the fetch time) and
    /// `webhook-signature`, the `hookline-*` headers and the subscription's own.
    pub headers: BTreeMap<String, String>,
    /// The body a push receiver would get, exactly (the signed bytes).
    pub body: String,
}

impl PullMessageView {
    /// The message's request, as it would be sent to a push receiver at `now`.
    pub fn render(
        message: &PullMessage,
        sub: &Subscription,
        event: &KnownEvent,
        now: OffsetDateTime,
        user_agent: &str,
    ) -> Result<PullMessageView, RequestError> {
        let mut request = render(sub, event, message.attempt, now, user_agent)?;
        sign(&mut request, sub, &event.id, now)?;
        let mut headers: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in &request.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            headers
                .entry(name.as_str().to_string())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&value);
                })
                .or_insert(value);
        }
        Ok(PullMessageView {
            cursor: PullCursor::new(&sub.id, message.position).encode(),
            delivery_id: message.delivery_id.to_string(),
            event_id: message.event_id.to_string(),
            event_type: message.event_type.clone(),
            stored_at: format(message.stored_at),
            headers,
            body: String::from_utf8_lossy(&request.body).into_owned(),
        })
    }
}

/// A fetch of pull messages.
#[derive(Debug, Serialize, ToSchema)]
pub struct PullPageView {
    /// The messages, oldest first.
    pub data: Vec<PullMessageView>,
    /// Where the next fetch goes on from: the last message's cursor, or (none returned) the
    /// position the fetch started from.
    pub next_cursor: String,
    /// The acknowledged cursor (`null`: nothing acknowledged yet).
    pub acked_cursor: Option<String>,
}

/// Body of `POST /v1/subscriptions/{id}/messages/ack`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckInput {
    /// The cursor of the last message processed.
    #[schema(max_length = 200)]
    pub cursor: String,
}

/// The acknowledged cursor.
#[derive(Debug, Serialize, ToSchema)]
pub struct AckView {
    /// Where a fetch without `after` starts from now.
    pub acked_cursor: String,
}
