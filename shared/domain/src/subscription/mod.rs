//! Subscriptions: which events a client wants, where, and how they are delivered.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::event::Event;
use crate::filter::Filter;
use crate::health::DisabledReason;
use crate::ids::{ClientId, SubscriptionId};
use crate::state::StatePattern;

mod action;
mod auth;
mod format;
mod input;
mod mode;
mod retry_policy;
mod settings;

pub use action::{ActionStep, MAX_ACTION_STEPS, MAX_STEP_INPUTS, validate_steps};
pub use auth::{OutboundAuth, REDACTED, is_credential_header};
pub use format::{
    CLOUDEVENTS_CONTENT_TYPE, CLOUDEVENTS_SOURCE_PREFIX, CloudEvent, JSON_CONTENT_TYPE,
    PayloadFormat, check_template, render_body,
};
pub use input::{SubscriptionInput, SubscriptionRules, apply_input, new_subscription};
pub(crate) use input::{is_header_name, is_reserved_header};
pub use mode::DeliveryMode;
pub use retry_policy::{ExponentialBackoff, INVALID_RETRY_SCHEDULE, MAX_MULTIPLIER, RetryPolicy};
pub use settings::{CREDENTIAL_IN_HEADERS, INVALID_TEMPLATE};

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
    pub id: SubscriptionId,
    /// Owner (`cl_…`).
    pub client_id: ClientId,
    /// Push or pull (absent in records from before modes: push).
    #[serde(default, skip_serializing_if = "DeliveryMode::is_push")]
    pub mode: DeliveryMode,
    /// Destination URL (empty for a pull subscription).
    pub url: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Exact names, `Prefix*`, or `*`.
    pub event_types: Vec<String>,
    /// State codes (`*` = every state).
    pub states: Vec<StatePattern>,
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
    /// The body shape it receives (absent in records from before formats: `hookline`).
    #[serde(default, skip_serializing_if = "is_hookline")]
    pub format: PayloadFormat,
    /// The template of `format: template`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Its own retry schedule; `None`: the stack's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    /// The receiver's credential, sent on every attempt; write-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<OutboundAuth>,
    /// A workflow's steps (mode `action` only), run in order for each event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ActionStep>,
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

fn is_hookline(f: &PayloadFormat) -> bool {
    *f == PayloadFormat::Hookline
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
        self.states.iter().any(|s| s.covers(state))
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
            && (self.include_own_events || event.source != self.client_id.as_str())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Client;
    use crate::destination::DestinationPolicy;
    use crate::error::ValidationError;
    use crate::ids::EventId;

    #[test]
    fn type_selectors_match_exact_prefix_and_all() {
        assert!(TypeSelector::parse("*").matches("LotDispatched"));
        assert!(TypeSelector::parse("LotTest*").matches("LotTestPassed"));
        assert!(!TypeSelector::parse("LotTest*").matches("LotDispatched"));
        assert!(TypeSelector::parse("LotDispatched").matches("LotDispatched"));
        assert!(!TypeSelector::parse("LotDispatched").matches("LotDispatchedX"));
    }

    fn owner(states: &[&str]) -> Client {
        Client::for_test("cl_1", states)
    }

    /// The states a subscription created without `states` gets, on a stack serving AP.
    fn defaulted(owner_states: &[&str]) -> Result<Vec<StatePattern>, ValidationError> {
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
            SubscriptionId::from_stored("sub_1"),
            ClientId::from_stored("cl_1"),
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
        assert_eq!(
            defaulted(&["AP", "TG"]).ok(),
            Some(vec![StatePattern::from_stored("AP")])
        );
        assert_eq!(defaulted(&["*"]).ok(), Some(vec![StatePattern::Any]));
        let refused = defaulted(&["TG", "KA"]).expect_err("no state served");
        assert_eq!(refused.code, "forbidden");
        assert_eq!(refused.errors[0].field, "states");
    }

    #[test]
    fn rotation_keeps_previous_secret_for_a_day() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(10_000);
        let mut s = new_subscription(
            SubscriptionId::from_stored("sub_1"),
            ClientId::from_stored("cl_1"),
            "whsec_old".into(),
            now,
        );
        s.rotate_secret("whsec_new".into(), now);
        assert_eq!(s.signing_secrets(now), vec!["whsec_new", "whsec_old"]);
        assert_eq!(s.current_secret(), Some("whsec_new"));
        let later = now + time::Duration::hours(25);
        assert_eq!(s.signing_secrets(later), vec!["whsec_new"]);
    }

    #[test]
    fn re_enabling_clears_the_reason_and_the_failing_period() {
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::days(10_000);
        let mut s = new_subscription(
            SubscriptionId::from_stored("sub_1"),
            ClientId::from_stored("cl_1"),
            "whsec_x".into(),
            t0,
        );
        s.record_failure(t0, Duration::ZERO);
        s.record_failure(t0, Duration::ZERO);
        assert!(!s.enabled);
        let owner = crate::client::Client {
            id: ClientId::from_stored("cl_1"),
            name: "portal".into(),
            scopes: vec![],
            states: vec![StatePattern::Any],
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
            id: EventId::new(1),
            event_type: crate::event::SUBSCRIPTION_DISABLED_TYPE.into(),
            state: StatePattern::Any,
            occurred_at: t0,
            received_at: t0,
            source: "hookline".into(),
            publisher_key: None,
            data: serde_json::json!({}),
            recipient: Some(ClientId::from_stored("cl_1")),
        };
        let sub = |client: &str, types: &[&str], states: &[&str]| {
            let mut s = new_subscription(
                SubscriptionId::new(1),
                ClientId::from_stored(client),
                "whsec_x".into(),
                t0,
            );
            s.event_types = types.iter().map(|t| t.to_string()).collect();
            s.states = states
                .iter()
                .map(|t| StatePattern::from_stored(*t))
                .collect();
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
    fn a_record_from_before_delivery_settings_reads_with_their_defaults() {
        let mut stored = serde_json::to_value(new_subscription(
            SubscriptionId::from_stored("sub_1"),
            ClientId::from_stored("cl_1"),
            "whsec_x".into(),
            OffsetDateTime::UNIX_EPOCH,
        ))
        .expect("JSON");
        let fields = stored.as_object_mut().expect("an object");
        for new in ["format", "template", "retry", "auth"] {
            assert!(fields.remove(new).is_none(), "{new} is left out when unset");
        }
        let old: Subscription = serde_json::from_value(stored).expect("an old record reads");
        assert_eq!(
            (old.format, old.template, old.retry, old.auth),
            (PayloadFormat::Hookline, None, None, None)
        );
    }

    #[test]
    fn hookline_types_are_reserved() {
        assert!(crate::catalog::validate_type_name("hookline.subscription.disabled").is_err());
        assert!(crate::catalog::validate_type_name("hookline.Mine").is_err());
        assert!(crate::catalog::validate_type_name("LotDispatched").is_ok());
    }
}
