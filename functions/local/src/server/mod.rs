//! The runner's HTTP server: axum's `serve` over a listener that bounds what one client can
//! hold. On AWS, API Gateway stands between clients and the functions; locally, the runner
//! faces its clients itself, so a client that sends its request a byte at a time (slowloris),
//! stalls its body, parks idle connections, or opens thousands of them must not hold the
//! server's connections or memory for long.
//!
//! - [`connection`]: a connection slot per accepted socket (beyond the limit, new clients
//!   wait in the kernel's backlog, costing the process nothing), and the header and idle
//!   deadlines, enforced where the socket is read.
//! - [`request`]: the body deadline and the 408 answer when it passes.

mod connection;
mod request;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::serve::{IncomingStream, Listener};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use connection::Connection;
use request::ConnectionService;

/// How long a client may take, and how many connections it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// From a connection's accept (or the first byte of a later request) to the end of the
    /// request head; past it the connection is closed.
    pub header_timeout: Duration,
    /// From the end of the request head to the end of its body; past it the request is
    /// answered 408 and the connection closed.
    pub body_timeout: Duration,
    /// From a response to the first byte of the next request on a kept-alive connection.
    pub idle_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog until one closes.
    pub max_connections: usize,
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then lets the
/// open connections finish their requests (as `axum::serve`'s graceful shutdown does).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = LimitedListener {
        inner: listener,
        slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
        limits,
    };
    axum::serve(listener, PerConnection { router, limits })
        .with_graceful_shutdown(shutdown)
        .await
}

/// A TCP listener that accepts only while a connection slot is free.
struct LimitedListener {
    inner: TcpListener,
    slots: Arc<Semaphore>,
    limits: HttpLimits,
}

impl Listener for LimitedListener {
    type Io = Connection;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Connection, std::net::SocketAddr) {
        // The semaphore is never closed; if it were, accepting nothing more is the answer.
        let Ok(slot) = self.slots.clone().acquire_owned().await else {
            return std::future::pending().await;
        };
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        (Connection::new(stream, slot, self.limits), addr)
    }

    fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.inner.local_addr()
    }
}

/// Makes each connection's service, which shares the connection's request count with it.
#[derive(Clone)]
struct PerConnection {
    router: Router,
    limits: HttpLimits,
}

impl<'a> tower_service::Service<IncomingStream<'a, LimitedListener>> for PerConnection {
    type Response = ConnectionService;
    type Error = Infallible;
    type Future = std::future::Ready<Result<ConnectionService, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, incoming: IncomingStream<'a, LimitedListener>) -> Self::Future {
        std::future::ready(Ok(ConnectionService::new(
            self.router.clone(),
            incoming.io().requests(),
            self.limits.body_timeout,
        )))
    }
}
