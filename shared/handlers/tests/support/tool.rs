//! A third-party tool on loopback for the integration apps' handler tests: a real HTTP server
//! that logs every request and answers each `METHOD /path` as a test says (a JSON body, or
//! the request's own body echoed back, as a careless tool would echo a credential).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::Value;

use super::receiver::serve_on_loopback;

/// A request as the tool got it.
#[derive(Clone)]
pub struct ToolRequest {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl ToolRequest {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// How the tool answers one route.
#[derive(Clone)]
enum Answer {
    Json(StatusCode, Value),
    Echo(StatusCode),
}

/// The tool: its base URL and what it was asked.
pub struct Tool {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    requests: Arc<Mutex<Vec<ToolRequest>>>,
    routes: Arc<Mutex<HashMap<String, Answer>>>,
    /// How long the tool takes to answer, for every route.
    delay: Arc<Mutex<Duration>>,
}

impl Tool {
    /// A tool answering 404 to everything until told otherwise.
    pub async fn start() -> Tool {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let routes: Arc<Mutex<HashMap<String, Answer>>> = Arc::default();
        let delay: Arc<Mutex<Duration>> = Arc::default();
        let (log, table, pause) = (requests.clone(), routes.clone(), delay.clone());
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let (log, table, pause) = (log.clone(), table.clone(), pause.clone());
                async move {
                    let pause = *pause.lock().expect("delay");
                    tokio::time::sleep(pause).await;
                    let route = format!("{method} {}", uri.path());
                    log.lock().expect("request log").push(ToolRequest {
                        method,
                        path: uri.path().to_string(),
                        query: uri.query().map(str::to_string),
                        headers,
                        body: body.clone(),
                    });
                    let answer = table.lock().expect("routes").get(&route).cloned();
                    match answer {
                        Some(Answer::Json(status, value)) => (status, value.to_string()),
                        Some(Answer::Echo(status)) => {
                            (status, String::from_utf8_lossy(&body).into_owned())
                        }
                        None => (StatusCode::NOT_FOUND, "{}".to_string()),
                    }
                }
            },
        );
        let addr = serve_on_loopback(app).await;
        Tool {
            base: format!("http://{addr}"),
            requests,
            routes,
            delay,
        }
    }

    /// Answers every later request only after `delay` (a slow tool).
    pub fn slow(&self, delay: Duration) {
        *self.delay.lock().expect("delay") = delay;
    }

    /// Answers `route` (`"PUT /orders/L-1"`) with `status` and `body`.
    pub fn answer(&self, route: &str, status: StatusCode, body: Value) {
        self.routes
            .lock()
            .expect("routes")
            .insert(route.to_string(), Answer::Json(status, body));
    }

    /// Answers `route` with `status` and the request's own body.
    pub fn echo(&self, route: &str, status: StatusCode) {
        self.routes
            .lock()
            .expect("routes")
            .insert(route.to_string(), Answer::Echo(status));
    }

    /// The requests made to `route` so far.
    pub fn requests_to(&self, route: &str) -> Vec<ToolRequest> {
        self.requests
            .lock()
            .expect("request log")
            .iter()
            .filter(|r| format!("{} {}", r.method, r.path) == route)
            .cloned()
            .collect()
    }

    /// Every request so far.
    pub fn count(&self) -> usize {
        self.requests.lock().expect("request log").len()
    }
}
