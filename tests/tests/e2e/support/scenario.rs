//! The set-up the delivery tests share: a publisher, a subscriber portal with a subscription
//! to every event type at a receiver, publishing one event, and waiting for its delivery to
//! reach a status. Tests then read as the scenario they check.

use std::time::Duration;

use serde_json::{Value, json};

use super::api::{Sub, TestClient, event};
use super::app::TestApp;
use super::receiver::Receiver;

/// A subscriber portal (AP) with one subscription, and a publisher for AP.
#[derive(Debug, Clone)]
pub struct Subscribed {
    /// The portal that owns the subscription.
    pub subscriber: TestClient,
    /// A client that may only publish, for AP.
    pub publisher: TestClient,
    /// The subscription.
    pub sub: Sub,
}

impl Subscribed {
    /// Publishes an AP event of `event_type` with `data` as the publisher; returns its id.
    pub async fn publish(&self, app: &TestApp, event_type: &str, data: Value) -> String {
        app.publish_event(&self.publisher.token, event_type, "AP", data)
            .await
    }

    /// The id of the delivery of `event_id` to the subscription, once fan-out created it.
    pub async fn delivery_id(&self, app: &TestApp, event_id: &str) -> String {
        app.delivery_id_of(&self.subscriber.token, &self.sub.id, event_id)
            .await
    }

    /// Waits until the delivery of `event_id` to the subscription has `status`; returns it.
    pub async fn delivery_with_status(
        &self,
        app: &TestApp,
        event_id: &str,
        status: &str,
        timeout: Duration,
    ) -> Value {
        let id = self.delivery_id(app, event_id).await;
        app.wait_for_delivery_status(&self.subscriber.token, &id, status, timeout)
            .await
    }
}

impl Sub {
    /// `/v1/subscriptions/{id}{suffix}`: the subscription's resource, or one below it.
    pub fn path(&self, suffix: &str) -> String {
        format!("/v1/subscriptions/{}{suffix}", self.id)
    }
}

impl TestApp {
    /// A client that may only publish events, for `states`.
    pub async fn publisher(&self, states: &[&str]) -> TestClient {
        self.client(&["events:write"], states).await
    }

    /// Subscribes `token` to every event type at `url`; `extra` fields (an object) are
    /// merged into the body and win over those defaults.
    pub async fn subscribe_at(&self, token: &str, url: &str, extra: Value) -> Sub {
        let mut body = json!({"url": url, "event_types": ["*"]});
        if let (Some(b), Value::Object(extra)) = (body.as_object_mut(), extra) {
            b.extend(extra);
        }
        self.subscribe_ok(token, &body).await
    }

    /// An AP portal subscribed to every type at `url` (plus `extra` fields), and an AP
    /// publisher.
    pub async fn subscribed_at(&self, url: &str, extra: Value) -> Subscribed {
        let subscriber = self.portal(&["AP"]).await;
        let publisher = self.publisher(&["AP"]).await;
        let sub = self.subscribe_at(&subscriber.token, url, extra).await;
        Subscribed {
            subscriber,
            publisher,
            sub,
        }
    }

    /// An AP portal subscribed to every type at `receiver`'s `/hook` (plus `extra` fields),
    /// and an AP publisher.
    pub async fn subscribed(&self, receiver: &Receiver, extra: Value) -> Subscribed {
        self.subscribed_at(&receiver.url("/hook"), extra).await
    }

    /// Publishes one event of `event_type` in `state` with `data`, asserts 202, returns its id.
    pub async fn publish_event(
        &self,
        token: &str,
        event_type: &str,
        state: &str,
        data: Value,
    ) -> String {
        self.publish_ok(token, &event(event_type, state, data))
            .await
    }

    /// `POST /v1/subscriptions/{id}/secret/rotate`: asserts 200, returns the new secret.
    pub async fn rotate_secret(&self, token: &str, sub: &Sub) -> String {
        let rotated = self
            .post(&sub.path("/secret/rotate"), token, &json!({}))
            .await;
        rotated.assert_status(200);
        rotated.json["secret"]
            .as_str()
            .expect("the new secret")
            .to_string()
    }
}
