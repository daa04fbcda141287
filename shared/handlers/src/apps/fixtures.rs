//! Fixtures the apps modules' tests share: a resolved connection of a given app definition,
//! and a third party on 127.0.0.1 that records what it receives.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use hookline_domain::apps::{AppVersion, Connection, ConnectionSecrets};
use serde_json::{Value, json};

use super::Resolved;

/// A connection id of the tests.
pub(crate) const CONNECTION: &str = "con_01hzzzzzzzzzzzzzzzzzzzzzzz";

/// An app version of `definition` (key, name, version filled in when absent) with the
/// environment `env` (`(name, value, secret)`).
pub(crate) fn app_version(mut definition: Value, env: &[(&str, &str, bool)]) -> AppVersion {
    let fields = definition.as_object_mut().expect("a definition object");
    fields.entry("key").or_insert(json!("shop"));
    fields.entry("name").or_insert(json!("Shop"));
    fields.entry("version").or_insert(json!("1.0.0"));
    fields.entry("auth").or_insert(json!({"type": "none"}));
    fields.insert(
        "environment".into(),
        env.iter()
            .map(|(k, _, secret)| json!({"key": k, "secret": secret}))
            .collect(),
    );
    serde_json::from_value(json!({
        "definition": definition,
        "status": "published",
        "environment": env.iter().filter(|e| !e.2).map(|e| (e.0, e.1)).collect::<BTreeMap<_, _>>(),
        "secret_environment": env.iter().filter(|e| e.2).map(|e| e.0).collect::<Vec<_>>(),
        "published_by": "cl_1",
        "published_at": "2026-01-01T00:00:00Z",
    }))
    .expect("an app version")
}

/// Connection [`CONNECTION`] of client `cl_1` in state AP to `app`, with `properties`.
pub(crate) fn connection(app: &AppVersion, properties: Value) -> Connection {
    serde_json::from_value(json!({
        "id": CONNECTION,
        "client_id": "cl_1",
        "app": app.key(),
        "app_version": app.version(),
        "name": "main shop",
        "state": "AP",
        "properties": properties,
        "hook_token": "h".repeat(32),
        "enabled": true,
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    }))
    .expect("a connection")
}

/// A resolved connection to an app of `definition`, with `env` (`(name, value, secret)`),
/// non-secret `properties` and `secrets` (`{"credentials": …, "properties": …}`).
pub(crate) fn resolved(
    definition: Value,
    env: &[(&str, &str, bool)],
    properties: Value,
    secrets: Value,
) -> Resolved {
    let app = app_version(definition, env);
    Resolved {
        connection: connection(&app, properties),
        env: env
            .iter()
            .map(|(k, v, _)| (k.to_string(), v.to_string()))
            .collect(),
        app: Arc::new(app),
        secrets: serde_json::from_value::<ConnectionSecrets>(secrets).expect("secrets"),
    }
}

/// A fresh embedded store (SQLite in a temporary directory, which lives as long as the
/// handle).
pub(crate) async fn embedded_store() -> (Arc<dyn hookline_ports::Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a data directory");
    let path = dir.path().to_path_buf();
    let backend = tokio::task::spawn_blocking(move || {
        hookline_embedded::EmbeddedBackend::open(&path, hookline_embedded::QueueOptions::default())
    })
    .await
    .expect("open task")
    .expect("the embedded backend");
    (backend.store(), dir)
}

/// A request the third party received.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) method: String,
    /// Path and query.
    pub(crate) uri: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Received {
    /// The path, without the query.
    pub(crate) fn path(&self) -> &str {
        self.uri.split('?').next().unwrap_or_default()
    }

    /// The query, if any.
    pub(crate) fn query(&self) -> Option<&str> {
        self.uri.split_once('?').map(|(_, q)| q)
    }

    /// The body as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// What the third party received, in order.
pub(crate) type Log = Arc<Mutex<Vec<Received>>>;

/// Serves `answer` (a request → status and JSON body) on 127.0.0.1, recording every request;
/// returns its base URL and the log.
pub(crate) async fn third_party(
    answer: impl Fn(&Received) -> (u16, Value) + Send + Sync + 'static,
) -> (String, Log) {
    let log: Log = Arc::default();
    let seen = log.clone();
    let answer = Arc::new(answer);
    let router = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (seen, answer) = (seen.clone(), answer.clone());
            async move {
                let received = Received {
                    method: method.to_string(),
                    uri: uri.to_string(),
                    headers,
                    body,
                };
                let (status, reply) = answer(&received);
                seen.lock().expect("log").push(received);
                (
                    axum::http::StatusCode::from_u16(status).expect("a status"),
                    axum::Json(reply),
                )
            }
        },
    );
    (crate::test_support::serve(router).await, log)
}
