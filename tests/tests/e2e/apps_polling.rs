//! Polling triggers: the runner asks the tool's order feed for new orders on the connection's
//! schedule, with the cursor it keeps; each new order is published once as an event, across
//! pages, a feed that lists the cursor's order again, and a restart of the runner; a failing
//! poll keeps its cursor, says why, and publishes nothing until the tool answers again.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::apps::{AppsSetup, definition, id_of};
use crate::support::flow::WAIT;
use crate::support::secrets::random_string;
use crate::support::{Guard, Receiver, TestApp, ThirdParty, eventually};

/// The marketplace app: an API key header and the `new_order` polling trigger over
/// `GET /orders?since=<cursor>` (cursor: the orders' `seq`).
fn marketplace() -> Value {
    definition(
        "market",
        "1.0.0",
        json!({"type": "api_key", "in": "header", "name": "X-Market-Key"}),
        json!({"triggers": {"new_order": {
            "label": "New order",
            "kind": "polling",
            "event_type": "LotCreated",
            "request": {
                "method": "GET",
                "url": "{{ env.BASE_URL }}/orders",
                "query": {"since": "{{ cursor or 0 }}"}
            },
            "items": "/orders",
            "id": "/id",
            "cursor": {"field": "/seq"},
            "min_interval_seconds": 1
        }}}),
    )
}

struct Polling {
    app: TestApp,
    setup: AppsSetup,
    tool: ThirdParty,
    receiver: Receiver,
    connection: Value,
}

impl Polling {
    /// A runner ticking every 200 ms, the tool with `orders` already in its feed, a receiver
    /// of the integrator's events, and a connection polling every second with `key`.
    async fn start(orders: &[&str], right_key: &str, key: &str) -> Polling {
        let app = TestApp::builder()
            .env("HOOKLINE_POLL_TICK_MS", "200")
            .spawn()
            .await;
        let tool = ThirdParty::start(Guard::ApiKeyHeader {
            name: "x-market-key".into(),
            key: right_key.into(),
        })
        .await;
        for r in orders {
            tool.add_order(r, "new");
        }
        let setup = app.apps_setup().await;
        app.publish_app_ok(
            &setup.developer.token,
            &marketplace(),
            json!({"BASE_URL": tool.base_url()}),
        )
        .await;
        let receiver = Receiver::start().await;
        app.listen(&setup.integrator.token, &receiver).await;
        let connection = app
            .connect_ok(
                &setup.integrator.token,
                "market",
                "1.0.0",
                json!({"api_key": key}),
                json!({"polling": {"new_order": {"enabled": true, "interval_seconds": 1}}}),
            )
            .await;
        Polling {
            app,
            setup,
            tool,
            receiver,
            connection,
        }
    }

    /// The order ids of the events the receiver got, in arrival order.
    fn published(&self) -> Vec<String> {
        self.receiver
            .requests()
            .iter()
            .map(|r| {
                let e = r.json();
                assert_eq!(e["type"], "LotCreated");
                assert_eq!(e["state"], "AP");
                e["data"]["id"].as_str().unwrap_or_default().to_string()
            })
            .collect()
    }

    /// Waits until the receiver got `n` events; asserts they are `n` distinct orders.
    async fn wait_published(&self, n: usize) -> BTreeSet<String> {
        self.receiver.wait_for(n, WAIT).await;
        let ids = self.published();
        let distinct: BTreeSet<String> = ids.iter().cloned().collect();
        assert_eq!(
            distinct.len(),
            ids.len(),
            "an order published twice: {ids:?}"
        );
        distinct
    }

    /// Waits until the tool answered `n` more feed requests than `before` with a 2xx.
    async fn polls_after(&self, before: usize, n: usize) {
        self.tool
            .wait_for_success("GET", "/orders", before + n, WAIT)
            .await;
    }

    fn feed_reads(&self) -> usize {
        self.tool
            .requests_to("GET", "/orders")
            .iter()
            .filter(|s| s.succeeded())
            .count()
    }

    /// `GET /v1/connections/{id}/polls`: the `new_order` entry of its `data`.
    async fn poll_state(&self) -> Value {
        let resp = self
            .app
            .get(
                &format!("/v1/connections/{}/polls", id_of(&self.connection)),
                &self.setup.integrator.token,
            )
            .await;
        resp.assert_status(200);
        // A list response (`data`), as the API's other lists are.
        resp.data()
            .iter()
            .find(|p| p["trigger"] == "new_order")
            .cloned()
            .unwrap_or_else(|| panic!("a new_order poll: {}", resp.text))
    }
}

fn orders(ids: &[u32]) -> BTreeSet<String> {
    ids.iter().map(|n| format!("ord_{n}")).collect()
}

#[tokio::test]
async fn new_orders_are_published_once_across_pages_repeats_and_a_restart() {
    let key = random_string(32);
    let mut p = Polling::start(&["R-1", "R-2", "R-3"], &key, &key).await;
    // Three orders, two a page: two polls, the second listing the cursor's order again.
    assert_eq!(p.wait_published(3).await, orders(&[1, 2, 3]));
    let cursors: Vec<Option<String>> = p
        .tool
        .requests_to("GET", "/orders")
        .iter()
        .map(|s| s.query.get("since").cloned())
        .collect();
    assert_eq!(
        cursors[..2],
        [Some("0".to_string()), Some("2".to_string())],
        "the first poll has no cursor, the next the largest seq seen"
    );
    p.tool.add_order("R-4", "new");
    p.tool.add_order("R-5", "new");
    assert_eq!(p.wait_published(5).await, orders(&[1, 2, 3, 4, 5]));

    p.app.restart().await;
    let token = p
        .app
        .token(&p.setup.integrator.id, &p.setup.integrator.secret, None)
        .await;
    p.setup.integrator.token = token;
    // The restarted runner reads the feed from the kept cursor: the last order comes again.
    let before = p.feed_reads();
    p.polls_after(before, 2).await;
    p.tool.add_order("R-6", "new");
    assert_eq!(p.wait_published(6).await, orders(&[1, 2, 3, 4, 5, 6]));
    let before = p.feed_reads();
    p.polls_after(before, 2).await;
    p.receiver.assert_no_more_requests(6).await;

    let state = p.poll_state().await;
    assert_eq!(state["published"], 6, "{state}");
    assert_eq!(state["last_error"], Value::Null, "{state}");
    assert_eq!(state["interval_seconds"], 1);
}

#[tokio::test]
async fn a_failing_poll_records_why_publishes_nothing_and_resumes_when_fixed() {
    let key = random_string(32);
    let p = Polling::start(&["R-1"], &key, &random_string(32)).await;
    eventually(WAIT, "a failed poll recorded", || async {
        let state = p.poll_state().await;
        state["last_error"].is_string().then_some(())
    })
    .await;
    let state = p.poll_state().await;
    assert_eq!(state["published"], 0, "{state}");
    p.app
        .assert_free_of_secrets("a poll's state", &state.to_string());
    assert!(
        p.tool
            .requests_to("GET", "/orders")
            .iter()
            .all(|s| s.status == 401),
        "every poll so far was refused"
    );

    p.app
        .patch(
            &format!("/v1/connections/{}", id_of(&p.connection)),
            &p.setup.integrator.token,
            &json!({"credentials": {"api_key": key}}),
        )
        .await
        .assert_status(200);
    assert_eq!(p.wait_published(1).await, orders(&[1]));
    eventually(WAIT, "the poll's error cleared", || async {
        let state = p.poll_state().await;
        (state["last_error"].is_null() && state["published"] == 1).then_some(())
    })
    .await;
}
