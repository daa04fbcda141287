//! Subscriptions: which events a client wants, where, and how they are delivered.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::client::{Client, validate_state_code};
use crate::destination::{DestinationPolicy, validate_url};
use crate::error::ValidationError;
use crate::event::Event;
use crate::filter::Filter;
use crate::health::DisabledReason;

/// Default per-attempt timeout.
pub const DEFAULT_TIMEOUT_MS: u32 = 10_000;
/// Largest per-attempt timeout.
pub const MAX_TIMEOUT_MS: u32 = 30_000;
/// Default number of attempts before a delivery fails.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 12;
/// Largest `max_attempts`.
pub const MAX_MAX_ATTEMPTS: u32 = 50;
/// Largest `rate_limit` (requests per second).
pub const MAX_RATE_LIMIT: u32 = 10_000;
/// How long a rotated-out secret keeps signing alongside the new one.
pub const ROTATION_OVERLAP_SECS: i64 = 24 * 3600;

/// One signing secret; a rotated-out one carries the time it stops signing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SigningSecret {
    /// `whsec_…`
    pub secret: String,
    /// `None` for the current secret.
    #[serde(default, with = "crate::time_fmt::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// A webhook subscription, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subscription {
    /// `sub_…`
    pub id: String,
    /// Owner (`cl_…`).
    pub client_id: String,
    /// Destination URL.
    pub url: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Exact names, `Prefix*`, or `*`.
    pub event_types: Vec<String>,
    /// State codes (`*` = every state).
    pub states: Vec<String>,
    /// EventBridge-style pattern over the envelope.
    #[serde(default)]
    pub filter: Option<Value>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Per-attempt timeout.
    pub timeout_ms: u32,
    /// Attempts before the delivery fails.
    pub max_attempts: u32,
    /// Disabled subscriptions match nothing.
    pub enabled: bool,
    /// Why the system disabled it, if it did.
    #[serde(default)]
    pub disabled_reason: Option<DisabledReason>,
    /// When the system disabled it, if it did.
    #[serde(default, with = "crate::time_fmt::rfc3339::option")]
    pub disabled_at: Option<OffsetDateTime>,
    /// Time of the first failed attempt since the last successful one; `None` while the
    /// endpoint answers.
    #[serde(default, with = "crate::time_fmt::rfc3339::option")]
    pub failing_since: Option<OffsetDateTime>,
    /// Deliver events this client published itself.
    #[serde(default)]
    pub include_own_events: bool,
    /// At most this many requests per second to the URL (the receiver's own limit); `None`:
    /// as fast as deliveries come.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u32>,
    /// Current secret first, then rotated-out ones still inside their overlap.
    pub secrets: Vec<SigningSecret>,
    /// Creation time.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last change.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Optimistic-concurrency version: `Store::update_subscription` writes only over the
    /// version it was read at, and stores the next one.
    #[serde(default)]
    pub version: u64,
}

/// How a subscription names event types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeSelector {
    /// `*`
    All,
    /// `LotTest*`
    Prefix(String),
    /// `LotDispatched`
    Exact(String),
}

impl TypeSelector {
    /// Parses one `event_types` entry.
    pub fn parse(s: &str) -> TypeSelector {
        if s == "*" {
            TypeSelector::All
        } else if let Some(p) = s.strip_suffix('*') {
            TypeSelector::Prefix(p.to_string())
        } else {
            TypeSelector::Exact(s.to_string())
        }
    }

    /// Whether the selector names `event_type`.
    pub fn matches(&self, event_type: &str) -> bool {
        match self {
            TypeSelector::All => true,
            TypeSelector::Prefix(p) => event_type.starts_with(p.as_str()),
            TypeSelector::Exact(e) => e == event_type,
        }
    }
}

impl Subscription {
    /// Whether the subscription covers the event's state.
    pub fn covers_state(&self, state: &str) -> bool {
        self.states.iter().any(|s| s == "*" || s == state)
    }

    /// Whether the subscription names the event's type.
    pub fn covers_type(&self, event_type: &str) -> bool {
        self.event_types
            .iter()
            .any(|t| TypeSelector::parse(t).matches(event_type))
    }

    /// Whether the event should be delivered here: enabled, state, type, own-event rule and
    /// filter. `filter` is this subscription's compiled filter (callers cache it). A system
    /// event addressed to a client goes to that client's enabled subscriptions that name its
    /// type, and to no one else's: states and filters (made for business events) do not apply.
    pub fn matches(&self, event: &Event, filter: Option<&Filter>, envelope: &[u8]) -> bool {
        if let Some(recipient) = &event.recipient {
            return self.enabled
                && *recipient == self.client_id
                && self.covers_type(&event.event_type);
        }
        self.enabled
            && self.covers_state(&event.state)
            && self.covers_type(&event.event_type)
            && (self.include_own_events || event.source != self.client_id)
            && filter.is_none_or(|f| f.matches(envelope))
    }

    /// The secrets that sign a request sent at `now`: the current one and those still
    /// inside their rotation overlap.
    pub fn signing_secrets(&self, now: OffsetDateTime) -> Vec<&str> {
        self.secrets
            .iter()
            .filter(|s| s.expires_at.is_none_or(|e| e > now))
            .map(|s| s.secret.as_str())
            .collect()
    }

    /// Makes `secret` current; the previous current one signs for 24 more hours, older
    /// ones are dropped.
    pub fn rotate_secret(&mut self, secret: String, now: OffsetDateTime) {
        let mut kept: Vec<SigningSecret> = Vec::with_capacity(2);
        kept.push(SigningSecret {
            secret,
            expires_at: None,
        });
        if let Some(cur) = self.secrets.iter().find(|s| s.expires_at.is_none()) {
            kept.push(SigningSecret {
                secret: cur.secret.clone(),
                expires_at: Some(now + Duration::seconds(ROTATION_OVERLAP_SECS)),
            });
        }
        self.secrets = kept;
        self.updated_at = now;
    }

    /// The current secret.
    pub fn current_secret(&self) -> Option<&str> {
        self.secrets
            .iter()
            .find(|s| s.expires_at.is_none())
            .map(|s| s.secret.as_str())
    }
}

/// The fields a client may set on create or patch; `None` = not given.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    /// Destination.
    pub url: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Type selectors.
    pub event_types: Option<Vec<String>>,
    /// State codes.
    pub states: Option<Vec<String>>,
    /// Pattern; JSON null clears it.
    #[serde(default, deserialize_with = "double_option")]
    pub filter: Option<Option<Value>>,
    /// Extra headers.
    pub headers: Option<BTreeMap<String, String>>,
    /// Timeout per attempt.
    pub timeout_ms: Option<u32>,
    /// Attempts before giving up.
    pub max_attempts: Option<u32>,
    /// Enabled flag.
    pub enabled: Option<bool>,
    /// Loop-prevention opt-out.
    pub include_own_events: Option<bool>,
    /// Requests per second at most; JSON null clears it.
    #[serde(default, deserialize_with = "double_option")]
    pub rate_limit: Option<Option<u32>>,
}

fn double_option<'de, T: Deserialize<'de>, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Ok(Some(Option::<T>::deserialize(d)?))
}

/// What the deployment allows and knows, needed to validate a subscription.
pub struct SubscriptionRules<'a> {
    /// Destination policy.
    pub destinations: DestinationPolicy,
    /// Is this an exact event type name of the catalog?
    pub is_known_type: &'a dyn Fn(&str) -> bool,
    /// Does this stack serve the state (a code, never `*`)?
    pub serves_state: &'a dyn Fn(&str) -> bool,
}

const FORBIDDEN_HEADERS: [&str; 6] = [
    "host",
    "content-length",
    "content-type",
    "transfer-encoding",
    "connection",
    "user-agent",
];

/// Applies `input` to `sub` (a new subscription holds defaults), validating every field.
/// `owner` is the owning client, whose allowed states bound `states`.
pub fn apply_input(
    sub: &mut Subscription,
    input: SubscriptionInput,
    owner: &Client,
    rules: &SubscriptionRules<'_>,
    creating: bool,
) -> Result<(), ValidationError> {
    if let Some(url) = input.url {
        validate_url(&url, &rules.destinations)?;
        sub.url = url;
    } else if creating {
        return Err(ValidationError::invalid("url", "is required"));
    }
    if let Some(d) = input.description {
        if d.len() > 1000 {
            return Err(ValidationError::invalid(
                "description",
                "at most 1000 characters",
            ));
        }
        sub.description = d;
    }
    if let Some(types) = input.event_types {
        if types.is_empty() || types.len() > 100 {
            return Err(ValidationError::invalid(
                "event_types",
                "1-100 entries are required",
            ));
        }
        for (i, t) in types.iter().enumerate() {
            let field = format!("event_types[{i}]");
            match TypeSelector::parse(t) {
                TypeSelector::All => {}
                TypeSelector::Prefix(p) => {
                    if p.contains('*') || p.len() > 100 {
                        return Err(ValidationError::invalid(field, "a prefix ends in one '*'"));
                    }
                }
                TypeSelector::Exact(name) => {
                    let system = crate::event::SUBSCRIBABLE_SYSTEM_TYPES.contains(&name.as_str());
                    if !system && !(rules.is_known_type)(&name) {
                        return Err(ValidationError::with_code(
                            "unknown_event_type",
                            field,
                            format!("'{name}' is not in this stack's event catalog"),
                        ));
                    }
                }
            }
        }
        sub.event_types = types;
    } else if creating {
        return Err(ValidationError::invalid("event_types", "is required"));
    }
    if let Some(states) = input.states {
        if states.is_empty() {
            return Err(ValidationError::invalid(
                "states",
                "omit it for every allowed state",
            ));
        }
        let mut out: Vec<String> = Vec::new();
        for (i, s) in states.iter().enumerate() {
            let field = format!("states[{i}]");
            validate_state_code(&field, s)?;
            if !(owner.allows_state(s) && (s != "*" || owner.states.iter().any(|o| o == "*"))) {
                return Err(ValidationError::with_code(
                    "forbidden",
                    field,
                    format!("state '{s}' is not allowed for this client"),
                ));
            }
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        sub.states = out;
    } else if creating {
        sub.states = default_states(owner, rules)?;
    }
    if let Some(filter) = input.filter {
        if let Some(f) = &filter {
            Filter::compile(f)?;
        }
        sub.filter = filter;
    }
    if let Some(headers) = input.headers {
        if headers.len() > 20 {
            return Err(ValidationError::invalid("headers", "at most 20 headers"));
        }
        for (k, v) in &headers {
            let field = format!("headers.{k}");
            let lower = k.to_ascii_lowercase();
            let valid_name = !k.is_empty()
                && k.len() <= 100
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !valid_name {
                return Err(ValidationError::invalid(field, "not a valid header name"));
            }
            if FORBIDDEN_HEADERS.contains(&lower.as_str())
                || lower.starts_with("webhook-")
                || lower.starts_with("hookline-")
            {
                return Err(ValidationError::invalid(
                    field,
                    "this header is set by Hookline",
                ));
            }
            // What an HTTP header value may hold (RFC 9110 field-vchar, space, tab): a
            // control character is refused here, not found unsendable at the first attempt.
            let sendable = |b: u8| b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80;
            if v.len() > 4096 || !v.bytes().all(sendable) {
                return Err(ValidationError::invalid(field, "not a valid header value"));
            }
        }
        sub.headers = headers;
    }
    if let Some(t) = input.timeout_ms {
        if !(100..=MAX_TIMEOUT_MS).contains(&t) {
            return Err(ValidationError::invalid(
                "timeout_ms",
                format!("must be between 100 and {MAX_TIMEOUT_MS}"),
            ));
        }
        sub.timeout_ms = t;
    }
    if let Some(m) = input.max_attempts {
        if !(1..=MAX_MAX_ATTEMPTS).contains(&m) {
            return Err(ValidationError::invalid(
                "max_attempts",
                format!("must be between 1 and {MAX_MAX_ATTEMPTS}"),
            ));
        }
        sub.max_attempts = m;
    }
    if let Some(e) = input.enabled {
        if e && !sub.enabled {
            // Re-enabled: whatever the system found wrong is the owner's to have fixed.
            sub.disabled_reason = None;
            sub.disabled_at = None;
            sub.failing_since = None;
        }
        sub.enabled = e;
    }
    if let Some(o) = input.include_own_events {
        sub.include_own_events = o;
    }
    if let Some(rate) = input.rate_limit {
        if rate.is_some_and(|r| !(1..=MAX_RATE_LIMIT).contains(&r)) {
            return Err(ValidationError::invalid(
                "rate_limit",
                format!("must be between 1 and {MAX_RATE_LIMIT} requests per second, or null"),
            ));
        }
        sub.rate_limit = rate;
    }
    Ok(())
}

/// The states of a subscription created without any: the owner's allowed states that this
/// stack serves (`*` stays `*`, which the stack narrows to what it serves). A client allowed
/// several states on a stack that serves some of them thus subscribes to those; one allowed
/// none of the states served is refused.
fn default_states(
    owner: &Client,
    rules: &SubscriptionRules<'_>,
) -> Result<Vec<String>, ValidationError> {
    if owner.states.iter().any(|s| s == "*") {
        return Ok(vec!["*".to_string()]);
    }
    let served: Vec<String> = owner
        .states
        .iter()
        .filter(|s| (rules.serves_state)(s))
        .cloned()
        .collect();
    if served.is_empty() {
        return Err(ValidationError::with_code(
            "forbidden",
            "states",
            format!(
                "this stack serves none of the states this client is allowed ({})",
                owner.states.join(",")
            ),
        ));
    }
    Ok(served)
}

/// A new subscription with defaults, before `apply_input`.
pub fn new_subscription(
    id: String,
    client_id: String,
    secret: String,
    now: OffsetDateTime,
) -> Subscription {
    Subscription {
        id,
        client_id,
        url: String::new(),
        description: String::new(),
        event_types: Vec::new(),
        states: Vec::new(),
        filter: None,
        headers: BTreeMap::new(),
        timeout_ms: DEFAULT_TIMEOUT_MS,
        max_attempts: DEFAULT_MAX_ATTEMPTS,
        enabled: true,
        disabled_reason: None,
        disabled_at: None,
        failing_since: None,
        include_own_events: false,
        rate_limit: None,
        secrets: vec![SigningSecret {
            secret,
            expires_at: None,
        }],
        created_at: now,
        updated_at: now,
        version: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_selectors_match_exact_prefix_and_all() {
        assert!(TypeSelector::parse("*").matches("LotDispatched"));
        assert!(TypeSelector::parse("LotTest*").matches("LotTestPassed"));
        assert!(!TypeSelector::parse("LotTest*").matches("LotDispatched"));
        assert!(TypeSelector::parse("LotDispatched").matches("LotDispatched"));
        assert!(!TypeSelector::parse("LotDispatched").matches("LotDispatchedX"));
    }

    fn owner(states: &[&str]) -> Client {
        Client {
            id: "cl_1".into(),
            name: "portal".into(),
            scopes: Vec::new(),
            states: states.iter().map(|s| s.to_string()).collect(),
            secret_hash: String::new(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            disabled: false,
            limits: Default::default(),
        }
    }

    /// The states a subscription created without `states` gets, on a stack serving AP.
    fn defaulted(owner_states: &[&str]) -> Result<Vec<String>, ValidationError> {
        let serves = |s: &str| s == "AP";
        let known = |_: &str| true;
        let rules = SubscriptionRules {
            destinations: DestinationPolicy {
                allow_http: false,
                allow_private: false,
            },
            is_known_type: &known,
            serves_state: &serves,
        };
        let mut sub = new_subscription(
            "sub_1".into(),
            "cl_1".into(),
            "whsec_x".into(),
            OffsetDateTime::UNIX_EPOCH,
        );
        let input = SubscriptionInput {
            url: Some("https://portal.example.org/hook".into()),
            event_types: Some(vec!["*".into()]),
            ..SubscriptionInput::default()
        };
        apply_input(&mut sub, input, &owner(owner_states), &rules, true).map(|()| sub.states)
    }

    #[test]
    fn omitted_states_are_the_allowed_ones_the_stack_serves() {
        assert_eq!(defaulted(&["AP", "TG"]).ok(), Some(vec!["AP".to_string()]));
        assert_eq!(defaulted(&["*"]).ok(), Some(vec!["*".to_string()]));
        let refused = defaulted(&["TG", "KA"]).expect_err("no state served");
        assert_eq!(refused.code, "forbidden");
        assert_eq!(refused.errors[0].field, "states");
    }

    #[test]
    fn rotation_keeps_previous_secret_for_a_day() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(10_000);
        let mut s = new_subscription("sub_1".into(), "cl_1".into(), "whsec_old".into(), now);
        s.rotate_secret("whsec_new".into(), now);
        assert_eq!(s.signing_secrets(now), vec!["whsec_new", "whsec_old"]);
        assert_eq!(s.current_secret(), Some("whsec_new"));
        let later = now + time::Duration::hours(25);
        assert_eq!(s.signing_secrets(later), vec!["whsec_new"]);
    }

    #[test]
    fn re_enabling_clears_the_reason_and_the_failing_period() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(10_000);
        let mut s = new_subscription("sub_1".into(), "cl_1".into(), "whsec_x".into(), t0);
        s.record_failure(t0, Duration::ZERO);
        s.record_failure(t0, Duration::ZERO);
        assert!(!s.enabled);
        let owner = crate::client::Client {
            id: "cl_1".into(),
            name: "portal".into(),
            scopes: vec![],
            states: vec!["*".into()],
            secret_hash: String::new(),
            created_at: t0,
            disabled: false,
            limits: Default::default(),
        };
        let rules = SubscriptionRules {
            destinations: DestinationPolicy {
                allow_http: true,
                allow_private: true,
            },
            is_known_type: &|_| false,
            serves_state: &|_| true,
        };
        let input = SubscriptionInput {
            enabled: Some(true),
            event_types: Some(vec![crate::event::SUBSCRIPTION_DISABLED_TYPE.into()]),
            ..Default::default()
        };
        apply_input(&mut s, input, &owner, &rules, false).expect("valid");
        assert!(s.enabled);
        assert_eq!(
            (s.disabled_reason, s.disabled_at, s.failing_since),
            (None, None, None)
        );
    }

    #[test]
    fn a_system_event_reaches_only_its_recipients_subscriptions_naming_its_type() {
        let t0 = OffsetDateTime::UNIX_EPOCH;
        let event = Event {
            id: "evt_1".into(),
            event_type: crate::event::SUBSCRIPTION_DISABLED_TYPE.into(),
            state: "*".into(),
            occurred_at: t0,
            received_at: t0,
            source: "hookline".into(),
            publisher_key: None,
            data: serde_json::json!({}),
            recipient: Some("cl_1".into()),
        };
        let sub = |client: &str, types: &[&str], states: &[&str]| {
            let mut s = new_subscription("sub_x".into(), client.into(), "whsec_x".into(), t0);
            s.event_types = types.iter().map(|t| t.to_string()).collect();
            s.states = states.iter().map(|t| t.to_string()).collect();
            s.filter = Some(serde_json::json!({"data": {"status": ["dispatched"]}}));
            s
        };
        let filter = Filter::compile(&serde_json::json!({"data": {"status": ["dispatched"]}}))
            .expect("filter");
        let m = |s: &Subscription| s.matches(&event, Some(&filter), &event.envelope_bytes());
        assert!(m(&sub("cl_1", &["*"], &["AP"])));
        assert!(m(&sub("cl_1", &["hookline.*"], &["TG"])));
        assert!(m(&sub(
            "cl_1",
            &[crate::event::SUBSCRIPTION_DISABLED_TYPE],
            &["AP"]
        )));
        assert!(!m(&sub("cl_1", &["Lot*"], &["*"])));
        assert!(!m(&sub("cl_2", &["*"], &["*"])), "another client's");
        let mut disabled = sub("cl_1", &["*"], &["*"]);
        disabled.enabled = false;
        assert!(!m(&disabled));
    }

    #[test]
    fn hookline_types_are_reserved() {
        assert!(crate::catalog::validate_type_name("hookline.subscription.disabled").is_err());
        assert!(crate::catalog::validate_type_name("hookline.Mine").is_err());
        assert!(crate::catalog::validate_type_name("LotDispatched").is_ok());
    }
}
