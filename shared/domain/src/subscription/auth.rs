//! The credential a receiver authenticates Hookline with (an API key in a header it names, or
//! a bearer token): write-only. It is stored with the subscription, like its signing secrets,
//! sent on every attempt, and never returned, logged or written into an attempt record.
//!
//! Credentials belong here and nowhere else: a custom header whose name says it carries one
//! ([`is_credential_header`]) is refused, so that `headers`, which every read returns, never
//! holds a secret.

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

/// What replaces a credential found in text that is kept (a response excerpt that echoes it).
pub const REDACTED: &str = "[redacted]";

/// A receiver's credential.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OutboundAuth {
    /// `<header>: <value>` (e.g. `X-Api-Key`).
    ApiKey {
        /// The header the receiver reads it from.
        header: String,
        /// The key.
        value: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: String,
    },
}

impl std::fmt::Debug for OutboundAuth {
    /// Never the credential itself.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "OutboundAuth({}, {}: {REDACTED})",
            self.kind(),
            self.header()
        )
    }
}

impl OutboundAuth {
    /// `api_key` or `bearer`.
    pub fn kind(&self) -> &'static str {
        match self {
            OutboundAuth::ApiKey { .. } => "api_key",
            OutboundAuth::Bearer { .. } => "bearer",
        }
    }

    /// The header it is sent in.
    pub fn header(&self) -> &str {
        match self {
            OutboundAuth::ApiKey { header, .. } => header,
            OutboundAuth::Bearer { .. } => "Authorization",
        }
    }

    /// The header's value.
    pub fn header_value(&self) -> String {
        match self {
            OutboundAuth::ApiKey { value, .. } => value.clone(),
            OutboundAuth::Bearer { token } => format!("Bearer {token}"),
        }
    }

    /// The secret part (what must never be shown).
    pub fn secret(&self) -> &str {
        match self {
            OutboundAuth::ApiKey { value, .. } => value,
            OutboundAuth::Bearer { token } => token,
        }
    }

    /// `text` with every occurrence of the secret replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let secret = self.secret();
        if secret.is_empty() || !text.contains(secret) {
            return text.to_string();
        }
        text.replace(secret, REDACTED)
    }

    /// Validates the credential: a header name Hookline does not set itself, and a value (8 to
    /// 4096 characters) that a header can carry.
    pub fn validate(&self, reserved: impl Fn(&str) -> bool) -> Result<(), ValidationError> {
        if let OutboundAuth::ApiKey { header, .. } = self {
            if !super::input::is_header_name(header) {
                return Err(ValidationError::invalid(
                    "auth.header",
                    "not a valid header name",
                ));
            }
            if reserved(header) {
                return Err(ValidationError::invalid(
                    "auth.header",
                    "this header is set by Hookline",
                ));
            }
        }
        let field = match self {
            OutboundAuth::ApiKey { .. } => "auth.value",
            OutboundAuth::Bearer { .. } => "auth.token",
        };
        let secret = self.secret();
        // Visible ASCII only: what every receiver's header parser reads back the same.
        if !(1..=4096).contains(&secret.len()) || !secret.bytes().all(|b| (0x21..0x7f).contains(&b))
        {
            return Err(ValidationError::invalid(
                field,
                "1-4096 visible ASCII characters (no spaces)",
            ));
        }
        Ok(())
    }
}

/// Whether a header name says it carries a credential: `Authorization`,
/// `Proxy-Authorization`, `Cookie`, or a name containing `auth`, `token`, `secret`,
/// `password`, `api-key`, `api_key` or `apikey` (any case).
pub fn is_credential_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "cookie"
        || [
            "auth", "token", "secret", "password", "api-key", "api_key", "apikey",
        ]
        .iter()
        .any(|word| lower.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_headers_are_told_by_their_names() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "X-Api-Key",
            "X-API_KEY",
            "apikey",
            "X-Auth-Token",
            "X-Client-Secret",
        ] {
            assert!(is_credential_header(name), "{name}");
        }
        for name in ["X-Trace", "X-Portal-Id", "Accept-Language"] {
            assert!(!is_credential_header(name), "{name}");
        }
    }

    #[test]
    fn the_secret_is_never_in_its_debug_text_and_is_redacted_from_echoes() {
        let auth = OutboundAuth::Bearer {
            token: "tok-123456".into(),
        };
        assert!(!format!("{auth:?}").contains("tok-123456"));
        assert_eq!(auth.header(), "Authorization");
        assert_eq!(auth.header_value(), "Bearer tok-123456");
        assert_eq!(
            auth.redact("you sent Bearer tok-123456"),
            "you sent Bearer [redacted]"
        );
    }
}
