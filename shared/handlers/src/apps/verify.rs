//! Whether an inbound hook request comes from the tool, as its app declares: an HMAC of the
//! raw body in a header, Standard Webhooks signatures, or a shared token in a header or query
//! parameter. The secret is a template over `{props, env, credentials}`; every comparison is
//! constant-time. A refusal says only which check failed (the hook route answers 401 without
//! it).

use aws_lc_rs::{constant_time, hmac};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hookline_domain::apps::{HmacAlgorithm, HmacEncoding, HookVerify};
use hookline_domain::template::render_text;
use http::HeaderMap;

use super::Resolved;
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
        let request = Inbound {
            headers,
            query,
            body,
        };
        check(resolved, verify, &request)
    }
}

/// An inbound hook request, as verification reads it.
struct Inbound<'r> {
    headers: &'r HeaderMap,
    /// The raw query string.
    query: Option<&'r str>,
    body: &'r [u8],
}

/// [`AppEngine::verify_hook`], which needs nothing of the engine.
fn check(
    resolved: &Resolved,
    verify: &HookVerify,
    request: &Inbound<'_>,
) -> Result<(), &'static str> {
    let Inbound {
        headers,
        query,
        body,
    } = *request;
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
            hmac::verify(&hmac::Key::new(algorithm, key.as_bytes()), body, &signature)
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

#[cfg(test)]
mod tests {
    use aws_lc_rs::hmac;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use http::{HeaderMap, HeaderValue};
    use serde_json::{Value, json};

    use super::*;
    use crate::apps::fixtures::resolved;

    /// Verifies a request of `headers` (name, value), `query` and `body`.
    fn verify_hook(
        conn: &Resolved,
        how: &HookVerify,
        pairs: &[(&'static str, String)],
        query: Option<&str>,
        body: &[u8],
    ) -> Result<(), &'static str> {
        let headers = headers(pairs);
        check(
            conn,
            how,
            &Inbound {
                headers: &headers,
                query,
                body,
            },
        )
    }

    const BODY: &[u8] = br#"{"order":"o-1","status":"packed"}"#;
    const SIGNING_KEY: &str = "k3y-of-the-tool";

    /// A connection whose signing secret is a credential, and whose shared token is an
    /// environment value.
    fn conn() -> Resolved {
        resolved(
            json!({}),
            &[("HOOK_TOKEN", "env-token-1234", true)],
            json!({}),
            json!({"credentials": {"signing_secret": SIGNING_KEY, "whsec": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}}),
        )
    }

    fn verify(v: Value) -> HookVerify {
        serde_json::from_value(v).expect("a hook verification")
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, HeaderValue::from_str(value).expect("a header value"));
        }
        h
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn mac(algorithm: hmac::Algorithm, key: &str, body: &[u8]) -> Vec<u8> {
        hmac::sign(&hmac::Key::new(algorithm, key.as_bytes()), body)
            .as_ref()
            .to_vec()
    }

    #[test]
    fn hmac_hex_with_a_prefix_accepts_the_right_signature_only() {
        let v = verify(json!({
            "type": "hmac", "header": "X-Signature", "prefix": "sha256=",
            "secret": "{{ credentials.signing_secret }}"
        }));
        let good = format!("sha256={}", hex(&mac(hmac::HMAC_SHA256, SIGNING_KEY, BODY)));
        let c = conn();
        assert_eq!(
            verify_hook(&c, &v, &[("x-signature", good.clone())], None, BODY),
            Ok(())
        );
        // Upper-case hex is the same digest.
        let upper = format!("sha256={}", good[7..].to_uppercase());
        assert_eq!(
            verify_hook(&c, &v, &[("x-signature", upper)], None, BODY),
            Ok(())
        );
        // Another body, another key, no prefix, no header.
        assert_eq!(
            verify_hook(&c, &v, &[("x-signature", good.clone())], None, b"{}"),
            Err(MISMATCH)
        );
        let other = format!(
            "sha256={}",
            hex(&mac(hmac::HMAC_SHA256, "another key", BODY))
        );
        assert_eq!(
            verify_hook(&c, &v, &[("x-signature", other)], None, BODY),
            Err(MISMATCH)
        );
        assert_eq!(
            verify_hook(
                &c,
                &v,
                &[("x-signature", good[7..].to_string())],
                None,
                BODY
            ),
            Err(MISMATCH)
        );
        assert_eq!(verify_hook(&c, &v, &[], None, BODY), Err(MISSING));
        assert_eq!(
            verify_hook(&c, &v, &[("x-signature", "sha256=+f".into())], None, BODY),
            Err(MISMATCH)
        );
    }

    #[test]
    fn hmac_base64_with_sha512_and_sha1() {
        let c = conn();
        for (name, algorithm) in [
            ("sha512", hmac::HMAC_SHA512),
            ("sha1", hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY),
        ] {
            let v = verify(json!({
                "type": "hmac", "header": "X-Hub", "algorithm": name, "encoding": "base64",
                "secret": "{{ credentials.signing_secret }}"
            }));
            let good = STANDARD.encode(mac(algorithm, SIGNING_KEY, BODY));
            assert_eq!(
                verify_hook(&c, &v, &[("x-hub", good)], None, BODY),
                Ok(()),
                "{name}"
            );
            let wrong = STANDARD.encode(mac(hmac::HMAC_SHA256, SIGNING_KEY, BODY));
            assert_eq!(
                verify_hook(&c, &v, &[("x-hub", wrong)], None, BODY),
                Err(MISMATCH),
                "{name}"
            );
        }
    }

    #[test]
    fn a_secret_that_does_not_render_refuses_every_request() {
        let c = conn();
        let v = verify(
            json!({"type": "hmac", "header": "X-Signature", "secret": "{{ credentials.nothing }}"}),
        );
        let sig = hex(&mac(hmac::HMAC_SHA256, "", BODY));
        assert_eq!(
            verify_hook(&c, &v, &[("x-signature", sig)], None, BODY),
            Err(NO_SECRET)
        );
    }

    #[test]
    fn standard_webhooks_signatures_are_checked_with_their_timestamp() {
        let c = conn();
        let v = verify(json!({"type": "standard_webhooks", "secret": "{{ credentials.whsec }}"}));
        let signer = standardwebhooks::Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .expect("a secret");
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let signed = |id: &str, at: i64, body: &[u8]| {
            vec![
                ("webhook-id", id.to_string()),
                ("webhook-timestamp", at.to_string()),
                (
                    "webhook-signature",
                    signer.sign(id, at, body).expect("a signature"),
                ),
            ]
        };
        assert_eq!(
            verify_hook(&c, &v, &signed("msg_1", now, BODY), None, BODY),
            Ok(())
        );
        assert_eq!(
            verify_hook(&c, &v, &signed("msg_1", now, b"{}"), None, BODY),
            Err(MISMATCH)
        );
        assert_eq!(
            verify_hook(&c, &v, &signed("msg_1", now - 3600, BODY), None, BODY),
            Err(MISMATCH),
            "an old timestamp is a replay"
        );
        let mut unsigned = signed("msg_1", now, BODY);
        unsigned.retain(|(name, _)| *name != "webhook-signature");
        assert_eq!(verify_hook(&c, &v, &unsigned, None, BODY), Err(MISSING));
    }

    #[test]
    fn a_shared_token_in_a_header_or_the_query() {
        let c = conn();
        let in_header =
            verify(json!({"type": "token", "header": "X-Token", "secret": "{{ env.HOOK_TOKEN }}"}));
        let good = [("x-token", "env-token-1234".to_string())];
        assert_eq!(verify_hook(&c, &in_header, &good, None, BODY), Ok(()));
        let bad = [("x-token", "env-token-12345".to_string())];
        assert_eq!(verify_hook(&c, &in_header, &bad, None, BODY), Err(MISMATCH));
        assert_eq!(
            verify_hook(&c, &in_header, &[], Some("token=env-token-1234"), BODY),
            Err(MISSING)
        );

        let in_query =
            verify(json!({"type": "token", "query": "token", "secret": "{{ env.HOOK_TOKEN }}"}));
        assert_eq!(
            verify_hook(&c, &in_query, &[], Some("a=1&token=env-token-1234"), BODY),
            Ok(())
        );
        assert_eq!(
            verify_hook(&c, &in_query, &[], Some("token=env%2Dtoken%2D1234"), BODY),
            Ok(())
        );
        assert_eq!(
            verify_hook(&c, &in_query, &[], Some("token=nope"), BODY),
            Err(MISMATCH)
        );
        assert_eq!(verify_hook(&c, &in_query, &[], None, BODY), Err(MISSING));
    }
}
