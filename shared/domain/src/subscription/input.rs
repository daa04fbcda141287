//! What a client sends to create or change a subscription, and the rules that turn it into a
//! [`Subscription`]: URL policy, the client's states, the catalog's types, headers, limits.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::mode::{DeliveryMode, apply_mode};
use super::settings::{CREDENTIAL_IN_HEADERS, apply_delivery_settings};
use super::{
    ActionStep, DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT_MS, MAX_MAX_ATTEMPTS, MAX_RATE_LIMIT,
    MAX_TIMEOUT_MS, OutboundAuth, PayloadFormat, RetryPolicy, SigningSecret, Subscription,
    TypeSelector,
};
use crate::client::Client;
use crate::destination::{DestinationPolicy, validate_url};
use crate::error::ValidationError;
use crate::filter::Filter;
use crate::ids::{ClientId, SubscriptionId};
use crate::state::StatePattern;

/// The fields a client may set on create or patch; `None` = not given.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    /// Push (default) or pull; set on create only.
    pub mode: Option<DeliveryMode>,
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
    /// Payload format.
    pub format: Option<PayloadFormat>,
    /// Template of `format: template`.
    pub template: Option<String>,
    /// Own retry schedule; JSON null: the stack's.
    #[serde(default, deserialize_with = "double_option")]
    pub retry: Option<Option<RetryPolicy>>,
    /// Receiver credential; JSON null removes it.
    #[serde(default, deserialize_with = "double_option")]
    pub auth: Option<Option<OutboundAuth>>,
    /// A workflow's steps (mode `action` only; required on create, replaced whole on patch).
    pub actions: Option<Vec<ActionStep>>,
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

/// Whether `name` is a valid HTTP header name (RFC 9110 token, at most 100 bytes).
pub(crate) fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether Hookline sets header `name` itself (so a subscription may not).
pub(crate) fn is_reserved_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    FORBIDDEN_HEADERS.contains(&lower.as_str())
        || lower.starts_with("webhook-")
        || lower.starts_with("hookline-")
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
    apply_mode(sub, &input, creating)?;
    if let Some(url) = input.url {
        validate_url(&url, &rules.destinations)?;
        sub.url = url;
    } else if creating && sub.mode == DeliveryMode::Push {
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
        let mut out: Vec<StatePattern> = Vec::new();
        for (i, s) in states.iter().enumerate() {
            let field = format!("states[{i}]");
            let s = StatePattern::parse_field(&field, s)?;
            let any = StatePattern::Any;
            if !(owner.allows_state(&s) && (s != any || owner.states.contains(&any))) {
                return Err(ValidationError::with_code(
                    "forbidden",
                    field,
                    format!("state '{s}' is not allowed for this client"),
                ));
            }
            if !out.contains(&s) {
                out.push(s);
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
            if !is_header_name(k) {
                return Err(ValidationError::invalid(field, "not a valid header name"));
            }
            if is_reserved_header(k) {
                return Err(ValidationError::invalid(
                    field,
                    "this header is set by Hookline",
                ));
            }
            if super::is_credential_header(k) {
                return Err(ValidationError::with_code(
                    CREDENTIAL_IN_HEADERS,
                    field,
                    "a credential: set it in `auth` (write-only, never returned) instead",
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
    apply_delivery_settings(sub, input.format, input.template, input.retry, input.auth)
}

/// The states of a subscription created without any: the owner's allowed states that this
/// stack serves (`*` stays `*`, which the stack narrows to what it serves). A client allowed
/// several states on a stack that serves some of them thus subscribes to those; one allowed
/// none of the states served is refused.
fn default_states(
    owner: &Client,
    rules: &SubscriptionRules<'_>,
) -> Result<Vec<StatePattern>, ValidationError> {
    if owner.states.contains(&StatePattern::Any) {
        return Ok(vec![StatePattern::Any]);
    }
    let served: Vec<StatePattern> = owner
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
                StatePattern::join(&owner.states)
            ),
        ));
    }
    Ok(served)
}

/// A new subscription with defaults, before `apply_input`.
pub fn new_subscription(
    id: SubscriptionId,
    client_id: ClientId,
    secret: String,
    now: OffsetDateTime,
) -> Subscription {
    Subscription {
        id,
        client_id,
        mode: DeliveryMode::Push,
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
        format: PayloadFormat::Hookline,
        template: None,
        retry: None,
        auth: None,
        actions: Vec::new(),
        secrets: vec![SigningSecret {
            secret,
            expires_at: None,
        }],
        created_at: now,
        updated_at: now,
        version: 0,
    }
}
