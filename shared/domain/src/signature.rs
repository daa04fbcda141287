//! Standard Webhooks signatures (`webhook-signature: v1,<base64 HMAC-SHA256>`), one per
//! active secret so that receivers keep verifying across a secret rotation.
//!
//! The spec's signature is HMAC-SHA256 over `{msg_id}.{timestamp}.{body}` keyed with the
//! base64 secret after its `whsec_` prefix. It is computed here with aws-lc-rs (already the
//! process's crypto library, with the CPU's SHA instructions) over the three parts in turn,
//! instead of through the `standardwebhooks` crate's signer, which copies the body into a
//! formatted string and hashes it in portable Rust: on the delivery path that was a tenth of
//! the work of each webhook. The tests hold the output to the `standardwebhooks` crate's.

use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The prefix of a Standard Webhooks secret.
const SECRET_PREFIX: &str = "whsec_";

/// Why a request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// A secret is not base64 after its prefix. The decoder's own error is not kept: it quotes
    /// a byte of the secret.
    #[error("a stored webhook secret is malformed")]
    MalformedSecret,
}

/// Signs `body` for message `msg_id` at `timestamp` with every secret; returns the
/// space-separated `webhook-signature` value.
pub fn sign(
    secrets: &[&str],
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, SignatureError> {
    let timestamp = timestamp.to_string();
    // "v1," and 44 base64 characters per signature, and the spaces between them.
    let mut header = String::with_capacity(secrets.len() * 48);
    for secret in secrets {
        let raw = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
        let key = STANDARD
            .decode(raw)
            .map_err(|_| SignatureError::MalformedSecret)?;
        let mut mac = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, &key));
        for part in [msg_id.as_bytes(), b".", timestamp.as_bytes(), b".", body] {
            mac.update(part);
        }
        if !header.is_empty() {
            header.push(' ');
        }
        header.push_str("v1,");
        STANDARD.encode_string(mac.sign().as_ref(), &mut header);
    }
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;
    use standardwebhooks::Webhook;

    #[test]
    fn the_signature_is_the_standard_webhooks_reference_one() {
        // The example of the Standard Webhooks reference library's own test suite.
        let header = sign(
            &["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"],
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1_649_367_553,
            br#"{"email":"test@example.com","username":"test_user"}"#,
        )
        .expect("sign");
        assert_eq!(header, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    #[test]
    fn each_secret_yields_the_signature_the_standard_webhooks_library_makes() {
        let a = crate::secret::new_webhook_secret();
        let b = crate::secret::new_webhook_secret();
        let body = br#"{"id":"evt_1","data":{"lotNo":"L-1","note":"\u00e9"}}"#;
        let header = sign(&[&a, &b], "evt_1", 1_700_000_000, body).expect("sign");
        let expected: Vec<String> = [&a, &b]
            .iter()
            .map(|s| {
                Webhook::new(s)
                    .expect("secret")
                    .sign("evt_1", 1_700_000_000, body)
                    .expect("reference sign")
            })
            .collect();
        assert_eq!(header, expected.join(" "));
    }

    #[test]
    fn a_malformed_secret_is_an_error_that_quotes_nothing() {
        let err = sign(&["whsec_not*base64!"], "evt_1", 1, b"{}").expect_err("malformed");
        assert_eq!(err, SignatureError::MalformedSecret);
        assert_eq!(err.to_string(), "a stored webhook secret is malformed");
    }
}
