//! `Receiver`: a real webhook endpoint (axum on 127.0.0.1) that answers as scripted and
//! records every request it gets, with a way to await "n requests arrived".
//!
//! How it answers, first match wins: a rule whose predicate matches the request, then the
//! next queued reply, then the default reply (200 unless told otherwise).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use tokio::sync::{oneshot, watch};

use super::wait::quiet_window;

mod recorded;
mod reply;

pub use recorded::Recorded;
pub use reply::Reply;

type Rule = (Arc<dyn Fn(&Recorded) -> bool + Send + Sync>, Reply);

struct Shared {
    rules: Mutex<Vec<Rule>>,
    queue: Mutex<VecDeque<Reply>>,
    default: Mutex<Reply>,
    log: Mutex<Vec<Recorded>>,
    arrivals: watch::Sender<usize>,
}

impl Shared {
    fn reply_for(&self, req: &Recorded) -> Reply {
        let rules = self.rules.lock().expect("rules");
        if let Some((_, reply)) = rules.iter().find(|(matches, _)| matches(req)) {
            return reply.clone();
        }
        drop(rules);
        if let Some(reply) = self.queue.lock().expect("queue").pop_front() {
            return reply;
        }
        self.default.lock().expect("default reply").clone()
    }
}

/// A webhook endpoint on 127.0.0.1.
pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    /// A receiver answering 200 to everything.
    pub async fn start() -> Receiver {
        Receiver::answering(Reply::ok()).await
    }

    /// A receiver answering `reply` to everything.
    pub async fn answering(reply: Reply) -> Receiver {
        Receiver::start_at("127.0.0.1:0".parse().expect("an address"), reply).await
    }

    /// A receiver answering `replies` in order, then `then` to everything after.
    pub async fn scripted(replies: Vec<Reply>, then: Reply) -> Receiver {
        let r = Receiver::answering(then).await;
        r.shared.queue.lock().expect("queue").extend(replies);
        r
    }

    /// A receiver on a given address (one freed by `reserve_addr` or `stop`), answering
    /// `reply` to everything.
    pub async fn start_at(addr: SocketAddr, reply: Reply) -> Receiver {
        let listener = bind(addr).await;
        let addr = listener.local_addr().expect("the receiver's address");
        let (arrivals, _) = watch::channel(0usize);
        let shared = Arc::new(Shared {
            rules: Mutex::new(Vec::new()),
            queue: Mutex::new(VecDeque::new()),
            default: Mutex::new(reply),
            log: Mutex::new(Vec::new()),
            arrivals,
        });
        let router = axum::Router::new()
            .fallback(record)
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Receiver {
            addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// A free address of 127.0.0.1 nobody listens on (yet): connections to it are refused
    /// until a receiver is started there with `start_at`.
    pub fn reserve_addr() -> SocketAddr {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().expect("the reserved address")
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Queues `reply` for the next request that no rule answers.
    pub fn push_reply(&self, reply: Reply) {
        self.shared.queue.lock().expect("queue").push_back(reply);
    }

    /// Changes the answer to requests that no rule or queued reply answers.
    pub fn set_default(&self, reply: Reply) {
        *self.shared.default.lock().expect("default reply") = reply;
    }

    /// Answers `reply` to every request for which `matches` holds.
    pub fn reply_when(
        &self,
        matches: impl Fn(&Recorded) -> bool + Send + Sync + 'static,
        reply: Reply,
    ) {
        self.shared
            .rules
            .lock()
            .expect("rules")
            .push((Arc::new(matches), reply));
    }

    /// Forgets every rule.
    pub fn clear_rules(&self) {
        self.shared.rules.lock().expect("rules").clear();
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.log.lock().expect("log").clone()
    }

    /// How many requests arrived so far.
    pub fn count(&self) -> usize {
        self.shared.log.lock().expect("log").len()
    }

    /// Waits until at least `n` requests arrived; returns all of them.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Recorded> {
        self.wait_until(&format!("{n} webhook request(s)"), timeout, |r| {
            r.len() >= n
        })
        .await
    }

    /// Waits until the requests so far satisfy `done`; returns them.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        done: impl Fn(&[Recorded]) -> bool,
    ) -> Vec<Recorded> {
        match self.try_wait_until(timeout, done).await {
            Ok(log) => log,
            Err(log) => panic!(
                "timed out after {timeout:?} waiting for {what} at {}; got {}: {:#?}",
                self.addr,
                log.len(),
                self.summary()
            ),
        }
    }

    /// Waits until the requests so far satisfy `done`: `Ok` with them, or `Err` with what
    /// arrived when `timeout` ran out.
    pub async fn try_wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&[Recorded]) -> bool,
    ) -> Result<Vec<Recorded>, Vec<Recorded>> {
        let mut rx = self.shared.arrivals.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            rx.borrow_and_update();
            let log = self.requests();
            if done(&log) {
                return Ok(log);
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return Err(log);
            }
        }
    }

    /// Asserts that, after the `expected` requests already here, nothing more arrives
    /// during the quiet window (see `QUIET_WINDOW`: the suite's one bounded wait; longer on aws).
    pub async fn assert_no_more_requests(&self, expected: usize) {
        assert_eq!(
            self.count(),
            expected,
            "unexpected webhook requests before the quiet window: {:#?}",
            self.summary()
        );
        tokio::time::sleep(quiet_window()).await;
        assert_eq!(
            self.count(),
            expected,
            "more webhook requests arrived than expected: {:#?}",
            self.summary()
        );
    }

    /// One line per request, for failure messages.
    pub fn summary(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| {
                format!(
                    "{} {} type={} id={} attempt={}",
                    r.method,
                    r.path,
                    r.header("hookline-event-type").unwrap_or("-"),
                    r.header("webhook-id").unwrap_or("-"),
                    r.header("hookline-attempt").unwrap_or("-"),
                )
            })
            .collect()
    }

    /// Stops listening (connections are then refused) and returns the address, so a new
    /// receiver can start there later.
    pub async fn stop(mut self) -> SocketAddr {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            // A slow reply still in flight holds the graceful shutdown; the listener is
            // closed by then, which is all that matters, so don't wait for it for long.
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        self.addr
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Binds `addr`, retrying briefly: a port just freed may still be held for a moment.
async fn bind(addr: SocketAddr) -> tokio::net::TcpListener {
    let mut tries = 0;
    loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => return l,
            Err(e) if tries < 100 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("cannot bind a receiver on {addr}: {e}"),
        }
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Recorded {
        method,
        path: uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| uri.path().to_string()),
        headers,
        body,
        at: Instant::now(),
    };
    let reply = shared.reply_for(&req);
    shared.log.lock().expect("log").push(req);
    shared.arrivals.send_modify(|n| *n += 1);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    let mut builder = Response::builder().status(reply.status);
    for (k, v) in &reply.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    builder
        .body(Body::from(reply.body))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}
