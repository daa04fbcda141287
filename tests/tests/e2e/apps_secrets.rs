//! An app's secrets — credentials, secret properties, secret environment values, and the
//! tokens the tool issues — reach the tool, and nothing else: not the API's answers (app
//! versions, connections, connection tests, deliveries), not the attempts' request and
//! response excerpts, not the runner's logs (text or JSON, at debug level).

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::apps::oauth2_auth;
use crate::support::flow::{ActionFlow, Spec, WAIT};
use crate::support::secrets::random_string;
use crate::support::{Guard, attempts};

/// The tool's definition: OAuth 2, a secret environment value and a secret property in the
/// action's body and query, a plain property beside them.
fn extra() -> Value {
    json!({
        "environment": [
            {"key": "BASE_URL", "description": "The tool's base URL."},
            {"key": "API_SECRET", "secret": true, "description": "The tool's signing secret."}
        ],
        "properties": [
            {"key": "party", "label": "Party", "required": true},
            {"key": "pin", "label": "Account PIN", "required": true, "secret": true}
        ],
        "actions": {"create_item": {
            "label": "Create an item", "kind": "create",
            "inputs": [{"key": "lot", "label": "Lot", "required": true}],
            "request": {
                "method": "POST",
                "url": "{{ env.BASE_URL }}/items",
                "query": {"pin": "{{ props.pin }}"},
                "body": {"lot": "{{ input.lot }}", "party": "{{ props.party }}", "sig": "{{ env.API_SECRET }}"}
            }
        }}
    })
}

/// The flow; with `encoded`, the secrets hold characters a URL encodes and JSON escapes, so
/// that a redaction catching them only as they are, not as the request writes them, shows.
async fn secrets_flow(log_format: &'static str, encoded: bool) {
    let client_secret = random_string(32);
    let (api_secret, pin) = if encoded {
        (
            format!("{}\"/\\{}", random_string(16), random_string(8)),
            format!("{} +/&%{}", random_string(12), random_string(6)),
        )
    } else {
        (random_string(32), random_string(20))
    };
    let mut f = ActionFlow::start(Spec {
        extra: extra(),
        environment: json!({"API_SECRET": api_secret}),
        properties: json!({"party": "AP-PARTY", "pin": pin}),
        log_format,
        ..Spec::new(
            oauth2_auth("basic"),
            Guard::OAuth2 {
                client_id: "ap-cli".into(),
                client_secret: client_secret.clone(),
                ttl: Duration::from_secs(3600),
            },
            json!({"client_id": "ap-cli", "client_secret": client_secret}),
        )
    })
    .await;
    for s in [&api_secret, &pin] {
        f.app.remember_secret("app secret", s);
    }
    let (app, token) = (&f.app, f.setup.integrator.token.clone());

    let version = app
        .get("/v1/apps/tool/versions/1.0.0", &f.setup.developer.token)
        .await;
    version.assert_status(200);
    assert_eq!(version.json["environment"]["API_SECRET"], "[secret]");
    assert_eq!(
        version.json["environment"]["BASE_URL"],
        f.tool.base_url().as_str()
    );
    app.assert_free_of_secrets("an app version's view", &version.text);

    let path = format!("/v1/connections/{}", f.connection_id());
    for p in [path.as_str(), "/v1/connections"] {
        let resp = app.get(p, &token).await;
        resp.assert_status(200);
        app.assert_free_of_secrets("a connection's view", &resp.text);
    }
    let view = app.get(&path, &token).await.json;
    assert_eq!(view["properties"], json!({"party": "AP-PARTY"}));
    let mut set: Vec<&str> = view["secrets_set"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    set.sort();
    assert_eq!(set, ["client_id", "client_secret", "pin"], "{view}");

    // The first attempt meets a 503 (its excerpts are recorded), the second goes through.
    f.tool.unavailable_for(1);
    let id = f.dispatch_lot("L-1").await;
    let d = f.succeeded(&id).await;
    let tried = attempts(&d);
    assert_eq!(tried.len(), 2, "{d}");
    assert_eq!(tried[0]["status_code"], 503);
    for a in &tried {
        let excerpt = a["request_excerpt"].as_str().unwrap_or_default();
        assert!(
            excerpt.starts_with("POST ") && excerpt.contains("L-1"),
            "{a}"
        );
    }
    let got = f.tool.wait_for_success("POST", "/items", 1, WAIT).await;
    assert_eq!(
        got[0].json(),
        json!({"lot": "L-1", "party": "AP-PARTY", "sig": api_secret}),
        "the tool gets the real values"
    );
    assert_eq!(got[0].query.get("pin"), Some(&pin));

    let tested = app.post(&format!("{path}/test"), &token, &json!({})).await;
    tested.assert_status(200);
    app.assert_free_of_secrets("a connection test's answer", &tested.text);

    f.remember_issued_tokens();
    f.app.stop().await;
    f.app.assert_logs_clean();
}

#[tokio::test]
async fn app_secrets_reach_the_tool_and_no_response_record_or_text_log() {
    secrets_flow("text", false).await;
}

#[tokio::test]
async fn app_secrets_reach_no_json_log() {
    secrets_flow("json", false).await;
}

/// Fails today: `Resolved::redact` replaces a secret only as it is, so a secret property in
/// the query (percent-encoded there) and a secret environment value in the JSON body (escaped
/// there) stay in the attempts' request and response excerpts.
#[tokio::test]
async fn app_secrets_written_encoded_are_redacted_too() {
    secrets_flow("text", true).await;
}
