//! The templates of the schemes themselves, in their contexts: an OAuth 2 `token_url` over
//! `{props, env}`, a session's login over `{props, env, credentials}` and its `apply.value`
//! over `{session: {token}}`. Errors name the field and the engine's reason, never a value.

use hookline_domain::apps::RequestTemplate;
use hookline_domain::template::{render_text, render_value};
use serde_json::{Map, Value, json};

use crate::apps::{RenderedRequest, Resolved};

/// Properties as templates see them: the non-secret and the secret ones together.
fn props(conn: &Resolved) -> Map<String, Value> {
    let mut props: Map<String, Value> = conn
        .connection
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (k, v) in &conn.secrets.properties {
        props.insert(k.clone(), v.clone());
    }
    props
}

/// The OAuth 2 token endpoint's URL.
pub(super) fn token_url(conn: &Resolved, source: &str) -> Result<String, String> {
    let ctx = json!({ "props": props(conn), "env": conn.env });
    render_text(source, &ctx).map_err(|e| format!("auth.token_url: {e}"))
}

/// A session token's header value.
pub(super) fn session_value(source: &str, token: &str) -> Result<String, String> {
    let ctx = json!({ "session": { "token": token } });
    render_text(source, &ctx).map_err(|e| format!("auth.apply.value: {e}"))
}

/// The session's login request.
pub(super) fn login(conn: &Resolved, tpl: &RequestTemplate) -> Result<RenderedRequest, String> {
    let ctx = json!({
        "props": props(conn),
        "env": conn.env,
        "credentials": conn.secrets.credentials,
    });
    render_login(tpl, &ctx).map_err(|e| format!("auth.login.{e}"))
}

/// A minimal rendering of a request template, for the login only (the action runner's
/// `render_request` does the same for every request; the login moves to it once both are
/// on one branch).
fn render_login(tpl: &RequestTemplate, ctx: &Value) -> Result<RenderedRequest, String> {
    let text =
        |source: &str, field: &str| render_text(source, ctx).map_err(|e| format!("{field}: {e}"));
    let rendered = text(&tpl.url, "url")?;
    let mut url = url::Url::parse(&rendered).map_err(|_| "url: not a valid URL".to_string())?;
    if !tpl.query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (name, source) in &tpl.query {
            pairs.append_pair(name, &text(source, &format!("query.{name}"))?);
        }
    }
    let mut headers = Vec::with_capacity(tpl.headers.len());
    for (name, source) in &tpl.headers {
        headers.push((name.clone(), text(source, &format!("headers.{name}"))?));
    }
    let body = match (&tpl.body, &tpl.form) {
        (Some(body), _) => {
            let value = render_json(body, ctx, "body")?;
            let bytes = serde_json::to_vec(&value).map_err(|e| format!("body: {e}"))?;
            Some((bytes.into(), "application/json"))
        }
        (None, Some(form)) => {
            let mut out = url::form_urlencoded::Serializer::new(String::new());
            for (name, source) in form {
                out.append_pair(name, &text(source, &format!("form.{name}"))?);
            }
            Some((out.finish().into(), "application/x-www-form-urlencoded"))
        }
        (None, None) => None,
    };
    Ok(RenderedRequest {
        method: tpl.method,
        url: url.into(),
        headers,
        body,
    })
}

/// A JSON body with its string leaves rendered.
fn render_json(value: &Value, ctx: &Value, field: &str) -> Result<Value, String> {
    Ok(match value {
        Value::String(source) => render_value(source, ctx).map_err(|e| format!("{field}: {e}"))?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| render_json(v, ctx, &format!("{field}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_json(v, ctx, &format!("{field}.{k}"))?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}
