//! The bootstrap admin on AWS (moto): the token function creates it from its deploy-time
//! secret at its first cold start, and never again — an admin deleted through the API stays
//! deleted, and its old secret is refused, whatever cold start comes later.

mod support;

use hookline_domain::secret::{hash_client_secret, new_client_secret};
use hookline_domain::{Client, ClientId, Scope, StatePattern};
use hookline_handlers::HandlerConfig;
use hookline_handlers::auth::keys::KeySource;
use hookline_handlers::context::{Contexts, Core};
use hookline_ports::SystemClock;
use std::sync::Arc;
use support::api::{serve, token_answer};
use support::stack_on_moto::StackOnMoto;

/// The token function's cold start: a fresh context over the stack, and the admin ensured.
async fn cold_start(stack: &StackOnMoto, sdk: &aws_config::SdkConfig, secret: &str) -> String {
    let core = Core::new(
        stack.store.clone(),
        Arc::new(SystemClock),
        HandlerConfig::new("http://test", "aws"),
    );
    // The token function's context, and the API's beside it (the test deletes the admin).
    let ctx = Contexts::new(
        Arc::new(core),
        stack.queue.clone(),
        KeySource::Signing(stack.signing_keys.clone()),
    )
    .await
    .expect("contexts");
    hookline_runtime::ensure_bootstrap_admin_from(sdk, &ctx.token, secret)
        .await
        .expect("ensure the bootstrap admin");
    serve(&ctx).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_bootstrap_admin_stays_deleted_across_cold_starts() {
    let stack = StackOnMoto::start(|_| {}).await;
    let sdk = stack.moto.sdk_config().await;
    let admin_secret = new_client_secret();
    let secret_id = support::moto::unique("bootstrap-admin");
    aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(&secret_id)
        .secret_string(
            serde_json::json!({"client_id": "cl_admin", "client_secret": admin_secret}).to_string(),
        )
        .send()
        .await
        .expect("the deploy-time secret");

    let base = cold_start(&stack, &sdk, &secret_id).await;
    let (status, body) = token_answer(&base, "cl_admin", &admin_secret).await;
    assert_eq!(status, 200, "{body}");
    let admin_token = body["access_token"].as_str().expect("token").to_string();

    // Another admin, then the bootstrap admin deleted through the API.
    let other_secret = new_client_secret();
    let other = Client {
        id: ClientId::new(1),
        name: "operations".into(),
        scopes: vec![Scope::Admin],
        states: vec![StatePattern::Any],
        secret_hash: hash_client_secret(&other_secret),
        created_at: time::OffsetDateTime::now_utc(),
        disabled: false,
        limits: Default::default(),
    };
    stack
        .store
        .insert_client(&other)
        .await
        .expect("another admin");
    // An admin cannot delete itself (409): the other one does.
    let refused = reqwest::Client::new()
        .delete(format!("{base}/v1/clients/cl_admin"))
        .bearer_auth(&admin_token)
        .send()
        .await
        .expect("delete");
    assert_eq!(refused.status().as_u16(), 409);
    let (status, body) = token_answer(&base, &other.id, &other_secret).await;
    assert_eq!(status, 200, "{body}");
    let other_token = body["access_token"].as_str().expect("token").to_string();
    let deleted = reqwest::Client::new()
        .delete(format!("{base}/v1/clients/cl_admin"))
        .bearer_auth(&other_token)
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status().as_u16(), 204);

    // Cold starts after the deletion: the old secret is refused, the other admin works.
    for _ in 0..2 {
        let base = cold_start(&stack, &sdk, &secret_id).await;
        let (status, body) = token_answer(&base, "cl_admin", &admin_secret).await;
        assert_eq!(status, 401, "the revoked admin stays revoked: {body}");
        assert_eq!(body["error"], "invalid_client");
        let (status, _) = token_answer(&base, &other.id, &other_secret).await;
        assert_eq!(status, 200);
    }
    assert!(
        stack
            .store
            .get_client(&ClientId::parse("cl_admin").expect("a client id"))
            .await
            .expect("get")
            .is_none()
    );
}
