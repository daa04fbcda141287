//! The JWT keys as a handler holds them: the signing key (the token function, the local
//! runner) or only the published public keys (every other function that verifies tokens).
//!
//! Keys rotate while functions run. The signer reads its key set again every few minutes, and
//! signs with the newest key whose `not_before` has passed, so a rotated-in key starts signing
//! on every instance once it is due. A verifier that meets a `kid` it does not know reads the
//! published keys again (at most once per [`MISS_REFRESH`]), so a token signed by a new key is
//! accepted as soon as the key is published, and a retired key stops verifying within
//! [`REFRESH`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use hookline_ports::{PortError, PublicKey, PublicKeys, SigningKey, SigningKeys};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::Value;

// Making a key, its public half and the JWKS document are pure operations on the ports' key
// types: they live in `hookline_ports::key_set`, where the backends use them too.
pub use hookline_ports::key_set::{REFRESH, generate_signing_key, jwks_of, public_half};

/// The shortest time between two reads prompted by an unknown `kid` (a flood of made-up kids
/// must not become a flood of reads).
pub const MISS_REFRESH: Duration = Duration::from_secs(30);

/// Where a process's keys come from.
#[derive(Clone)]
pub enum KeySource {
    /// The private key set: this process signs (and verifies with the same keys).
    Signing(Arc<dyn SigningKeys>),
    /// The published public keys only: this process verifies.
    Published(Arc<dyn PublicKeys>),
    /// No keys: this process neither signs nor verifies (fan-out, delivery).
    None,
}

/// The key a token is signed with.
#[derive(Clone)]
pub struct Signer {
    /// Its `kid`.
    pub kid: String,
    /// The key.
    pub key: EncodingKey,
}

/// What was read last.
struct Loaded {
    at: Instant,
    signers: Vec<(i64, Signer)>,
    verifying: HashMap<String, DecodingKey>,
    jwks: Value,
}

/// The keys of one process, read again as they rotate.
pub struct JwtKeys {
    source: KeySource,
    loaded: RwLock<Arc<Loaded>>,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys").finish_non_exhaustive()
    }
}

impl JwtKeys {
    /// Reads the keys from `source`. An empty set is not an error: until the first rotation
    /// this process cannot sign (and verifies nothing).
    pub async fn load(source: KeySource) -> Result<JwtKeys, PortError> {
        let loaded = read(&source).await?;
        Ok(JwtKeys {
            source,
            loaded: RwLock::new(Arc::new(loaded)),
        })
    }

    /// Keys from a fixed set, never read again (tests).
    pub fn from_keys(set: &[SigningKey]) -> Result<JwtKeys, PortError> {
        Ok(JwtKeys {
            source: KeySource::None,
            loaded: RwLock::new(Arc::new(loaded_from_private(set)?)),
        })
    }

    fn current(&self) -> Arc<Loaded> {
        self.loaded
            .read()
            .map(|l| l.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Reads the keys again if the last read is older than `after`.
    async fn refresh_if_older(&self, after: Duration) -> Arc<Loaded> {
        let current = self.current();
        if current.at.elapsed() < after || matches!(self.source, KeySource::None) {
            return current;
        }
        match read(&self.source).await {
            Ok(fresh) => {
                let fresh = Arc::new(fresh);
                match self.loaded.write() {
                    Ok(mut l) => *l = fresh.clone(),
                    Err(p) => *p.into_inner() = fresh.clone(),
                }
                fresh
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the keys again; keeping the ones held");
                current
            }
        }
    }

    /// The key to sign with at `now_unix`: the newest whose `not_before` has passed; `None`
    /// before the first key exists.
    pub async fn signer(&self, now_unix: i64) -> Option<Signer> {
        let loaded = self.refresh_if_older(REFRESH).await;
        choose(&loaded.signers, now_unix)
    }

    /// The verifying key for a `kid`, reading the published keys again if it is unknown.
    pub async fn decoding_key(&self, kid: &str) -> Option<DecodingKey> {
        let loaded = self.refresh_if_older(REFRESH).await;
        if let Some(k) = loaded.verifying.get(kid) {
            return Some(k.clone());
        }
        let loaded = self.refresh_if_older(MISS_REFRESH).await;
        loaded.verifying.get(kid).cloned()
    }

    /// The public JWKS document.
    pub async fn jwks(&self) -> Value {
        self.refresh_if_older(REFRESH).await.jwks.clone()
    }
}

/// The newest signer due at `now`; the oldest if none is due yet.
fn choose(signers: &[(i64, Signer)], now: i64) -> Option<Signer> {
    signers
        .iter()
        .find(|(not_before, _)| *not_before <= now)
        .or_else(|| signers.last())
        .map(|(_, s)| s.clone())
}

async fn read(source: &KeySource) -> Result<Loaded, PortError> {
    match source {
        KeySource::Signing(keys) => loaded_from_private(&keys.signing_keys().await?),
        KeySource::Published(keys) => loaded_from_public(&keys.public_keys().await?, Vec::new()),
        KeySource::None => loaded_from_public(&[], Vec::new()),
    }
}

fn loaded_from_private(set: &[SigningKey]) -> Result<Loaded, PortError> {
    let mut public = Vec::with_capacity(set.len());
    let mut signers = Vec::with_capacity(set.len());
    // Newest first, by creation: `choose` takes the first one due.
    let mut set = set.to_vec();
    set.sort_by_key(|k| std::cmp::Reverse((k.created_at, k.kid.clone())));
    for k in &set {
        public.push(public_half(k)?);
        signers.push((
            k.not_before,
            Signer {
                kid: k.kid.clone(),
                key: EncodingKey::from_ec_der(&k.pkcs8_der),
            },
        ));
    }
    loaded_from_public(&public, signers)
}

fn loaded_from_public(
    public: &[PublicKey],
    signers: Vec<(i64, Signer)>,
) -> Result<Loaded, PortError> {
    let mut verifying = HashMap::new();
    for k in public {
        let dk = DecodingKey::from_ec_components(&k.x, &k.y)
            .map_err(|_| PortError::backend(format!("public key {} is malformed", k.kid)))?;
        verifying.insert(k.kid.clone(), dk);
    }
    Ok(Loaded {
        at: Instant::now(),
        signers,
        verifying,
        jwks: jwks_of(public),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_rotated_in_key_signs_only_once_it_is_due_and_both_verify() {
        let mut old = generate_signing_key(100).expect("key");
        old.not_before = 100;
        let mut new = generate_signing_key(200).expect("key");
        new.not_before = 500;
        let keys = JwtKeys::from_keys(&[new.clone(), old.clone()]).expect("keys");
        assert_eq!(keys.signer(300).await.map(|s| s.kid), Some(old.kid.clone()));
        assert_eq!(keys.signer(500).await.map(|s| s.kid), Some(new.kid.clone()));
        assert!(keys.decoding_key(&old.kid).await.is_some());
        assert!(keys.decoding_key(&new.kid).await.is_some());
        assert!(keys.decoding_key("unknown").await.is_none());
        assert_eq!(keys.jwks().await["keys"].as_array().map(Vec::len), Some(2));
    }

    #[tokio::test]
    async fn no_key_yet_means_no_signer_and_nothing_verifies() {
        let keys = JwtKeys::from_keys(&[]).expect("keys");
        assert!(keys.signer(0).await.is_none());
        assert!(keys.decoding_key("any").await.is_none());
    }
}
