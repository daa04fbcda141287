//! HTTP Digest (RFC 7616): the server's `WWW-Authenticate: Digest` challenge answered with
//! `username`, `realm`, `nonce`, `uri`, `response`, `qop=auth`, `nc`, `cnonce`, `opaque` and
//! `algorithm` (MD5, SHA-256 and their `-sess` variants). The last challenge of each
//! connection is kept, so later requests answer it at once with the next `nc`; a 401 with a
//! new (or `stale`) challenge is answered once more.
//!
//! The computation is here rather than from the `digest_auth` crate: that crate pins the
//! previous generation of RustCrypto (`digest` 0.10, `md-5` 0.10, `sha2` 0.10, `rand` 0.8), a
//! second copy of what the workspace already builds, for about forty lines of hashing.
//! SHA-256 and the random `cnonce` come from aws-lc-rs, as the rest of the product's
//! cryptography; MD5, which aws-lc-rs does not offer, from RustCrypto's `md-5`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lc_rs::digest::{SHA256, digest};
use http::header::{AUTHORIZATION, HeaderValue};
use md5::Digest as _;

use super::tokens::Key;
use super::{Authenticator, Spent, credential, failed, method};
use crate::apps::{Exchange, RenderedRequest, Resolved};

/// Challenges kept before the cache is emptied (memory stays bounded).
const MAX_CHALLENGES: usize = 10_000;

/// A challenge's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Algorithm {
    /// MD5 (the default when the challenge names none).
    Md5,
    /// SHA-256.
    Sha256,
}

impl Algorithm {
    fn hash(self, text: &str) -> String {
        match self {
            Algorithm::Md5 => hex(&md5::Md5::digest(text.as_bytes())),
            Algorithm::Sha256 => hex(digest(&SHA256, text.as_bytes()).as_ref()),
        }
    }
}

/// A Digest challenge the client can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Challenge {
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// `-sess`: the first hash also covers the nonces.
    pub sess: bool,
    /// Whether the server offers `qop=auth` (without it, the RFC 2069 answer).
    pub qop_auth: bool,
}

/// The last challenge of each connection, and the last `nc` used with it.
#[derive(Default)]
pub(super) struct ChallengeCache {
    last: Mutex<HashMap<Key, (Arc<Challenge>, u32)>>,
}

impl ChallengeCache {
    /// The connection's last challenge, and the next `nc` to answer it with.
    fn next(&self, key: &Key) -> Option<(Arc<Challenge>, u32)> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let (challenge, nc) = last.get_mut(key)?;
        *nc = nc.wrapping_add(1);
        Some((challenge.clone(), *nc))
    }

    /// Keeps `challenge` as the connection's last; its first `nc` is 1.
    fn keep(&self, key: &Key, challenge: Challenge) -> Arc<Challenge> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.len() >= MAX_CHALLENGES && !last.contains_key(key) {
            last.clear();
        }
        let challenge = Arc::new(challenge);
        last.insert(key.clone(), (challenge.clone(), 1));
        challenge
    }
}

/// What an answer covers besides the challenge.
pub(super) struct Answer<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub method: &'a str,
    /// The request target (path and query).
    pub uri: &'a str,
    pub nc: u32,
    pub cnonce: &'a str,
}

/// The `Authorization` header value answering `ch`.
pub(super) fn authorization(ch: &Challenge, a: &Answer<'_>) -> String {
    let h = |text: &str| ch.algorithm.hash(text);
    let mut ha1 = h(&format!("{}:{}:{}", a.username, ch.realm, a.password));
    if ch.sess {
        ha1 = h(&format!("{ha1}:{}:{}", ch.nonce, a.cnonce));
    }
    let ha2 = h(&format!("{}:{}", a.method, a.uri));
    let nc = format!("{:08x}", a.nc);
    let response = if ch.qop_auth {
        h(&format!("{ha1}:{}:{nc}:{}:auth:{ha2}", ch.nonce, a.cnonce))
    } else {
        h(&format!("{ha1}:{}:{ha2}", ch.nonce))
    };
    let algorithm = match (ch.algorithm, ch.sess) {
        (Algorithm::Md5, false) => "MD5",
        (Algorithm::Md5, true) => "MD5-sess",
        (Algorithm::Sha256, false) => "SHA-256",
        (Algorithm::Sha256, true) => "SHA-256-sess",
    };
    let mut out = format!(
        "Digest username={}, realm={}, nonce={}, uri={}, algorithm={algorithm}, response=\"{response}\"",
        quoted(a.username),
        quoted(&ch.realm),
        quoted(&ch.nonce),
        quoted(a.uri),
    );
    if ch.qop_auth {
        out.push_str(&format!(", qop=auth, nc={nc}, cnonce={}", quoted(a.cnonce)));
    }
    if let Some(opaque) = &ch.opaque {
        out.push_str(&format!(", opaque={}", quoted(opaque)));
    }
    out
}

/// The strongest Digest challenge among the `www-authenticate` headers that the client can
/// answer (SHA-256 before MD5), if any.
pub(super) fn challenge_in(headers: &[(String, String)]) -> Option<Challenge> {
    headers
        .iter()
        .filter(|(name, _)| name == "www-authenticate")
        .flat_map(|(_, value)| challenges(value))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("digest"))
        .filter_map(|(_, params)| {
            let param = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            };
            let named = param("algorithm").unwrap_or_else(|| "MD5".into());
            let (algorithm, sess) = match named.to_ascii_uppercase().as_str() {
                "MD5" => (Algorithm::Md5, false),
                "MD5-SESS" => (Algorithm::Md5, true),
                "SHA-256" => (Algorithm::Sha256, false),
                "SHA-256-SESS" => (Algorithm::Sha256, true),
                _ => return None,
            };
            let qop_auth = match param("qop") {
                None => false,
                Some(qop) => qop
                    .split(',')
                    .any(|q| q.trim().eq_ignore_ascii_case("auth")),
            };
            // A challenge that offers qop, but not `auth` (only `auth-int`), is not answered.
            if param("qop").is_some() && !qop_auth {
                return None;
            }
            Some(Challenge {
                realm: param("realm")?,
                nonce: param("nonce")?,
                opaque: param("opaque"),
                algorithm,
                sess,
                qop_auth,
            })
        })
        .max_by_key(|c| c.algorithm == Algorithm::Sha256)
}

/// The challenges of one `WWW-Authenticate` value: each scheme with its `name=value`
/// parameters (quoted strings unescaped; a token68 is skipped).
fn challenges(value: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut rest = value.trim_start();
    while !rest.is_empty() {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        let end = rest.find([',', ' ', '\t', '=']).unwrap_or(rest.len());
        let (word, after) = rest.split_at(end);
        let after = after.trim_start_matches([' ', '\t']);
        if word.is_empty() {
            // A stray `=` (the end of a token68).
            rest = after.get(1..).unwrap_or("");
            continue;
        }
        if let Some(value) = after.strip_prefix('=') {
            let value = value.trim_start_matches([' ', '\t']);
            let (text, remaining) = param_value(value);
            if let Some((_, params)) = out.last_mut() {
                params.push((word.to_string(), text));
            }
            rest = remaining;
        } else {
            out.push((word.to_string(), Vec::new()));
            rest = after;
        }
    }
    out
}

/// A parameter's value (a quoted string or a token) and what follows it.
fn param_value(text: &str) -> (String, &str) {
    let Some(quoted) = text.strip_prefix('"') else {
        let end = text.find([',', ' ', '\t']).unwrap_or(text.len());
        return (text[..end].to_string(), &text[end..]);
    };
    let mut value = String::new();
    let mut chars = quoted.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (value, &quoted[i + 1..]),
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    value.push(escaped);
                }
            }
            c => value.push(c),
        }
    }
    (value, "")
}

/// `text` as a quoted string.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh client nonce: 16 random bytes, hex.
fn cnonce() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| "no random bytes for the cnonce".to_string())?;
    Ok(hex(&bytes))
}

impl Authenticator {
    /// Sends `req` answering the connection's last challenge if it has one; on a 401 with a
    /// challenge, answers it and sends once more.
    pub(super) async fn digest(
        &self,
        conn: &Resolved,
        req: &RenderedRequest,
        timeout: Duration,
    ) -> Exchange {
        let (username, password) =
            match (credential(conn, "username"), credential(conn, "password")) {
                (Ok(u), Ok(p)) => (u, p),
                (Err(why), _) | (_, Err(why)) => return failed(why),
            };
        let Ok(url) = url::Url::parse(&req.url) else {
            return failed("invalid destination URL".into());
        };
        let uri = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        let key = (conn.connection.id.clone(), conn.connection.version);
        let answer = |challenge: &Challenge, nc: u32| -> Result<HeaderValue, String> {
            let cnonce = cnonce()?;
            let value = authorization(
                challenge,
                &Answer {
                    username,
                    password,
                    method: method(req.method).as_str(),
                    uri: &uri,
                    nc,
                    cnonce: &cnonce,
                },
            );
            let mut value = HeaderValue::from_str(&value)
                .map_err(|_| "the digest credentials do not make a header value".to_string())?;
            value.set_sensitive(true);
            Ok(value)
        };
        let first = match self.digests.next(&key) {
            Some((challenge, nc)) => match answer(&challenge, nc) {
                Ok(value) => Some((AUTHORIZATION, value)),
                Err(why) => return failed(why),
            },
            None => None,
        };
        let ex = self.plain(req, first, timeout).await;
        if ex.status != Some(401) {
            return ex;
        }
        let Some(challenge) = challenge_in(&ex.headers) else {
            return ex;
        };
        let challenge = self.digests.keep(&key, challenge);
        let mut spent = Spent::default();
        spent.add(&ex);
        match answer(&challenge, 1) {
            Ok(value) => spent.onto(self.plain(req, Some((AUTHORIZATION, value)), timeout).await),
            Err(why) => spent.onto(failed(why)),
        }
    }
}
