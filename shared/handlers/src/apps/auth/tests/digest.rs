//! Digest against a real RFC 7616 verifier (MD5 and SHA-256, `qop=auth`, nonces it issued,
//! each `nc` accepted once per nonce, stale nonces), and the computation against the RFC's
//! own examples.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hookline_domain::apps::AuthScheme;
use md5::Digest as _;

use super::*;
use crate::apps::auth::digest::{Algorithm, Answer, Challenge, authorization, challenge_in};
use crate::test_support::serve;

const REALM: &str = "api@shop.example";
const USER: &str = "Mufasa";
const PASSWORD: &str = "Circle of Life";
const OPAQUE: &str = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS";

struct Verifier {
    /// `MD5` or `SHA-256`.
    algorithm: &'static str,
    /// Nonces issued and still valid, with the `nc` values used with each.
    nonces: Mutex<HashMap<String, HashSet<u32>>>,
    /// Nonces issued and since declared stale.
    stale: Mutex<HashSet<String>>,
    issued: AtomicUsize,
    /// Requests that proved the password.
    verified: AtomicUsize,
}

impl Verifier {
    fn new(algorithm: &'static str) -> Arc<Verifier> {
        Arc::new(Verifier {
            algorithm,
            nonces: Mutex::new(HashMap::new()),
            stale: Mutex::new(HashSet::new()),
            issued: AtomicUsize::new(0),
            verified: AtomicUsize::new(0),
        })
    }

    fn hash(&self, text: &str) -> String {
        let bytes: Vec<u8> = match self.algorithm {
            "MD5" => md5::Md5::digest(text.as_bytes()).to_vec(),
            _ => aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes())
                .as_ref()
                .to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Makes every nonce issued so far stale.
    fn expire_nonces(&self) {
        let mut nonces = self.nonces.lock().expect("nonces");
        self.stale
            .lock()
            .expect("stale")
            .extend(nonces.drain().map(|(n, _)| n));
    }

    /// A 401 with a new challenge (`stale=true` when the client's nonce had gone stale).
    fn challenge(&self, stale: bool) -> Response {
        let n = self.issued.fetch_add(1, Ordering::SeqCst);
        let nonce = format!("nonce-{n}-{}", self.algorithm);
        self.nonces
            .lock()
            .expect("nonces")
            .insert(nonce.clone(), HashSet::new());
        let header = format!(
            "Digest realm=\"{REALM}\", qop=\"auth, auth-int\", algorithm={}, nonce=\"{nonce}\", opaque=\"{OPAQUE}\"{}",
            self.algorithm,
            if stale { ", stale=true" } else { "" }
        );
        // A Basic challenge first, as servers offering both do.
        (
            StatusCode::UNAUTHORIZED,
            [
                (
                    "www-authenticate",
                    "Basic realm=\"legacy\", charset=\"UTF-8\"".to_string(),
                ),
                ("www-authenticate", header),
            ],
        )
            .into_response()
    }

    /// Checks an `Authorization: Digest` answer as RFC 7616 §3.4 says.
    fn check(&self, header: &str, method: &str, uri: &str) -> Result<(), bool> {
        let p = params(header.strip_prefix("Digest ").ok_or(false)?);
        let get = |k: &str| p.get(k).map(String::as_str).ok_or(false);
        let nonce = get("nonce")?;
        if self.stale.lock().expect("stale").contains(nonce) {
            return Err(true);
        }
        let nc = u32::from_str_radix(get("nc")?, 16).map_err(|_| false)?;
        let fields_ok = get("username")? == USER
            && get("realm")? == REALM
            && get("uri")? == uri
            && get("qop")? == "auth"
            && get("algorithm")? == self.algorithm
            && get("opaque")? == OPAQUE
            && get("nc")?.len() == 8;
        let ha1 = self.hash(&format!("{USER}:{REALM}:{PASSWORD}"));
        let ha2 = self.hash(&format!("{method}:{uri}"));
        let cnonce = get("cnonce")?;
        let expected = self.hash(&format!("{ha1}:{nonce}:{}:{cnonce}:auth:{ha2}", get("nc")?));
        if !fields_ok || get("response")? != expected {
            return Err(false);
        }
        let mut nonces = self.nonces.lock().expect("nonces");
        // A nonce this server issued, and an nc not used with it before.
        let used = nonces.get_mut(nonce).ok_or(false)?;
        if !used.insert(nc) {
            return Err(false);
        }
        Ok(())
    }
}

/// The parameters of a Digest answer (as the client writes them: `k="v"` or `k=v`, joined by
/// `, `; quoted values hold no `", `).
fn params(text: &str) -> HashMap<String, String> {
    text.split(", ")
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

async fn protected(State(v): State<Arc<Verifier>>, uri: Uri, headers: HeaderMap) -> Response {
    let Some(answer) = headers.get("authorization").and_then(|h| h.to_str().ok()) else {
        return v.challenge(false);
    };
    let target = uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
    match v.check(answer, "GET", target) {
        Ok(()) => {
            v.verified.fetch_add(1, Ordering::SeqCst);
            "verified".into_response()
        }
        Err(stale) => v.challenge(stale),
    }
}

async fn start(v: &Arc<Verifier>) -> String {
    let app = axum::Router::new()
        .route("/dir/index.html", get(protected))
        .with_state(v.clone());
    serve(app).await
}

/// A verifier of `algorithm`, its base URL, an authenticator and a connection with the
/// right password.
async fn setup(algorithm: &'static str) -> (Arc<Verifier>, String, Authenticator, Resolved) {
    let v = Verifier::new(algorithm);
    let base = start(&v).await;
    (v, base, authenticator(true), connection(PASSWORD))
}

fn connection(password: &str) -> Resolved {
    resolved(
        AuthScheme::Digest,
        &[("username", USER), ("password", password)],
        &[],
    )
}

async fn answers_the_challenge_and_reuses_it_with_the_next_nc(algorithm: &'static str) {
    let (v, base, auth, conn) = setup(algorithm).await;
    let url = format!("{base}/dir/index.html?page=2");
    let ex = send(&auth, &conn, &url).await;
    assert_eq!(outcome(&ex), (Some(200), None), "{ex:?}");
    assert_eq!(&ex.body[..], b"verified");
    assert_eq!(ex.requests, 2, "the challenge, then the answer");
    // The kept challenge is answered at once, with nc 2, 3 … (a repeated nc is refused).
    for _ in 0..3 {
        let ex = send(&auth, &conn, &url).await;
        assert_eq!((outcome(&ex), ex.requests), ((Some(200), None), 1));
    }
    assert_eq!(v.issued.load(Ordering::SeqCst), 1);
    assert_eq!(v.verified.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn an_md5_challenge_is_answered_and_reused() {
    answers_the_challenge_and_reuses_it_with_the_next_nc("MD5").await;
}

#[tokio::test]
async fn a_sha256_challenge_is_answered_and_reused() {
    answers_the_challenge_and_reuses_it_with_the_next_nc("SHA-256").await;
}

#[tokio::test]
async fn concurrent_sends_answer_the_kept_challenge_each_with_its_own_nc() {
    let (v, base, auth, conn) = setup("SHA-256").await;
    let url = format!("{base}/dir/index.html");
    assert_eq!(outcome(&send(&auth, &conn, &url).await), (Some(200), None));
    let all = send_many(&auth, &conn, &url, 8).await;
    assert_all_ok(&all);
    // The verifier accepts an nc once per nonce: no resend was needed.
    assert_eq!(all.iter().map(|ex| ex.requests).sum::<u32>(), 8);
    assert_eq!(v.issued.load(Ordering::SeqCst), 1);
    let nonces = v.nonces.lock().expect("nonces");
    let used: Vec<&HashSet<u32>> = nonces.values().collect();
    assert_eq!(used, [&(1..=9).collect::<HashSet<u32>>()]);
}

#[tokio::test]
async fn a_stale_nonce_is_answered_again_once() {
    let (v, base, auth, conn) = setup("SHA-256").await;
    let url = format!("{base}/dir/index.html");
    assert_eq!(outcome(&send(&auth, &conn, &url).await), (Some(200), None));
    v.expire_nonces();
    let ex = send(&auth, &conn, &url).await;
    assert_eq!((outcome(&ex), ex.requests), ((Some(200), None), 2));
    assert_eq!(v.issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_wrong_password_gets_the_servers_401_after_one_answer() {
    let v = Verifier::new("MD5");
    let base = start(&v).await;
    let auth = authenticator(true);
    let conn = connection("Circle of Death");
    let ex = send(&auth, &conn, &format!("{base}/dir/index.html")).await;
    assert_eq!((outcome(&ex), ex.requests), ((Some(401), None), 2));
    assert_no_secret(&ex, &["Circle of Death"]);
    assert_eq!(v.verified.load(Ordering::SeqCst), 0);
}

/// RFC 7616 §3.9.1's example, in both algorithms.
#[test]
fn the_answer_is_the_rfcs_example() {
    let challenge = |algorithm| Challenge {
        realm: "http-auth@example.org".into(),
        nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v".into(),
        opaque: Some(OPAQUE.into()),
        algorithm,
        sess: false,
        qop_auth: true,
    };
    let answer = Answer {
        username: USER,
        password: PASSWORD,
        method: "GET",
        uri: "/dir/index.html",
        nc: 1,
        cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    };
    let md5 = authorization(&challenge(Algorithm::Md5), &answer);
    assert!(
        md5.contains("response=\"8ca523f5e9506fed4657c9700eebdbec\""),
        "{md5}"
    );
    let sha = authorization(&challenge(Algorithm::Sha256), &answer);
    assert!(
        sha.contains(
            "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\""
        ),
        "{sha}"
    );
    assert_eq!(
        sha,
        "Digest username=\"Mufasa\", realm=\"http-auth@example.org\", \
         nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", uri=\"/dir/index.html\", \
         algorithm=SHA-256, \
         response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", \
         qop=auth, nc=00000001, cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", \
         opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
    );
}

#[test]
fn the_strongest_answerable_challenge_is_chosen() {
    let headers = |values: &[&str]| -> Vec<(String, String)> {
        values
            .iter()
            .map(|v| ("www-authenticate".to_string(), v.to_string()))
            .collect()
    };
    // Two Digest challenges in one header, after a Bearer with a token68 and a Basic.
    let both = headers(&[
        "Bearer abc==, Basic realm=\"x\", Digest realm=\"r, with comma\", nonce=\"n1\", \
         qop=\"auth\", algorithm=MD5, Digest realm=\"r2\", nonce=\"n\\\"2\", qop=\"auth,auth-int\", \
         algorithm=SHA-256, opaque=\"o\"",
    ]);
    let chosen = challenge_in(&both).expect("a challenge");
    assert_eq!(chosen.algorithm, Algorithm::Sha256);
    assert_eq!(
        (chosen.realm.as_str(), chosen.nonce.as_str()),
        ("r2", "n\"2")
    );
    assert_eq!(chosen.opaque.as_deref(), Some("o"));
    // No algorithm: MD5; no qop: the RFC 2069 answer.
    let legacy = challenge_in(&headers(&["Digest realm=\"r\", nonce=\"n\""])).expect("legacy");
    assert_eq!((legacy.algorithm, legacy.qop_auth), (Algorithm::Md5, false));
    // Only auth-int, or an unknown algorithm: nothing to answer.
    assert!(
        challenge_in(&headers(&[
            "Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\"",
            "Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256"
        ]))
        .is_none()
    );
    assert!(challenge_in(&headers(&["Basic realm=\"r\""])).is_none());
}
