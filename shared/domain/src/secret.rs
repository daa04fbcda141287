//! Client secrets and webhook signing secrets: generation, hashing, comparison.
//!
//! Client secrets are 256-bit random tokens, so a single SHA-256 is a sound one-way storage
//! form (as for API tokens); a slow password hash would only slow down every token request.

use aws_lc_rs::{constant_time, digest};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::ids::random_bytes;

/// Prefix of a Standard Webhooks signing secret.
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";

/// A fresh client secret (43 url-safe characters, 256 bits).
pub fn new_client_secret() -> String {
    let mut b = [0u8; 32];
    random_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// The stored form of a client secret.
pub fn hash_client_secret(secret: &str) -> String {
    let d = digest::digest(&digest::SHA256, secret.as_bytes());
    format!("sha256:{}", URL_SAFE_NO_PAD.encode(d.as_ref()))
}

/// Compares a presented secret to its stored hash in constant time.
pub fn verify_client_secret(presented: &str, stored_hash: &str) -> bool {
    let h = hash_client_secret(presented);
    constant_time::verify_slices_are_equal(h.as_bytes(), stored_hash.as_bytes()).is_ok()
}

/// A fresh Standard Webhooks secret: `whsec_` + base64 of 24 random bytes.
pub fn new_webhook_secret() -> String {
    let mut b = [0u8; 24];
    random_bytes(&mut b);
    format!("{WEBHOOK_SECRET_PREFIX}{}", STANDARD.encode(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_secret_verifies_only_against_its_own_hash() {
        let s = new_client_secret();
        let h = hash_client_secret(&s);
        assert!(!h.contains(&s));
        assert!(verify_client_secret(&s, &h));
        assert!(!verify_client_secret(&new_client_secret(), &h));
    }

    #[test]
    fn webhook_secret_has_standard_prefix() {
        let s = new_webhook_secret();
        assert!(s.starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&s[6..]).map(|b| b.len()).ok(), Some(24));
    }
}
