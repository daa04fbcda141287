//! One type per kind of id, so that a subscription id cannot be passed where a client id is
//! expected, and text from a request becomes an id only through `parse`, which checks its
//! exact shape.
//!
//! ```compile_fail,E0308
//! use hookline_domain::ids::{ClientId, SubscriptionId};
//! fn owner(_: &ClientId) {}
//! let sub = SubscriptionId::new(0);
//! owner(&sub); // a subscription id is not a client id
//! ```
//!
//! Deserialising trusts its source (records and messages Hookline wrote itself), as does
//! `from_stored`; a request's text goes through `parse`.

use super::{CROCKFORD, new_id, pair_digest, push_hex};

/// Characters of the time-ordered part of a generated id.
const TIME_ORDERED_LEN: usize = 26;
/// Hex characters a fan-out delivery id adds to its event's time-ordered part.
const PAIR_HEX_LEN: usize = 24;

fn is_time_ordered(body: &str) -> bool {
    body.len() == TIME_ORDERED_LEN && body.bytes().all(|b| CROCKFORD.contains(&b))
}

/// An id a request can name, parsed by its exact shape: what the HTTP edge turns a path
/// segment or a filter into before any backend sees it.
pub trait RequestId: Sized {
    /// What the id is called in a message (`a subscription id`).
    const NAME: &'static str;
    /// What the id names (`subscription`): a 404 says that no such thing was found.
    const RESOURCE: &'static str;
    /// Its shape, in words.
    const SHAPE: &'static str;
    /// Its shape, as the regular expression an API document declares.
    const PATTERN: &'static str;
    /// Parses text a request carries; `None` if it cannot be such an id.
    fn parse_request(text: &str) -> Option<Self>;
}

macro_rules! typed_id {
    (
        $(#[$doc:meta])* $name:ident, $prefix:expr,
        name: $what:expr, resource: $resource:expr, shape: $shape:expr, pattern: $pattern:expr
    ) => {
        crate::text::text_newtype!($(#[$doc])* $name);

        impl RequestId for $name {
            const NAME: &'static str = $what;
            const RESOURCE: &'static str = $resource;
            const SHAPE: &'static str = $shape;
            const PATTERN: &'static str = $pattern;
            fn parse_request(text: &str) -> Option<Self> {
                Self::parse(text)
            }
        }

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// A new time-ordered id, for a creation time in Unix milliseconds.
            pub fn new(unix_ms: i128) -> Self {
                Self(new_id(Self::PREFIX, unix_ms))
            }
        }
    };
}

typed_id!(
    /// A client's id: `cl_` and 26 time-ordered characters, or the id a bootstrap admin was
    /// configured with (any id [`super::is_plausible_id`] admits).
    ClientId,
    "cl_",
    name: "a client id",
    resource: "client",
    shape: "`cl_` and 26 lower-case Crockford base32 characters, or the id a bootstrap admin was configured with (1-128 letters, digits, `_`, `-` or `.`)",
    pattern: r"^[A-Za-z0-9_.\-]{1,128}$"
);
typed_id!(
    /// A subscription's id: `sub_` and 26 time-ordered characters.
    SubscriptionId,
    "sub_",
    name: "a subscription id",
    resource: "subscription",
    shape: "`sub_` and 26 lower-case Crockford base32 characters",
    pattern: "^sub_[0-9a-hjkmnp-tv-z]{26}$"
);
typed_id!(
    /// An event's id: `evt_` and 26 time-ordered characters.
    EventId,
    "evt_",
    name: "an event id",
    resource: "event",
    shape: "`evt_` and 26 lower-case Crockford base32 characters",
    pattern: "^evt_[0-9a-hjkmnp-tv-z]{26}$"
);
typed_id!(
    /// A delivery's id: `dlv_`, its event's 26 time-ordered characters and 24 hex digits of
    /// (event, subscription) for a fan-out delivery; `dlv_` and 26 time-ordered characters of
    /// its own for a manual one (a test ping, a replay).
    DeliveryId,
    "dlv_",
    name: "a delivery id",
    resource: "delivery",
    shape: "`dlv_`, 26 lower-case Crockford base32 characters and, for a fan-out delivery, 24 lower-case hex digits",
    pattern: "^dlv_[0-9a-hjkmnp-tv-z]{26}([0-9a-f]{24})?$"
);

typed_id!(
    /// A bulk import's id: `imp_` and 26 time-ordered characters.
    ImportId,
    "imp_",
    name: "an import id",
    resource: "import",
    shape: "`imp_` and 26 lower-case Crockford base32 characters",
    pattern: "^imp_[0-9a-hjkmnp-tv-z]{26}$"
);

impl ImportId {
    /// Parses an import id a request names: `imp_` and 26 time-ordered characters.
    pub fn parse(text: &str) -> Option<Self> {
        let body = text.strip_prefix(Self::PREFIX)?;
        is_time_ordered(body).then(|| Self(text.to_owned()))
    }
}

typed_id!(
    /// A sync request's id: `sync_` and 26 time-ordered characters.
    SyncRequestId,
    "sync_",
    name: "a sync request id",
    resource: "sync request",
    shape: "`sync_` and 26 lower-case Crockford base32 characters",
    pattern: "^sync_[0-9a-hjkmnp-tv-z]{26}$"
);

impl SyncRequestId {
    /// Parses a sync request id a request names: `sync_` and 26 time-ordered characters.
    pub fn parse(text: &str) -> Option<Self> {
        let body = text.strip_prefix(Self::PREFIX)?;
        is_time_ordered(body).then(|| Self(text.to_owned()))
    }
}

typed_id!(
    /// A connection's id (a client's credentials and properties for one app version):
    /// `con_` and 26 time-ordered characters.
    ConnectionId,
    "con_",
    name: "a connection id",
    resource: "connection",
    shape: "`con_` and 26 lower-case Crockford base32 characters",
    pattern: "^con_[0-9a-hjkmnp-tv-z]{26}$"
);

impl ConnectionId {
    /// Parses a connection id a request names: `con_` and 26 time-ordered characters.
    pub fn parse(text: &str) -> Option<Self> {
        let body = text.strip_prefix(Self::PREFIX)?;
        is_time_ordered(body).then(|| Self(text.to_owned()))
    }
}

impl ClientId {
    /// Parses a client id a request names. A bootstrap admin may be configured with an id of
    /// its own choosing, so any plausible id is a client id.
    pub fn parse(text: &str) -> Option<Self> {
        super::is_plausible_id(text).then(|| Self(text.to_owned()))
    }
}

impl SubscriptionId {
    /// Parses a subscription id a request names: `sub_` and 26 time-ordered characters.
    pub fn parse(text: &str) -> Option<Self> {
        let body = text.strip_prefix(Self::PREFIX)?;
        is_time_ordered(body).then(|| Self(text.to_owned()))
    }
}

impl EventId {
    /// Parses an event id a request names: `evt_` and 26 time-ordered characters.
    pub fn parse(text: &str) -> Option<Self> {
        let body = text.strip_prefix(Self::PREFIX)?;
        is_time_ordered(body).then(|| Self(text.to_owned()))
    }

    /// The 26 time-ordered characters after the prefix.
    fn time_ordered(&self) -> &str {
        self.0.strip_prefix(Self::PREFIX).unwrap_or(&self.0)
    }
}

impl DeliveryId {
    /// Parses a delivery id a request names: a fan-out delivery's or a manual one's.
    pub fn parse(text: &str) -> Option<Self> {
        let body = text.strip_prefix(Self::PREFIX)?;
        let (time, pair) = body.split_at_checked(TIME_ORDERED_LEN)?;
        let pair_ok = pair.is_empty()
            || (pair.len() == PAIR_HEX_LEN
                && pair
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        (is_time_ordered(time) && pair_ok).then(|| Self(text.to_owned()))
    }

    /// The delivery of `event` to `subscription`: the same pair always gives the same id.
    ///
    /// The event's time-ordered characters lead it, followed by 12 bytes of SHA-256 of
    /// (event, subscription) in hex. One event's deliveries thus sit side by side, in the
    /// order the events were accepted, in any index sorted by delivery id: on the embedded
    /// backend a fan-out's hundred inserts then share a page of the id index instead of
    /// dirtying a page each.
    pub fn for_event(event: &EventId, subscription: &SubscriptionId) -> Self {
        let d = pair_digest(event, subscription);
        let time = event.time_ordered();
        let mut out = String::with_capacity(Self::PREFIX.len() + time.len() + PAIR_HEX_LEN);
        out.push_str(Self::PREFIX);
        out.push_str(time);
        push_hex(&mut out, &d.as_ref()[..PAIR_HEX_LEN / 2]);
        Self(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "01j0000000000000000000000z";

    #[test]
    fn generated_ids_parse_and_sort_by_creation_time() {
        let (a, b) = (SubscriptionId::new(1_000), SubscriptionId::new(2_000));
        assert!(a < b, "{a} < {b}");
        assert_eq!(SubscriptionId::parse(&a), Some(a.clone()));
        let e = EventId::new(1_000);
        assert_eq!(EventId::parse(&e), Some(e.clone()));
        let c = ClientId::new(1_000);
        assert_eq!(ClientId::parse(&c), Some(c.clone()));
        let manual = DeliveryId::new(1_000);
        assert_eq!(DeliveryId::parse(&manual), Some(manual.clone()));
        let fan_out = DeliveryId::for_event(&e, &a);
        assert_eq!(DeliveryId::parse(&fan_out), Some(fan_out.clone()));
    }

    #[test]
    fn a_wrong_prefix_is_refused() {
        assert!(SubscriptionId::parse(&format!("evt_{BODY}")).is_none());
        assert!(EventId::parse(&format!("sub_{BODY}")).is_none());
        assert!(DeliveryId::parse(&format!("evt_{BODY}")).is_none());
        assert!(EventId::parse(BODY).is_none());
    }

    #[test]
    fn a_wrong_length_is_refused() {
        for body in ["", &BODY[1..], &format!("{BODY}0")] {
            assert!(
                SubscriptionId::parse(&format!("sub_{body}")).is_none(),
                "{body}"
            );
            assert!(EventId::parse(&format!("evt_{body}")).is_none(), "{body}");
            assert!(
                DeliveryId::parse(&format!("dlv_{body}")).is_none(),
                "{body}"
            );
        }
        let hex = "0123456789abcdef01234567";
        assert!(DeliveryId::parse(&format!("dlv_{BODY}{hex}")).is_some());
        assert!(DeliveryId::parse(&format!("dlv_{BODY}{}", &hex[1..])).is_none());
        assert!(DeliveryId::parse(&format!("dlv_{BODY}{hex}0")).is_none());
        assert!(ClientId::parse("").is_none());
        assert!(ClientId::parse(&"a".repeat(super::super::MAX_ID_LEN + 1)).is_none());
    }

    #[test]
    fn a_wrong_alphabet_is_refused() {
        // Crockford base32 has no i, l, o or u, and ids are lower case.
        for bad in ["01j000000000000000000000iz", "01J0000000000000000000000Z"] {
            assert!(
                SubscriptionId::parse(&format!("sub_{bad}")).is_none(),
                "{bad}"
            );
            assert!(EventId::parse(&format!("evt_{bad}")).is_none(), "{bad}");
            assert!(DeliveryId::parse(&format!("dlv_{bad}")).is_none(), "{bad}");
        }
        let upper_hex = "0123456789ABCDEF01234567";
        assert!(DeliveryId::parse(&format!("dlv_{BODY}{upper_hex}")).is_none());
        assert!(ClientId::parse("cl_a/b").is_none());
        assert!(ClientId::parse("cl_\u{1}").is_none());
    }

    #[test]
    fn a_configured_admin_id_is_a_client_id() {
        assert_eq!(ClientId::parse("cl_admin").unwrap().as_str(), "cl_admin");
    }

    #[test]
    fn a_delivery_id_is_deterministic_and_distinct() {
        let (e1, e2) = (EventId::new(1_000), EventId::new(1_000));
        let (s1, s2) = (SubscriptionId::new(1_000), SubscriptionId::new(1_000));
        assert_eq!(
            DeliveryId::for_event(&e1, &s1),
            DeliveryId::for_event(&e1, &s1)
        );
        assert_ne!(
            DeliveryId::for_event(&e1, &s1),
            DeliveryId::for_event(&e1, &s2)
        );
        assert_ne!(
            DeliveryId::for_event(&e1, &s1),
            DeliveryId::for_event(&e2, &s1)
        );
    }

    #[test]
    fn an_events_deliveries_share_its_time_ordered_id_and_sort_by_acceptance() {
        let (early, late) = (EventId::new(1_000), EventId::new(2_000));
        let a = DeliveryId::for_event(&early, &SubscriptionId::new(9_000));
        let b = DeliveryId::for_event(&late, &SubscriptionId::new(1_000));
        assert!(a < b, "{a} < {b}");
        assert!(a.starts_with(&format!("dlv_{}", early.time_ordered())));
        assert_eq!(a.len(), "dlv_".len() + 26 + 24);
    }

    /// The pattern the API document declares admits exactly what `parse` does.
    fn pattern_agrees<T: RequestId>(samples: &[String]) {
        let pattern = serde_json::json!({"type": "string", "pattern": T::PATTERN});
        let validator = jsonschema::validator_for(&pattern).expect("a valid pattern");
        for text in samples {
            assert_eq!(
                validator.is_valid(&serde_json::json!(text)),
                T::parse_request(text).is_some(),
                "{} {text:?}",
                T::NAME
            );
        }
    }

    #[test]
    fn the_documented_patterns_admit_exactly_what_parse_does() {
        let (e, s) = (EventId::new(7), SubscriptionId::new(7));
        let mut samples = vec![
            ClientId::new(7).into_string(),
            s.to_string(),
            e.to_string(),
            DeliveryId::new(7).into_string(),
            DeliveryId::for_event(&e, &s).into_string(),
            "cl_admin".into(),
            "".into(),
            "a".repeat(129),
            "x/y".into(),
        ];
        for prefix in ["cl_", "sub_", "evt_", "dlv_", "imp_"] {
            for body in [
                BODY,
                &BODY[1..],
                "01j000000000000000000000iz",
                "01J0000000000000000000000Z",
            ] {
                samples.push(format!("{prefix}{body}"));
                samples.push(format!("{prefix}{body}0123456789abcdef01234567"));
                samples.push(format!("{prefix}{body}0123456789ABCDEF01234567"));
            }
        }
        pattern_agrees::<ClientId>(&samples);
        pattern_agrees::<SubscriptionId>(&samples);
        pattern_agrees::<EventId>(&samples);
        pattern_agrees::<DeliveryId>(&samples);
        samples.push(ImportId::new(7).into_string());
        pattern_agrees::<ImportId>(&samples);
        samples.push(SyncRequestId::new(7).into_string());
        samples.push(format!("sync_{BODY}"));
        samples.push(format!("sync_{}", &BODY[1..]));
        pattern_agrees::<SyncRequestId>(&samples);
    }

    #[test]
    fn ids_serialize_as_plain_strings() {
        let id = SubscriptionId::from_stored(format!("sub_{BODY}"));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"sub_{BODY}\""));
        assert_eq!(serde_json::from_str::<SubscriptionId>(&json).unwrap(), id);
    }
}
