//! `listen --forward-to`: pull delivery forwarded to a real local server, a temporary
//! subscription that Ctrl-C removes, and a second `listen` that resumes where the first
//! stopped.

use serde_json::{Value, json};

use crate::harness::{Receiver, TestApp, WAIT, eventually, logged_in};

fn lot(n: u32) -> Value {
    json!({"type": "LotDispatched", "state": "AP", "data": {"lotNo": format!("L-{n}")}})
}

/// The id after `listening on ` in the listener's first line.
fn listened_subscription(stderr: &str) -> String {
    let rest = stderr
        .split("listening on ")
        .nth(1)
        .expect("the listening line");
    rest.split(|c: char| c.is_whitespace() || c == ';')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Waits until the subscription has nothing after its acknowledged cursor.
async fn wait_until_acknowledged(app: &TestApp, admin: &str, sub: &str) {
    eventually(
        WAIT,
        "the listener to acknowledge what it forwarded",
        || async {
            let page = app
                .get(&format!("/v1/subscriptions/{sub}/messages"), admin)
                .await;
            assert_eq!(page.status, 200, "{}", page.text);
            page.json["data"]
                .as_array()
                .is_some_and(Vec::is_empty)
                .then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn listen_forwards_each_event_signed_and_ctrl_c_leaves_no_temporary_subscription() {
    let (app, cli) = logged_in().await;
    let admin = app.admin_token().await;
    let local = Receiver::start().await;
    let url = local.url("/dev/hooks");
    let mut listener = cli.spawn(&[
        "listen",
        "--forward-to",
        &url,
        "--events",
        "LotDispatched",
        "--states",
        "AP",
    ]);
    let sub = listened_subscription(&listener.wait_for_stderr("listening on ").await);
    assert!(sub.starts_with("sub_"), "{sub}");
    let secret = app
        .get(&format!("/v1/subscriptions/{sub}/secret"), &admin)
        .await
        .json["secret"]
        .as_str()
        .expect("the temporary subscription's secret")
        .to_string();
    app.remember_secret("webhook secret", &secret);

    // A portal publishes (an admin never receives its own events).
    let portal = app.portal(&["AP"]).await;
    let event = app.publish_ok(&portal.token, &lot(1)).await;
    let got = local.wait_for(1, WAIT).await;
    assert_eq!(got[0].path, "/dev/hooks");
    assert_eq!(got[0].webhook_id(), event);
    assert_eq!(got[0].required_header("hookline-subscription-id"), sub);
    got[0].assert_signed_by(&secret);
    assert_eq!(got[0].json()["data"], json!({"lotNo": "L-1"}));
    let line = eventually(WAIT, "the forwarded line", || async {
        listener
            .stdout()
            .lines()
            .find(|l| l.contains(&event))
            .map(str::to_string)
    })
    .await;
    assert!(
        line.contains("LotDispatched") && line.contains("-> 200 ("),
        "{line}"
    );

    assert_eq!(listener.stop("INT").await, Some(0), "{}", listener.stderr());
    assert!(
        listener
            .stderr()
            .contains(&format!("deleted the temporary subscription {sub}"))
    );
    let subs = app.get("/v1/subscriptions", &admin).await;
    assert_eq!(
        subs.json["data"],
        json!([]),
        "nothing is left behind: {}",
        subs.text
    );
}

#[tokio::test]
async fn a_second_listen_resumes_where_the_first_stopped() {
    let (app, cli) = logged_in().await;
    let admin = app.admin_token().await;
    let portal = app.portal(&["AP"]).await;
    let local = Receiver::start().await;
    let url = local.url("/hooks");
    let created = cli
        .create_subscription(&app, &["--pull", "--events", "LotDispatched"])
        .await;
    assert_eq!(created["mode"], "pull", "{created}");
    let sub = created["id"].as_str().expect("an id").to_string();

    let mut first = cli.spawn(&["listen", "--forward-to", &url, "--subscription", &sub]);
    first.wait_for_stderr("listening on ").await;
    let e1 = app.publish_ok(&portal.token, &lot(1)).await;
    let e2 = app.publish_ok(&portal.token, &lot(2)).await;
    local.wait_for(2, WAIT).await;
    wait_until_acknowledged(&app, &admin, &sub).await;
    assert_eq!(first.stop("TERM").await, Some(0), "{}", first.stderr());
    // A subscription it was given is kept.
    app.get(&format!("/v1/subscriptions/{sub}"), &admin)
        .await
        .assert_status(200);

    // Published while nobody listens: the next listen gets these, and only these.
    let e3 = app.publish_ok(&portal.token, &lot(3)).await;
    let e4 = app.publish_ok(&portal.token, &lot(4)).await;
    let mut second = cli.spawn(&[
        "listen",
        "--forward-to",
        &url,
        "--subscription",
        &sub,
        "--json",
    ]);
    local.wait_for(4, WAIT).await;
    local.assert_no_more_requests(4).await;
    // Two events published together may be stored in either order (each delivery appends
    // its own message); the second listener forwards exactly those the first left.
    let ids: Vec<String> = local
        .requests()
        .iter()
        .map(|r| r.webhook_id().to_string())
        .collect();
    assert_eq!(sorted(&ids[..2]), sorted(&[e1, e2]), "{ids:?}");
    assert_eq!(
        sorted(&ids[2..]),
        sorted(&[e3.clone(), e4.clone()]),
        "{ids:?}"
    );
    wait_until_acknowledged(&app, &admin, &sub).await;
    assert_eq!(second.stop("INT").await, Some(0), "{}", second.stderr());
    let lines: Vec<Value> = second
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line per message"))
        .collect();
    let forwarded: Vec<String> = lines
        .iter()
        .filter_map(|l| l["event_id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(sorted(&forwarded), sorted(&[e3, e4]));
    assert!(lines.iter().all(|l| l["status"] == 200), "{lines:?}");
}

fn sorted(ids: &[String]) -> Vec<String> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids
}

#[tokio::test]
async fn listen_on_a_push_subscription_is_the_apis_conflict_exit_1() {
    let (app, cli) = logged_in().await;
    let receiver = Receiver::start().await;
    let url = receiver.url("/in");
    let created = cli
        .create_subscription(&app, &["--url", &url, "--events", "LotDispatched"])
        .await;
    let sub = created["id"].as_str().expect("an id");
    let out = cli
        .run(&[
            "listen",
            "--forward-to",
            "http://127.0.0.1:9/",
            "--subscription",
            sub,
        ])
        .await;
    assert_eq!(out.code, Some(1), "{out:?}");
    let last = out.stderr.trim_end().lines().last().unwrap_or_default();
    assert!(last.starts_with("error 409 conflict"), "{out:?}");
}

#[tokio::test]
async fn include_own_events_forwards_what_the_same_profile_sends() {
    let (_app, cli) = logged_in().await;
    let local = Receiver::start().await;
    let url = local.url("/mine");
    let args = [
        "listen",
        "--forward-to",
        &url,
        "--events",
        "LotDispatched",
        "--include-own-events",
    ];
    let mut listener = cli.spawn(&args);
    listener.wait_for_stderr("listening on ").await;
    let sent = cli.send_lot(&["--json"]).await.json();
    let got = local.wait_for(1, WAIT).await;
    assert_eq!(
        got[0].webhook_id(),
        sent["id"].as_str().expect("an event id")
    );
    assert_eq!(
        listener.stop("TERM").await,
        Some(0),
        "{}",
        listener.stderr()
    );
}
