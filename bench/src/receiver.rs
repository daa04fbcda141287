//! The receiver: its own process (`hookline-bench receiver`), so that the time it spends
//! accepting webhooks is not taken from the harness's publishers. It answers `POST /hook/{name}`
//! with 204 at once and `POST /hang/{name}` never (the sender's timeout ends it), and records
//! every arrival — receiver name, `webhook-id`, `hookline-subscription-id`, arrival time — for
//! the harness to read back over `GET /_arrivals?from=N`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncBufReadExt;

/// One webhook as the receiver saw it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Arrival {
    /// The path's `{name}`: which receiver of the scenario.
    pub name: String,
    /// `webhook-id`: the event id.
    pub event_id: String,
    /// `hookline-subscription-id` (the ceiling's requests carry a made-up one).
    pub subscription_id: String,
    /// Wall-clock arrival, nanoseconds since the Unix epoch (comparable across processes).
    pub at_ns: u128,
    /// Whether this was a `/hang` request (never answered).
    pub hung: bool,
}

type Log = Arc<Mutex<Vec<Arrival>>>;

/// Nanoseconds since the Unix epoch.
pub fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn record(log: &Log, name: String, headers: &HeaderMap, hung: bool) {
    let at_ns = now_ns();
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let arrival = Arrival {
        name,
        event_id: header("webhook-id"),
        subscription_id: header("hookline-subscription-id"),
        at_ns,
        hung,
    };
    if let Ok(mut log) = log.lock() {
        log.push(arrival);
    }
}

async fn hook(
    State(log): State<Log>,
    Path(name): Path<String>,
    headers: HeaderMap,
    _body: Bytes,
) -> StatusCode {
    record(&log, name, &headers, false);
    StatusCode::NO_CONTENT
}

async fn hang(
    State(log): State<Log>,
    Path(name): Path<String>,
    headers: HeaderMap,
    _body: Bytes,
) -> StatusCode {
    record(&log, name, &headers, true);
    // Longer than any delivery timeout: the sender gives up first and drops the connection.
    tokio::time::sleep(Duration::from_secs(600)).await;
    StatusCode::NO_CONTENT
}

#[derive(Deserialize)]
struct From {
    #[serde(default)]
    from: usize,
}

async fn arrivals(State(log): State<Log>, Query(q): Query<From>) -> axum::Json<Vec<Arrival>> {
    let page = match log.lock() {
        Ok(log) => log.iter().skip(q.from).cloned().collect(),
        Err(_) => Vec::new(),
    };
    axum::Json(page)
}

async fn reset(State(log): State<Log>) -> StatusCode {
    if let Ok(mut log) = log.lock() {
        log.clear();
    }
    StatusCode::NO_CONTENT
}

/// The receiver process's `main`: prints `listening on ADDR` and serves until its standard
/// input closes (the harness exited) or it is killed.
pub async fn serve() -> Result<(), String> {
    let log: Log = Arc::new(Mutex::new(Vec::with_capacity(1 << 20)));
    let app = Router::new()
        .route("/hook/{name}", post(hook))
        .route("/hang/{name}", post(hang))
        .route("/_arrivals", get(arrivals))
        .route("/_reset", post(reset))
        .with_state(log);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("receiver: bind: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("receiver: {e}"))?;
    println!("listening on {addr}");
    let orphaned = async {
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(_)) = lines.next_line().await {}
    };
    // No graceful shutdown: `/hang` requests would hold it open for ten minutes.
    tokio::select! {
        served = axum::serve(listener, app) => served.map_err(|e| format!("receiver: {e}")),
        () = orphaned => Ok(()),
    }
}
