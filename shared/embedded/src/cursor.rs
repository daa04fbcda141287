//! Page cursors: the last sort key of a page, opaque to callers.
//!
//! A cursor is `kind|field|…|id` in URL-safe base64. The kind tag makes a cursor of one list
//! fail on another, and anything that does not decode is `PortError::InvalidCursor`. The id
//! is always the last field, so an id containing `|` still round-trips.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hookline_ports::PortError;

/// Which list a cursor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `list_clients`: last id.
    Clients,
    /// `list_subscriptions`: last id.
    Subscriptions,
    /// `list_events`: last (received_at_ns, id).
    Events,
    /// `list_deliveries`: last (created_at_ns, id).
    Deliveries,
    /// `list_manufacturers`: last sort key (name key, `\u{1}`, licence number).
    Manufacturers,
    /// `list_app_versions`: last (key, version).
    AppVersions,
    /// `list_connections`: last id.
    Connections,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Clients => "cl",
            Kind::Subscriptions => "sub",
            Kind::Events => "evt",
            Kind::Deliveries => "dlv",
            Kind::Manufacturers => "mfr",
            Kind::AppVersions => "app",
            Kind::Connections => "con",
        }
    }
}

/// Largest page a list returns, whatever the caller asks.
pub(crate) const MAX_LIMIT: usize = 1000;

/// The page size to use for a requested `limit`: at least 1, at most `MAX_LIMIT`.
pub(crate) fn page_size(limit: usize) -> usize {
    limit.clamp(1, MAX_LIMIT)
}

/// A cursor after the item with this id (lists sorted by id).
pub(crate) fn encode_id(kind: Kind, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{id}", kind.tag()))
}

/// A cursor after the item with this (time, id) sort key.
pub(crate) fn encode_timed(kind: Kind, ns: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{ns}|{id}", kind.tag()))
}

/// The id of an `encode_id` cursor.
pub(crate) fn decode_id(kind: Kind, cursor: &str) -> Result<String, PortError> {
    let text = decode(kind, cursor)?;
    if text.is_empty() {
        return Err(PortError::InvalidCursor);
    }
    Ok(text)
}

/// The (time, id) of an `encode_timed` cursor.
pub(crate) fn decode_timed(kind: Kind, cursor: &str) -> Result<(i64, String), PortError> {
    let text = decode(kind, cursor)?;
    let (ns, id) = text.split_once('|').ok_or(PortError::InvalidCursor)?;
    let ns: i64 = ns.parse().map_err(|_| PortError::InvalidCursor)?;
    if id.is_empty() {
        return Err(PortError::InvalidCursor);
    }
    Ok((ns, id.to_string()))
}

/// The text after the kind tag.
fn decode(kind: Kind, cursor: &str) -> Result<String, PortError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| PortError::InvalidCursor)?;
    let text = String::from_utf8(bytes).map_err(|_| PortError::InvalidCursor)?;
    let (tag, rest) = text.split_once('|').ok_or(PortError::InvalidCursor)?;
    if tag != kind.tag() {
        return Err(PortError::InvalidCursor);
    }
    Ok(rest.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let c = encode_id(Kind::Clients, "cl_a|b");
        assert_eq!(decode_id(Kind::Clients, &c).ok().as_deref(), Some("cl_a|b"));
        let c = encode_timed(Kind::Deliveries, -5, "dlv_1");
        assert_eq!(
            decode_timed(Kind::Deliveries, &c).ok(),
            Some((-5, "dlv_1".to_string()))
        );
    }

    #[test]
    fn foreign_or_garbled_cursors_are_invalid() {
        let c = encode_id(Kind::Clients, "cl_1");
        assert!(matches!(
            decode_id(Kind::Subscriptions, &c),
            Err(PortError::InvalidCursor)
        ));
        assert!(matches!(
            decode_timed(Kind::Events, "!!"),
            Err(PortError::InvalidCursor)
        ));
        let c = encode_id(Kind::Events, "x");
        assert!(matches!(
            decode_timed(Kind::Events, &c),
            Err(PortError::InvalidCursor)
        ));
        assert!(matches!(
            decode_id(Kind::Clients, ""),
            Err(PortError::InvalidCursor)
        ));
    }

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(page_size(0), 1);
        assert_eq!(page_size(25), 25);
        assert_eq!(page_size(usize::MAX), MAX_LIMIT);
    }
}
