//! A real RFC 7616 Digest verifier: it challenges with a nonce it made, and accepts an answer
//! only when the nonce is one of its own and still fresh, `qop=auth`, the `uri` is the
//! request's, the `nc` is above every earlier `nc` of that nonce (a replay is refused), and
//! the response is `H(H(user:realm:password):nonce:nc:cnonce:auth:H(method:uri))`.

use std::collections::HashMap;

use axum::http::HeaderMap;
use md5::Digest as _;

use super::random_string;

/// The hash of a challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlgorithm {
    /// `MD5`.
    Md5,
    /// `SHA-256`.
    Sha256,
}

impl DigestAlgorithm {
    fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Sha256 => "SHA-256",
        }
    }

    /// Lower-case hex of the hash of `text`.
    pub fn hex(self, text: &str) -> String {
        let bytes: Vec<u8> = match self {
            DigestAlgorithm::Md5 => md5::Md5::digest(text.as_bytes()).to_vec(),
            DigestAlgorithm::Sha256 => {
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
                    .as_ref()
                    .to_vec()
            }
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The nonces issued, each with the highest `nc` answered so far; stale ones are refused with
/// `stale=true`.
#[derive(Debug, Default)]
pub struct Nonces {
    fresh: HashMap<String, u64>,
    stale: Vec<String>,
}

impl Nonces {
    fn issue(&mut self) -> String {
        let nonce = random_string(24);
        self.fresh.insert(nonce.clone(), 0);
        nonce
    }

    /// Every nonce issued so far becomes stale.
    pub fn make_stale(&mut self) {
        self.stale.extend(self.fresh.drain().map(|(n, _)| n));
    }
}

/// What a valid answer must match.
pub struct Expected<'a> {
    pub realm: &'a str,
    pub username: &'a str,
    pub password: &'a str,
    pub algorithm: DigestAlgorithm,
    pub method: &'a str,
    pub uri: &'a str,
}

/// `Ok` for a valid answer; `Err` with a new challenge (`WWW-Authenticate`) otherwise.
pub fn check(
    nonces: &mut Nonces,
    want: Expected<'_>,
    headers: &HeaderMap,
) -> Result<(), Vec<(String, String)>> {
    let params = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Digest "))
        .map(parse_params);
    let mut stale = false;
    if let Some(p) = params {
        let get = |k: &str| p.get(k).map(String::as_str).unwrap_or_default();
        let nonce = get("nonce");
        stale = nonces.stale.iter().any(|n| n == nonce);
        let nc = u64::from_str_radix(get("nc"), 16).ok();
        let last = nonces.fresh.get(nonce).copied();
        let algorithm_ok = match p.get("algorithm") {
            Some(a) => a.eq_ignore_ascii_case(want.algorithm.name()),
            None => want.algorithm == DigestAlgorithm::Md5,
        };
        let well_formed = get("username") == want.username
            && get("realm") == want.realm
            && get("uri") == want.uri
            && get("qop") == "auth"
            && !get("cnonce").is_empty()
            && algorithm_ok;
        if let (true, Some(nc), Some(last)) = (well_formed, nc, last)
            && nc > last
        {
            let h = |s: &str| want.algorithm.hex(s);
            let ha1 = h(&format!(
                "{}:{}:{}",
                want.username, want.realm, want.password
            ));
            let ha2 = h(&format!("{}:{}", want.method, want.uri));
            let expected = h(&format!(
                "{ha1}:{nonce}:{}:{}:auth:{ha2}",
                get("nc"),
                get("cnonce")
            ));
            if constant_time_eq(expected.as_bytes(), get("response").as_bytes()) {
                nonces.fresh.insert(nonce.to_string(), nc);
                return Ok(());
            }
        }
    }
    let nonce = nonces.issue();
    let challenge = format!(
        "Digest realm=\"{}\", qop=\"auth\", algorithm={}, nonce=\"{nonce}\", opaque=\"{}\"{}",
        want.realm,
        want.algorithm.name(),
        random_string(16),
        if stale { ", stale=true" } else { "" }
    );
    Err(vec![("www-authenticate".into(), challenge)])
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `k=v, k="v, w"` → map (keys lower-cased, quotes removed).
fn parse_params(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            (&quoted[..end], quoted.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim(), &after[end..])
        };
        out.insert(key, value.to_string());
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

/// Answers a challenge as a client does (for the tests of the server itself).
pub fn answer(
    challenge: &str,
    user: &str,
    password: &str,
    method: &str,
    uri: &str,
    nc: u64,
) -> String {
    let p = parse_params(challenge.trim_start_matches("Digest "));
    let algorithm = if p["algorithm"] == "SHA-256" {
        DigestAlgorithm::Sha256
    } else {
        DigestAlgorithm::Md5
    };
    let h = |s: &str| algorithm.hex(s);
    let (realm, nonce) = (&p["realm"], &p["nonce"]);
    let nc = format!("{nc:08x}");
    let cnonce = "0a4f113b";
    let ha1 = h(&format!("{user}:{realm}:{password}"));
    let ha2 = h(&format!("{method}:{uri}"));
    let response = h(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", uri=\"{uri}\", algorithm={}, nonce=\"{nonce}\", nc={nc}, cnonce=\"{cnonce}\", qop=auth, response=\"{response}\"",
        algorithm.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
    #[test]
    fn the_verifier_computes_rfc_7616_example_responses() {
        let (user, realm, password) = ("Mufasa", "http-auth@example.org", "Circle of Life");
        let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        for (algorithm, expected) in [
            (DigestAlgorithm::Md5, "8ca523f5e9506fed4657c9700eebdbec"),
            (
                DigestAlgorithm::Sha256,
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
        ] {
            let h = |s: &str| algorithm.hex(s);
            let ha1 = h(&format!("{user}:{realm}:{password}"));
            let ha2 = h("GET:/dir/index.html");
            let response = h(&format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"));
            assert_eq!(response, expected, "{algorithm:?}");
        }
    }

    #[test]
    fn an_answer_is_accepted_once_per_nc_and_a_stale_nonce_is_challenged_as_stale() {
        let mut nonces = Nonces::default();
        let want = || Expected {
            realm: "r",
            username: "u",
            password: "p",
            algorithm: DigestAlgorithm::Sha256,
            method: "POST",
            uri: "/items",
        };
        let header = |v: String| {
            let mut h = HeaderMap::new();
            h.insert("authorization", v.parse().expect("a header value"));
            h
        };
        let challenge = check(&mut nonces, want(), &HeaderMap::new()).expect_err("a challenge");
        let challenge = &challenge[0].1;
        let first = header(answer(challenge, "u", "p", "POST", "/items", 1));
        assert!(check(&mut nonces, want(), &first).is_ok());
        assert!(check(&mut nonces, want(), &first).is_err(), "a replayed nc");
        let wrong = header(answer(challenge, "u", "nope", "POST", "/items", 2));
        assert!(
            check(&mut nonces, want(), &wrong).is_err(),
            "a wrong password"
        );
        let other_uri = header(answer(challenge, "u", "p", "POST", "/other", 2));
        assert!(
            check(&mut nonces, want(), &other_uri).is_err(),
            "another uri"
        );
        let second = header(answer(challenge, "u", "p", "POST", "/items", 2));
        assert!(check(&mut nonces, want(), &second).is_ok());
        nonces.make_stale();
        let third = header(answer(challenge, "u", "p", "POST", "/items", 3));
        let again = check(&mut nonces, want(), &third).expect_err("a stale nonce");
        assert!(again[0].1.contains("stale=true"), "{}", again[0].1);
    }
}
