//! The deliver worker and a workflow (a subscription whose mode is `action`): each delivery
//! runs its steps in order through the app engine, against a real tool on loopback; a failed
//! step is retried from itself (the steps before it are not repeated); a step that can never
//! succeed dead-letters the delivery at once; and what the attempt keeps of the requests and
//! answers has the connection's secrets redacted.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use hookline_domain::subscription::REDACTED;
use hookline_domain::{Delivery, DeliveryId, DeliveryStatus};
use hookline_ports::{QueueName, ReceivedMessage};
use serde_json::json;

use support::apps::{SHOP_TOKEN, Shop, make_workflow};
use support::hub::*;
use support::tool::Tool;

/// A workflow of `actions` (each with the event's lot as input) over one shop connection,
/// and one delivery of a new event to it, queued and received.
struct Workflow {
    tool: Tool,
    id: DeliveryId,
    batch: Vec<ReceivedMessage>,
}

async fn workflow(hub: &Hub, actions: &[&str], max_attempts: u32) -> Workflow {
    let mut sub = hub.subscribe("", max_attempts).await;
    let shop = Shop::plant(hub.store.as_ref(), &sub.client_id).await;
    make_workflow(hub.store.as_ref(), &mut sub, shop.steps(actions)).await;
    let event = hub.publish().await;
    let id = hub.queue_delivery(&event, &sub, |_| {}).await;
    let batch = hub.receive_exactly(QueueName::Deliveries, 1).await;
    Workflow {
        tool: shop.tool,
        id,
        batch,
    }
}

const NOTES: &str = "POST /notes";
const STATUS: &str = "PUT /orders/L-42/status";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workflow_runs_its_steps_in_order_and_succeeds() {
    let hub = hub().await;
    let w = workflow(&hub, &["note", "ready"], 5).await;
    w.tool
        .answer(NOTES, StatusCode::CREATED, json!({ "id": 7 }));
    w.tool
        .answer(STATUS, StatusCode::OK, json!({ "status": "ready" }));

    hub.deliver_done(&w.batch).await;

    let d: Delivery = hub.delivery(&w.id).await;
    assert_eq!(d.status, DeliveryStatus::Succeeded);
    assert_eq!(d.steps_done, 2);
    assert_eq!(d.attempts.len(), 1);
    let attempt = &d.attempts[0];
    assert_eq!(
        (attempt.status_code, attempt.error.as_deref()),
        (Some(200), None)
    );
    assert!(
        attempt
            .request_excerpt
            .starts_with(&format!("PUT {}/orders/L-42/status", w.tool.base)),
        "{}",
        attempt.request_excerpt
    );
    let notes = w.tool.requests_to(NOTES);
    assert_eq!(notes.len(), 1);
    assert_eq!(
        notes[0].json()["lot"],
        "L-42",
        "the input mapped from the event"
    );
    let status = w.tool.requests_to(STATUS);
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].json(), json!({ "status": "ready" }));
    assert_eq!(hub.depth(QueueName::DeliveriesDlq).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_is_retried_from_itself_and_the_steps_before_it_are_not_repeated() {
    let hub = hub().await;
    let w = workflow(&hub, &["note", "ready"], 5).await;
    w.tool
        .answer(NOTES, StatusCode::CREATED, json!({ "id": 7 }));
    w.tool.answer(
        STATUS,
        StatusCode::SERVICE_UNAVAILABLE,
        json!({ "error": "busy" }),
    );

    let response = hub.deliver(&w.batch).await;
    assert_eq!(failed_ids(&response).len(), 1, "retried: the message stays");
    let d = hub.delivery(&w.id).await;
    assert_eq!(d.status, DeliveryStatus::Retrying);
    assert_eq!(d.steps_done, 1, "the first step is done");
    let error = d.attempts[0].error.as_deref().unwrap_or_default();
    assert!(error.starts_with("step 2/2 (ready): "), "{error}");
    assert_eq!(d.attempts[0].status_code, Some(503));

    // The retry (the same message, once it is due): only the second step runs.
    w.tool
        .answer(STATUS, StatusCode::OK, json!({ "status": "ready" }));
    hub.clock.advance(Duration::from_secs(60));
    let response = hub.deliver(&w.batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    let d = hub.delivery(&w.id).await;
    assert_eq!(d.status, DeliveryStatus::Succeeded);
    assert_eq!(d.steps_done, 2);
    assert_eq!(d.attempts.len(), 2);
    assert_eq!(w.tool.requests_to(NOTES).len(), 1, "step 1 ran once");
    assert_eq!(w.tool.requests_to(STATUS).len(), 2, "step 2 ran twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_can_never_succeed_dead_letters_the_delivery_at_once() {
    let hub = hub().await;
    let w = workflow(&hub, &["note", "broken"], 5).await;
    w.tool
        .answer(NOTES, StatusCode::CREATED, json!({ "id": 7 }));

    hub.deliver_done(&w.batch).await;

    let d = hub.delivery(&w.id).await;
    assert_eq!(
        d.status,
        DeliveryStatus::Failed,
        "no retry, though 5 attempts were allowed"
    );
    assert_eq!(d.attempts.len(), 1);
    assert_eq!(d.steps_done, 1);
    let error = d.attempts[0].error.as_deref().unwrap_or_default();
    assert!(error.starts_with("step 2/2 (broken): "), "{error}");
    assert!(error.contains("template"), "{error}");
    assert_eq!(
        hub.depth(QueueName::DeliveriesDlq).await,
        1,
        "dead-lettered"
    );
    assert_eq!(w.tool.count(), 1, "the broken step sent nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_the_tool_echoes_is_redacted_from_the_attempt() {
    let hub = hub().await;
    let w = workflow(&hub, &["note"], 5).await;
    w.tool.echo(NOTES, StatusCode::UNPROCESSABLE_ENTITY);

    let response = hub.deliver(&w.batch).await;
    assert_eq!(failed_ids(&response).len(), 1);

    let sent = w.tool.requests_to(NOTES);
    assert_eq!(
        sent[0].json()["token"],
        SHOP_TOKEN,
        "the tool got the secret"
    );
    let d = hub.delivery(&w.id).await;
    let attempt = &d.attempts[0];
    assert_eq!(attempt.status_code, Some(422));
    let record = serde_json::to_string(&d).expect("the delivery as JSON");
    assert!(!record.contains(SHOP_TOKEN), "{record}");
    assert!(
        attempt.request_excerpt.contains(REDACTED),
        "{}",
        attempt.request_excerpt
    );
    assert!(
        attempt.response_excerpt.contains(REDACTED),
        "{}",
        attempt.response_excerpt
    );
    assert!(attempt.request_excerpt.contains("L-42"), "the rest is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_connection_fails_its_step_unsent_and_is_retried() {
    let hub = hub().await;
    let w = workflow(&hub, &["note"], 5).await;
    w.tool
        .answer(NOTES, StatusCode::CREATED, json!({ "id": 7 }));
    let d = hub.delivery(&w.id).await;
    let sub = hub
        .store
        .get_subscription(&d.subscription_id)
        .await
        .expect("read")
        .expect("the workflow");
    let mut connection = hub
        .store
        .get_connection(&sub.actions[0].connection_id)
        .await
        .expect("read")
        .expect("the connection");
    connection.enabled = false;
    assert!(
        hub.store
            .update_connection(&connection)
            .await
            .expect("update")
    );

    let response = hub.deliver(&w.batch).await;
    assert_eq!(failed_ids(&response).len(), 1, "retried");
    let d = hub.delivery(&w.id).await;
    assert_eq!(d.status, DeliveryStatus::Retrying);
    assert_eq!(
        d.attempts[0].error.as_deref(),
        Some("step 1/1 (note): the connection is disabled")
    );
    assert_eq!(w.tool.count(), 0, "nothing was sent");
}
