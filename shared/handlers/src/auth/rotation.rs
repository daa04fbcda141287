//! Key rotation: the only way a key is made or retired. A new key is published first and signs
//! only once every verifier can have seen it; an old key is kept, verifying, until the last
//! token it signed has expired. The same plan serves the AWS rotation function (Secrets
//! Manager's rotation steps) and `hookline-local keys rotate`.

use std::time::Duration;

use hookline_ports::{KeyRotation, PortError, PublicKey, SigningKey, SigningKeys};

use crate::auth::keys::{REFRESH, generate_signing_key, public_half};

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

/// Rotates the keys of a store that can replace them in one step (the embedded backend):
/// returns the new key's `kid` and when it starts signing.
pub async fn rotate<K>(
    keys: &K,
    now: i64,
    policy: &RotationPolicy,
) -> Result<(String, i64), PortError>
where
    K: SigningKeys + KeyRotation + ?Sized,
{
    for _ in 0..3 {
        let current = keys.signing_keys().await?;
        let plan = plan(&current, now, policy)?;
        let new = (plan.keys[0].kid.clone(), plan.keys[0].not_before);
        if keys
            .replace_keys(&plan.expected, &plan.keys, &plan.public)
            .await?
        {
            tracing::info!(kid = %new.0, not_before = new.1, kept = plan.keys.len(), "keys rotated");
            return Ok(new);
        }
    }
    Err(PortError::Conflict(
        "the keys kept changing during the rotation".into(),
    ))
}

/// Creates the first key if there is none (the local runner's first start); `None` if there
/// was one already.
pub async fn ensure_first_key<K>(keys: &K, now: i64) -> Result<Option<String>, PortError>
where
    K: SigningKeys + KeyRotation + ?Sized,
{
    if !keys.signing_keys().await?.is_empty() {
        return Ok(None);
    }
    match rotate(keys, now, &RotationPolicy::default()).await {
        Ok((kid, _)) => Ok(Some(kid)),
        // Another first start won the race: its key is the first.
        Err(PortError::Conflict(_)) if !keys.signing_keys().await?.is_empty() => Ok(None),
        Err(e) => Err(e),
    }
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
