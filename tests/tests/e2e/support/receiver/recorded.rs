//! `Recorded`: a webhook request as the receiver got it, and the checks tests make on it.

use std::time::Instant;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method};
use serde_json::Value;

/// A request as the receiver got it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// HTTP method.
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// Every header.
    pub headers: HeaderMap,
    /// The raw body.
    pub body: Bytes,
    /// When it arrived.
    pub at: Instant,
}

impl Recorded {
    /// A header as text (panics if it is not valid text).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("a text header value"))
    }

    /// A header that must be there.
    pub fn required_header(&self, name: &str) -> &str {
        self.header(name).unwrap_or_else(|| {
            panic!(
                "the webhook request has no {name} header: {:?}",
                self.headers
            )
        })
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the webhook body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// `webhook-id` (the event id).
    pub fn webhook_id(&self) -> &str {
        self.required_header("webhook-id")
    }

    /// The envelope's `type`.
    pub fn event_type(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_string()
    }

    /// Verifies the Standard Webhooks signature with `secret` (`whsec_…`).
    pub fn verify(&self, secret: &str) -> Result<(), standardwebhooks::WebhookError> {
        standardwebhooks::Webhook::new(secret)?.verify(&self.body, &self.headers)
    }

    /// Asserts the signature verifies with `secret`.
    pub fn assert_signed_by(&self, secret: &str) {
        if let Err(e) = self.verify(secret) {
            panic!(
                "the webhook signature does not verify ({e:?}); headers {:?}",
                self.headers
            );
        }
    }
}
