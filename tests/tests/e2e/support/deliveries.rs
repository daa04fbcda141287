//! Reading deliveries: listing them, finding the one of an event, and waiting for one to
//! reach a status.

use std::time::Duration;

use serde_json::Value;

use super::app::TestApp;
use super::eventually;

/// The attempts of a delivery record.
pub fn attempts(delivery: &Value) -> Vec<Value> {
    delivery["attempts"]
        .as_array()
        .unwrap_or_else(|| panic!("a delivery has attempts: {delivery}"))
        .clone()
}

/// The attempts of a delivery whose outcome is recorded. An attempt under way is listed
/// before its request is sent, with the error a crash would leave ("outcome not recorded"),
/// so a test that reads a retrying delivery can see one in flight.
pub fn finished_attempts(delivery: &Value) -> Vec<Value> {
    attempts(delivery)
        .into_iter()
        .filter(|a| {
            !a["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("outcome not recorded"))
        })
        .collect()
}

impl TestApp {
    /// `GET /v1/deliveries?{query}`: the `data` list.
    pub async fn deliveries(&self, token: &str, query: &str) -> Vec<Value> {
        let resp = self.get(&format!("/v1/deliveries?{query}"), token).await;
        resp.assert_status(200);
        resp.data()
    }

    /// The delivery of `event_id` to `sub_id`, once fan-out has created it.
    pub async fn delivery_of(&self, token: &str, sub_id: &str, event_id: &str) -> Value {
        let query = format!("subscription_id={sub_id}&event_id={event_id}");
        let what = format!("a delivery of {event_id} to {sub_id}");
        self.deliveries_until(token, &query, &what, |list| list.into_iter().next())
            .await
    }

    /// The id of the delivery of `event_id` to `sub_id`, once fan-out has created it.
    pub async fn delivery_id_of(&self, token: &str, sub_id: &str, event_id: &str) -> String {
        self.delivery_of(token, sub_id, event_id).await["id"]
            .as_str()
            .expect("a delivery id")
            .to_string()
    }

    /// Polls `GET /v1/deliveries/{id}` until `done` holds; returns that delivery.
    pub async fn wait_for_delivery(
        &self,
        token: &str,
        delivery_id: &str,
        what: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let path = format!("/v1/deliveries/{delivery_id}");
        eventually(
            timeout,
            &format!("delivery {delivery_id}: {what}"),
            || async {
                let resp = self.get(&path, token).await;
                resp.assert_status(200);
                done(&resp.json).then_some(resp.json)
            },
        )
        .await
    }

    /// Waits until the subscription has `count` deliveries and every one has succeeded: a
    /// receiver seeing a request comes a moment before the runner records its outcome.
    pub async fn wait_until_all_succeeded(&self, token: &str, sub_id: &str, count: usize) {
        let query = format!("subscription_id={sub_id}&limit=100");
        let what = format!("{count} succeeded deliveries of {sub_id}");
        self.deliveries_until(token, &query, &what, |list| {
            (list.len() == count && list.iter().all(|d| d["status"] == "succeeded")).then_some(())
        })
        .await
    }

    /// Lists `GET /v1/deliveries?{query}` until `pick` finds what it waits for (15 s at most).
    async fn deliveries_until<T>(
        &self,
        token: &str,
        query: &str,
        what: &str,
        pick: impl Fn(Vec<Value>) -> Option<T>,
    ) -> T {
        eventually(Duration::from_secs(15), what, || async {
            pick(self.deliveries(token, query).await)
        })
        .await
    }

    /// Polls the delivery until its `status` is `status`.
    pub async fn wait_for_delivery_status(
        &self,
        token: &str,
        delivery_id: &str,
        status: &str,
        timeout: Duration,
    ) -> Value {
        self.wait_for_delivery(
            token,
            delivery_id,
            &format!("status {status}"),
            timeout,
            |d| d["status"] == status,
        )
        .await
    }
}
