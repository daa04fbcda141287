//! The JWT signing key set: loaded from the `KeyStore` port (created on first start), turned
//! into signing and verifying keys and the published JWKS.

use std::collections::HashMap;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hookline_ports::{KeyStore, PortError, SigningKey};
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde_json::{Value, json};

/// Signing and verification keys, and the JWKS document.
pub struct JwtKeys {
    signing_kid: String,
    signing: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    jwks: Value,
}

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtKeys")
            .field("signing_kid", &self.signing_kid)
            .finish_non_exhaustive()
    }
}

/// Generates a new P-256 key with a random `kid`.
pub fn generate_signing_key(now_unix: i64) -> Result<SigningKey, PortError> {
    let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
        .map_err(|_| PortError::Backend("could not generate a signing key".into()))?;
    let mut kid = [0u8; 9];
    hookline_domain::ids::random_bytes(&mut kid);
    Ok(SigningKey {
        kid: URL_SAFE_NO_PAD.encode(kid),
        pkcs8_der: doc.as_ref().to_vec(),
        created_at: now_unix,
    })
}

impl JwtKeys {
    /// Loads the key set, creating the first key if the store has none.
    pub async fn load_or_init(keys: &dyn KeyStore, now_unix: i64) -> Result<JwtKeys, PortError> {
        let mut set = keys.signing_keys().await?;
        if set.is_empty() {
            set = keys
                .init_signing_key(generate_signing_key(now_unix)?)
                .await?;
        }
        JwtKeys::from_keys(&set)
    }

    /// Builds the key set; the first key signs.
    pub fn from_keys(set: &[SigningKey]) -> Result<JwtKeys, PortError> {
        let first = set
            .first()
            .ok_or_else(|| PortError::Backend("no signing key".into()))?;
        let mut verifying = HashMap::new();
        let mut jwks = Vec::new();
        for k in set {
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &k.pkcs8_der)
                .map_err(|_| PortError::Backend(format!("signing key {} is malformed", k.kid)))?;
            let point = pair.public_key().as_ref();
            if point.len() != 65 || point[0] != 4 {
                return Err(PortError::Backend(format!(
                    "signing key {} is not P-256",
                    k.kid
                )));
            }
            let x = URL_SAFE_NO_PAD.encode(&point[1..33]);
            let y = URL_SAFE_NO_PAD.encode(&point[33..65]);
            let dk = DecodingKey::from_ec_components(&x, &y)
                .map_err(|_| PortError::Backend(format!("signing key {} is malformed", k.kid)))?;
            verifying.insert(k.kid.clone(), dk);
            jwks.push(json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": k.kid, "alg": "ES256", "use": "sig"}));
        }
        Ok(JwtKeys {
            signing_kid: first.kid.clone(),
            signing: EncodingKey::from_ec_der(&first.pkcs8_der),
            verifying,
            jwks: json!({ "keys": jwks }),
        })
    }

    /// The key id that signs new tokens.
    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    /// The signing key.
    pub fn encoding_key(&self) -> &EncodingKey {
        &self.signing
    }

    /// The verifying key for a `kid`.
    pub fn decoding_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifying.get(kid)
    }

    /// The public JWKS document.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }
}
