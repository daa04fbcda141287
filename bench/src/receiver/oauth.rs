//! The receiver as an OAuth 2-protected tool, for `action-oauth2`: `POST /oauth/token/{ttl}`
//! issues client-credentials tokens living `ttl` seconds and counts the requests;
//! `POST /action/{name}` (an app's action) answers 204 with an unexpired token, 401 without,
//! and records the arrival under the workflow `name` with the event id of its `x-event-id`
//! header (a 401 as a failed attempt). `GET /_tokens` reads the count.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::{Arrival, Log, header, now_ns};

/// Tokens issued, with their expiry, and how many token requests came.
#[derive(Debug, Default)]
pub struct Tokens {
    live: HashMap<String, Instant>,
    requests: u64,
}

impl Tokens {
    /// A token request: a new token living `ttl`.
    pub fn issue(&mut self, ttl: Duration, now: Instant) -> String {
        self.requests += 1;
        let token = format!("bench-token-{}", self.requests);
        // Expired tokens go, so the map holds about one lifetime's worth.
        self.live.retain(|_, expiry| *expiry > now);
        self.live.insert(token.clone(), now + ttl);
        token
    }

    /// Whether `token` was issued and has not expired at `now`.
    pub fn valid(&self, token: &str, now: Instant) -> bool {
        self.live.get(token).is_some_and(|expiry| *expiry > now)
    }

    /// Token requests so far.
    pub fn requests(&self) -> u64 {
        self.requests
    }
}

#[derive(Clone)]
struct Shared {
    log: Log,
    tokens: Arc<Mutex<Tokens>>,
}

/// The routes, on the arrivals' `log`.
pub fn routes(log: Log) -> Router {
    let shared = Shared {
        log,
        tokens: Arc::new(Mutex::new(Tokens::default())),
    };
    Router::new()
        .route("/oauth/token/{ttl}", post(token))
        .route("/action/{name}", post(action))
        .route("/_tokens", get(count))
        .with_state(shared)
}

async fn token(State(s): State<Shared>, Path(ttl): Path<u64>, body: Bytes) -> Response {
    if !String::from_utf8_lossy(&body).contains("grant_type=client_credentials") {
        return (StatusCode::BAD_REQUEST, "unsupported_grant_type").into_response();
    }
    let Ok(mut tokens) = s.tokens.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let token = tokens.issue(Duration::from_secs(ttl), Instant::now());
    axum::Json(json!({"access_token": token, "token_type": "Bearer", "expires_in": ttl}))
        .into_response()
}

async fn action(
    State(s): State<Shared>,
    Path(name): Path<String>,
    headers: HeaderMap,
    _body: Bytes,
) -> StatusCode {
    let bearer = header(&headers, "authorization");
    let token = bearer.strip_prefix("Bearer ").unwrap_or_default();
    let ok = s
        .tokens
        .lock()
        .is_ok_and(|t| t.valid(token, Instant::now()));
    // The action's template carries the event id in `x-event-id`; the workflow is `name`.
    let arrival = Arrival {
        name: name.clone(),
        event_id: header(&headers, "x-event-id"),
        subscription_id: name,
        at_ns: now_ns(),
        hung: false,
        failed: !ok,
    };
    if let Ok(mut log) = s.log.lock() {
        log.push(arrival);
    }
    if ok {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNAUTHORIZED
    }
}

async fn count(State(s): State<Shared>) -> axum::Json<serde_json::Value> {
    let requests = s.tokens.lock().map(|t| t.requests()).unwrap_or(0);
    axum::Json(json!({"requests": requests}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_counted_valid_until_they_expire_and_unknown_ones_refused() {
        let mut t = Tokens::default();
        let t0 = Instant::now();
        let a = t.issue(Duration::from_secs(4), t0);
        assert!(t.valid(&a, t0 + Duration::from_secs(3)));
        assert!(!t.valid(&a, t0 + Duration::from_secs(4)), "expired");
        assert!(!t.valid("bench-token-99", t0), "never issued");
        let b = t.issue(Duration::from_secs(4), t0 + Duration::from_secs(5));
        assert_ne!(a, b);
        assert!(
            !t.valid(&a, t0 + Duration::from_secs(5)),
            "expired ones are dropped"
        );
        assert_eq!(t.requests(), 2);
    }
}
