//! The HTTP routers: one per Lambda function (token, ingest, manage) and `app`, all of them
//! together for the local runner. Each is built from its function's context alone (the token
//! router from a [`TokenContext`], which has no queue), and each comes with the same
//! middleware: request ids, problem bodies for every error, and access logs without headers
//! (which carry credentials).
//!
//! `/openapi.json` is the committed document with the live catalog's webhooks everywhere
//! (`openapi::served`); `/docs` differs by where it runs: `app` serves the Swagger UI built in
//! (feature `swagger-ui`); the `manage` function, which must stay small, a page that loads
//! Swagger UI from a CDN (`openapi::published`), whatever features a workspace build unifies.
//! Both serve the web console at `/console` (`console`).

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
#[cfg(feature = "swagger-ui")]
use utoipa_swagger_ui::SwaggerUi;

use crate::api::{
    apps, clients, connections, deliveries, delivery_stats, event_list, event_types, events, hooks,
    imports, manufacturers, pull, replay, service, subscription_secrets, subscriptions,
    sync_requests, sync_sources,
};
use crate::auth::token;
use crate::context::{AppContext, Contexts, Core, TokenContext};
use crate::problem::{PROBLEM_JSON, problem_response};

type Routes = Router<Arc<AppContext>>;

fn token_routes() -> Router<Arc<TokenContext>> {
    Router::new()
        .route("/oauth/token", post(token::token))
        .route("/.well-known/jwks.json", get(token::jwks))
        .route(
            "/.well-known/oauth-authorization-server",
            get(token::metadata),
        )
}

fn ingest_routes() -> Routes {
    Router::new()
        .route("/v1/events", post(events::publish).get(event_list::list))
        .route("/v1/events/{id}", get(events::get))
        // The registry's writes become events: they live where events come in.
        .route(
            "/v1/manufacturers",
            post(manufacturers::create).get(manufacturers::list),
        )
        .route(
            "/v1/manufacturers/{id}",
            get(manufacturers::get).put(manufacturers::put),
        )
        // Bulk imports: their rows become registry writes too, queued on the events queue.
        .route("/v1/manufacturers/imports", post(imports::create))
        .route("/v1/manufacturers/imports/template", get(imports::template))
        .route("/v1/manufacturers/imports/{id}", get(imports::get))
        .merge(sync_request_routes())
        // An app's inbound hook publishes an event (no bearer token: its URL's and the app's
        // verification).
        .route("/hooks/{hook_token}/{trigger}", post(hooks::receive))
}

fn manage_routes() -> Routes {
    Router::new()
        .route("/v1/clients", post(clients::create).get(clients::list))
        .route(
            "/v1/clients/{id}",
            get(clients::get)
                .patch(clients::patch)
                .delete(clients::delete),
        )
        .route("/v1/clients/{id}/secret", post(clients::reset_secret))
        .route("/v1/event-types", get(event_types::list))
        .route("/v1/event-types/{name}", put(event_types::put))
        .route(
            "/v1/subscriptions",
            post(subscriptions::create).get(subscriptions::list),
        )
        .route(
            "/v1/subscriptions/{id}",
            get(subscriptions::get)
                .patch(subscriptions::patch)
                .delete(subscriptions::delete),
        )
        .route(
            "/v1/subscriptions/{id}/secret",
            get(subscription_secrets::get_secret),
        )
        .route(
            "/v1/subscriptions/{id}/secret/rotate",
            post(subscription_secrets::rotate_secret),
        )
        .route("/v1/subscriptions/{id}/test", post(subscriptions::test))
        .route("/v1/subscriptions/{id}/messages", get(pull::fetch))
        .route("/v1/subscriptions/{id}/messages/ack", post(pull::ack))
        .route("/v1/subscriptions/{id}/replay", post(replay::replay))
        .route("/v1/deliveries", get(deliveries::list))
        .route("/v1/deliveries/stats", get(delivery_stats::stats))
        .route("/v1/deliveries/{id}", get(deliveries::get))
        .route("/v1/deliveries/{id}/retry", post(deliveries::retry))
        .merge(sync_source_routes())
        .merge(app_routes())
}

/// Integration apps and the clients' connections to them (issue 23), in the manage
/// function (which may delete items and write secrets).
fn app_routes() -> Routes {
    const VERSION: &str = "/v1/apps/{key}/versions/{version}";
    Router::new()
        .route("/v1/apps", post(apps::publish).get(apps::list))
        .route("/v1/apps/schema", get(apps::schema))
        .route("/v1/apps/{key}/versions", get(apps::versions))
        .route(VERSION, get(apps::get))
        .route(&format!("{VERSION}/deprecate"), post(apps::deprecate))
        .route(
            "/v1/connections",
            post(connections::create).get(connections::list),
        )
        .route(
            "/v1/connections/{id}",
            get(connections::get)
                .patch(connections::patch)
                .delete(connections::delete),
        )
        .route("/v1/connections/{id}/upgrade", post(connections::upgrade))
        .route("/v1/connections/{id}/polls", get(connections::polls))
        .route("/v1/connections/{id}/test", post(connections::test))
}

/// External sources and their allocations (seed 002), in the manage function (which may
/// delete items).
fn sync_source_routes() -> Routes {
    const SOURCE: &str = "/v1/resources/{resource_id}/external-sources/{reference}";
    Router::new()
        .route(
            "/v1/resources/{resource_id}/external-sources",
            post(sync_sources::create).get(sync_sources::list),
        )
        .route(SOURCE, delete(sync_sources::delete))
        .route(
            &format!("{SOURCE}/allocations"),
            post(sync_sources::allocate)
                .get(sync_sources::allocations)
                .delete(sync_sources::clear),
        )
        .route(
            &format!("{SOURCE}/allocations/{{member_id}}"),
            delete(sync_sources::remove),
        )
}

/// Sync requests (seed 002), in the ingest function: each step publishes an event, and
/// ingest is the function that may send to the events queue.
fn sync_request_routes() -> Routes {
    Router::new()
        .route(
            "/v1/resources/{resource_id}/sync",
            post(sync_requests::request),
        )
        .route(
            "/v1/resources/{resource_id}/sync-requests",
            get(sync_requests::list),
        )
        .route("/v1/sync-requests/{id}", get(sync_requests::get))
        .route(
            "/v1/sync-requests/{id}/complete",
            post(sync_requests::complete),
        )
        .route("/v1/sync-requests/{id}/fail", post(sync_requests::fail))
}

/// `/openapi.json` and `/docs` for the local runner: live, with Swagger UI built in.
#[cfg(feature = "swagger-ui")]
fn local_docs_routes() -> Routes {
    let ui = SwaggerUi::new("/docs").config(utoipa_swagger_ui::Config::new(["/openapi.json"]));
    let routes = Router::new()
        .route("/openapi.json", crate::openapi::served::route())
        .merge(ui);
    crate::browser::with_page_headers(routes, &crate::openapi::built_in_docs_policy())
}

/// Without the assets, the local runner publishes the docs as the `manage` function does.
#[cfg(not(feature = "swagger-ui"))]
fn local_docs_routes() -> Routes {
    crate::openapi::published()
}

fn finish(routes: Router, core: Arc<Core>) -> Router {
    let health = Router::new()
        .route("/health", get(service::health))
        .with_state(core);
    routes
        .merge(health)
        .fallback(not_found)
        .layer(middleware::from_fn(problem_bodies))
        .layer(middleware::from_fn(request_id))
}

/// The token function's router.
pub fn token_router(ctx: Arc<TokenContext>) -> Router {
    let core = ctx.core.clone();
    finish(token_routes().with_state(ctx), core)
}

/// The ingest function's router.
pub fn ingest_router(ctx: Arc<AppContext>) -> Router {
    let core = ctx.core.clone();
    finish(ingest_routes().with_state(ctx), core)
}

/// The manage function's router.
pub fn manage_router(ctx: Arc<AppContext>) -> Router {
    let core = ctx.core.clone();
    let routes = manage_routes()
        .merge(crate::openapi::published())
        .merge(crate::console::routes());
    finish(routes.with_state(ctx), core)
}

/// Every route in one router (local runner).
pub fn app(ctx: &Contexts) -> Router {
    let api = ingest_routes()
        .merge(manage_routes())
        .merge(local_docs_routes())
        .merge(crate::console::routes())
        .with_state(ctx.api.clone());
    let routes = token_routes().with_state(ctx.token.clone()).merge(api);
    finish(routes, ctx.api.core.clone())
}

async fn not_found() -> Response {
    problem_response(StatusCode::NOT_FOUND, "not_found", "no such route", &[])
}

/// Turns framework rejections (405, 415, …) that have no problem body into one.
async fn problem_bodies(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let has_body_type = resp.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.to_str()
            .is_ok_and(|s| s.starts_with(PROBLEM_JSON) || s.starts_with("application/json"))
    });
    if has_body_type {
        return resp;
    }
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::NOT_FOUND => "not_found",
        s if s.is_server_error() => "internal_error",
        _ => "invalid_request",
    };
    let detail = status.canonical_reason().unwrap_or("request failed");
    let mut out = problem_response(status, code, detail, &[]);
    if let Some(allow) = resp.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

/// Echoes a caller's `x-request-id` (when sane) or assigns one; logs the request.
async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|s| !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(new_request_id);
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert("x-request-id", v);
    }
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = Instant::now();
    let mut resp = next.run(req).await;
    tracing::info!(
        request_id = %id,
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

fn new_request_id() -> String {
    let ms = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    hookline_domain::ids::new_id("req_", ms)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hookline_embedded::{EmbeddedBackend, QueueOptions};
    use hookline_ports::SystemClock;

    use super::*;
    use crate::HandlerConfig;
    use crate::auth::keys::KeySource;
    use crate::test_support::serve;

    /// The embedded backend in a temporary directory, with its first signing key, and a core
    /// over it.
    async fn embedded_core() -> (EmbeddedBackend, Arc<Core>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temporary data directory");
        let path = dir.path().to_path_buf();
        let backend = tokio::task::spawn_blocking(move || {
            EmbeddedBackend::open(&path, QueueOptions::default())
        })
        .await
        .expect("open task")
        .expect("open the embedded backend");
        crate::auth::rotation::ensure_first_key(&backend, 1)
            .await
            .expect("a signing key");
        let config = HandlerConfig::new("http://127.0.0.1", "embedded");
        let core = Core::new(backend.store(), Arc::new(SystemClock), config);
        (backend, Arc::new(core), dir)
    }

    /// The token function builds its router from a context that has no queue (the type has no
    /// queue field to give it), and still issues a token that its own JWKS verifies.
    #[tokio::test]
    async fn token_router_issues_tokens_without_a_queue() {
        let (backend, core, _dir) = embedded_core().await;
        crate::bootstrap::ensure_admin(
            core.store.as_ref(),
            core.clock.as_ref(),
            &hookline_domain::ClientId::parse("cl_admin").expect("a client id"),
            "s3cret",
        )
        .await
        .expect("bootstrap admin");
        let ctx = TokenContext::new(core, KeySource::Signing(backend.signing_keys()))
            .await
            .expect("token context");
        let base = serve(token_router(ctx)).await;
        let http = reqwest::Client::new();
        let grant = |secret: &str| {
            http.post(format!("{base}/oauth/token"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(format!(
                    "grant_type=client_credentials&client_id=cl_admin&client_secret={secret}"
                ))
                .send()
        };
        let get = |path: &str| http.get(format!("{base}{path}")).send();

        let answer = grant("s3cret").await.expect("answer");
        assert_eq!(answer.status(), 200);
        let body: serde_json::Value =
            serde_json::from_slice(&answer.bytes().await.expect("body")).expect("JSON");
        let token = body["access_token"].as_str().expect("an access token");
        let kid = jsonwebtoken::decode_header(token).expect("a JWT").kid;
        let jwks = get("/.well-known/jwks.json").await.expect("answer");
        let jwks: serde_json::Value =
            serde_json::from_slice(&jwks.bytes().await.expect("body")).expect("JSON");
        let kids: Vec<&str> = jwks["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .filter_map(|k| k["kid"].as_str())
            .collect();
        assert!(
            kid.as_deref().is_some_and(|k| kids.contains(&k)),
            "{kid:?} in {kids:?}"
        );

        assert_eq!(grant("wrong").await.expect("answer").status(), 401);
        // Only the token routes: the API is another function's.
        assert_eq!(get("/v1/clients").await.expect("answer").status(), 404);
        assert_eq!(get("/health").await.expect("answer").status(), 200);
    }

    /// The `manage` function's docs must not depend on the features a build unifies: with or
    /// without `swagger-ui`, it serves the committed document and the CDN page; and the console.
    #[tokio::test]
    async fn manage_router_publishes_the_committed_document_the_cdn_page_and_the_console() {
        let (backend, core, _dir) = embedded_core().await;
        let ctx = AppContext::new(
            core,
            backend.queue(),
            KeySource::Published(Arc::new(backend.clone())),
        )
        .await
        .expect("handler context");
        let schema = serde_json::json!({"type": "object", "required": ["lot_id"]});
        crate::catalog::seed(
            ctx.store.as_ref(),
            &[hookline_domain::EventType {
                name: "LotDispatched".into(),
                description: "A lot left its warehouse.".into(),
                schema: Some(schema.clone()),
                example: None,
            }],
        )
        .await
        .expect("seed the catalog");
        let version = ctx.config.version.clone();
        let base = serve(manage_router(ctx)).await;
        let http = reqwest::Client::new();

        let page = http
            .get(format!("{base}/docs"))
            .send()
            .await
            .expect("answer");
        assert_eq!(page.status(), 200);
        let html = page.text().await.expect("body");
        assert!(
            html.contains("https://cdn.jsdelivr.net/npm/swagger-ui-dist@"),
            "{html}"
        );

        let console = http
            .get(format!("{base}/console"))
            .send()
            .await
            .expect("answer");
        assert_eq!(console.status(), 200);
        assert_eq!(
            console.headers()[header::CONTENT_SECURITY_POLICY],
            crate::console::policy().as_str()
        );

        let doc = http
            .get(format!("{base}/openapi.json"))
            .send()
            .await
            .expect("answer");
        assert_eq!(doc.status(), 200);
        assert_eq!(doc.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(
            doc.headers()[header::CONTENT_SECURITY_POLICY],
            crate::openapi::cdn_docs_policy().as_str()
        );
        let doc: serde_json::Value =
            serde_json::from_slice(&doc.bytes().await.expect("body")).expect("JSON");
        // The committed document, with the running version and the catalog's type as a webhook.
        let mut expected = crate::openapi::served::committed_document(&version);
        let lot = doc["webhooks"]["LotDispatched"].clone();
        assert_eq!(
            lot["post"]["requestBody"]["content"]["application/json"]["schema"]["allOf"][1]["properties"]
                ["data"],
            schema
        );
        assert_eq!(lot["post"]["summary"], "A lot left its warehouse.");
        expected["webhooks"]["LotDispatched"] = lot;
        assert_eq!(doc, expected);
    }
}
