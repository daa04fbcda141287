//! How a subscription's delivery settings (`format`, `template`, `retry`, `auth`) are written
//! and shown: the OpenAPI shapes of the domain's types, and the view of the write-only
//! credential (its type and header, never its value).

use hookline_domain::Subscription;
use hookline_domain::subscription::{REDACTED, is_credential_header};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The payload format (`hookline`: the envelope; `cloudevents`: CloudEvents 1.0 structured
/// JSON; `template`: the subscription's `template`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = PayloadFormat)]
#[allow(dead_code)]
pub enum PayloadFormatSchema {
    /// The Hookline envelope.
    Hookline,
    /// CloudEvents 1.0.
    Cloudevents,
    /// The subscription's template.
    Template,
}

/// How a subscription's deliveries reach its client (`push`: signed POSTs to its `url`;
/// `pull`: kept for the client to fetch from `GET /v1/subscriptions/{id}/messages`;
/// `action`: a workflow, performing its `actions`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = DeliveryMode)]
#[allow(dead_code)]
pub enum DeliveryModeSchema {
    /// Signed HTTP POSTs to the subscription's URL.
    Push,
    /// Messages the client fetches with a cursor.
    Pull,
    /// A workflow: each delivery performs the subscription's `actions` (app actions of the
    /// client's connections).
    Action,
}

/// A subscription's own retry schedule: exponential backoff, or explicit delays (seconds,
/// ±20% jitter; attempts past the last delay repeat it).
#[derive(Serialize, ToSchema)]
#[serde(tag = "backoff", rename_all = "snake_case")]
#[schema(as = RetryPolicy)]
#[allow(dead_code)]
pub enum RetryPolicySchema {
    /// `{"backoff": "exponential", "initial_delay_s": 10, "multiplier": 2, "max_delay_s": 600}`
    Exponential {
        /// Delay after the first failed attempt.
        #[schema(minimum = 1, maximum = 43200)]
        initial_delay_s: u32,
        /// Growth factor (default 2).
        #[serde(default)]
        #[schema(minimum = 1, maximum = 10, default = 2)]
        multiplier: u32,
        /// Longest delay (default 43200).
        #[schema(minimum = 1, maximum = 43200)]
        max_delay_s: Option<u32>,
    },
    /// `{"backoff": "explicit", "delays_s": [10, 60, 300]}`
    Explicit {
        /// Delays after failed attempts 1, 2, … (1-49 of 1-43200 s).
        #[schema(min_items = 1, max_items = 49)]
        delays_s: Vec<u32>,
    },
}

/// The receiver's credential, write-only: `{"type": "api_key", "header": "X-Api-Key",
/// "value": "…"}` or `{"type": "bearer", "token": "…"}` (sent as `Authorization: Bearer …`).
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schema(as = OutboundAuth)]
#[allow(dead_code)]
pub enum OutboundAuthSchema {
    /// An API key in the header the receiver names.
    ApiKey {
        /// The header (not one Hookline sets).
        #[schema(max_length = 100)]
        header: String,
        /// The key (visible ASCII, no spaces).
        #[schema(min_length = 1, max_length = 4096)]
        value: String,
    },
    /// A bearer token.
    Bearer {
        /// The token (visible ASCII, no spaces).
        #[schema(min_length = 1, max_length = 4096)]
        token: String,
    },
}

/// What a subscription shows of its credential: never the credential.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthView {
    /// `api_key` or `bearer`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The header it is sent in.
    pub header: String,
    /// Always `true`: a credential is set (its value is write-only).
    pub set: bool,
}

impl AuthView {
    /// The view of a subscription's credential.
    pub fn of(s: &Subscription) -> Option<AuthView> {
        s.auth.as_ref().map(|a| AuthView {
            kind: a.kind().to_string(),
            header: a.header().to_string(),
            set: true,
        })
    }
}

/// The custom headers as shown: a credential stored as a custom header before they were
/// refused there shows as `[redacted]`.
pub fn shown_headers(s: &Subscription) -> BTreeMap<String, String> {
    s.headers
        .iter()
        .map(|(k, v)| {
            let shown = if is_credential_header(k) {
                REDACTED.to_string()
            } else {
                v.clone()
            };
            (k.clone(), shown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::api::views::SubscriptionView;
    use crate::test_support::subscription;
    use hookline_domain::subscription::OutboundAuth;

    #[test]
    fn a_view_shows_neither_the_credential_nor_a_credential_stored_as_a_header() {
        let mut sub = subscription();
        // Stored before credentials were refused in `headers`.
        sub.headers
            .insert("Authorization".into(), "Bearer old-secret-1".into());
        sub.headers.insert("X-Trace".into(), "qaqc".into());
        sub.auth = Some(OutboundAuth::ApiKey {
            header: "X-Api-Key".into(),
            value: "new-secret-2".into(),
        });
        let view = serde_json::to_value(SubscriptionView::of(&sub, false)).expect("JSON");
        let text = view.to_string();
        assert!(
            !text.contains("old-secret-1") && !text.contains("new-secret-2"),
            "{text}"
        );
        assert_eq!(
            view["headers"],
            serde_json::json!({"Authorization": "[redacted]", "X-Trace": "qaqc"})
        );
        assert_eq!(
            view["auth"],
            serde_json::json!({"type": "api_key", "header": "X-Api-Key", "set": true})
        );
    }
}
