//! What the handlers report to their metrics sink: the events ingest accepts, the deliveries
//! fan-out creates, and each attempt's outcome, by the event's state and type. The stack is
//! the embedded one; the sink is a recorder in place of a Lambda function's EMF sink.

mod support;

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use hookline_domain::{EventType, Scope};
use hookline_handlers::metrics::{AttemptOutcome, Metrics};
use hookline_ports::QueueName;
use serde_json::{Value, json};

use support::api::serve_api;
use support::hub::*;

/// One call to the sink.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Recorded {
    Accepted(String, String, u64),
    FannedOut(String, String, u64),
    /// The outcome, and whether a latency came with it.
    Attempt(String, String, AttemptOutcome, bool),
}

#[derive(Default)]
struct Recorder(Mutex<Vec<Recorded>>);

impl Recorder {
    fn push(&self, r: Recorded) {
        self.0.lock().expect("recorder").push(r);
    }

    /// What was recorded since the last call.
    fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.0.lock().expect("recorder"))
    }
}

impl Metrics for Recorder {
    fn events_accepted(&self, state: &str, event_type: &str, n: u64) {
        self.push(Recorded::Accepted(state.into(), event_type.into(), n));
    }

    fn fanned_out(&self, state: &str, event_type: &str, deliveries: u64) {
        self.push(Recorded::FannedOut(
            state.into(),
            event_type.into(),
            deliveries,
        ));
    }

    fn attempt(
        &self,
        state: &str,
        event_type: &str,
        outcome: AttemptOutcome,
        latency: Option<u64>,
    ) {
        let sent = latency.is_some();
        self.push(Recorded::Attempt(
            state.into(),
            event_type.into(),
            outcome,
            sent,
        ));
    }
}

/// A hub whose handlers report to the returned recorder.
async fn recorded_hub() -> (Hub, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let hub = hub_with_metrics(recorder.clone()).await;
    (hub, recorder)
}

fn attempt(outcome: AttemptOutcome) -> Recorded {
    Recorded::Attempt(STATE.into(), EVENT_TYPE.into(), outcome, true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_and_every_attempt_outcome_are_counted_by_state_and_type() {
    let (hub, recorder) = recorded_hub().await;
    let receiver = Receiver::start(StatusCode::SERVICE_UNAVAILABLE).await;
    hub.subscribe(&receiver.url, 2).await;
    hub.subscribe(&receiver.url, 2).await;
    let event = hub.publish().await;

    let queued = hub.fan_out_event(&event, 2).await;
    assert_eq!(
        recorder.take(),
        [Recorded::FannedOut(STATE.into(), EVENT_TYPE.into(), 2)]
    );

    let response = hub.deliver(&queued[..1]).await;
    assert_eq!(failed_ids(&response).len(), 1, "retried later");
    assert_eq!(recorder.take(), [attempt(AttemptOutcome::Retried)]);

    // The retry (the schedule's 1 s) is the subscription's last attempt.
    let retried = hub.receive_exactly(QueueName::Deliveries, 1).await;
    hub.deliver(&retried).await;
    assert_eq!(recorder.take(), [attempt(AttemptOutcome::Failed)]);

    receiver.answer(StatusCode::NO_CONTENT);
    hub.deliver(&queued[1..]).await;
    assert_eq!(recorder.take(), [attempt(AttemptOutcome::Succeeded)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_counts_each_event_of_a_batch_by_itself() {
    let (hub, recorder) = recorded_hub().await;
    hub.subscribe("http://127.0.0.1:9/hook", 1).await;
    let (first, second) = (hub.publish().await, hub.publish().await);
    let messages = vec![event_message(&first.id), event_message(&second.id)];
    hub.queue
        .send(QueueName::Events, messages)
        .await
        .expect("send");
    let batch = hub.receive_exactly(QueueName::Events, 2).await;

    let response = hub.fan_out(&batch).await;

    assert!(failed_ids(&response).is_empty(), "{response:?}");
    let one = Recorded::FannedOut(STATE.into(), EVENT_TYPE.into(), 1);
    assert_eq!(recorder.take(), [one.clone(), one]);
}

/// The hub's API, served, and a token of a publisher of `EVENT_TYPE` in `STATE`.
async fn publisher(hub: &Hub) -> (String, String) {
    let event_type = EventType {
        name: EVENT_TYPE.into(),
        description: String::new(),
        schema: None,
        example: None,
    };
    hub.store
        .put_event_type(&event_type)
        .await
        .expect("event type");
    let (client, secret) = support::client("Publisher", vec![Scope::EventsWrite], &[STATE]);
    hub.store.insert_client(&client).await.expect("client");
    serve_api(&hub.ctx, client.id.as_str(), &secret).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_counts_each_new_event_and_no_duplicate() {
    let (hub, recorder) = recorded_hub().await;
    let (base, token) = publisher(&hub).await;
    let http = reqwest::Client::new();
    let publish = |body: Value, key: Option<&str>| {
        let mut request = http
            .post(format!("{base}/v1/events"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(key) = key {
            request = request.header("idempotency-key", key);
        }
        request.send()
    };
    let event = json!({ "type": EVENT_TYPE, "state": STATE, "data": { "lot": "L-42" } });

    let first = publish(event.clone(), Some("lot-42"))
        .await
        .expect("publish");
    let again = publish(event.clone(), Some("lot-42"))
        .await
        .expect("publish");
    let batch = json!({ "events": [event.clone(), event] });
    let both = publish(batch, None).await.expect("publish");

    assert_eq!(first.status(), 202);
    assert_eq!(again.status(), 200, "a duplicate");
    assert_eq!(both.status(), 202);
    let one = Recorded::Accepted(STATE.into(), EVENT_TYPE.into(), 1);
    assert_eq!(recorder.take(), [one.clone(), one.clone(), one]);
}
