//! The schemes against real servers on 127.0.0.1 that enforce them.

mod basic;
mod digest;
mod oauth2;
mod session;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hookline_domain::apps::{AuthScheme, HttpMethod};
use hookline_domain::destination::DestinationPolicy;
use serde_json::json;

use super::Authenticator;
use crate::apps::{Exchange, RenderedRequest, Resolved, fixtures};
use crate::config::HandlerConfig;
use crate::delivery::client::WebhookClient;

/// An authenticator whose client may (or may not) reach loopback addresses.
fn authenticator(allow_private: bool) -> Authenticator {
    let mut config = HandlerConfig::new("http://test", "embedded");
    config.destinations = DestinationPolicy {
        allow_http: true,
        allow_private,
    };
    Authenticator::new(WebhookClient::new(&config).expect("client"))
}

/// A connection of an app using `auth`, with `credentials`, the secret property `account`
/// and the (non-secret) environment `env`.
fn resolved(auth: AuthScheme, credentials: &[(&str, &str)], env: &[(&str, &str)]) -> Resolved {
    let env: Vec<(&str, &str, bool)> = env.iter().map(|(k, v)| (*k, *v, false)).collect();
    let credentials: BTreeMap<&str, &str> = credentials.iter().copied().collect();
    fixtures::resolved(
        json!({ "auth": auth }),
        &env,
        json!({}),
        json!({ "credentials": credentials, "properties": { "account": "acme-42" } }),
    )
}

/// A GET of `url`.
fn get(url: &str) -> RenderedRequest {
    RenderedRequest {
        method: HttpMethod::Get,
        url: url.to_string(),
        headers: Vec::new(),
        body: None,
    }
}

/// Sends a GET of `url` for `conn`.
async fn send(auth: &Authenticator, conn: &Resolved, url: &str) -> Exchange {
    auth.send(conn, get(url), Duration::from_secs(5)).await
}

/// Sends `n` GETs of `url` for `conn` at once.
async fn send_many(auth: &Authenticator, conn: &Resolved, url: &str, n: usize) -> Vec<Exchange> {
    futures_util::future::join_all((0..n).map(|_| send(auth, conn, url))).await
}

/// The status and the error of an exchange.
fn outcome(ex: &Exchange) -> (Option<u16>, Option<&str>) {
    (ex.status, ex.error.as_deref())
}

/// Asserts that nothing of `ex` a caller may keep holds any of `secrets`.
fn assert_no_secret(ex: &Exchange, secrets: &[&str]) {
    let kept = format!("{:?} {:?}", ex.error, ex.headers);
    for secret in secrets {
        assert!(!kept.contains(secret), "{secret} in {kept}");
    }
}

/// Asserts that every exchange got a 200 and no error.
fn assert_all_ok(all: &[Exchange]) {
    for ex in all {
        assert_eq!(outcome(ex), (Some(200), None), "{ex:?}");
    }
}
