//! The API client of one invocation: a token from `POST /oauth/token` (fetched once, kept in
//! memory only), JSON requests, and error answers turned into [`CliError`]s.

use std::time::Duration;

use reqwest::{Method, Url};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::error::{CliError, Problem};
use crate::profiles::Profile;

/// How long an ordinary call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// A request body.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// JSON.
    Json(&'a Value),
    /// A file as it is (a manufacturer import), with its content type.
    File {
        /// `text/csv`, …
        content_type: &'a str,
        /// The file's bytes.
        bytes: &'a [u8],
    },
}

/// A client of one stack, with one profile's credentials.
pub struct Api {
    base: Url,
    http: reqwest::Client,
    profile: Profile,
    /// The current token, once fetched; fetched again when the API refuses it (expired).
    token: Mutex<Option<String>>,
}

impl Api {
    /// A client for `profile` (its `api` must be an http(s) URL).
    pub fn new(profile: Profile) -> Result<Api, CliError> {
        let base = Url::parse(profile.api.trim_end_matches('/'))
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| CliError::usage(format!("'{}' is not an http(s) URL", profile.api)))?;
        Ok(Api {
            base,
            http: http_client()?,
            profile,
            token: Mutex::new(None),
        })
    }

    /// The URL of `path` (`/v1/…`) with the query `pairs` (empty values left out).
    pub fn url(&self, path: &str, pairs: &[(&str, Option<String>)]) -> Url {
        let mut url = self.base.clone();
        let prefix = self.base.path().trim_end_matches('/');
        url.set_path(&format!("{prefix}{path}"));
        let present: Vec<_> = pairs
            .iter()
            .filter_map(|(k, v)| v.as_deref().filter(|v| !v.is_empty()).map(|v| (*k, v)))
            .collect();
        if !present.is_empty() {
            url.query_pairs_mut().extend_pairs(present);
        }
        url
    }

    /// Gets a token with the profile's credentials (what `login` checks).
    pub async fn token(&self) -> Result<String, CliError> {
        let mut held = self.token.lock().await;
        if let Some(token) = held.as_ref() {
            return Ok(token.clone());
        }
        let token = self.fetch_token().await?;
        *held = Some(token.clone());
        Ok(token)
    }

    async fn fetch_token(&self) -> Result<String, CliError> {
        let body = json!({
            "grant_type": "client_credentials",
            "client_id": self.profile.client_id,
            "client_secret": self.profile.client_secret,
        });
        let request = self
            .http
            .post(self.url("/oauth/token", &[]))
            .timeout(CALL_TIMEOUT)
            .header("content-type", "application/json")
            .body(body.to_string());
        let (status, body) = self.exchange(request).await?;
        if status == 401 || status == 400 {
            return Err(CliError::Connection(format!(
                "the API refused the credentials of client {}: {}",
                self.profile.client_id,
                Problem { status, body }
            )));
        }
        if !(200..300).contains(&status) {
            return Err(CliError::Api(Problem { status, body }));
        }
        body.get("access_token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| CliError::Connection("the token endpoint gave no access_token".into()))
    }

    /// `GET path?query` → the JSON body of a 2xx answer.
    pub async fn get(
        &self,
        path: &str,
        query: &[(&str, Option<String>)],
    ) -> Result<Value, CliError> {
        self.call(Method::GET, self.url(path, query), None, None)
            .await
    }

    /// A call with an optional JSON body → the JSON body of a 2xx answer (`null` if empty).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, CliError> {
        self.call(method, self.url(path, &[]), body, None).await
    }

    /// A call to `url` with its own timeout (a long poll) and extra headers.
    pub async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Value>,
        timeout: Option<Duration>,
    ) -> Result<Value, CliError> {
        self.call_with_headers(method, url, body.map(Payload::Json), timeout, &[])
            .await
    }

    /// [`Api::call`] with any body and extra request headers (`Idempotency-Key`).
    pub async fn call_with_headers(
        &self,
        method: Method,
        url: Url,
        body: Option<Payload<'_>>,
        timeout: Option<Duration>,
        headers: &[(&str, &str)],
    ) -> Result<Value, CliError> {
        // A refused token (one that expired during a long `listen`) is fetched again, once.
        let mut retried = false;
        loop {
            let token = self.token().await?;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(token)
                .timeout(timeout.unwrap_or(CALL_TIMEOUT));
            for (k, v) in headers {
                request = request.header(*k, *v);
            }
            request = match body {
                Some(Payload::Json(v)) => request
                    .header("content-type", "application/json")
                    .body(v.to_string()),
                Some(Payload::File {
                    content_type,
                    bytes,
                }) => request
                    .header("content-type", content_type)
                    .body(bytes.to_vec()),
                None => request,
            };
            let (status, body) = self.exchange(request).await?;
            match status {
                200..=299 => return Ok(body),
                401 if !retried => {
                    retried = true;
                    *self.token.lock().await = None;
                }
                401 => {
                    return Err(CliError::Connection(format!(
                        "the API refused the token: {}",
                        Problem { status, body }
                    )));
                }
                _ => return Err(CliError::Api(Problem { status, body })),
            }
        }
    }

    /// Sends `request`: its status and JSON body (`null` when empty or not JSON).
    async fn exchange(&self, request: reqwest::RequestBuilder) -> Result<(u16, Value), CliError> {
        let response = request.send().await.map_err(|e| {
            CliError::Connection(format!("cannot reach {}: {}", self.base, error_chain(&e)))
        })?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| {
            CliError::Connection(format!(
                "reading the answer of {}: {}",
                self.base,
                error_chain(&e)
            ))
        })?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }
}

/// The HTTP client: no redirects followed (a token must not travel elsewhere), no proxy
/// guessing beyond reqwest's, connections with a timeout.
pub fn http_client() -> Result<reqwest::Client, CliError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!("hookline-cli/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| CliError::Connection(format!("cannot set up HTTP: {e}")))
}

/// An error with its causes, on one line (`error sending request: connection refused`).
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}
