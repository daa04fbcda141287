//! One accepted connection: its slot under the connection limit, and the deadlines that
//! apply while the server waits for a request head.
//!
//! hyper's own header timer starts when the connection becomes ready for a request and runs
//! through the idle wait and the head alike, so it cannot keep a connection idle for a
//! minute yet give a started head only seconds. Both deadlines are enforced here instead,
//! where the socket is read: while no request is being served, the read fails with
//! `TimedOut` once the current deadline passes, and hyper closes the connection.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use super::HttpLimits;

/// The requests of one connection that its service started and answered; while the two are
/// equal, the connection is waiting for a request head.
#[derive(Debug, Default)]
pub(super) struct Requests {
    started: AtomicU64,
    answered: AtomicU64,
}

impl Requests {
    /// A request head has been read and its handling begins.
    pub(super) fn start(&self) {
        self.started.fetch_add(1, Ordering::AcqRel);
    }

    /// A response has been written (its body dropped by the server).
    pub(super) fn answer(&self) {
        self.answered.fetch_add(1, Ordering::AcqRel);
    }

    /// The number of the request being waited for, if no request is being served.
    fn awaiting(&self) -> Option<u64> {
        let started = self.started.load(Ordering::Acquire);
        (started == self.answered.load(Ordering::Acquire)).then_some(started)
    }
}

/// What the armed deadline bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// No byte of the next request yet.
    Idle,
    /// Part of the request head has arrived (or, for a connection's first request, the
    /// connection was accepted).
    Head,
}

/// An accepted socket with its deadlines; holds a connection slot until dropped.
pub struct Connection {
    stream: TcpStream,
    requests: Arc<Requests>,
    limits: HttpLimits,
    timer: Pin<Box<Sleep>>,
    /// The request (by number) and the wait the timer is set for.
    armed: (u64, Wait),
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    pub(super) fn new(stream: TcpStream, slot: OwnedSemaphorePermit, limits: HttpLimits) -> Self {
        Connection {
            stream,
            requests: Arc::default(),
            timer: Box::pin(tokio::time::sleep(limits.header_timeout)),
            limits,
            // A first request's head is due within the header timeout of the accept.
            armed: (0, Wait::Head),
            _slot: slot,
        }
    }

    /// The request count this connection's service keeps.
    pub(super) fn requests(&self) -> Arc<Requests> {
        self.requests.clone()
    }

    fn arm(&mut self, request: u64, wait: Wait) {
        let after = match wait {
            Wait::Idle => self.limits.idle_timeout,
            Wait::Head => self.limits.header_timeout,
        };
        self.timer.as_mut().reset(Instant::now() + after);
        self.armed = (request, wait);
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let Some(request) = this.requests.awaiting() else {
            // A request is being served: its body has its own deadline.
            return Pin::new(&mut this.stream).poll_read(cx, buf);
        };
        if this.armed.0 != request {
            this.arm(request, Wait::Idle);
        }
        if this.timer.as_mut().poll(cx).is_ready() {
            let what = match this.armed.1 {
                Wait::Idle => "idle connection timed out",
                Wait::Head => "request head timed out",
            };
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)));
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        if this.armed.1 == Wait::Idle && buf.filled().len() > before {
            this.arm(request, Wait::Head);
        }
        read
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
