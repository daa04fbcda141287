//! `GET /v1/deliveries?event_id=`: one event's deliveries as the caller may see them.
//!
//! An event's deliveries sit in one list of the store, every client's together, and the
//! store's cursor names the last delivery it read, which may be another client's. So these
//! pages are made here: the event's list is read from its start, the deliveries the caller
//! may not see are passed over, and reading goes on until the page is full or the list ends.
//! The cursor is the number of visible deliveries already shown (`own|<n>`, base64): it names
//! no delivery, and says nothing of anyone else's. An event has at most one delivery per
//! subscription it matched (a replay reuses them), so reading from the start stays small.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hookline_domain::{Delivery, EventId};
use hookline_ports::{DeliveryFilter, DeliveryKey, Page, PortError, Store};

use crate::problem::ApiResult;

/// How many deliveries one read of the store asks for.
const CHUNK: usize = 100;

/// The tag of these cursors: a cursor of another list is refused.
const TAG: &str = "own|";

fn encode(shown: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TAG}{shown}"))
}

fn decode(cursor: &str) -> Result<usize, PortError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| t.strip_prefix(TAG).and_then(|n| n.parse().ok()))
        .ok_or(PortError::InvalidCursor)
}

/// One page of `event_id`'s deliveries (narrowed by `filter`) that `visible` admits, newest
/// first, `limit` at most; a next cursor only when another visible delivery follows.
pub async fn page(
    store: &dyn Store,
    event_id: &EventId,
    filter: &DeliveryFilter,
    cursor: Option<&str>,
    limit: usize,
    visible: impl Fn(&Delivery) -> bool,
) -> ApiResult<Page<Delivery>> {
    let skip = cursor.map(decode).transpose()?.unwrap_or(0);
    let key = DeliveryKey::Event(event_id.clone());
    let mut seen = 0usize;
    let mut items = Vec::new();
    let mut from: Option<String> = None;
    loop {
        let read = store
            .list_deliveries(&key, filter, from.as_deref(), CHUNK)
            .await?;
        for d in read.items.into_iter().filter(|d| visible(d)) {
            seen += 1;
            if seen <= skip {
                continue;
            }
            if items.len() == limit {
                return Ok(Page {
                    items,
                    next_cursor: Some(encode(skip + limit)),
                });
            }
            items.push(d);
        }
        match read.next_cursor {
            Some(next) => from = Some(next),
            None => {
                return Ok(Page {
                    items,
                    next_cursor: None,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_name_a_count_and_nothing_else() {
        let c = encode(150);
        assert_eq!(decode(&c).ok(), Some(150));
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(&c).expect("base64")).expect("text");
        assert_eq!(text, "own|150");
        for foreign in [
            "",
            "!!",
            &URL_SAFE_NO_PAD.encode("dlv|5|dlv_1"),
            &URL_SAFE_NO_PAD.encode("own|x"),
        ] {
            assert!(
                matches!(decode(foreign), Err(PortError::InvalidCursor)),
                "{foreign}"
            );
        }
    }
}
