//! Memory stays bounded whatever a client sends: 600 events of about 250 KiB each (the
//! ingest limit is 256 KiB), published and delivered, leave the runner's peak resident
//! memory under a fixed bound instead of growing with every large event.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Receiver, TestApp, event};

/// The runner's peak resident memory may not pass this, whatever the events' size. Before
/// the recent-event cache was bounded by bytes, 600 such events took it to 3 GB (65 MiB now).
const PEAK_RSS_BOUND: u64 = 192 << 20;

/// A payload of about 250 KiB made of many small members: the shape that costs most once
/// parsed (each member is a node of its own).
fn large_payload(n: usize) -> Value {
    let readings: Vec<Value> = (0..6_300)
        .map(|i| json!({"lot": format!("L{n}-{i:05}"), "ppm": i % 97, "ok": true}))
        .collect();
    json!({ "n": n, "readings": readings })
}

#[tokio::test]
async fn six_hundred_events_of_250_kib_leave_peak_memory_bounded() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start().await;
    let portal = app.portal(&["AP"]).await;
    let publisher = app.publisher(&["AP"]).await;
    app.subscribe_at(&portal.token, &receiver.url("/hook"), json!({}))
        .await;
    let total = 600;
    let size = serde_json::to_vec(&event("LotCreated", "AP", large_payload(total - 1)))
        .expect("json")
        .len();
    assert!((230 << 10..250 << 10).contains(&size), "{size} bytes");

    for n in 0..total {
        app.publish_ok(
            &publisher.token,
            &event("LotCreated", "AP", large_payload(n)),
        )
        .await;
    }
    receiver.wait_for(total, Duration::from_secs(300)).await;
    let peak = app.peak_rss();
    assert!(
        peak < PEAK_RSS_BOUND,
        "peak RSS {} MiB, bound {} MiB",
        peak >> 20,
        PEAK_RSS_BOUND >> 20
    );
    eprintln!(
        "peak RSS after {total} events of {size} bytes: {} MiB",
        peak >> 20
    );
}
