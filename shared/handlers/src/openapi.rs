//! The OpenAPI 3.1 document, generated from the handlers' annotations by `utoipa`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;
use crate::auth;

/// The whole v1 API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Hookline", description = "Webhook subscription and delivery hub: publish events, subscribe, receive signed deliveries."),
    paths(
        auth::token::token, auth::token::jwks, auth::token::metadata,
        api::service::health,
        api::clients::create, api::clients::list, api::clients::get, api::clients::delete, api::clients::reset_secret,
        api::event_types::list, api::event_types::put,
        api::events::publish, api::events::get,
        api::subscriptions::create, api::subscriptions::list, api::subscriptions::get, api::subscriptions::patch,
        api::subscriptions::delete, api::subscriptions::get_secret, api::subscriptions::rotate_secret,
        api::subscriptions::test, api::subscriptions::replay,
        api::deliveries::list, api::deliveries::get, api::deliveries::retry,
    ),
    components(schemas(
        api::views::ClientView, api::views::SubscriptionView, api::views::DeliveryView, api::views::AttemptView,
        api::views::EventView, api::views::DeliveryCounts, api::views::EventTypeView,
        api::clients::NewClient, api::event_types::EventTypeInput, api::subscriptions::ReplayRequest,
    )),
    modifiers(&BearerAuth),
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

/// The document, with the running version.
pub fn document(version: &str) -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = version.to_string();
    doc
}
