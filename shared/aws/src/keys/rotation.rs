//! Secrets Manager's rotation of the private key secret: its four steps, carried out by the
//! `keys` function.

use hookline_ports::key_set::{RotationPolicy, plan, public_half};
use hookline_ports::{PortError, PublicKey, SigningKeys};

use super::stored::encode;
use super::{CURRENT, PENDING, SecretsKeys};
use crate::sqs::sdk_error;

/// The step of a Secrets Manager rotation, as the service names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationStep {
    /// Make the new version (`AWSPENDING`).
    CreateSecret,
    /// Put it to use: publish its public keys.
    SetSecret,
    /// Check it.
    TestSecret,
    /// Make it current.
    FinishSecret,
}

impl RotationStep {
    /// Parses the service's step name.
    pub fn parse(name: &str) -> Option<RotationStep> {
        match name {
            "createSecret" => Some(RotationStep::CreateSecret),
            "setSecret" => Some(RotationStep::SetSecret),
            "testSecret" => Some(RotationStep::TestSecret),
            "finishSecret" => Some(RotationStep::FinishSecret),
            _ => None,
        }
    }
}

/// Carries out one step of Secrets Manager's rotation of the private key secret, for the
/// version `token`: a new key is added (due after `policy.activation_delay`), keys whose last
/// token has expired are dropped, the public keys are published, and the version is made
/// current. Every step may run again (the service retries) and does nothing the second time.
pub async fn rotation_step(
    keys: &SecretsKeys,
    secret_id: &str,
    token: &str,
    step: RotationStep,
    now_unix: i64,
    policy: &RotationPolicy,
) -> Result<(), PortError> {
    if !same_secret(secret_id, &keys.signing_secret) {
        return Err(PortError::backend(format!(
            "asked to rotate {secret_id}, which is not this stack's signing-key secret"
        )));
    }
    let secret = keys.signing_secret.clone();
    match step {
        RotationStep::CreateSecret => {
            let pending = keys.read(&secret, Some(token), Some(PENDING)).await?;
            if pending.value.is_some() {
                return Ok(());
            }
            let current = keys.signing_keys_in(Some(CURRENT), None).await?;
            let next = plan(&current, now_unix, policy)?;
            keys.put(
                &secret,
                token,
                &encode(&next.keys)?,
                Some(vec![PENDING.into()]),
            )
            .await?;
            tracing::info!(kid = %next.keys[0].kid, not_before = next.keys[0].not_before, "rotation: new key set pending");
            Ok(())
        }
        RotationStep::SetSecret => {
            let pending = keys.signing_keys_in(Some(PENDING), Some(token)).await?;
            // The keys being replaced stay published too, until the version turns current.
            let current = keys.signing_keys_in(Some(CURRENT), None).await?;
            let mut public = Vec::new();
            for k in pending.iter().chain(current.iter()) {
                if !public.iter().any(|p: &PublicKey| p.kid == k.kid) {
                    public.push(public_half(k)?);
                }
            }
            keys.publish(&public).await
        }
        RotationStep::TestSecret => {
            let pending = keys.signing_keys_in(Some(PENDING), Some(token)).await?;
            if pending.is_empty() {
                return Err(PortError::backend("the pending key set is empty"));
            }
            pending
                .iter()
                .map(public_half)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(())
        }
        RotationStep::FinishSecret => {
            let described = keys
                .client
                .describe_secret()
                .secret_id(&secret)
                .send()
                .await
                .map_err(|e| sdk_error("describe the signing-key secret", e))?;
            let current = described.version_ids_to_stages().and_then(|m| {
                m.iter()
                    .find(|(_, stages)| stages.iter().any(|s| s == CURRENT))
                    .map(|(id, _)| id.clone())
            });
            if current.as_deref() == Some(token) {
                return Ok(());
            }
            keys.client
                .update_secret_version_stage()
                .secret_id(&secret)
                .version_stage(CURRENT)
                .move_to_version_id(token)
                .set_remove_from_version_id(current)
                .send()
                .await
                .map_err(|e| sdk_error("make the new key set current", e))?;
            // The published keys are now exactly the current set's.
            keys.publish_halves_of(&keys.signing_keys().await?).await?;
            tracing::info!(version = token, "rotation: the new key set is current");
            Ok(())
        }
    }
}

/// Whether a rotation request's secret id (an ARN) names `ours` (an ARN or a name).
fn same_secret(asked: &str, ours: &str) -> bool {
    asked == ours
        || asked
            .rsplit(':')
            .next()
            .is_some_and(|name| name == ours || name.starts_with(&format!("{ours}-")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_request_names_our_secret_by_arn() {
        let arn = "arn:aws:secretsmanager:ap-south-1:1:secret:SigningKeySecret-AbCdEf";
        assert!(same_secret(arn, arn));
        assert!(same_secret(arn, "SigningKeySecret"));
        assert!(!same_secret(arn, "OtherSecret"));
    }
}
