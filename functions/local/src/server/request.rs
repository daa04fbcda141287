//! One connection's service: the router, with the connection's request count kept for the
//! header and idle deadlines, and the body deadline. A request whose body has not arrived
//! within the body timeout of its head is answered 408 (problem+json) whatever the handler
//! made of the cut-off body, and the connection is closed.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use hookline_handlers::problem::problem_response;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt;
use tokio::time::Sleep;
use tower_service::Service;

use super::connection::Requests;

/// The router as one connection serves it.
#[derive(Clone)]
pub struct ConnectionService {
    router: Router,
    requests: Arc<Requests>,
    body_timeout: Duration,
}

impl ConnectionService {
    pub(super) fn new(router: Router, requests: Arc<Requests>, body_timeout: Duration) -> Self {
        ConnectionService {
            router,
            requests,
            body_timeout,
        }
    }
}

impl Service<Request> for ConnectionService {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The router is always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        self.requests.start();
        let expired = Arc::new(AtomicBool::new(false));
        let req = if req.body().is_end_stream() {
            req
        } else {
            let deadline = Box::pin(tokio::time::sleep(self.body_timeout));
            let expired = expired.clone();
            req.map(|inner| {
                Body::new(DeadlineBody {
                    inner,
                    deadline,
                    expired,
                })
            })
        };
        let routed = self.router.call(req);
        let requests = self.requests.clone();
        Box::pin(async move {
            let Ok(resp) = routed.await;
            let resp = if expired.load(Ordering::Acquire) {
                timed_out(&resp)
            } else {
                resp
            };
            let answered = Answered(requests);
            Ok(resp.map(|inner| {
                Body::new(inner.map_frame(move |frame| {
                    let _held_until_the_body_goes = &answered;
                    frame
                }))
            }))
        })
    }
}

/// The 408 for a body that did not arrive in time, keeping the request id the router set.
fn timed_out(routed: &Response) -> Response {
    let mut resp = problem_response(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        "the request body did not arrive in time",
        &[],
    );
    let headers = resp.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    if let Some(id) = routed.headers().get("x-request-id") {
        headers.insert("x-request-id", id.clone());
    }
    resp
}

/// A request body that fails once its deadline passes, noting that it did.
struct DeadlineBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
    expired: Arc<AtomicBool>,
}

impl HttpBody for DeadlineBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.expired.store(true, Ordering::Release);
            return Poll::Ready(Some(Err(axum::Error::new(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "request body timed out",
            )))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Counts its request answered when dropped with the response body (written, or abandoned
/// with the connection).
struct Answered(Arc<Requests>);

impl Drop for Answered {
    fn drop(&mut self) {
        self.0.answer();
    }
}
