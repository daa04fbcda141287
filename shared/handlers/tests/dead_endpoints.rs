//! Dead endpoints: a subscription whose attempts all fail for the stack's `disable_after` is
//! disabled (reason `failing`), its owner — and no one else — is told by a
//! `hookline.subscription.disabled` event on its other subscriptions, and the system's own
//! writes never overwrite a concurrent change of the subscription.

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use hookline_domain::event::SUBSCRIPTION_DISABLED_TYPE;
use hookline_domain::secret::new_webhook_secret;
use hookline_domain::subscription::{DEFAULT_MAX_ATTEMPTS, new_subscription};
use hookline_domain::{ClientId, DisabledReason, StatePattern, Subscription, SubscriptionId};
use hookline_ports::QueueName;
use hookline_ports::faults::Faults;
use time::OffsetDateTime;

use support::hub::*;

/// Attempts one delivery of a new event to `sub` (one attempt: `sub.max_attempts` is 1).
async fn attempt_once(hub: &Hub, sub: &Subscription) {
    let event = hub.publish().await;
    hub.queue_delivery(&event, sub, |_| {}).await;
    let batch = hub.receive_exactly(QueueName::Deliveries, 1).await;
    let response = hub.deliver(&batch).await;
    hub.acknowledge(QueueName::Deliveries, &batch, &response)
        .await;
}

/// Another subscription of `owner`, at `url`, naming `event_types`.
async fn also_subscribe(
    hub: &Hub,
    owner: &ClientId,
    url: &str,
    event_types: &[&str],
) -> Subscription {
    let mut sub = new_subscription(
        SubscriptionId::new(now_ms()),
        owner.clone(),
        new_webhook_secret(),
        OffsetDateTime::now_utc(),
    );
    sub.url = url.into();
    sub.event_types = event_types.iter().map(|t| t.to_string()).collect();
    sub.states = vec![StatePattern::from_stored(STATE)];
    hub.store
        .insert_subscription(&sub)
        .await
        .expect("subscription");
    sub
}

async fn stored(hub: &Hub, id: &SubscriptionId) -> Subscription {
    let sub = hub.store.get_subscription(id).await.expect("get");
    sub.expect("the subscription is kept")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_failing_for_disable_after_is_disabled_and_only_its_owner_is_told() {
    let hub = hub_with(|c| c.disable_after = Duration::ZERO).await;
    let failing = Receiver::start(StatusCode::INTERNAL_SERVER_ERROR).await;
    let healthy = Receiver::start(StatusCode::NO_CONTENT).await;
    let bystander = Receiver::start(StatusCode::NO_CONTENT).await;
    let sub = hub.subscribe(&failing.url, 1).await;
    let told = also_subscribe(&hub, &sub.client_id, &healthy.url, &["hookline.*"]).await;
    let other_client = hub.subscribe(&bystander.url, 1).await;
    let mut everything = other_client.clone();
    everything.event_types = vec!["*".into()];
    everything.states = vec![StatePattern::Any];
    assert!(
        hub.store
            .update_subscription(&everything)
            .await
            .expect("update")
    );

    attempt_once(&hub, &sub).await;
    let after_one = stored(&hub, &sub.id).await;
    assert!(after_one.enabled, "one failure starts the failing period");
    let since = after_one.failing_since.expect("failing_since is set");
    assert_eq!(hub.depth(QueueName::Events).await, 0, "nothing to tell yet");

    attempt_once(&hub, &sub).await;
    let disabled = stored(&hub, &sub.id).await;
    assert!(!disabled.enabled);
    assert_eq!(disabled.disabled_reason, Some(DisabledReason::Failing));
    assert_eq!(disabled.failing_since, Some(since));
    assert!(disabled.disabled_at.is_some());
    assert_eq!(failing.count(), 2);

    // The system event goes through fan-out: one delivery, to the owner's other subscription.
    let batch = hub.receive_exactly(QueueName::Events, 1).await;
    let response = hub.fan_out(&batch).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    hub.acknowledge(QueueName::Events, &batch, &response).await;
    let deliveries = hub.receive_exactly(QueueName::Deliveries, 1).await;
    let response = hub.deliver(&deliveries).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    assert_eq!(healthy.count(), 1);
    assert_eq!(bystander.count(), 0, "another client never sees it");
    let request = &healthy.requests.lock().expect("requests")[0];
    assert_eq!(
        request.headers["hookline-event-type"],
        SUBSCRIPTION_DISABLED_TYPE
    );
    assert_eq!(
        request.headers["hookline-subscription-id"],
        told.id.as_str()
    );
    let body: serde_json::Value = serde_json::from_slice(&request.body).expect("JSON body");
    assert_eq!(body["type"], SUBSCRIPTION_DISABLED_TYPE);
    assert_eq!(body["data"]["subscription_id"], sub.id.as_str());
    assert_eq!(body["data"]["reason"], "failing");
    assert_eq!(body["data"]["url"], failing.url.as_str());
    assert!(body["data"]["failing_since"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_ends_the_failing_period() {
    let hub = hub().await;
    let receiver = Receiver::start(StatusCode::INTERNAL_SERVER_ERROR).await;
    let sub = hub.subscribe(&receiver.url, 1).await;
    attempt_once(&hub, &sub).await;
    assert!(stored(&hub, &sub.id).await.failing_since.is_some());
    receiver.answer(StatusCode::OK);
    attempt_once(&hub, &sub).await;
    let sub = stored(&hub, &sub.id).await;
    assert_eq!(sub.failing_since, None);
    assert!(sub.enabled);
}

/// Makes the owner rotate `sub`'s secret just before the next conditional write of a
/// subscription, that is, between that writer's read and its write; returns the new secret.
fn rotate_before_next_write(hub: &Hub, faults: &Faults, sub: &Subscription) -> String {
    let (store, id) = (hub.store.clone(), sub.id.clone());
    let rotated = new_webhook_secret();
    let secret = rotated.clone();
    faults.before_next(
        "update_subscription",
        Box::new(move || {
            Box::pin(async move {
                let mut s = store
                    .get_subscription(&id)
                    .await
                    .expect("get")
                    .expect("stored");
                s.rotate_secret(secret, OffsetDateTime::now_utc());
                assert!(store.update_subscription(&s).await.expect("rotate"));
            })
        }),
    );
    rotated
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_keeps_a_concurrent_secret_rotation() {
    let faults = Faults::default();
    let hub = faulty_hub(&faults).await;
    let portal = hub
        .portal("http://127.0.0.1:9/hook", DEFAULT_MAX_ATTEMPTS)
        .await;
    let rotated = rotate_before_next_write(&hub, &faults, &portal.sub);

    let path = format!("/v1/subscriptions/{}", portal.sub.id);
    let (status, view) = portal
        .send(
            reqwest::Method::PATCH,
            &path,
            serde_json::json!({"description": "edited"}),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["description"], "edited");
    let stored = stored(&hub, &portal.sub.id).await;
    assert_eq!(stored.description, "edited");
    assert_eq!(
        stored.current_secret(),
        Some(rotated.as_str()),
        "the rotation made meanwhile is kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_gone_endpoint_keeps_a_concurrent_secret_rotation() {
    let faults = Faults::default();
    let hub = faulty_hub(&faults).await;
    let receiver = Receiver::start(StatusCode::GONE).await;
    let sub = hub.subscribe(&receiver.url, DEFAULT_MAX_ATTEMPTS).await;
    let rotated = rotate_before_next_write(&hub, &faults, &sub);

    attempt_once(&hub, &sub).await;
    let stored = stored(&hub, &sub.id).await;
    assert!(!stored.enabled);
    assert_eq!(stored.disabled_reason, Some(DisabledReason::Gone));
    assert_eq!(
        stored.current_secret(),
        Some(rotated.as_str()),
        "the rotation made meanwhile is kept"
    );
    assert_eq!(stored.version, 2, "rotation, then the disabling over it");
}
