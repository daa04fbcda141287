//! Secrets a test has seen (client secrets, webhook secrets, bearer tokens, Basic
//! credentials), and the scan that proves none of them reached the runner's output.

use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A secret and what it is, for the report.
#[derive(Debug, Clone)]
struct Known {
    kind: &'static str,
    value: String,
}

/// Every secret the harness saw during one app's life.
#[derive(Debug, Default)]
pub struct SecretRegistry {
    known: Mutex<Vec<Known>>,
}

impl SecretRegistry {
    /// Remembers a secret (ignores empty and duplicate values).
    pub fn remember(&self, kind: &'static str, value: &str) {
        if value.len() < 8 {
            return;
        }
        let mut known = self.known.lock().expect("secret registry");
        if !known.iter().any(|k| k.value == value) {
            known.push(Known {
                kind,
                value: value.to_string(),
            });
        }
    }

    /// Remembers the HTTP Basic credential of a client, as it would appear in a logged header.
    pub fn remember_basic(&self, id: &str, secret: &str) {
        self.remember(
            "basic credential",
            &STANDARD.encode(format!("{id}:{secret}")),
        );
    }

    /// Remembers every secret-bearing field of an API response body.
    pub fn harvest(&self, body: &serde_json::Value) {
        match body {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v) {
                        ("client_secret", serde_json::Value::String(s)) => {
                            self.remember("client secret", s)
                        }
                        // An app definition's `secret` is a template naming where the
                        // secret is (`{{ props.signing_key }}`), not a secret.
                        ("secret", serde_json::Value::String(s)) if !s.contains("{{") => {
                            self.remember("webhook secret", s)
                        }
                        ("access_token", serde_json::Value::String(s)) => {
                            self.remember("bearer token", s)
                        }
                        _ => self.harvest(v),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| self.harvest(i)),
            _ => {}
        }
    }

    /// Every place a known secret (or a tell-tale part of one) occurs in `output`.
    pub fn findings(&self, output: &str) -> Vec<String> {
        self.findings_in(output, "the runner's output")
    }

    /// Every place a known secret (or a tell-tale part of one) occurs in `text`, which the
    /// report calls `place` (a response, a record, the runner's output).
    pub fn findings_in(&self, text: &str, place: &str) -> Vec<String> {
        let known = self.known.lock().expect("secret registry").clone();
        let mut found = Vec::new();
        for k in known {
            for needle in needles(&k.value) {
                if let Some(pos) = text.find(&needle) {
                    let line_no = text[..pos].matches('\n').count() + 1;
                    found.push(format!(
                        "a {} ({}…) appears in {place} at line {line_no}",
                        k.kind,
                        &k.value[..6.min(k.value.len())]
                    ));
                    break;
                }
            }
        }
        found
    }
}

/// The strings whose presence in a log betrays `secret`: the value itself, as a URL or a
/// form encodes it and as JSON escapes it, the key part of a `whsec_` secret, and the
/// signature of a JWT (its header is shared by every token).
fn needles(secret: &str) -> Vec<String> {
    let mut n = vec![secret.to_string()];
    let encoded = super::api::urlencode(secret);
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json.trim_matches('"').to_string();
    for other in [encoded.replace("%20", "+"), encoded, json] {
        if !n.contains(&other) {
            n.push(other);
        }
    }
    if let Some(key) = secret.strip_prefix("whsec_") {
        n.push(key.to_string());
    }
    let parts: Vec<&str> = secret.split('.').collect();
    if parts.len() == 3 && parts[2].len() >= 16 {
        n.push(parts[2].to_string());
        n.push(parts[1].to_string());
    }
    n
}

/// A random alphanumeric string (no dependency on a RNG crate: `RandomState` is seeded
/// from the OS per process and advances per instance).
pub fn random_string(len: usize) -> String {
    use std::hash::{BuildHasher, RandomState};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let state = RandomState::new();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    (0..len)
        .map(|i| {
            let h = state.hash_one((COUNTER.fetch_add(1, Ordering::Relaxed), nanos, i));
            ALPHABET[(h % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}
