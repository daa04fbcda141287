//! The JWT keys in two Secrets Manager secrets: the private key set (read by the token
//! function only) and the published public keys, a JWKS document (read by every function that
//! verifies tokens). Both are written only by rotation: Secrets Manager's rotation of the
//! private secret, whose four steps [`rotation_step`] carries out in the `keys` function, or
//! [`KeyRotation::replace_keys`] from `hookline-local keys rotate` and the local runner's first
//! start on an emulator.
//!
//! The private secret's `SecretString` is `{"keys": [{"kid", "pkcs8_der_b64", "created_at",
//! "not_before"}]}`. Key material never reaches a log or an error message.

mod rotation;
mod stored;

pub use rotation::{RotationStep, rotation_step};

use async_trait::async_trait;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use hookline_ports::key_set::{jwks_of, public_half};
use hookline_ports::{KeyRotation, PortError, PublicKey, PublicKeys, SigningKey, SigningKeys};

use crate::sqs::sdk_error;
use stored::{decode, decode_public, encode};

/// The two key secrets of a stack.
#[derive(Clone)]
pub struct SecretsKeys {
    client: aws_sdk_secretsmanager::Client,
    signing_secret: String,
    public_secret: String,
}

impl std::fmt::Debug for SecretsKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsKeys")
            .field("signing_secret", &self.signing_secret)
            .field("public_secret", &self.public_secret)
            .finish_non_exhaustive()
    }
}

/// A secret's current value and version.
struct Version {
    id: Option<String>,
    value: Option<String>,
}

impl SecretsKeys {
    /// The keys in `signing_secret` and `public_secret` (names or ARNs).
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        signing_secret: impl Into<String>,
        public_secret: impl Into<String>,
    ) -> SecretsKeys {
        SecretsKeys {
            client,
            signing_secret: signing_secret.into(),
            public_secret: public_secret.into(),
        }
    }

    /// The private key secret's id.
    pub fn signing_secret(&self) -> &str {
        &self.signing_secret
    }

    /// Publishes the public halves of `keys`, exactly those.
    async fn publish_halves_of(&self, keys: &[SigningKey]) -> Result<(), PortError> {
        let public = keys
            .iter()
            .map(public_half)
            .collect::<Result<Vec<_>, _>>()?;
        self.publish(&public).await
    }

    /// The signing keys of the private secret's version in `stage` (and `version_id`); none
    /// where the secret or the version does not exist.
    async fn signing_keys_in(
        &self,
        stage: Option<&str>,
        version_id: Option<&str>,
    ) -> Result<Vec<SigningKey>, PortError> {
        let version = self.read(&self.signing_secret, version_id, stage).await?;
        decode(version.value.as_deref())
    }

    /// A secret's version in `stage` (or `version_id`); a missing secret or version has no
    /// value.
    async fn read(
        &self,
        secret: &str,
        version_id: Option<&str>,
        stage: Option<&str>,
    ) -> Result<Version, PortError> {
        // The current version is asked for by name: an emulator (moto) may keep serving the
        // version that was current at creation when no stage is named.
        let stage = match (version_id, stage) {
            (None, None) => Some(CURRENT),
            (_, stage) => stage,
        };
        match self
            .client
            .get_secret_value()
            .secret_id(secret)
            .set_version_id(version_id.map(str::to_owned))
            .set_version_stage(stage.map(str::to_owned))
            .send()
            .await
        {
            Ok(out) => Ok(Version {
                id: out.version_id().map(str::to_owned),
                value: out.secret_string().map(str::to_owned),
            }),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(Version {
                id: None,
                value: None,
            }),
            Err(e) => Err(sdk_error("read a key secret", e)),
        }
    }

    /// Writes a new version of `secret` (current unless `stages` says otherwise); `false` if
    /// a version with this `token` exists already with another value.
    async fn put(
        &self,
        secret: &str,
        token: &str,
        value: &str,
        stages: Option<Vec<String>>,
    ) -> Result<bool, PortError> {
        match self
            .client
            .put_secret_value()
            .secret_id(secret)
            .client_request_token(token)
            .secret_string(value)
            .set_version_stages(stages)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ResourceExistsException") => Ok(false),
            Err(e) => Err(sdk_error("write a key secret", e)),
        }
    }

    /// Publishes the public halves of `keys` (and of `also`) in the public secret.
    async fn publish(&self, public: &[PublicKey]) -> Result<(), PortError> {
        let value = jwks_of(public).to_string();
        let token = version_token("publish", &value);
        self.put(&self.public_secret, &token, &value, None).await?;
        Ok(())
    }
}

#[async_trait]
impl SigningKeys for SecretsKeys {
    async fn signing_keys(&self) -> Result<Vec<SigningKey>, PortError> {
        self.signing_keys_in(None, None).await
    }
}

#[async_trait]
impl PublicKeys for SecretsKeys {
    async fn public_keys(&self) -> Result<Vec<PublicKey>, PortError> {
        let current = self.read(&self.public_secret, None, None).await?;
        decode_public(current.value.as_deref())
    }
}

#[async_trait]
impl KeyRotation for SecretsKeys {
    async fn replace_keys(
        &self,
        expected: &[String],
        keys: &[SigningKey],
        public: &[PublicKey],
    ) -> Result<bool, PortError> {
        let current = self.read(&self.signing_secret, None, None).await?;
        let mut held: Vec<String> = decode(current.value.as_deref())?
            .into_iter()
            .map(|k| k.kid)
            .collect();
        let mut wanted = expected.to_vec();
        held.sort();
        wanted.sort();
        if held != wanted {
            return Ok(false);
        }
        // Published before the set changes: no key signs before verifiers can know it.
        self.publish(public).await?;
        // The version replacing `current` has a token derived from it: of two rotations over
        // the same version, Secrets Manager keeps the first and refuses the other.
        let token = version_token("rotate", current.id.as_deref().unwrap_or("none"));
        let written = self
            .put(&self.signing_secret, &token, &encode(keys)?, None)
            .await?;
        if !written {
            // The winner's keys are the ones to publish.
            self.publish_halves_of(&self.signing_keys().await?).await?;
        }
        Ok(written)
    }
}

const PENDING: &str = "AWSPENDING";
const CURRENT: &str = "AWSCURRENT";

/// A version token (32–64 characters, as the API requires) derived from `seed`.
fn version_token(purpose: &str, seed: &str) -> String {
    // FNV-1a, 128 bits: stable across builds and platforms, unlike `DefaultHasher`.
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let hash = seed
        .bytes()
        .fold(OFFSET, |h, b| (h ^ u128::from(b)).wrapping_mul(PRIME));
    format!("hookline-{purpose}-{hash:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_tokens_fit_the_api_and_differ_by_seed() {
        let a = version_token("rotate", "none");
        let b = version_token("rotate", "v1");
        assert!((32..=64).contains(&a.len()) && (32..=64).contains(&b.len()));
        assert_ne!(a, b);
        assert_eq!(a, version_token("rotate", "none"));
    }
}
