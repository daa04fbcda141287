//! An app's request template rendered into a request ready to send, and the contexts its
//! templates see.
//!
//! Every string goes through the product's one engine ([`hookline_domain::template`]) as text:
//! the URL, header values, query values (percent-encoded as they are appended to the URL's own
//! query) and form values. A JSON body's string leaves are text too, except a leaf that is
//! exactly one `{{ expression }}`, which becomes the expression's JSON value. Undefined
//! variables are errors. A failure names the field (`request.body.status`) and why, never a
//! value of the context.

use bytes::Bytes;
use hookline_domain::apps::RequestTemplate;
use hookline_domain::template::{MAX_OUTPUT_BYTES, render_text, render_value};
use serde_json::{Map, Value, json};
use url::Url;

use super::{RenderedRequest, Resolved};

/// Content type of a JSON body.
pub const JSON_CONTENT_TYPE: &str = "application/json";
/// Content type of a form body.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// Why a template did not render: the field it is in (`request.headers.X-Location`) and the
/// engine's reason, which quotes no value of the context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TemplateFailure {
    /// Path of the field (`request.url`, `request.query.since`, `request.body.lines[0].sku`).
    pub field: String,
    /// Why.
    pub message: String,
}

impl TemplateFailure {
    fn new(field: impl Into<String>, message: impl Into<String>) -> TemplateFailure {
        TemplateFailure {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Renders `tpl` with `ctx`; `field` is the template's path, prefixed to every failure's
/// (`request`, `test`, `auth.login`). The request as a whole (URL, headers, body) is at most
/// [`MAX_OUTPUT_BYTES`] of rendered text.
pub fn render_request(
    tpl: &RequestTemplate,
    ctx: &Value,
    field: &str,
) -> Result<RenderedRequest, TemplateFailure> {
    let mut out = Renderer {
        ctx,
        used: 0,
        prefix: field,
    };
    let url = out.url(tpl)?;
    let mut headers = Vec::with_capacity(tpl.headers.len());
    for (name, source) in &tpl.headers {
        let path = format!("{field}.headers.{name}");
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(TemplateFailure::new(path, "not a valid header name"));
        }
        let value = out.text(source, &path)?;
        if http::HeaderValue::from_str(&value).is_err() {
            return Err(TemplateFailure::new(path, "not a valid header value"));
        }
        headers.push((name.clone(), value));
    }
    let body = match (&tpl.body, &tpl.form) {
        (Some(_), Some(_)) => {
            return Err(TemplateFailure::new(
                format!("{field}.form"),
                "a request has a JSON body or a form, not both",
            ));
        }
        (Some(body), None) => {
            let value = out.value(body, &format!("{field}.body"))?;
            let bytes = serde_json::to_vec(&value).map_err(|_| {
                TemplateFailure::new(format!("{field}.body"), "the body has no JSON form")
            })?;
            Some((Bytes::from(bytes), JSON_CONTENT_TYPE))
        }
        (None, Some(form)) => {
            let mut pairs = Vec::with_capacity(form.len());
            for (name, source) in form {
                pairs.push((
                    name.as_str(),
                    out.text(source, &format!("{field}.form.{name}"))?,
                ));
            }
            let encoded = serde_urlencoded::to_string(&pairs).map_err(|_| {
                TemplateFailure::new(format!("{field}.form"), "the form could not be encoded")
            })?;
            Some((Bytes::from(encoded), FORM_CONTENT_TYPE))
        }
        (None, None) => None,
    };
    Ok(RenderedRequest {
        method: tpl.method,
        url,
        headers,
        body,
    })
}

/// Renders a JSON value whose string leaves are templates (a body, a workflow step's inputs)
/// with `ctx`; `field` is its path, for the failure.
pub fn render_json_value(
    template: &Value,
    ctx: &Value,
    field: &str,
) -> Result<Value, TemplateFailure> {
    Renderer {
        ctx,
        used: 0,
        prefix: field,
    }
    .value(template, field)
}

/// One rendering, keeping count of the text it has produced.
struct Renderer<'a> {
    ctx: &'a Value,
    used: usize,
    prefix: &'a str,
}

impl Renderer<'_> {
    /// Charges `len` bytes to the request.
    fn charge(&mut self, len: usize, path: &str) -> Result<(), TemplateFailure> {
        self.used = self.used.saturating_add(len);
        if self.used > MAX_OUTPUT_BYTES {
            return Err(TemplateFailure::new(
                path,
                format!("the rendered request is over {MAX_OUTPUT_BYTES} bytes"),
            ));
        }
        Ok(())
    }

    fn text(&mut self, source: &str, path: &str) -> Result<String, TemplateFailure> {
        let text =
            render_text(source, self.ctx).map_err(|e| TemplateFailure::new(path, e.to_string()))?;
        self.charge(text.len(), path)?;
        Ok(text)
    }

    /// The URL, its query parameters appended (percent-encoded).
    fn url(&mut self, tpl: &RequestTemplate) -> Result<String, TemplateFailure> {
        let path = format!("{}.url", self.prefix);
        let text = self.text(&tpl.url, &path)?;
        let mut url = Url::parse(text.trim())
            .map_err(|_| TemplateFailure::new(&path, "not an absolute URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(TemplateFailure::new(
                &path,
                "the scheme is not http or https",
            ));
        }
        if !tpl.query.is_empty() {
            let mut values = Vec::with_capacity(tpl.query.len());
            for (name, source) in &tpl.query {
                let value = self.text(source, &format!("{}.query.{name}", self.prefix))?;
                values.push((name, value));
            }
            url.query_pairs_mut().extend_pairs(values);
        }
        Ok(url.into())
    }

    /// A JSON body (or part of one): string leaves rendered, the rest kept.
    fn value(&mut self, template: &Value, path: &str) -> Result<Value, TemplateFailure> {
        Ok(match template {
            Value::String(source) => {
                let value = render_value(source, self.ctx)
                    .map_err(|e| TemplateFailure::new(path, e.to_string()))?;
                self.charge(json_len(&value), path)?;
                value
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.value(item, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(fields) => {
                let mut out = Map::with_capacity(fields.len());
                for (key, item) in fields {
                    out.insert(key.clone(), self.value(item, &format!("{path}.{key}"))?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }
}

/// Bytes of `value`'s JSON text (strings counted without their quotes and escapes).
fn json_len(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        other => {
            let mut counter = Counter(0);
            // Writing to a counter cannot fail; a value that could not be written counts 0.
            let _ = serde_json::to_writer(&mut counter, other);
            counter.0
        }
    }
}

struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The contexts of the templates of a connection's requests (the contract of `docs/apps.md`).
impl Resolved {
    /// Properties as templates see them: the non-secret and the secret ones together.
    pub fn props(&self) -> Map<String, Value> {
        let mut props: Map<String, Value> = self
            .connection
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in &self.secrets.properties {
            props.insert(k.clone(), v.clone());
        }
        props
    }

    /// `connection` in a context: its id, name and state.
    pub fn connection_context(&self) -> Value {
        json!({
            "id": self.connection.id,
            "name": self.connection.name,
            "state": self.connection.state,
        })
    }

    /// An action's request context: `{event, input, props, env, found, connection}`.
    pub fn action_context(
        &self,
        event: &Value,
        input: &Map<String, Value>,
        found: &Value,
    ) -> Value {
        json!({
            "event": event,
            "input": input,
            "props": self.props(),
            "env": self.env,
            "found": found,
            "connection": self.connection_context(),
        })
    }

    /// A connection test's or a polling trigger's request context: `{props, env, connection,
    /// cursor}` (`cursor` null before the first poll, and for a test).
    pub fn request_context(&self, cursor: Option<&Value>) -> Value {
        json!({
            "props": self.props(),
            "env": self.env,
            "connection": self.connection_context(),
            "cursor": cursor.cloned().unwrap_or(Value::Null),
        })
    }

    /// The context of a session login and of a hook's verification secret: `{props, env,
    /// credentials}`.
    pub fn credentials_context(&self) -> Value {
        json!({
            "props": self.props(),
            "env": self.env,
            "credentials": self.secrets.credentials,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn template(v: Value) -> RequestTemplate {
        serde_json::from_value(v).expect("a request template")
    }

    fn ctx() -> Value {
        json!({
            "env": {"BASE_URL": "https://shop.example/api"},
            "props": {"location_id": "loc 1&x=2", "n": 3},
            "input": {"status": "ready", "lines": [{"sku": "a"}], "qty": 2, "none": null},
            "found": {"id": 42},
        })
    }

    #[test]
    fn text_fields_render_and_query_values_are_encoded_after_the_urls_own() {
        let tpl = template(json!({
            "method": "PUT",
            "url": "{{ env.BASE_URL }}/orders/{{ found.id }}?fixed=1",
            "headers": {"X-Location": "{{ props.location_id }}"},
            "query": {"loc": "{{ props.location_id }}", "n": "{{ props.n }}"}
        }));
        let req = render_request(&tpl, &ctx(), "request").expect("rendered");
        assert_eq!(
            req.url,
            "https://shop.example/api/orders/42?fixed=1&loc=loc+1%26x%3D2&n=3"
        );
        assert_eq!(
            req.headers,
            [("X-Location".to_string(), "loc 1&x=2".to_string())]
        );
        assert_eq!(req.body, None);
    }

    #[test]
    fn a_json_leaf_that_is_one_expression_keeps_its_type() {
        let tpl = template(json!({
            "method": "POST",
            "url": "{{ env.BASE_URL }}/orders",
            "body": {
                "status": "{{ input.status }}",
                "qty": "{{ input.qty }}",
                "lines": "{{ input.lines }}",
                "note": "{{ input.qty }} x {{ input.status }}",
                "nested": [{"loc": " {{ props.location_id }} "}, 7, true, null],
                "none": "{{ input.none }}"
            }
        }));
        let req = render_request(&tpl, &ctx(), "request").expect("rendered");
        let (body, content_type) = req.body.expect("a body");
        assert_eq!(content_type, JSON_CONTENT_TYPE);
        let body: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(
            body,
            json!({
                "status": "ready", "qty": 2, "lines": [{"sku": "a"}], "note": "2 x ready",
                "nested": [{"loc": "loc 1&x=2"}, 7, true, null], "none": null
            })
        );
    }

    #[test]
    fn a_form_is_url_encoded() {
        let tpl = template(json!({
            "method": "POST",
            "url": "https://shop.example/token",
            "form": {"grant_type": "client_credentials", "where": "{{ props.location_id }}"}
        }));
        let req = render_request(&tpl, &ctx(), "auth.login").expect("rendered");
        let (body, content_type) = req.body.expect("a body");
        assert_eq!(content_type, FORM_CONTENT_TYPE);
        assert_eq!(
            &body[..],
            b"grant_type=client_credentials&where=loc+1%26x%3D2"
        );
    }

    #[test]
    fn a_failure_names_the_field_and_no_value() {
        let tpl = template(json!({
            "method": "POST",
            "url": "{{ env.BASE_URL }}/orders",
            "body": {"lines": [{"sku": "{{ input.status }}"}, {"sku": "{{ input.nothing }}"}]}
        }));
        let err = render_request(&tpl, &ctx(), "request").expect_err("undefined");
        assert_eq!(err.field, "request.body.lines[1].sku");
        let tpl = template(json!({"method": "GET", "url": "{{ props.location_id }}"}));
        let err = render_request(&tpl, &ctx(), "request").expect_err("not a URL");
        assert_eq!(err.field, "request.url");
        assert!(!err.to_string().contains("loc 1"), "{err}");
        let tpl = template(json!({
            "method": "GET", "url": "https://x.example", "query": {"q": "{{ input.( }}"}
        }));
        let err = render_request(&tpl, &ctx(), "test").expect_err("syntax");
        assert_eq!(err.field, "test.query.q");
        let tpl = template(json!({
            "method": "GET", "url": "https://x.example", "headers": {"X-A": "a{{ '\\n' }}b"}
        }));
        let err = render_request(&tpl, &json!({}), "request").expect_err("a newline");
        assert_eq!(err.field, "request.headers.X-A");
        let tpl = template(json!({"method": "GET", "url": "file:///etc/passwd"}));
        assert_eq!(
            render_request(&tpl, &json!({}), "request")
                .expect_err("scheme")
                .field,
            "request.url"
        );
    }

    #[test]
    fn a_request_is_bounded_as_a_whole() {
        let big = "x".repeat(MAX_OUTPUT_BYTES / 4);
        let fields: serde_json::Map<String, Value> = (0..5)
            .map(|i| (format!("f{i}"), json!("{{ big }}")))
            .collect();
        let tpl = template(json!({"method": "POST", "url": "https://x.example", "body": fields}));
        let err = render_request(&tpl, &json!({"big": big}), "request").expect_err("too big");
        assert!(err.message.contains("over"), "{err}");
    }
}
