//! OAuth 2.0 client credentials (RFC 6749 §4.4): a token requested from the app's token
//! endpoint with the connection's `client_id` and `client_secret` (`client_secret_basic` or
//! `client_secret_post`), carried as `Authorization: Bearer …`.

use std::time::Duration;

use hookline_domain::apps::{ClientAuth, HttpMethod};
use http::header::{AUTHORIZATION, HeaderValue};
use serde_json::Value;

use super::tokens::{Fetched, Token, TokenSource, answer_of};
use super::{Authenticator, Spent, basic_header, credential, form, templates};
use crate::apps::{Exchange, RenderedRequest, Resolved};

/// Lifetime of a token whose answer gives no `expires_in`.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// The token endpoint of an `oauth2_client_credentials` scheme.
pub(super) struct TokenEndpoint<'a> {
    /// The endpoint's URL template (over `props`, `env`).
    pub token_url: &'a str,
    /// The scope requested, if any.
    pub scope: Option<&'a str>,
    /// How the client authenticates.
    pub client_auth: ClientAuth,
}

impl TokenSource for TokenEndpoint<'_> {
    async fn fetch(&self, auth: &Authenticator, conn: &Resolved, timeout: Duration) -> Fetched {
        let mut spent = Spent::default();
        let req = match self.request(conn) {
            Ok(req) => req,
            Err(why) => return (Err(why), spent),
        };
        let (req, credential) = req;
        let ex = auth.plain(&req, credential, timeout).await;
        spent.add(&ex);
        (token_in(&ex), spent)
    }
}

impl TokenEndpoint<'_> {
    /// The token request, and its client authentication header (for `client_secret_basic`).
    fn request(
        &self,
        conn: &Resolved,
    ) -> Result<(RenderedRequest, Option<(http::HeaderName, HeaderValue)>), String> {
        let url = templates::token_url(conn, self.token_url)?;
        let id = credential(conn, "client_id")?;
        let secret = credential(conn, "client_secret")?;
        let mut pairs = vec![("grant_type", "client_credentials")];
        if let Some(scope) = self.scope {
            pairs.push(("scope", scope));
        }
        let header = match self.client_auth {
            // RFC 6749 §2.3.1: both form-encoded before they are joined.
            ClientAuth::Basic => Some((
                AUTHORIZATION,
                basic_header(&form_encoded(id), &form_encoded(secret))?,
            )),
            ClientAuth::Body => {
                pairs.push(("client_id", id));
                pairs.push(("client_secret", secret));
                None
            }
        };
        let req = RenderedRequest {
            method: HttpMethod::Post,
            url,
            headers: vec![("accept".into(), "application/json".into())],
            body: form(&pairs),
        };
        Ok((req, header))
    }
}

/// `text` as `application/x-www-form-urlencoded` writes it.
fn form_encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The bearer token in a token endpoint's answer.
fn token_in(ex: &Exchange) -> Result<Token, String> {
    let answer = answer_of(ex, "token endpoint")?;
    let token = answer
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or("token endpoint answered no access_token")?;
    if let Some(kind) = answer.get("token_type").and_then(Value::as_str)
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err("token endpoint answered a token_type other than Bearer".into());
    }
    let lifetime = answer
        .get("expires_in")
        .and_then(seconds)
        .unwrap_or(DEFAULT_LIFETIME);
    let value = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|_| "token endpoint answered a token that is not a header value".to_string())?;
    Ok(Token::new(AUTHORIZATION, value, lifetime))
}

/// A lifetime in seconds, as a number or a numeric string (some servers quote it).
pub(super) fn seconds(value: &Value) -> Option<Duration> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .map(Duration::from_secs)
}
