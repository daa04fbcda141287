//! Session: a login request (rendered over `{props, env, credentials}`) whose JSON answer
//! holds a token, carried by later requests in the header the app names, with a value
//! rendered over `{session: {token}}`.

use std::time::Duration;

use hookline_domain::apps::{RequestTemplate, SessionApply};
use http::header::{HeaderName, HeaderValue};
use serde_json::Value;

use super::oauth2::seconds;
use super::tokens::{Fetched, Token, TokenSource, answer_of};
use super::{Authenticator, Spent, templates};
use crate::apps::{Exchange, Resolved};

/// Lifetime of a session whose login answer does not say (and the app names no default).
const DEFAULT_TTL_SECONDS: u32 = 3600;

/// The login of a `session` scheme.
pub(super) struct Login<'a> {
    /// The login request.
    pub login: &'a RequestTemplate,
    /// JSON pointer of the token in the answer.
    pub token: &'a str,
    /// JSON pointer of its lifetime in seconds, if the answer gives one.
    pub expires_in: Option<&'a str>,
    /// Lifetime when the answer does not give one.
    pub ttl_seconds: Option<u32>,
    /// How requests carry the token.
    pub apply: &'a SessionApply,
}

impl TokenSource for Login<'_> {
    async fn fetch(&self, auth: &Authenticator, conn: &Resolved, timeout: Duration) -> Fetched {
        let mut spent = Spent::default();
        let req = match templates::login(conn, self.login) {
            Ok(req) => req,
            Err(why) => return (Err(why), spent),
        };
        let ex = auth.plain(&req, None, timeout).await;
        spent.add(&ex);
        (self.token_in(&ex), spent)
    }
}

impl Login<'_> {
    /// The session token in the login's answer, as requests carry it.
    fn token_in(&self, ex: &Exchange) -> Result<Token, String> {
        let answer = answer_of(ex, "login")?;
        let token = match answer.pointer(self.token) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(format!("login answer has no token at {}", self.token)),
        };
        let lifetime = self
            .expires_in
            .and_then(|pointer| answer.pointer(pointer))
            .and_then(seconds)
            .unwrap_or(Duration::from_secs(u64::from(
                self.ttl_seconds.unwrap_or(DEFAULT_TTL_SECONDS),
            )));
        let header = HeaderName::from_bytes(self.apply.header.as_bytes())
            .map_err(|_| format!("the session header name {} is not valid", self.apply.header))?;
        let value = templates::session_value(&self.apply.value, &token)?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| "the session token does not make a header value".to_string())?;
        Ok(Token::new(header, value, lifetime))
    }
}
