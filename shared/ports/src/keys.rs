//! The JWT keys, in three ports so that each function holds only what it needs: the private
//! key set (the token function signs with it), the published public keys (every function
//! that verifies a token reads only these), and rotation (the only writer of either).
//! Secrets Manager on AWS, the data directory locally.

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
    /// When it may start signing, Unix seconds: a rotated-in key is published first and signs
    /// only once every verifier can have seen it.
    pub not_before: i64,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the private key.
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("not_before", &self.not_before)
            .finish_non_exhaustive()
    }
}

/// The public half of a signing key: a P-256 point, as a JWK's `x` and `y` (base64url).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// Key id.
    pub kid: String,
    /// The point's x coordinate, base64url without padding.
    pub x: String,
    /// The point's y coordinate, base64url without padding.
    pub y: String,
}

/// The private key set, for signing.
#[async_trait]
pub trait SigningKeys: Send + Sync + 'static {
    /// Every key, newest first (empty before the first rotation).
    async fn signing_keys(&self) -> Result<Vec<SigningKey>, PortError>;
}

/// The published public keys, for verifying.
#[async_trait]
pub trait PublicKeys: Send + Sync + 'static {
    /// Every published key (empty before the first rotation).
    async fn public_keys(&self) -> Result<Vec<PublicKey>, PortError>;
}

/// Writing the keys: rotation, and nothing else.
#[async_trait]
pub trait KeyRotation: Send + Sync + 'static {
    /// Replaces the key set with `keys` (newest first) and publishes `public` (their public
    /// halves), if the set still holds exactly the kids `expected`; `false` (nothing written)
    /// if another rotation came first. The public keys are published before the private set
    /// changes, so no key ever signs before it is published.
    async fn replace_keys(
        &self,
        expected: &[String],
        keys: &[SigningKey],
        public: &[PublicKey],
    ) -> Result<bool, PortError>;
}
