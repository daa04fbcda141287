//! Pure operations over the JWT key set that every backend and the handlers share: making a
//! key, its public half, the JWKS document of public keys, and the plan of a rotation. A new
//! key is published first and signs only once every verifier can have seen it; an old key is
//! kept, verifying, until the last token it signed has expired. The same plan serves the AWS
//! rotation function (Secrets Manager's rotation steps) and `hookline-local keys rotate`.

use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::error::PortError;
use crate::keys::{PublicKey, SigningKey};

/// How often a process reads its keys again in any case: a retired key must keep verifying
/// this much longer than a token lives.
pub const REFRESH: Duration = Duration::from_secs(300);

/// Generates a new P-256 key with a random `kid`, created at `now_unix`.
pub fn generate_signing_key(now_unix: i64) -> Result<SigningKey, PortError> {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .map_err(|_| PortError::backend("could not generate a signing key"))?;
    let mut kid = [0u8; 9];
    hookline_domain::ids::random_bytes(&mut kid);
    Ok(SigningKey {
        kid: URL_SAFE_NO_PAD.encode(kid),
        pkcs8_der: doc.as_ref().to_vec(),
        created_at: now_unix,
        not_before: now_unix,
    })
}

/// The public half of a signing key.
pub fn public_half(k: &SigningKey) -> Result<PublicKey, PortError> {
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &k.pkcs8_der)
        .map_err(|_| PortError::backend(format!("signing key {} is malformed", k.kid)))?;
    let point = pair.public_key().as_ref();
    if point.len() != 65 || point[0] != 4 {
        return Err(PortError::backend(format!(
            "signing key {} is not P-256",
            k.kid
        )));
    }
    Ok(PublicKey {
        kid: k.kid.clone(),
        x: URL_SAFE_NO_PAD.encode(&point[1..33]),
        y: URL_SAFE_NO_PAD.encode(&point[33..65]),
    })
}

/// The JWKS document of some public keys.
pub fn jwks_of(keys: &[PublicKey]) -> Value {
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| json!({"kty": "EC", "crv": "P-256", "x": k.x, "y": k.y, "kid": k.kid, "alg": "ES256", "use": "sig"}))
        .collect();
    json!({ "keys": keys })
}

/// How a rotation spaces its keys.
#[derive(Debug, Clone, Copy)]
pub struct RotationPolicy {
    /// From a new key's publication to its first signature: long enough for every JWKS
    /// cache in front of a verifier to have taken it in (one hour by default).
    pub activation_delay: Duration,
    /// The access tokens' lifetime: how long a retired key must still verify.
    pub token_ttl: Duration,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        RotationPolicy {
            activation_delay: Duration::from_secs(3600),
            token_ttl: Duration::from_secs(900),
        }
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The key set after adding `new` at `now` (Unix seconds), newest first: the new key is due
/// `activation_delay` from now (at once if it is the first), and a key that stopped signing
/// longer ago than a token lives (plus the signers' refresh time and a minute) is dropped.
pub fn rotated(
    set: &[SigningKey],
    mut new: SigningKey,
    now: i64,
    policy: &RotationPolicy,
) -> Vec<SigningKey> {
    let mut set = set.to_vec();
    set.sort_by_key(|k| std::cmp::Reverse((k.created_at, k.kid.clone())));
    new.created_at = now.max(set.first().map_or(now, |k| k.created_at + 1));
    new.not_before = if set.is_empty() {
        now
    } else {
        now + secs(policy.activation_delay)
    };
    let outlives = secs(policy.token_ttl) + secs(REFRESH) + 60;
    let mut kept = vec![new];
    for (i, k) in set.iter().enumerate() {
        // It stopped signing when the next newer key became due (if one has).
        let stopped = if i == 0 {
            None
        } else {
            Some(set[i - 1].not_before).filter(|t| *t <= now)
        };
        if stopped.is_none_or(|t| now < t + outlives) {
            kept.push(k.clone());
        }
    }
    kept
}

/// A rotation planned over the set `current`: the set to store and its public keys.
pub struct Plan {
    /// The kids of the set it replaces.
    pub expected: Vec<String>,
    /// The new set, newest first.
    pub keys: Vec<SigningKey>,
    /// Its public keys.
    pub public: Vec<PublicKey>,
}

/// Plans a rotation at `now` over `current` with a freshly generated key.
pub fn plan(current: &[SigningKey], now: i64, policy: &RotationPolicy) -> Result<Plan, PortError> {
    let keys = rotated(current, generate_signing_key(now)?, now, policy);
    let public = keys
        .iter()
        .map(public_half)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Plan {
        expected: current.iter().map(|k| k.kid.clone()).collect(),
        keys,
        public,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, created_at: i64, not_before: i64) -> SigningKey {
        SigningKey {
            kid: kid.into(),
            pkcs8_der: Vec::new(),
            created_at,
            not_before,
        }
    }

    #[test]
    fn the_first_key_signs_at_once_and_a_later_one_after_the_delay() {
        let policy = RotationPolicy::default();
        let first = rotated(&[], key("a", 0, 0), 1_000, &policy);
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].not_before, 1_000);
        let second = rotated(&first, key("b", 0, 0), 2_000, &policy);
        assert_eq!(
            second.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        );
        assert_eq!(second[0].not_before, 2_000 + 3_600);
        assert!(second[0].created_at > second[1].created_at);
    }

    #[test]
    fn a_key_is_kept_until_its_last_token_expires_then_dropped() {
        let policy = RotationPolicy::default();
        // b took over from a at 5,600; a's last token expires by 5,600 + 900 + 300 + 60.
        let set = [key("b", 2_000, 5_600), key("a", 1_000, 1_000)];
        let soon = rotated(&set, key("c", 0, 0), 6_000, &policy);
        assert_eq!(
            soon.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            ["c", "b", "a"]
        );
        let later = rotated(&set, key("c", 0, 0), 5_600 + 1_260, &policy);
        assert_eq!(
            later.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            ["c", "b"]
        );
        // A key that never signed (its successor came before it was due) goes the same way.
        let rushed = [
            key("c", 3_000, 9_000),
            key("b", 2_000, 5_600),
            key("a", 1_000, 1_000),
        ];
        let kept = rotated(&rushed, key("d", 0, 0), 20_000, &policy);
        assert_eq!(
            kept.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            ["d", "c"]
        );
    }
}
