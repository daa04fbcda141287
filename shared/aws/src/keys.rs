//! The JWT keys in two Secrets Manager secrets: the private key set (read by the token
//! function only) and the published public keys, a JWKS document (read by every function that
//! verifies tokens). Both are written only by rotation: Secrets Manager's rotation of the
//! private secret, whose four steps [`rotation_step`] carries out in the `keys` function, or
//! [`KeyRotation::replace_keys`] from `hookline-local keys rotate` and the local runner's first
//! start on an emulator.
//!
//! The private secret's `SecretString` is `{"keys": [{"kid", "pkcs8_der_b64", "created_at",
//! "not_before"}]}`. Key material never reaches a log or an error message.

use async_trait::async_trait;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hookline_ports::key_set::{RotationPolicy, jwks_of, plan, public_half};
use hookline_ports::{KeyRotation, PortError, PublicKey, PublicKeys, SigningKey, SigningKeys};
use serde::{Deserialize, Serialize};

use crate::sqs::sdk_error;

/// The private secret's JSON. No `Debug`: it holds the private keys.
#[derive(Serialize, Deserialize, Default)]
struct StoredKeySet {
    #[serde(default)]
    keys: Vec<StoredKey>,
}

/// One key in the private secret's JSON.
#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    pkcs8_der_b64: String,
    created_at: i64,
    #[serde(default)]
    not_before: Option<i64>,
}

/// The public secret's JSON: a JWKS document.
#[derive(Deserialize, Default)]
struct StoredJwks {
    #[serde(default)]
    keys: Vec<StoredJwk>,
}

#[derive(Deserialize)]
struct StoredJwk {
    kid: String,
    x: String,
    y: String,
}

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

const PENDING: &str = "AWSPENDING";
const CURRENT: &str = "AWSCURRENT";

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

/// A secret's JSON value; `None` for no value or a blank one. The error says `what` and where
/// the JSON went wrong, never the value (serde_json's message may quote what it choked on).
fn parse_secret<T: serde::de::DeserializeOwned>(
    secret_string: Option<&str>,
    what: &str,
) -> Result<Option<T>, PortError> {
    let text = secret_string.unwrap_or("").trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text).map(Some).map_err(|e| {
        PortError::backend(format!(
            "{what} ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

/// The key set in the private secret's value; no value, or a blank one, is an empty set.
fn decode(secret_string: Option<&str>) -> Result<Vec<SigningKey>, PortError> {
    let Some(set) =
        parse_secret::<StoredKeySet>(secret_string, "the signing-key secret is not a key set")?
    else {
        return Ok(Vec::new());
    };
    let mut keys = set
        .keys
        .into_iter()
        .map(|k| {
            let pkcs8_der = BASE64.decode(k.pkcs8_der_b64.as_bytes()).map_err(|_| {
                PortError::backend(format!(
                    "signing key {}: pkcs8_der_b64 is not base64",
                    k.kid
                ))
            })?;
            Ok(SigningKey {
                not_before: k.not_before.unwrap_or(k.created_at),
                kid: k.kid,
                pkcs8_der,
                created_at: k.created_at,
            })
        })
        .collect::<Result<Vec<_>, PortError>>()?;
    // The port promises newest first, whoever wrote the secret.
    keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    Ok(keys)
}

/// The public keys in the public secret's value (a JWKS document).
fn decode_public(secret_string: Option<&str>) -> Result<Vec<PublicKey>, PortError> {
    let Some(set) = parse_secret::<StoredJwks>(
        secret_string,
        "the public-key secret is not a JWKS document",
    )?
    else {
        return Ok(Vec::new());
    };
    Ok(set
        .keys
        .into_iter()
        .map(|k| PublicKey {
            kid: k.kid,
            x: k.x,
            y: k.y,
        })
        .collect())
}

/// The private secret's value holding `keys`.
fn encode(keys: &[SigningKey]) -> Result<String, PortError> {
    let set = StoredKeySet {
        keys: keys
            .iter()
            .map(|k| StoredKey {
                kid: k.kid.clone(),
                pkcs8_der_b64: BASE64.encode(&k.pkcs8_der),
                created_at: k.created_at,
                not_before: Some(k.not_before),
            })
            .collect(),
    };
    serde_json::to_string(&set)
        .map_err(|_| PortError::backend("the signing-key set does not serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, created_at: i64) -> SigningKey {
        SigningKey {
            kid: kid.into(),
            pkcs8_der: vec![0, 1, 254, 255],
            created_at,
            not_before: created_at + 5,
        }
    }

    #[test]
    fn version_tokens_fit_the_api_and_differ_by_seed() {
        let a = version_token("rotate", "none");
        let b = version_token("rotate", "v1");
        assert!((32..=64).contains(&a.len()) && (32..=64).contains(&b.len()));
        assert_ne!(a, b);
        assert_eq!(a, version_token("rotate", "none"));
    }

    #[test]
    fn a_key_set_survives_encoding_and_comes_back_newest_first() {
        let text = encode(&[key("old", 1), key("new", 2)]).unwrap_or_default();
        let back = decode(Some(&text)).unwrap_or_default();
        let kids: Vec<&str> = back.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, ["new", "old"]);
        assert_eq!(back[0].not_before, 7);
        assert!(decode(Some("  ")).is_ok_and(|k| k.is_empty()));
        assert!(decode(Some(r#"{"keys":[]}"#)).is_ok_and(|k| k.is_empty()));
        // A set written before keys had `not_before` signs from its creation.
        let legacy = r#"{"keys":[{"kid":"k","pkcs8_der_b64":"AAE=","created_at":9}]}"#;
        assert_eq!(decode(Some(legacy)).unwrap_or_default()[0].not_before, 9);
    }

    #[test]
    fn a_malformed_secret_is_an_error_that_does_not_quote_it() {
        let err = decode(Some(
            r#"{"keys":[{"kid":"k","pkcs8_der_b64":"TOPSECRET","created_at":"TOPSECRET"}]}"#,
        ));
        let text = err.map(|_| String::new()).unwrap_or_else(|e| e.to_string());
        assert!(text.contains("not a key set"), "{text}");
        assert!(!text.contains("TOPSECRET"), "{text}");
    }

    #[test]
    fn a_rotation_request_names_our_secret_by_arn() {
        let arn = "arn:aws:secretsmanager:ap-south-1:1:secret:SigningKeySecret-AbCdEf";
        assert!(same_secret(arn, arn));
        assert!(same_secret(arn, "SigningKeySecret"));
        assert!(!same_secret(arn, "OtherSecret"));
    }
}
