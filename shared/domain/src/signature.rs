//! Standard Webhooks signatures (`webhook-signature: v1,<base64 HMAC-SHA256>`), one per
//! active secret so that receivers keep verifying across a secret rotation.

use standardwebhooks::Webhook;

/// Signs `body` for message `msg_id` at `timestamp` with every secret; returns the
/// space-separated `webhook-signature` value.
pub fn sign(secrets: &[&str], msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let mut parts = Vec::with_capacity(secrets.len());
    for s in secrets {
        let wh = Webhook::new(s).map_err(|_| "a stored webhook secret is malformed".to_string())?;
        let sig = wh
            .sign(msg_id, timestamp, body)
            .map_err(|_| "signing failed".to_string())?;
        parts.push(sig);
    }
    Ok(parts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_secret_yields_a_verifiable_signature() {
        let a = crate::secret::new_webhook_secret();
        let b = crate::secret::new_webhook_secret();
        let header = sign(&[&a, &b], "evt_1", 1_700_000_000, b"{}").expect("sign");
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.split(' ').all(|p| p.starts_with("v1,")));
    }
}
