//! The schemes against real servers on 127.0.0.1 that enforce them.

mod basic;
mod digest;
mod oauth2;
mod session;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use hookline_domain::apps::{
    AppDefinition, AppStatus, AppVersion, AuthScheme, Connection, ConnectionSecrets, HttpMethod,
};
use hookline_domain::destination::DestinationPolicy;
use hookline_domain::ids::{ClientId, ConnectionId};
use hookline_domain::state::StateCode;
use time::OffsetDateTime;

use super::Authenticator;
use crate::apps::{Exchange, RenderedRequest, Resolved};
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

/// A connection (`con_1`, version 1) of an app using `auth`, with `credentials`, the secret
/// property `account` and the environment `env`.
fn resolved(auth: AuthScheme, credentials: &[(&str, &str)], env: &[(&str, &str)]) -> Resolved {
    let definition = AppDefinition {
        key: "shop".into(),
        name: "Shop".into(),
        description: String::new(),
        version: "1.0.0".into(),
        auth,
        properties: Vec::new(),
        environment: Vec::new(),
        test: None,
        actions: BTreeMap::new(),
        triggers: BTreeMap::new(),
    };
    let app = AppVersion {
        definition,
        status: AppStatus::Published,
        environment: BTreeMap::new(),
        secret_environment: Vec::new(),
        published_by: ClientId::from_stored("cl_1"),
        published_at: OffsetDateTime::UNIX_EPOCH,
        deprecated_at: None,
        revision: 1,
    };
    let connection = Connection {
        id: ConnectionId::from_stored("con_1"),
        client_id: ClientId::from_stored("cl_1"),
        app: "shop".into(),
        app_version: "1.0.0".into(),
        name: "test".into(),
        state: StateCode::parse("AP").expect("state"),
        properties: BTreeMap::new(),
        secrets_set: Vec::new(),
        hook_token: "h".repeat(32),
        polling: BTreeMap::new(),
        enabled: true,
        created_at: OffsetDateTime::UNIX_EPOCH,
        updated_at: OffsetDateTime::UNIX_EPOCH,
        version: 1,
    };
    let secrets = ConnectionSecrets {
        credentials: credentials
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        properties: BTreeMap::from([("account".to_string(), "acme-42".into())]),
    };
    Resolved {
        connection,
        app: Arc::new(app),
        secrets,
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
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
