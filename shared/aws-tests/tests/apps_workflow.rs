//! A workflow's delivery on DynamoDB and Secrets Manager (moto): the deliver handler reads the
//! workflow's connection, its app version and the connection's secret from the AWS backend,
//! runs both steps in order against a tool on loopback, and records the attempt with the
//! secret the tool echoed redacted.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use hookline_domain::secret::new_webhook_secret;
use hookline_domain::subscription::{REDACTED, new_subscription};
use hookline_domain::{DeliveryStatus, StatePattern};
use hookline_domain::{SubscriptionId, subscription::DeliveryMode};
use hookline_ports::QueueName;
use serde_json::json;
use support::apps::{SHOP_TOKEN, Shop, plant_client};
use support::stack_on_moto::StackOnMoto;
use time::OffsetDateTime;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_workflow_runs_its_steps_with_its_connection_read_from_dynamodb_and_secrets_manager() {
    let stack = StackOnMoto::start(|_| {}).await;
    let now = OffsetDateTime::now_utc();
    let client = plant_client(stack.store.as_ref()).await;
    let shop = Shop::plant(stack.store.as_ref(), &client).await;
    shop.tool.echo("POST /notes", StatusCode::CREATED);
    shop.tool.answer(
        "PUT /orders/L-42/status",
        StatusCode::OK,
        json!({ "ok": true }),
    );
    let mut sub = new_subscription(
        SubscriptionId::new(1),
        client.clone(),
        new_webhook_secret(),
        now,
    );
    sub.mode = DeliveryMode::Action;
    sub.url = String::new();
    sub.actions = shop.steps(&["ready", "note"]);
    sub.event_types = vec!["LotDispatched".into()];
    sub.states = vec![StatePattern::from_stored("AP")];
    let id = stack.queue_delivery(&sub, now).await;

    let ran = stack
        .invoke_once(QueueName::Deliveries, Duration::from_secs(5))
        .await
        .expect("the delivery's message");
    assert!(ran.failed.is_empty(), "{:?}", ran.failed);

    let d = stack
        .store
        .get_delivery(&id)
        .await
        .expect("get")
        .expect("the delivery");
    assert_eq!(d.status, DeliveryStatus::Succeeded, "{:?}", d.attempts);
    assert_eq!((d.steps_done, d.attempts.len()), (2, 1));
    let notes = shop.tool.requests_to("POST /notes");
    assert_eq!(
        notes[0].json()["token"],
        SHOP_TOKEN,
        "the secret reached the tool"
    );
    assert_eq!(shop.tool.requests_to("PUT /orders/L-42/status").len(), 1);
    let record = serde_json::to_string(&d).expect("JSON");
    assert!(!record.contains(SHOP_TOKEN), "{record}");
    // The last step's excerpts are kept: the note, whose token the tool echoed.
    let attempt = &d.attempts[0];
    assert!(
        attempt.request_excerpt.starts_with("POST "),
        "{}",
        attempt.request_excerpt
    );
    assert!(attempt.request_excerpt.contains(REDACTED));
    assert!(
        attempt.response_excerpt.contains(REDACTED),
        "{}",
        attempt.response_excerpt
    );
}
