//! `Integration`: a real webhook endpoint (axum on 127.0.0.1) playing an external system's
//! integration (seed 002). For every `SyncRequested` delivery it receives, it checks the
//! Standard Webhooks signature, then ends the request through the runner's API (complete, or
//! fail with a reason) before it answers, and records what the API answered.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use tokio::sync::watch;

/// How the integration ends the requests it receives.
#[derive(Debug, Clone)]
pub enum Ending {
    /// `POST /v1/sync-requests/{id}/complete`.
    Complete,
    /// `POST /v1/sync-requests/{id}/fail` with this reason.
    Fail(String),
}

/// One ending the integration made: the request id and the API's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub request_id: String,
    pub status: u16,
}

struct Shared {
    api: String,
    token: String,
    ending: Ending,
    secret: Mutex<Option<String>>,
    http: reqwest::Client,
    ended: Mutex<Vec<Ended>>,
    arrivals: watch::Sender<usize>,
}

/// The integration's endpoint.
pub struct Integration {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Integration {
    /// An integration calling the API at `api` (the runner's base URL) with `token`.
    pub async fn start(api: &str, token: &str, ending: Ending) -> Integration {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the integration");
        let addr = listener.local_addr().expect("the integration's address");
        let shared = Arc::new(Shared {
            api: api.trim_end_matches('/').to_string(),
            token: token.to_string(),
            ending,
            secret: Mutex::new(None),
            http: reqwest::Client::new(),
            ended: Mutex::new(Vec::new()),
            arrivals: watch::channel(0).0,
        });
        let router = axum::Router::new()
            .fallback(receive)
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Integration { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT/hook`.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The subscription's signing secret, once it exists: deliveries are checked with it.
    pub fn verify_with(&self, secret: &str) {
        *self.shared.secret.lock().expect("secret") = Some(secret.to_string());
    }

    /// Waits until it has ended `n` requests; returns them.
    pub async fn wait_for_endings(&self, n: usize, timeout: Duration) -> Vec<Ended> {
        let mut rx = self.shared.arrivals.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            rx.borrow_and_update();
            let ended = self.shared.ended.lock().expect("ended").clone();
            if ended.len() >= n {
                return ended;
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                panic!("timed out after {timeout:?} waiting for {n} sync endings; got {ended:?}");
            }
        }
    }
}

impl Drop for Integration {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let secret = shared.secret.lock().expect("secret").clone();
    let Some(secret) = secret else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    let verified = standardwebhooks::Webhook::new(&secret).and_then(|w| w.verify(&body, &headers));
    if verified.is_err() {
        return StatusCode::UNAUTHORIZED;
    }
    let envelope: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if envelope["type"] != "SyncRequested" {
        return StatusCode::OK;
    }
    let Some(id) = envelope["data"]["request_id"].as_str() else {
        return StatusCode::BAD_REQUEST;
    };
    let (path, body) = match &shared.ending {
        Ending::Complete => ("complete", String::new()),
        Ending::Fail(reason) => ("fail", json!({"reason": reason}).to_string()),
    };
    let answer = shared
        .http
        .post(format!("{}/v1/sync-requests/{id}/{path}", shared.api))
        .bearer_auth(&shared.token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    let status = answer.map(|a| a.status().as_u16()).unwrap_or(0);
    shared.ended.lock().expect("ended").push(Ended {
        request_id: id.to_string(),
        status,
    });
    shared.arrivals.send_modify(|n| *n += 1);
    StatusCode::OK
}
