//! A webhook receiver on loopback for tests: a real HTTP server that logs every request and
//! answers with the status a test sets. (Also used by the AWS backend's tests.)
#![allow(dead_code)]

use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};

/// A webhook request as the receiver got it.
pub struct Captured {
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A webhook receiver on loopback that answers every request with one status.
pub struct Receiver {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Captured>>>,
    status: Arc<AtomicU16>,
}

impl Receiver {
    /// A receiver answering every request with `status` (until told otherwise).
    pub async fn start(status: StatusCode) -> Receiver {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answer = Arc::new(AtomicU16::new(status.as_u16()));
        let (log, current) = (requests.clone(), answer.clone());
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
            let (log, current) = (log.clone(), current.clone());
            async move {
                log.lock()
                    .expect("request log")
                    .push(Captured { headers, body });
                let status = StatusCode::from_u16(current.load(Ordering::SeqCst))
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, "receiver's answer")
            }
        });
        let addr = serve_on_loopback(app).await;
        Receiver {
            url: format!("http://{addr}/hook"),
            requests,
            status: answer,
        }
    }

    /// Answers every later request with `status`.
    pub fn answer(&self, status: StatusCode) {
        self.status.store(status.as_u16(), Ordering::SeqCst);
    }

    pub fn count(&self) -> usize {
        self.requests.lock().expect("request log").len()
    }
}

/// Serves `app` on a free loopback port, in the background; its address.
pub async fn serve_on_loopback(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("the bound address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}
