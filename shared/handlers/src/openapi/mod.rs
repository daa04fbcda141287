//! The OpenAPI 3.1 document, generated from the handlers' annotations by `utoipa`, and the
//! routes that publish it.
//!
//! Binaries serve the committed copy, `shared/handlers/openapi.json` (a test fails when it
//! differs from the annotations; rewrite it with `HOOKLINE_WRITE_OPENAPI=1 cargo test -p
//! hookline-handlers --lib openapi`), with the running version and the live catalog's event
//! types as webhooks ([`served`], [`webhooks`]): none links the code that builds it. The local
//! runner's `/docs` is the Swagger UI built into the binary (feature `swagger-ui`, in
//! `router.rs`); the `manage` Lambda function must stay small, so [`published`]'s `/docs` page
//! loads the same Swagger UI release from a CDN, pinned by version and by Subresource
//! Integrity hashes of the vendored copy.

use std::sync::Arc;

use axum::Router;
use axum::response::{Html, Redirect};
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub mod served;
pub mod webhooks;

use crate::api;
use crate::api::responses::CommonResponses;
use crate::auth;
use crate::browser::{PageSources, with_page_headers};
use crate::context::AppContext;
use webhooks::SystemWebhooks;

/// The whole v1 API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Hookline", description = "Webhook subscription and delivery hub: publish events, subscribe, receive signed deliveries."),
    paths(
        auth::token::token, auth::token::jwks, auth::token::metadata,
        api::service::health,
        api::clients::create, api::clients::list, api::clients::get, api::clients::patch, api::clients::delete, api::clients::reset_secret,
        api::event_types::list, api::event_types::put,
        api::events::publish, api::event_list::list, api::events::get,
        api::subscriptions::create, api::subscriptions::list, api::subscriptions::get, api::subscriptions::patch,
        api::subscriptions::delete, api::subscription_secrets::get_secret, api::subscription_secrets::rotate_secret,
        api::subscriptions::test, api::pull::fetch, api::pull::ack, api::replay::replay,
        api::deliveries::list, api::delivery_stats::stats, api::deliveries::get, api::deliveries::retry,
        api::manufacturers::create, api::manufacturers::list, api::manufacturers::get, api::manufacturers::put,
        api::imports::create, api::imports::get, api::imports::template,
        api::sync_sources::create, api::sync_sources::list, api::sync_sources::delete,
        api::sync_sources::allocate, api::sync_sources::allocations, api::sync_sources::clear, api::sync_sources::remove,
        api::sync_requests::request, api::sync_requests::list, api::sync_requests::get,
        api::sync_requests::complete, api::sync_requests::fail,
        api::apps::schema, api::apps::publish, api::apps::list, api::apps::versions, api::apps::get,
        api::apps::deprecate,
        api::connections::create, api::connections::list, api::connections::get, api::connections::patch,
        api::connections::delete, api::connections::upgrade, api::connections::polls,
        api::connections::test, api::hooks::receive,
    ),
    components(
        schemas(
            api::views::ClientView, api::views::SubscriptionView, api::views::DeliveryView, api::views::AttemptView,
            api::views::EventView, api::views::DeliveryCounts, api::views::EventTypeView,
            api::delivery_stats::StatsView, api::delivery_stats::HourBucket,
            api::clients::NewClient, api::clients::ClientPatch, api::views::LimitsView,
            api::event_types::EventTypeInput, api::replay::ReplayRequest,
            api::schemas::NewEvent, api::schemas::NewEventBatch, api::responses::Problem,
            api::views::PublishedView, api::views::PublishedBatchView,
            api::manufacturer_views::ManufacturerBody, api::manufacturer_views::ContactBody,
            api::manufacturer_views::ManufacturerView, api::manufacturer_views::ContactView,
            api::manufacturer_views::UpsertView, api::manufacturer_views::UpsertResult,
            crate::imports::report::ImportView, crate::imports::report::ImportStatus,
            crate::imports::report::ImportRowError, crate::imports::report::ImportRowOutcome,
            api::sync_views::NewExternalSource, api::sync_views::ExternalSourceView, api::sync_views::SourceSyncView,
            api::sync_views::ExternalSourceList, api::sync_views::SyncRequestInput, api::sync_views::SyncFailure,
            api::sync_views::SyncRequestView, api::sync_views::SyncTransitionView, api::sync_views::SyncRequestList,
            api::sync_views::AllocationInput, api::sync_views::AllocationsView,
            api::pull_views::PullPageView, api::pull_views::PullMessageView,
            api::pull_views::AckInput, api::pull_views::AckView,
            api::views::ActionStepView,
            api::app_views::NewAppVersion, api::app_views::AppVersionView, api::app_views::AppStatusSchema,
            api::app_views::AppSummaryView, api::app_views::AppVersionSummary,
            api::connection_views::NewConnection, api::connection_views::ConnectionPatch,
            api::connection_views::PollingInput, api::connection_views::UpgradeInput,
            api::connection_views::ConnectionView, api::connection_views::PollSettingView,
            api::connection_views::ConnectionTestView, api::connection_views::PollView,
            api::connection_views::PollList, api::hooks::HookAcceptedView,
        ),
        responses(
            api::responses::BadRequest, api::responses::Unauthorized, api::responses::Forbidden,
            api::responses::NotFound, api::responses::Conflict, api::responses::PayloadTooLarge,
            api::responses::Unprocessable, api::responses::RateLimited, api::responses::Unavailable,
            api::responses::UnsupportedMediaType,
            api::responses::InvalidField,
        ),
    ),
    modifiers(&BearerAuth, &CommonResponses, &SystemWebhooks),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The committed document: what [`ApiDoc`] generates, pretty-printed (as the tests compare it).
#[cfg(test)]
pub const COMMITTED_DOCUMENT: &str = include_str!("../../openapi.json");

/// The committed document without its whitespace (see `build.rs`), as binaries carry it.
pub const EMBEDDED_DOCUMENT: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.min.json"));

/// `/openapi.json` ([`served`]: the committed document with the live catalog's webhooks) and
/// `/docs` (Swagger UI from the CDN), for a binary without the `swagger-ui` feature's assets;
/// both with the page headers of [`cdn_docs_policy`].
pub fn published() -> Router<Arc<AppContext>> {
    let routes = docs_page_routes().route("/openapi.json", served::route());
    with_page_headers(routes, &cdn_docs_policy())
}

/// `/docs`, the page that loads Swagger UI from the CDN.
fn docs_page_routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/docs", get(|| async { Html(DOCS_PAGE) }))
        // The page finds the document relative to `/docs`; from `/docs/` it would miss it.
        .route("/docs/", get(|| async { Redirect::to("../docs") }))
}

/// Where the `/docs` page of [`published`] loads Swagger UI from: its CSP allows this
/// origin and no other.
macro_rules! cdn_origin {
    () => {
        "https://cdn.jsdelivr.net"
    };
}

/// The Swagger UI release the `/docs` page loads: the one `utoipa-swagger-ui` vendors, whose
/// files npm's `swagger-ui-dist` package holds byte for byte.
macro_rules! swagger_ui_dist {
    () => {
        concat!(cdn_origin!(), "/npm/swagger-ui-dist@5.32.6")
    };
}

/// The page's inline style sheet (its CSP allows it by hash).
macro_rules! docs_style {
    () => {
        r#"
      html { box-sizing: border-box; overflow-y: scroll; }
      *, *:before, *:after { box-sizing: inherit; }
      body { margin: 0; background: #fafafa; }
    "#
    };
}

/// The page's inline script, which starts Swagger UI (its CSP allows it by hash). No
/// validator: its badge would send the document's address to validator.swagger.io.
macro_rules! docs_script {
    () => {
        r##"
      window.onload = function () {
        window.ui = SwaggerUIBundle({
          url: "openapi.json",
          dom_id: "#swagger-ui",
          deepLinking: true,
          validatorUrl: null,
          presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
          plugins: [SwaggerUIBundle.plugins.DownloadUrl],
          layout: "StandaloneLayout",
        });
      };
    "##
    };
}

/// The inline `<style>` elements that Swagger UI's own scripts insert (the top bar's logo):
/// allowed by hash on both docs pages. A test holds this list to the vendored release.
pub const SWAGGER_UI_INLINE_STYLES: [&str; 1] =
    [".logo_small_svg__cls-2{fill:#fff}.logo_small_svg__cls-3{fill:#85ea2d}"];

/// The CSP of the local runner's `/docs`: Swagger UI served by the runner itself.
pub fn built_in_docs_policy() -> String {
    crate::browser::content_security_policy(&PageSources {
        assets: "'self'",
        inline_scripts: &[],
        inline_styles: &SWAGGER_UI_INLINE_STYLES,
    })
}

/// The CSP of [`published`]'s `/docs`: Swagger UI from the CDN, and the page's own blocks.
pub fn cdn_docs_policy() -> String {
    let [logo] = SWAGGER_UI_INLINE_STYLES;
    crate::browser::content_security_policy(&PageSources {
        assets: cdn_origin!(),
        inline_scripts: &[docs_script!()],
        inline_styles: &[docs_style!(), logo],
    })
}

/// Swagger UI's own `index.html` and initializer in one page, with the assets from the CDN.
/// `openapi.json` is relative so the page also works under an API Gateway stage prefix.
const DOCS_PAGE: &str = concat!(
    r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>Hookline API - Swagger UI</title>
    <link rel="stylesheet" type="text/css" href=""#,
    swagger_ui_dist!(),
    r#"/swagger-ui.css" integrity="sha384-9Q2fpS+xeS4ffJy6CagnwoUl+4ldAYhOs9pgZuEKxypVModhmZFzeMlvVsAjf7uT" crossorigin="anonymous">
    <link rel="icon" type="image/png" href=""#,
    swagger_ui_dist!(),
    r#"/favicon-32x32.png" sizes="32x32">
    <style>"#,
    docs_style!(),
    r#"</style>
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src=""#,
    swagger_ui_dist!(),
    r#"/swagger-ui-bundle.js" integrity="sha384-EYdOaiRwn44zNjrw+Tfs06qYz9BGQVo2f4/pLY5i7VorbjnZNhdplAbTBk8FXHUJ" crossorigin="anonymous" charset="UTF-8"></script>
    <script src=""#,
    swagger_ui_dist!(),
    r#"/swagger-ui-standalone-preset.js" integrity="sha384-49fpFaVrAWI/qdgl9Vv5E/4NXxRUiJX5vGuLws1NUpTWGtEqzWEx8gHTw2UTehFK" crossorigin="anonymous" charset="UTF-8"></script>
    <script>"#,
    docs_script!(),
    r#"</script>
  </body>
</html>
"#
);

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::header;

    use super::*;

    const WRITE_VAR: &str = "HOOKLINE_WRITE_OPENAPI";

    #[test]
    fn committed_document_is_the_one_the_annotations_generate() {
        let generated = serde_json::to_string_pretty(&ApiDoc::openapi())
            .expect("the document serialises")
            + "\n";
        if std::env::var_os(WRITE_VAR).is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
            std::fs::write(path, &generated).expect("write openapi.json");
            return;
        }
        let first_difference = COMMITTED_DOCUMENT
            .lines()
            .zip(generated.lines())
            .position(|(committed, generated)| committed != generated)
            .unwrap_or_else(|| {
                COMMITTED_DOCUMENT
                    .lines()
                    .count()
                    .min(generated.lines().count())
            });
        assert!(
            COMMITTED_DOCUMENT == generated,
            "shared/handlers/openapi.json differs from the annotations from line {}; rewrite \
             it with `{WRITE_VAR}=1 cargo test -p hookline-handlers --lib openapi`",
            first_difference + 1
        );
    }

    #[test]
    fn served_document_is_the_generated_one_with_the_running_version() {
        let served = served::committed_document("9.8.7");
        let mut generated = ApiDoc::openapi();
        generated.info.version = "9.8.7".to_string();
        assert_eq!(served, serde_json::to_value(generated).expect("JSON"));
        assert_eq!(served["info"]["version"], "9.8.7");
    }

    #[test]
    fn docs_page_resolves_the_document_next_to_docs_also_under_a_stage() {
        assert!(DOCS_PAGE.contains(r#"url: "openapi.json""#));
        for (page, document) in [
            (
                "https://api.example/docs",
                "https://api.example/openapi.json",
            ),
            (
                "https://api.example/prod/docs",
                "https://api.example/prod/openapi.json",
            ),
        ] {
            let page = url::Url::parse(page).expect("URL");
            assert_eq!(page.join("openapi.json").expect("URL").as_str(), document);
        }
    }

    /// Guards the pin: upgrading `utoipa-swagger-ui` changes the vendored files, and the page
    /// must then load the new release with its new hashes.
    #[cfg(feature = "swagger-ui")]
    #[test]
    fn docs_page_loads_the_vendored_swagger_ui_files_with_their_hashes() {
        use base64::Engine;

        let config = Arc::new(utoipa_swagger_ui::Config::default());
        for file in [
            "swagger-ui.css",
            "swagger-ui-bundle.js",
            "swagger-ui-standalone-preset.js",
        ] {
            let vendored = utoipa_swagger_ui::serve(file, config.clone())
                .expect("serve")
                .expect("a vendored file");
            let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA384, &vendored.bytes);
            let sri = base64::engine::general_purpose::STANDARD.encode(hash.as_ref());
            let tag = format!(
                r#"{}/{file}" integrity="sha384-{sri}" crossorigin="anonymous""#,
                swagger_ui_dist!()
            );
            assert!(DOCS_PAGE.contains(&tag), "the page loads {tag}");
        }
    }

    /// The texts between `open` and `</tag>` in `html`, for each `open` found.
    fn blocks<'a>(html: &'a str, open: &str, close: &str) -> Vec<&'a str> {
        html.split(open)
            .skip(1)
            .filter_map(|rest| rest.split_once(close).map(|(text, _)| text))
            .collect()
    }

    /// One directive's sources.
    fn directive<'a>(policy: &'a str, name: &str) -> Vec<&'a str> {
        policy
            .split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix(name).filter(|rest| rest.starts_with(' ')))
            .map(|rest| rest.split_whitespace().collect())
            .unwrap_or_default()
    }

    #[test]
    fn docs_page_policy_allows_its_inline_blocks_and_the_cdn_only() {
        let policy = cdn_docs_policy();
        let scripts = blocks(DOCS_PAGE, "<script>", "</script>");
        let styles = blocks(DOCS_PAGE, "<style>", "</style>");
        assert_eq!((scripts.len(), styles.len()), (1, 1), "{DOCS_PAGE}");
        for script in scripts {
            let hash = crate::browser::hash_source(script);
            assert!(
                directive(&policy, "script-src").contains(&hash.as_str()),
                "{policy}"
            );
        }
        for style in styles {
            let hash = crate::browser::hash_source(style);
            assert!(
                directive(&policy, "style-src").contains(&hash.as_str()),
                "{policy}"
            );
        }
        for url in blocks(DOCS_PAGE, "src=\"", "\"")
            .into_iter()
            .chain(blocks(DOCS_PAGE, "href=\"", "\""))
        {
            assert!(url.starts_with(concat!(cdn_origin!(), "/")), "{url}");
        }
        for name in ["script-src", "style-src", "img-src"] {
            let hosts: Vec<&str> = directive(&policy, name)
                .into_iter()
                .filter(|s| s.contains("://"))
                .collect();
            assert_eq!(hosts, [cdn_origin!()], "{name} in {policy}");
        }
        for name in ["default-src", "frame-ancestors", "base-uri", "form-action"] {
            assert_eq!(directive(&policy, name), ["'none'"], "{name} in {policy}");
        }
        assert_eq!(directive(&policy, "connect-src"), ["'self'"]);
        assert!(!policy.contains("unsafe"), "{policy}");
    }

    /// Guards [`SWAGGER_UI_INLINE_STYLES`]: the vendored release inserts exactly these inline
    /// style elements, and its own `index.html` (the local runner's page) has no inline block.
    #[cfg(feature = "swagger-ui")]
    #[test]
    fn swagger_ui_inserts_only_the_inline_styles_its_policies_allow() {
        let config = Arc::new(utoipa_swagger_ui::Config::default());
        let file = |name: &str| {
            let f = utoipa_swagger_ui::serve(name, config.clone())
                .expect("serve")
                .expect("a vendored file");
            String::from_utf8(f.bytes.to_vec()).expect("UTF-8")
        };
        let mut inserted = Vec::new();
        for name in ["swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"] {
            let text = file(name);
            inserted.extend(
                blocks(&text, "createElement(\"style\",null,\"", "\")")
                    .into_iter()
                    .map(str::to_string),
            );
        }
        assert_eq!(inserted, SWAGGER_UI_INLINE_STYLES);
        let index = file("index.html");
        assert!(
            blocks(&index, "<script>", "</script>").is_empty()
                && blocks(&index, "<style>", "</style>").is_empty(),
            "{index}"
        );
        for policy in [built_in_docs_policy(), cdn_docs_policy()] {
            let hash = crate::browser::hash_source(SWAGGER_UI_INLINE_STYLES[0]);
            assert!(
                directive(&policy, "style-src").contains(&hash.as_str()),
                "{policy}"
            );
        }
    }

    #[tokio::test]
    async fn published_routes_serve_the_page() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let routes = with_page_headers(docs_page_routes::<()>(), &cdn_docs_policy());
        tokio::spawn(async move { axum::serve(listener, routes).await });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");

        let page = http
            .get(format!("{base}/docs"))
            .send()
            .await
            .expect("answer");
        assert_eq!(page.status(), 200);
        let content_type = page.headers()[header::CONTENT_TYPE]
            .to_str()
            .expect("ASCII");
        assert!(content_type.starts_with("text/html"), "{content_type}");
        let html = page.text().await.expect("body");
        assert!(html.contains("SwaggerUIBundle"));
        assert!(html.contains(concat!(swagger_ui_dist!(), "/swagger-ui-bundle.js")));

        let slash = http
            .get(format!("{base}/docs/"))
            .send()
            .await
            .expect("answer");
        assert!(slash.status().is_redirection(), "{}", slash.status());
        assert_eq!(slash.headers()[header::LOCATION], "../docs");

        for path in ["/docs", "/docs/"] {
            let resp = http
                .get(format!("{base}{path}"))
                .send()
                .await
                .expect("answer");
            let h = resp.headers();
            assert_eq!(
                h[header::CONTENT_SECURITY_POLICY],
                cdn_docs_policy().as_str(),
                "{path}"
            );
            assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
            assert_eq!(h[header::X_FRAME_OPTIONS], "DENY", "{path}");
        }
    }
}
