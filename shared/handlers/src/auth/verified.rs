//! Tokens already verified by this process. Portals call with the same bearer token for its
//! whole lifetime, and an ES256 signature check costs far more than the rest of a publish;
//! so the first verification of a token is remembered, keyed by a SHA-256 of the token and
//! the issuer it was checked against, until the token expires. Only tokens that passed every
//! check are remembered, expiry is checked again on every use, and the client's current state
//! (disabled, deleted, scopes) is still looked up per call, so the cache changes no answer.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::auth::token::Claims;

/// Most tokens remembered; past this, expired ones are dropped, then all if need be.
const CAPACITY: usize = 10_000;

/// Verified tokens, by digest.
#[derive(Default)]
pub struct VerifiedTokens {
    map: Mutex<HashMap<[u8; 32], Claims>>,
}

fn digest(token: &str, issuer: &str) -> [u8; 32] {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(issuer.as_bytes());
    ctx.update(&[0]);
    ctx.update(token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

impl VerifiedTokens {
    /// The claims of `token` if it was verified against `issuer` and has not expired by `now`.
    pub fn get(&self, token: &str, issuer: &str, now: i64) -> Option<Claims> {
        let key = digest(token, issuer);
        let map = self.map.lock().ok()?;
        map.get(&key).filter(|c| c.exp > now).cloned()
    }

    /// Remembers the claims of a token that passed verification.
    pub fn insert(&self, token: &str, issuer: &str, claims: &Claims, now: i64) {
        let key = digest(token, issuer);
        let Ok(mut map) = self.map.lock() else {
            return;
        };
        if map.len() >= CAPACITY {
            map.retain(|_, c| c.exp > now);
            if map.len() >= CAPACITY {
                map.clear();
            }
        }
        map.insert(key, claims.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookline_domain::ClientId;

    fn claims(exp: i64) -> Claims {
        Claims {
            iss: "https://h".into(),
            sub: ClientId::from_stored("cl_1"),
            aud: "hookline".into(),
            client_id: ClientId::from_stored("cl_1"),
            scope: "events:write".into(),
            iat: 0,
            exp,
            jti: "j".into(),
        }
    }

    #[test]
    fn a_remembered_token_is_found_until_it_expires() {
        let v = VerifiedTokens::default();
        v.insert("tok", "https://h", &claims(100), 10);
        assert!(v.get("tok", "https://h", 99).is_some());
        assert!(v.get("tok", "https://h", 100).is_none(), "expired at exp");
        assert!(
            v.get("tok", "https://other", 50).is_none(),
            "another issuer"
        );
        assert!(v.get("tok2", "https://h", 50).is_none(), "another token");
    }

    #[test]
    fn a_full_cache_drops_expired_tokens_first() {
        let v = VerifiedTokens::default();
        for i in 0..CAPACITY {
            v.insert(&format!("old{i}"), "i", &claims(5), 0);
        }
        v.insert("fresh", "i", &claims(1000), 10);
        assert!(v.get("fresh", "i", 10).is_some());
        assert_eq!(v.map.lock().map(|m| m.len()).unwrap_or(0), 1);
    }
}
