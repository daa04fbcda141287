//! Key rotation: the only way a key is made or retired. The plan (which keys to keep, when the
//! new one signs) is pure and lives in `hookline_ports::key_set`, re-exported here; this module
//! carries it out on a store that replaces its keys in one step (the embedded backend). On AWS,
//! the `keys` function carries it out in Secrets Manager's rotation steps.

use hookline_ports::{KeyRotation, PortError, SigningKeys};

pub use hookline_ports::key_set::{Plan, RotationPolicy, plan, rotated};

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
