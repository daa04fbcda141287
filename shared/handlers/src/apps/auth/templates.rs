//! The templates of the schemes themselves, in their contexts: an OAuth 2 `token_url` over
//! `{props, env}`, a session's login over `{props, env, credentials}` and its `apply.value`
//! over `{session: {token}}`. Errors name the field and the engine's reason, never a value.

use hookline_domain::apps::RequestTemplate;
use hookline_domain::template::render_text;
use serde_json::json;

use crate::apps::{RenderedRequest, Resolved, render_request};

/// The OAuth 2 token endpoint's URL.
pub(super) fn token_url(conn: &Resolved, source: &str) -> Result<String, String> {
    let ctx = json!({ "props": conn.props(), "env": conn.env });
    render_text(source, &ctx).map_err(|e| format!("auth.token_url: {e}"))
}

/// A session token's header value.
pub(super) fn session_value(source: &str, token: &str) -> Result<String, String> {
    let ctx = json!({ "session": { "token": token } });
    render_text(source, &ctx).map_err(|e| format!("auth.apply.value: {e}"))
}

/// The session's login request.
pub(super) fn login(conn: &Resolved, tpl: &RequestTemplate) -> Result<RenderedRequest, String> {
    render_request(tpl, &conn.credentials_context(), "auth.login").map_err(|e| e.to_string())
}
