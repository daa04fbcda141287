//! A delivery record on DynamoDB (moto) stays bounded however often it is retried: a receiver
//! that answers every attempt with 500 and a large body full of characters that JSON escapes
//! (control characters take six bytes there, quotes two), a subscription of three attempts,
//! and seven manual retries after the first cycle, 24 attempts in all. The record lists the
//! first attempt and the latest 20, counts the three between, keeps each excerpt within its
//! bound as stored, and the item DynamoDB holds stays under 40 KB (its limit is 400 KB).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use axum::http::StatusCode;
use hookline_domain::delivery::{ATTEMPT_ERROR_BYTES, KEPT_ATTEMPTS, RESPONSE_EXCERPT_BYTES};
use hookline_domain::secret::{hash_client_secret, new_client_secret, new_webhook_secret};
use hookline_domain::subscription::new_subscription;
use hookline_domain::{
    Client, ClientId, Delivery, DeliveryId, DeliveryStatus, RetrySchedule, Scope, StatePattern,
    SubscriptionId,
};
use hookline_ports::QueueName;
use support::stack_on_moto::StackOnMoto;
use time::OffsetDateTime;

const ATTEMPTS_PER_CYCLE: u32 = 3;
const MANUAL_RETRIES: u32 = 7;
/// The stated bound of a delivery item, in bytes (DynamoDB's own limit is 400 KB).
const ITEM_BOUND: usize = 40_000;

/// A body of 256 KiB that JSON escaping grows sixfold: control characters and quotes.
fn hostile_body() -> String {
    "\u{1}\"\\\u{7f}<".repeat(256 * 1024 / 5)
}

/// Bytes DynamoDB counts for an item: attribute names plus values (numbers as their digits).
fn item_bytes(item: &std::collections::HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, v)| {
            name.len()
                + match v {
                    AttributeValue::S(s) => s.len(),
                    AttributeValue::N(n) => n.len(),
                    _ => 8,
                }
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_record_after_seven_manual_retry_cycles_of_a_failing_receiver_stays_bounded() {
    let stack = StackOnMoto::start(|c| {
        c.retry_schedule = RetrySchedule::parse("1s").expect("retry schedule");
    })
    .await;

    // The receiver: 500 and the hostile body, every time.
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().fallback(move || {
        let counted = counted.clone();
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            (StatusCode::INTERNAL_SERVER_ERROR, hostile_body())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the receiver");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    // A portal, its subscription of three attempts, and one event for it.
    let now = OffsetDateTime::now_utc();
    let secret = new_client_secret();
    let client = Client {
        id: ClientId::new(1),
        name: "portal".into(),
        scopes: vec![Scope::SubscriptionsWrite, Scope::SubscriptionsRead],
        states: vec![StatePattern::from_stored("AP")],
        secret_hash: hash_client_secret(&secret),
        created_at: now,
        disabled: false,
        limits: Default::default(),
    };
    stack.store.insert_client(&client).await.expect("client");
    let mut sub = new_subscription(
        SubscriptionId::new(1),
        client.id.clone(),
        new_webhook_secret(),
        now,
    );
    sub.url = url;
    sub.event_types = vec!["LotDispatched".into()];
    sub.states = vec![StatePattern::from_stored("AP")];
    sub.max_attempts = ATTEMPTS_PER_CYCLE;
    let id = stack.queue_delivery(&sub, now).await;

    let (base, token) = stack.api_token(&client.id, &secret).await;
    let http = reqwest::Client::new();

    for cycle in 0..=MANUAL_RETRIES {
        if cycle > 0 {
            let status = http
                .post(format!("{base}/v1/deliveries/{id}/retry"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("retry")
                .status();
            assert_eq!(status.as_u16(), 202, "manual retry {cycle}");
        }
        // Until the cycle has given up.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let d = stored(&stack, &id).await;
            if d.status == DeliveryStatus::Failed && d.cycle == cycle {
                break;
            }
            assert!(Instant::now() < deadline, "cycle {cycle} stuck: {d:?}");
            // The event source mapping: whatever is visible handed over, the rest deleted.
            stack
                .invoke_once(QueueName::Deliveries, Duration::from_millis(500))
                .await;
        }
    }

    let total = (MANUAL_RETRIES + 1) * ATTEMPTS_PER_CYCLE;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        total as usize,
        "every attempt sent"
    );
    let d = stored(&stack, &id).await;
    assert_eq!(d.attempts.len(), KEPT_ATTEMPTS, "first and latest kept");
    assert_eq!(d.attempts_omitted as usize, total as usize - KEPT_ATTEMPTS);
    assert_eq!(d.attempts[0].attempt, 1, "the first attempt is kept");
    assert_eq!(
        d.attempts.last().map(|a| a.attempt),
        Some(total),
        "the latest attempt is kept"
    );
    for a in &d.attempts {
        let excerpt = serde_json::to_string(&a.response_excerpt).expect("JSON");
        assert!(
            excerpt.len() <= RESPONSE_EXCERPT_BYTES + 2,
            "{}",
            excerpt.len()
        );
        let error = serde_json::to_string(&a.error).expect("JSON");
        assert!(error.len() <= ATTEMPT_ERROR_BYTES + 2, "{}", error.len());
    }

    // The item as DynamoDB holds it.
    let ddb = aws_sdk_dynamodb::Client::new(&stack.moto.sdk_config().await);
    let item = ddb
        .get_item()
        .table_name(stack.dynamo.table())
        .key("pk", AttributeValue::S(format!("DELIVERY#{id}")))
        .key("sk", AttributeValue::S("DELIVERY".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("get item")
        .item
        .expect("the item");
    let bytes = item_bytes(&item);
    eprintln!("after {total} attempts in 8 cycles the delivery item takes {bytes} bytes");
    assert!(bytes < ITEM_BOUND, "{bytes} bytes");
    // Not trivially small either: the attempts are in it.
    assert!(bytes > KEPT_ATTEMPTS * 200, "{bytes} bytes");
}

/// The delivery `id` as stored.
async fn stored(stack: &StackOnMoto, id: &DeliveryId) -> Delivery {
    stack
        .store
        .get_delivery(id)
        .await
        .expect("get")
        .expect("the delivery")
}
