//! The JWT signing keys (Secrets Manager on AWS, the data directory locally).

use async_trait::async_trait;

use crate::error::PortError;

/// An ES256 signing key.
#[derive(Clone)]
pub struct SigningKey {
    /// Key id, published in the JWKS and in each token's header.
    pub kid: String,
    /// PKCS#8 DER of the P-256 private key.
    pub pkcs8_der: Vec<u8>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// Storage of the signing keys. Access patterns: read the whole (small) key set; add a key
/// only if no key exists yet (first start), so concurrent starts agree on one key.
#[async_trait]
pub trait KeyStore: Send + Sync + 'static {
    /// Every key, newest first (the first signs; all verify).
    async fn signing_keys(&self) -> Result<Vec<SigningKey>, PortError>;
    /// Stores `key` if the key set is empty; returns the key set as it is afterwards.
    async fn init_signing_key(&self, key: SigningKey) -> Result<Vec<SigningKey>, PortError>;
}
