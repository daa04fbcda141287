//! The runner's HTTP server settings, as the binary reads them: clients that hold on are cut
//! off, and settings that expose the runner are refused at start.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestApp;
use crate::support::app::run_binary;

/// How long a cut-off may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// Everything the runner sends on `sock` until it closes it.
async fn until_closed(sock: &mut TcpStream) -> String {
    let mut all = Vec::new();
    tokio::time::timeout(PATIENCE, sock.read_to_end(&mut all))
        .await
        .unwrap_or_else(|_| panic!("the runner kept the connection open for {PATIENCE:?}"))
        .ok();
    String::from_utf8_lossy(&all).into_owned()
}

#[tokio::test]
async fn a_stalled_token_request_is_answered_408_and_a_stalled_head_is_cut_off() {
    let app = TestApp::builder()
        .env("HOOKLINE_HTTP_HEADER_TIMEOUT_SECS", "1")
        .env("HOOKLINE_HTTP_BODY_TIMEOUT_SECS", "1")
        .spawn()
        .await;

    let mut body = TcpStream::connect(&app.addr).await.expect("connect");
    body.write_all(
        b"POST /oauth/token HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 200\r\n\r\ngrant_type=client_",
    )
    .await
    .expect("write");
    let mut head = TcpStream::connect(&app.addr).await.expect("connect");
    head.write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nx-pad: aaaa")
        .await
        .expect("write");

    let answer = until_closed(&mut body).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{answer}"
    );
    assert!(answer.contains(r#""code":"request_timeout""#), "{answer}");
    let answer = until_closed(&mut head).await;
    assert!(!answer.contains(" 200 "), "{answer}");
}

#[tokio::test]
async fn the_runner_refuses_private_destinations_on_a_public_address() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let env = BTreeMap::from([
        ("HOOKLINE_ADDR".to_string(), "0.0.0.0:0".to_string()),
        (
            "HOOKLINE_DATA_DIR".to_string(),
            dir.path().join("data").display().to_string(),
        ),
    ]);
    let dir_path = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || run_binary(&[], &env, &dir_path))
        .await
        .expect("the runner's task");
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    for said in [
        "HOOKLINE_ALLOW_PRIVATE_DESTINATIONS and HOOKLINE_ALLOW_HTTP are true",
        "0.0.0.0:0, which is not a loopback address",
        "HOOKLINE_ALLOW_UNSAFE_DESTINATIONS=true",
    ] {
        assert!(out.stderr.contains(said), "{}", out.stderr);
    }
    assert!(
        !dir.path().join("data").exists(),
        "the refused runner opened its data directory"
    );
}
