//! Whether an inbound hook request comes from the tool, as its app declares: an HMAC of the
//! raw body in a header, Standard Webhooks signatures, or a shared token in a header or query
//! parameter. The secret is a template over `{props, env, credentials}`; every comparison is
//! constant-time. A refusal says only which check failed (the hook route answers 401 without
//! it).

use aws_lc_rs::{constant_time, hmac};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hookline_domain::apps::{HmacAlgorithm, HmacEncoding, HookVerify};
use http::HeaderMap;

use super::Resolved;
use super::render::pending_templates::render_text;
use super::engine::AppEngine;

/// A refusal: the request lacks the signature or token.
pub const MISSING: &str = "missing signature";
/// A refusal: the signature or token does not match.
pub const MISMATCH: &str = "bad signature";
/// A refusal: the verification secret could not be rendered (or is empty, or is not a
/// Standard Webhooks secret).
pub const NO_SECRET: &str = "verification secret unavailable";

impl AppEngine {
    /// Verifies an inbound hook request (`headers`, the raw `query` string if any, the raw
    /// `body`) of the connection `resolved` by `verify`.
    pub fn verify_hook(
        &self,
        resolved: &Resolved,
        verify: &HookVerify,
        headers: &HeaderMap,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<(), &'static str> {
        verify_hook(resolved, verify, headers, query, body)
    }
}

/// [`AppEngine::verify_hook`], which needs nothing of the engine.
pub fn verify_hook(
    resolved: &Resolved,
    verify: &HookVerify,
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<(), &'static str> {
    match verify {
        HookVerify::Hmac {
            header,
            secret,
            algorithm,
            encoding,
            prefix,
        } => {
            let key = secret_text(resolved, secret)?;
            let presented = header_value(headers, header).ok_or(MISSING)?;
            let presented = match prefix {
                Some(prefix) => presented.strip_prefix(prefix.as_str()).ok_or(MISMATCH)?,
                None => presented,
            };
            let signature = match encoding {
                HmacEncoding::Hex => decode_hex(presented.trim()),
                HmacEncoding::Base64 => STANDARD.decode(presented.trim()).ok(),
            }
            .ok_or(MISMATCH)?;
            let algorithm = match algorithm {
                HmacAlgorithm::Sha256 => hmac::HMAC_SHA256,
                HmacAlgorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                HmacAlgorithm::Sha512 => hmac::HMAC_SHA512,
            };
            hmac::verify(
                &hmac::Key::new(algorithm, key.as_bytes()),
                body,
                &signature,
            )
            .map_err(|_| MISMATCH)
        }
        HookVerify::StandardWebhooks { secret } => {
            let secret = secret_text(resolved, secret)?;
            let webhook = standardwebhooks::Webhook::new(&secret).map_err(|_| NO_SECRET)?;
            if !headers.contains_key(standardwebhooks::HEADER_WEBHOOK_SIGNATURE) {
                return Err(MISSING);
            }
            webhook.verify(body, headers).map_err(|_| MISMATCH)
        }
        HookVerify::Token {
            header,
            query: parameter,
            secret,
        } => {
            let expected = secret_text(resolved, secret)?;
            let presented = match (header, parameter) {
                (Some(header), _) => header_value(headers, header).map(str::to_string),
                (None, Some(parameter)) => query.and_then(|q| {
                    url::form_urlencoded::parse(q.as_bytes())
                        .find(|(k, _)| k == parameter)
                        .map(|(_, v)| v.into_owned())
                }),
                (None, None) => None,
            }
            .ok_or(MISSING)?;
            constant_time::verify_slices_are_equal(presented.as_bytes(), expected.as_bytes())
                .map_err(|_| MISMATCH)
        }
    }
}

/// The verification secret rendered (never empty).
fn secret_text(resolved: &Resolved, template: &str) -> Result<String, &'static str> {
    let secret = render_text(template, &resolved.credentials_context()).map_err(|_| NO_SECRET)?;
    if secret.is_empty() {
        return Err(NO_SECRET);
    }
    Ok(secret)
}

fn header_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok()
}

/// Bytes of a hex string (either case), if it is one.
fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
