//! The runner's HTTP server against clients that hold on: raw TCP clients on 127.0.0.1 that
//! send their head a byte at a time, stall their body, idle between requests, or open more
//! connections than the server takes.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::{get, post};
use hookline_local::server::{HttpLimits, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// How long a test waits for something that must happen before it fails.
const PATIENCE: Duration = Duration::from_secs(20);
/// How long "nothing more happens" is watched: absence cannot be awaited.
const QUIET_WINDOW: Duration = Duration::from_millis(800);

const LIMITS: HttpLimits = HttpLimits {
    header_timeout: Duration::from_secs(1),
    body_timeout: Duration::from_secs(1),
    idle_timeout: Duration::from_secs(60),
    max_connections: 64,
};

/// Requests inside the `/hold` handler now, and the most there ever were at once.
struct Held {
    now: AtomicUsize,
    most: AtomicUsize,
    gate: Semaphore,
}

/// The server on a free port of 127.0.0.1 with `limits`, serving `GET /` (ok), `POST /echo`
/// (reads the body) and `GET /hold` (waits until the test opens `Held::gate`).
async fn spawn_server(limits: HttpLimits) -> (String, Arc<Held>) {
    let held = Arc::new(Held {
        now: AtomicUsize::new(0),
        most: AtomicUsize::new(0),
        gate: Semaphore::new(0),
    });
    let router = Router::new()
        .route("/", get(|| async { "ok" }))
        .route("/echo", post(|body: Bytes| async move { body }))
        .route(
            "/hold",
            get(|State(held): State<Arc<Held>>| async move {
                let now = held.now.fetch_add(1, Ordering::SeqCst) + 1;
                held.most.fetch_max(now, Ordering::SeqCst);
                let _pass = held.gate.acquire().await;
                held.now.fetch_sub(1, Ordering::SeqCst);
                "held"
            }),
        )
        .with_state(held.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(serve(listener, router, limits, std::future::pending()));
    (addr, held)
}

/// Reads from `sock` until the head of one response has arrived (and `body_len` bytes after
/// it); `None` if the server closed the connection first.
async fn read_response(sock: &mut TcpStream, body_len: usize) -> Option<String> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n")
            && seen.len() >= end + 4 + body_len
        {
            return Some(String::from_utf8_lossy(&seen).into_owned());
        }
        match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

/// Everything the server sends on `sock` until it closes the connection.
async fn until_closed(sock: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let _ = sock.read_to_end(&mut all).await;
    String::from_utf8_lossy(&all).into_owned()
}

/// A new connection to `addr` that has sent `request`.
async fn send(addr: &str, request: &[u8]) -> TcpStream {
    let mut sock = TcpStream::connect(addr).await.expect("connect");
    sock.write_all(request).await.expect("write");
    sock
}

/// `fut`, or a failure saying `what` did not happen in time.
async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, fut)
        .await
        .unwrap_or_else(|_| panic!("not within {PATIENCE:?}: {what}"))
}

#[tokio::test]
async fn a_head_sent_byte_by_byte_is_cut_off_at_the_header_timeout() {
    let (addr, _) = spawn_server(LIMITS).await;
    let mut sock = TcpStream::connect(&addr).await.expect("connect");
    let (mut rx, mut tx) = sock.split();
    // A head that never ends, a byte every 50 ms: 40 s of it if nothing cuts it off.
    let trickle = async {
        let head = format!("GET / HTTP/1.1\r\nhost: x\r\nx-pad: {}", "a".repeat(800));
        for byte in head.as_bytes() {
            if tx.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        std::future::pending::<()>().await;
    };
    let mut answer = Vec::new();
    within("the slow head's connection is closed", async {
        tokio::select! {
            _ = rx.read_to_end(&mut answer) => {},
            () = trickle => {},
        }
    })
    .await;
    assert!(
        !String::from_utf8_lossy(&answer).contains(" 200 "),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn a_kept_alive_connection_waits_past_the_header_timeout_until_the_idle_timeout() {
    let (addr, _) = spawn_server(HttpLimits {
        idle_timeout: Duration::from_secs(3),
        ..LIMITS
    })
    .await;
    let request = b"GET / HTTP/1.1\r\nhost: x\r\n\r\n";
    let mut sock = send(&addr, request).await;
    let first = within("the first response", read_response(&mut sock, 2)).await;
    assert!(first.is_some_and(|r| r.starts_with("HTTP/1.1 200")));
    // Idle for longer than the header timeout, but not the idle timeout: still open.
    tokio::time::sleep(LIMITS.header_timeout + Duration::from_millis(500)).await;
    sock.write_all(request).await.expect("write");
    let second = within("the second response", read_response(&mut sock, 2)).await;
    assert!(
        second.is_some_and(|r| r.starts_with("HTTP/1.1 200")),
        "a kept-alive connection was closed before its idle timeout"
    );
    // Then idle for good: the server closes it.
    within("the idle connection is closed", until_closed(&mut sock)).await;
}

#[tokio::test]
async fn a_stalled_body_is_answered_408_and_the_connection_closed() {
    let (addr, _) = spawn_server(LIMITS).await;
    let mut sock = send(
        &addr,
        b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nonly part",
    )
    .await;
    let answer = within("an answer to the stalled body", until_closed(&mut sock)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert!(lower.contains("connection: close"), "{answer}");
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
}

#[tokio::test]
async fn a_body_that_arrives_in_time_is_served() {
    let (addr, _) = spawn_server(LIMITS).await;
    let mut sock = send(
        &addr,
        b"POST /echo HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello",
    )
    .await;
    let answer = within("the echo", read_response(&mut sock, 5)).await;
    assert!(
        answer.is_some_and(|r| r.starts_with("HTTP/1.1 200") && r.ends_with("hello")),
        "the body was not echoed"
    );
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let limit = 2;
    let (addr, held) = spawn_server(HttpLimits {
        max_connections: limit,
        ..LIMITS
    })
    .await;
    let clients = 5;
    let mut socks = Vec::new();
    for _ in 0..clients {
        socks.push(
            send(
                &addr,
                b"GET /hold HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
            )
            .await,
        );
    }
    within("the limit's worth of requests in the handler", async {
        while held.now.load(Ordering::SeqCst) < limit {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    tokio::time::sleep(QUIET_WINDOW).await;
    assert_eq!(
        held.now.load(Ordering::SeqCst),
        limit,
        "more connections served at once than the limit"
    );
    // Opening the gate lets every client through, a limit's worth at a time.
    held.gate.add_permits(clients);
    for sock in &mut socks {
        let answer = within("a waiting client's response", read_response(sock, 4)).await;
        assert!(answer.is_some_and(|r| r.starts_with("HTTP/1.1 200") && r.ends_with("held")));
    }
    assert_eq!(held.most.load(Ordering::SeqCst), limit);
}
