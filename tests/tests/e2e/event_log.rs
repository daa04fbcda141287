//! The event log (`GET /v1/events`): newest first, by window, type and state, a reader seeing
//! only its states' events and an admin all of them, cursors walking every page, and each bad
//! parameter a 400 naming it.

use serde_json::{Value, json};

use crate::support::api::urlencode;
use crate::support::{TestApp, rfc3339};

/// Every event `GET /v1/events?{query}` lists, page after page of `limit`.
async fn all_pages(app: &TestApp, token: &str, query: &str, limit: usize) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let mut path = format!("/v1/events?limit={limit}&{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", urlencode(c)));
        }
        let page = app.get(&path, token).await;
        page.assert_status(200);
        let data = page.data();
        assert!(data.len() <= limit, "limit is honoured: {}", page.text);
        seen.extend(data);
        match page.json["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return seen,
        }
    }
    panic!("the cursor never reached the end");
}

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().expect("an id").to_string())
        .collect()
}

#[tokio::test]
async fn a_reader_lists_its_states_events_newest_first_by_type_and_state() {
    let app = TestApp::spawn().await;
    let publisher = app.publisher(&["*"]).await;
    let reader = app.client(&["events:read"], &["AP", "TG"]).await;
    let admin = app.admin_token().await;
    let mut published = Vec::new();
    for (t, state) in [
        ("LotCreated", "AP"),
        ("LotDispatched", "TG"),
        ("LotCreated", "KA"),
        ("LotDispatched", "AP"),
        ("LotCreated", "TG"),
    ] {
        let id = app
            .publish_event(&publisher.token, t, state, json!({"lotNo": "L-1"}))
            .await;
        published.push((id, t, state));
    }
    let newest_first = |keep: &dyn Fn(&str, &str) -> bool| -> Vec<String> {
        published
            .iter()
            .rev()
            .filter(|(_, t, s)| keep(t, s))
            .map(|(id, _, _)| id.clone())
            .collect()
    };

    let mine = all_pages(&app, &reader.token, "", 2).await;
    assert_eq!(
        ids(&mine),
        newest_first(&|_, s| s != "KA"),
        "AP and TG only"
    );
    assert_eq!(mine[0]["type"], "LotCreated");
    assert_eq!(mine[0]["data"], json!({"lotNo": "L-1"}));
    assert!(
        mine[0].get("deliveries").is_none(),
        "a listed event has no delivery counts: {}",
        mine[0]
    );
    let created = all_pages(&app, &reader.token, "type=LotCreated", 2).await;
    assert_eq!(
        ids(&created),
        newest_first(&|t, s| t == "LotCreated" && s != "KA")
    );
    let tg = all_pages(&app, &reader.token, "state=TG", 10).await;
    assert_eq!(ids(&tg), newest_first(&|_, s| s == "TG"));
    app.get("/v1/events?state=KA", &reader.token)
        .await
        .assert_problem(403, "forbidden");

    let everything = all_pages(&app, &admin, "", 100).await;
    let of_publisher: Vec<Value> = everything
        .into_iter()
        .filter(|e| e["source"] == publisher.id.as_str())
        .collect();
    assert_eq!(ids(&of_publisher), newest_first(&|_, _| true), "admin: all");

    let later = rfc3339(time::OffsetDateTime::now_utc() + time::Duration::hours(1));
    let window = format!("since={}", urlencode(&later));
    app.get(&format!("/v1/events?{window}"), &reader.token)
        .await
        .assert_problem(400, "invalid_request");
    let past = format!(
        "since={}&until={}",
        urlencode("2020-01-01T00:00:00Z"),
        urlencode("2020-01-02T00:00:00Z")
    );
    assert!(all_pages(&app, &reader.token, &past, 10).await.is_empty());
}

#[tokio::test]
async fn bad_event_list_parameters_are_400_on_the_parameter_and_the_scope_is_required() {
    let app = TestApp::spawn().await;
    let reader = app.client(&["events:read"], &["AP"]).await;
    let writer = app.publisher(&["AP"]).await;
    for (query, field) in [
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        ("until=", "until"),
        (
            "since=2026-01-01T00:00:00Z&until=2026-03-01T00:00:00Z",
            "since",
        ),
        ("type=not%20a%20type", "type"),
        ("state=ap", "state"),
    ] {
        let resp = app.get(&format!("/v1/events?{query}"), &reader.token).await;
        resp.assert_problem(400, "invalid_request");
        assert_eq!(resp.error_fields(), [field], "{query}: {}", resp.text);
    }
    for query in ["limit=0", "limit=x", "cursor=garbage"] {
        app.get(&format!("/v1/events?{query}"), &reader.token)
            .await
            .assert_problem(400, "invalid_request");
    }
    app.get("/v1/events", &writer.token)
        .await
        .assert_problem(403, "forbidden");
}
