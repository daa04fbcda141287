//! The JWT signing keys in one Secrets Manager secret: the `KeyStore` port. The secret's
//! `SecretString` is `{"keys": [{"kid", "pkcs8_der_b64", "created_at"}]}`, newest first.
//! The template may pre-create the secret with no value (or an empty key set); the first start
//! of the token function stores a key into it. Concurrent first starts converge on one key set
//! because every writer of the first key uses the same version id (`ClientRequestToken`),
//! derived from the empty version it replaces: Secrets Manager accepts the first and refuses
//! the others, which then read back the winner's set.
//!
//! The set is cached in the struct for a few minutes, so a warm function does not call Secrets
//! Manager for every token. Key material never reaches a log or an error message.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hookline_ports::{KeyStore, PortError, SigningKey};
use serde::{Deserialize, Serialize};

use crate::sqs::sdk_error;

/// How long a key set read from the secret is used before the secret is read again.
pub const CACHE_TTL: Duration = Duration::from_secs(300);

/// The secret's JSON. No `Debug`: it holds the private keys.
#[derive(Serialize, Deserialize, Default)]
struct StoredKeySet {
    #[serde(default)]
    keys: Vec<StoredKey>,
}

/// One key in the secret's JSON.
#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    pkcs8_der_b64: String,
    created_at: i64,
}

/// The secret as read: its current version (none if it has no value yet) and its keys.
struct Current {
    version_id: Option<String>,
    keys: Vec<SigningKey>,
}

/// The `KeyStore` port over one Secrets Manager secret.
pub struct SecretsKeyStore {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    cache_ttl: Duration,
    cache: Mutex<Option<(Instant, Vec<SigningKey>)>>,
}

impl std::fmt::Debug for SecretsKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretsKeyStore")
            .field("secret_id", &self.secret_id)
            .field("cache_ttl", &self.cache_ttl)
            .finish_non_exhaustive()
    }
}

impl SecretsKeyStore {
    /// A key store over the secret `secret_id` (a name or an ARN), caching for [`CACHE_TTL`].
    pub fn new(
        client: aws_sdk_secretsmanager::Client,
        secret_id: impl Into<String>,
    ) -> SecretsKeyStore {
        SecretsKeyStore {
            client,
            secret_id: secret_id.into(),
            cache_ttl: CACHE_TTL,
            cache: Mutex::new(None),
        }
    }

    /// The same store with another cache lifetime (`Duration::ZERO` reads the secret every time).
    pub fn with_cache_ttl(mut self, ttl: Duration) -> SecretsKeyStore {
        self.cache_ttl = ttl;
        self
    }

    /// The cached key set, if fresh. Only non-empty sets are cached: an empty one is about to
    /// change, by this process or another.
    fn cached(&self) -> Option<Vec<SigningKey>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        match &*cache {
            Some((at, keys)) if at.elapsed() < self.cache_ttl => Some(keys.clone()),
            _ => None,
        }
    }

    /// Caches a non-empty key set and returns it.
    fn remember(&self, keys: Vec<SigningKey>) -> Vec<SigningKey> {
        if !keys.is_empty() {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            *cache = Some((Instant::now(), keys.clone()));
        }
        keys
    }

    /// Reads the secret; a missing secret, or one without a value, is an empty key set.
    async fn read(&self) -> Result<Current, PortError> {
        match self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
        {
            Ok(out) => Ok(Current {
                version_id: out.version_id().map(str::to_owned),
                keys: decode(out.secret_string())?,
            }),
            Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(Current {
                version_id: None,
                keys: Vec::new(),
            }),
            Err(e) => Err(sdk_error("read the signing-key secret", &e)),
        }
    }

    /// Creates the secret holding `value`; `false` if it exists already.
    async fn create(&self, value: &str) -> Result<bool, PortError> {
        match self
            .client
            .create_secret()
            .name(&self.secret_id)
            .description("Hookline: the JWT signing keys of the token function")
            .secret_string(value)
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ResourceExistsException") => Ok(false),
            Err(e) => Err(sdk_error("create the signing-key secret", &e)),
        }
    }

    /// Stores `value` as the version that replaces the empty `replaces`; another writer having
    /// done so first (with another key) is not an error.
    async fn put_first(&self, replaces: Option<&str>, value: &str) -> Result<(), PortError> {
        match self
            .client
            .put_secret_value()
            .secret_id(&self.secret_id)
            .client_request_token(first_key_token(replaces))
            .secret_string(value)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceExistsException") => Ok(()),
            Err(e) => Err(sdk_error("store the first signing key", &e)),
        }
    }
}

#[async_trait]
impl KeyStore for SecretsKeyStore {
    async fn signing_keys(&self) -> Result<Vec<SigningKey>, PortError> {
        if let Some(keys) = self.cached() {
            return Ok(keys);
        }
        Ok(self.remember(self.read().await?.keys))
    }

    async fn init_signing_key(&self, key: SigningKey) -> Result<Vec<SigningKey>, PortError> {
        if let Some(keys) = self.cached() {
            return Ok(keys);
        }
        let current = self.read().await?;
        if !current.keys.is_empty() {
            return Ok(self.remember(current.keys));
        }
        let value = encode(std::slice::from_ref(&key))?;
        // An ARN names a secret that exists (the template's); only a name can be created.
        if current.version_id.is_none()
            && !self.secret_id.starts_with("arn:")
            && self.create(&value).await?
        {
            tracing::info!(kid = %key.kid, "stored the first signing key in a new secret");
            return Ok(self.remember(vec![key]));
        }
        // The secret exists: pre-created empty, or created by a concurrent first start.
        let current = self.read().await?;
        if !current.keys.is_empty() {
            return Ok(self.remember(current.keys));
        }
        self.put_first(current.version_id.as_deref(), &value)
            .await?;
        let stored = self.read().await?.keys;
        if stored.is_empty() {
            return Err(PortError::Backend(
                "the signing-key secret is still empty after storing the first key".into(),
            ));
        }
        tracing::info!(kid = %stored[0].kid, "the signing-key secret holds its first key");
        Ok(self.remember(stored))
    }
}

/// The key set in a secret's value; no value, or a blank one, is an empty set.
fn decode(secret_string: Option<&str>) -> Result<Vec<SigningKey>, PortError> {
    let text = secret_string.unwrap_or("").trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    // serde_json's message may quote the value it choked on: report only where.
    let set: StoredKeySet = serde_json::from_str(text).map_err(|e| {
        PortError::Backend(format!(
            "the signing-key secret is not a key set ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })?;
    let mut keys = set
        .keys
        .into_iter()
        .map(|k| {
            let pkcs8_der = BASE64.decode(k.pkcs8_der_b64.as_bytes()).map_err(|_| {
                PortError::Backend(format!(
                    "signing key {}: pkcs8_der_b64 is not base64",
                    k.kid
                ))
            })?;
            Ok(SigningKey {
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

/// A secret's value holding `keys`.
fn encode(keys: &[SigningKey]) -> Result<String, PortError> {
    let set = StoredKeySet {
        keys: keys
            .iter()
            .map(|k| StoredKey {
                kid: k.kid.clone(),
                pkcs8_der_b64: BASE64.encode(&k.pkcs8_der),
                created_at: k.created_at,
            })
            .collect(),
    };
    serde_json::to_string(&set)
        .map_err(|_| PortError::Backend("the signing-key set does not serialize".into()))
}

/// The version id of the first key set written over the empty version `replaces` (none: the
/// secret has no value yet). Every concurrent first start computes the same one, so Secrets
/// Manager keeps the first write and refuses the others; a retry of the same write is
/// idempotent. 32–64 characters, as the API requires.
fn first_key_token(replaces: Option<&str>) -> String {
    // FNV-1a, 128 bits: stable across builds and platforms, unlike `DefaultHasher`.
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let hash = replaces
        .unwrap_or("")
        .bytes()
        .fold(OFFSET, |h, b| (h ^ u128::from(b)).wrapping_mul(PRIME));
    format!("hookline-first-key-{hash:032x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_key_tokens_fit_the_api_and_differ_by_version() {
        let a = first_key_token(None);
        let b = first_key_token(Some("v1"));
        assert!((32..=64).contains(&a.len()) && (32..=64).contains(&b.len()));
        assert_ne!(a, b);
        assert_eq!(a, first_key_token(None));
    }

    #[test]
    fn a_key_set_survives_encoding_and_comes_back_newest_first() {
        let key = |kid: &str, created_at| SigningKey {
            kid: kid.into(),
            pkcs8_der: vec![0, 1, 254, 255],
            created_at,
        };
        let text = encode(&[key("old", 1), key("new", 2)]).unwrap_or_default();
        let kids: Vec<String> = decode(Some(&text))
            .unwrap_or_default()
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(kids, ["new", "old"]);
        assert!(decode(Some("  ")).is_ok_and(|k| k.is_empty()));
        assert!(decode(Some(r#"{"keys":[]}"#)).is_ok_and(|k| k.is_empty()));
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
}
