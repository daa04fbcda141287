//! The receiver: its own process (`hookline-bench receiver`), so that the time it spends
//! accepting webhooks is not taken from the harness's publishers. It answers `POST /hook/{name}`
//! with 204 at once, `POST /hang/{name}` never (the sender's timeout ends it) and
//! `POST /flaky/{name}` with 500 for a fixed share of first and second attempts (see
//! [`fails`]), and records every arrival — receiver name, `webhook-id`, `hookline-subscription-id`, arrival time — for
//! the harness to read back over `GET /_arrivals?from=N`. For `action-oauth2` it also plays an
//! OAuth 2-protected tool (see [`oauth`]).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncBufReadExt;

mod oauth;

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
    /// Whether this was a `/flaky` request answered 500 (the sender retries it).
    #[serde(default)]
    pub failed: bool,
}

impl Arrival {
    /// Whether this request was answered with a success: a delivery, not an attempt.
    pub fn delivered(&self) -> bool {
        !self.hung && !self.failed
    }
}

type Log = Arc<Mutex<Vec<Arrival>>>;

/// Nanoseconds since the Unix epoch.
pub fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn record(log: &Log, name: String, headers: &HeaderMap, hung: bool, failed: bool) {
    let at_ns = now_ns();
    let arrival = Arrival {
        name,
        event_id: header(headers, "webhook-id"),
        subscription_id: header(headers, "hookline-subscription-id"),
        at_ns,
        hung,
        failed,
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
    record(&log, name, &headers, false, false);
    StatusCode::NO_CONTENT
}

async fn hang(
    State(log): State<Log>,
    Path(name): Path<String>,
    headers: HeaderMap,
    _body: Bytes,
) -> StatusCode {
    record(&log, name, &headers, true, false);
    // Longer than any delivery timeout: the sender gives up first and drops the connection.
    tokio::time::sleep(Duration::from_secs(600)).await;
    StatusCode::NO_CONTENT
}

/// Whether `/flaky` answers 500 to this attempt of this event: the first attempt of 20% of
/// the events (by a hash of the id, so the same ones whatever the timing), and the second
/// attempt of 4% of them; the third attempt always succeeds.
pub fn fails(event_id: &str, attempt: u32) -> bool {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    event_id.hash(&mut h);
    let bucket = h.finish() % 100;
    match attempt {
        1 => bucket < 20,
        2 => bucket < 4,
        _ => false,
    }
}

async fn flaky(
    State(log): State<Log>,
    Path(name): Path<String>,
    headers: HeaderMap,
    _body: Bytes,
) -> StatusCode {
    let attempt = header(&headers, "hookline-attempt").parse().unwrap_or(1);
    let failed = fails(&header(&headers, "webhook-id"), attempt);
    record(&log, name, &headers, false, failed);
    if failed {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::NO_CONTENT
    }
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
        .route("/flaky/{name}", post(flaky))
        .route("/_arrivals", get(arrivals))
        .route("/_reset", post(reset))
        .with_state(log.clone())
        .merge(oauth::routes(log));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flaky_fails_a_fifth_of_first_attempts_fewer_second_and_no_third() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("evt_{i}")).collect();
        let share = |attempt| ids.iter().filter(|id| fails(id, attempt)).count();
        let (first, second, third) = (share(1), share(2), share(3));
        assert!(
            (1_700..2_300).contains(&first),
            "first attempts failed: {first}"
        );
        assert!(
            (250..550).contains(&second),
            "second attempts failed: {second}"
        );
        assert_eq!(third, 0);
        assert!(
            ids.iter().all(|id| !fails(id, 2) || fails(id, 1)),
            "an event failing its second attempt failed its first"
        );
    }
}
