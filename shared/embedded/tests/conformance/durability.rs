//! Durability: what was committed is there after a clean reopen and after `kill -9`, and
//! messages that were in flight come back once their visibility timeout ends.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hookline_domain::subscription::new_subscription;
use hookline_domain::{Client, ClientId, Scope, StatePattern, SubscriptionId};
use hookline_embedded::{EmbeddedBackend, QueueOptions};
use hookline_ports::{PublicKey, QueueMessage, QueueName, ReceivedMessage, SigningKey};
use time::OffsetDateTime;

const KILL_DIR_VAR: &str = "HOOKLINE_EMBEDDED_KILL_TEST_DIR";
const CHILD_TEST: &str = "durability::child_writes_then_waits_to_be_killed";

fn client(id: &str) -> Client {
    Client {
        id: ClientId::from_stored(id),
        name: "durable".to_string(),
        scopes: vec![Scope::Admin],
        states: vec![StatePattern::Any],
        secret_hash: "sha256:x".to_string(),
        created_at: OffsetDateTime::UNIX_EPOCH,
        disabled: false,
        limits: Default::default(),
    }
}

/// Writes a client, a subscription, a signing key and five messages, two of them received
/// (in flight for 2 s).
async fn write_everything(backend: &EmbeddedBackend) -> Vec<ReceivedMessage> {
    let store = backend.store();
    store
        .insert_client(&client("cl_durable"))
        .await
        .expect("insert_client");
    let sub = new_subscription(
        SubscriptionId::from_stored("sub_durable"),
        ClientId::from_stored("cl_durable"),
        "whsec_x".into(),
        OffsetDateTime::UNIX_EPOCH,
    );
    store
        .insert_subscription(&sub)
        .await
        .expect("insert_subscription");
    let key = SigningKey {
        kid: "k1".into(),
        pkcs8_der: vec![1, 2, 3],
        created_at: 7,
        not_before: 7,
    };
    let public = PublicKey {
        kid: "k1".into(),
        x: "x".into(),
        y: "y".into(),
    };
    backend
        .key_rotation()
        .replace_keys(&[], &[key], &[public])
        .await
        .expect("replace_keys");
    let queue = backend.queue();
    let msgs = (0..5)
        .map(|i| QueueMessage::now(format!("{{\"n\":{i}}}")))
        .collect();
    queue.send(QueueName::Deliveries, msgs).await.expect("send");
    let in_flight = queue
        .receive(
            QueueName::Deliveries,
            2,
            Duration::ZERO,
            Duration::from_secs(2),
        )
        .await
        .expect("receive");
    assert_eq!(in_flight.len(), 2);
    in_flight
}

/// Checks everything `write_everything` wrote, and that the in-flight messages come back.
async fn check_everything(backend: &EmbeddedBackend) {
    let store = backend.store();
    assert_eq!(
        store
            .get_client(&ClientId::from_stored("cl_durable"))
            .await
            .expect("get_client"),
        Some(client("cl_durable"))
    );
    let sub = store
        .get_subscription(&SubscriptionId::from_stored("sub_durable"))
        .await
        .expect("get_subscription");
    assert_eq!(sub.map(|s| s.client_id).as_deref(), Some("cl_durable"));
    assert_eq!(
        store.subscriptions_generation().await.expect("generation"),
        1
    );
    let keys = backend
        .signing_keys()
        .signing_keys()
        .await
        .expect("signing_keys");
    assert_eq!(
        backend
            .public_keys()
            .public_keys()
            .await
            .expect("public_keys")
            .len(),
        1
    );
    assert_eq!(
        keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
        vec!["k1"]
    );

    let queue = backend.queue();
    assert_eq!(queue.depth(QueueName::Deliveries).await.expect("depth"), 5);
    let visible = queue
        .receive(
            QueueName::Deliveries,
            10,
            Duration::ZERO,
            Duration::from_secs(60),
        )
        .await
        .expect("receive");
    assert_eq!(
        visible.len(),
        3,
        "the three messages never received are visible at once"
    );
    assert!(visible.iter().all(|m| m.receive_count == 1));
    let t0 = Instant::now();
    let mut back = Vec::new();
    while back.len() < 2 && t0.elapsed() < Duration::from_secs(10) {
        back.extend(
            queue
                .receive(
                    QueueName::Deliveries,
                    10,
                    Duration::from_secs(5),
                    Duration::from_secs(60),
                )
                .await
                .expect("receive"),
        );
    }
    assert_eq!(
        back.len(),
        2,
        "in-flight messages must come back after their visibility timeout"
    );
    assert!(
        back.iter().all(|m| m.receive_count == 2),
        "their receive count survives"
    );
}

#[tokio::test]
async fn data_survives_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = EmbeddedBackend::open(dir.path(), QueueOptions::default()).expect("open");
    write_everything(&backend).await;
    drop(backend);
    let backend = EmbeddedBackend::open(dir.path(), QueueOptions::default()).expect("reopen");
    check_everything(&backend).await;
}

#[tokio::test]
async fn data_survives_kill_9() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            CHILD_TEST,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(KILL_DIR_VAR, dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child test process");
    let stdout = child.stdout.take().expect("child stdout");
    let ready = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.trim() == "ready");
    // Child::kill is SIGKILL on Unix: no destructor, no checkpoint, no clean close.
    child.kill().expect("kill -9 the child");
    let _ = child.wait();
    assert!(
        ready,
        "the child process never reported that it had written"
    );
    let backend =
        EmbeddedBackend::open(dir.path(), QueueOptions::default()).expect("reopen after kill -9");
    check_everything(&backend).await;
}

/// The process that `data_survives_kill_9` starts and kills; does nothing when run alone.
#[tokio::test]
#[ignore = "run only as the child of data_survives_kill_9"]
async fn child_writes_then_waits_to_be_killed() {
    let Some(dir) = std::env::var_os(KILL_DIR_VAR) else {
        return;
    };
    let backend =
        EmbeddedBackend::open(std::path::Path::new(&dir), QueueOptions::default()).expect("open");
    write_everything(&backend).await;
    println!("\nready");
    tokio::time::sleep(Duration::from_secs(60)).await;
}
