//! `POST /oauth/token` (client credentials, RFC 6749 §4.4), the JWKS and the RFC 8414
//! authorization-server metadata. Errors here use the OAuth error body, not problem+json.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hookline_domain::{Scope, secret};
use jsonwebtoken::{Algorithm, Header};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::api::no_store::forbid_storing;
use crate::auth::schemas::{
    Jwks, OAuthErrorBody, ServerMetadata, TokenRequest as TokenRequestSchema, TokenResponse,
};
use crate::context::AppContext;

/// Audience of every access token.
pub const AUDIENCE: &str = "hookline";

/// Claims of an access token (RFC 9068).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject: the client id.
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// The client id (RFC 9068).
    pub client_id: String,
    /// Space-separated granted scopes.
    pub scope: String,
    /// Issued at.
    pub iat: i64,
    /// Expiry.
    pub exp: i64,
    /// Token id.
    pub jti: String,
}

/// An RFC 6749 §5.2 error.
pub struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: &'static str,
    basic: bool,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: &'static str) -> Self {
        OAuthError {
            status,
            error,
            description,
            basic: false,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        let h = resp.headers_mut();
        forbid_storing(h);
        if self.basic && self.status == StatusCode::UNAUTHORIZED {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"hookline\""),
            );
        }
        resp
    }
}

#[derive(Debug, Default, Deserialize)]
struct TokenRequest {
    grant_type: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Why an `Authorization: Basic` header holds no credentials. No variant keeps the header's
/// text, nor the base64 decoder's error (which quotes a byte of it): it holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum BasicCredentialsError {
    /// The credentials are not base64.
    #[error("the Basic credentials are not base64")]
    NotBase64,
    /// The decoded credentials are not UTF-8.
    #[error("the Basic credentials are not UTF-8")]
    NotUtf8(#[source] std::str::Utf8Error),
    /// No `:` between the client id and the secret.
    #[error("the Basic credentials have no ':' between the client id and the secret")]
    NoSeparator,
    /// The id or the secret is not form-urlencoded (RFC 6749 §2.3.1).
    #[error("the Basic credentials are not form-urlencoded")]
    NotFormEncoded,
}

/// Extracts `client_secret_basic` credentials: `None` without an `Authorization: Basic`
/// header.
fn basic_credentials(
    headers: &HeaderMap,
) -> Result<Option<(String, String)>, BasicCredentialsError> {
    let Some((scheme, rest)) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
    else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD
        .decode(rest.trim())
        .map_err(|_| BasicCredentialsError::NotBase64)?;
    let text =
        String::from_utf8(decoded).map_err(|e| BasicCredentialsError::NotUtf8(e.utf8_error()))?;
    let (id, secret) = text
        .split_once(':')
        .ok_or(BasicCredentialsError::NoSeparator)?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before being joined.
    let dec = |s: &str| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={s}"))
            .ok()
            .and_then(|mut v| v.pop())
            .map(|(_, v)| v)
            .ok_or(BasicCredentialsError::NotFormEncoded)
    };
    Ok(Some((dec(id)?, dec(secret)?)))
}

fn parse_body(headers: &HeaderMap, body: &Bytes) -> Result<TokenRequest, OAuthError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let bad = || {
        OAuthError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the request body is malformed",
        )
    };
    if body.is_empty() {
        return Ok(TokenRequest::default());
    }
    if ct.starts_with("application/json") {
        serde_json::from_slice(body).map_err(|_| bad())
    } else {
        serde_urlencoded::from_bytes(body).map_err(|_| bad())
    }
}

/// `POST /oauth/token`.
#[utoipa::path(post, path = "/oauth/token", tag = "oauth",
    request_body(content = TokenRequestSchema, content_type = "application/x-www-form-urlencoded",
        description = "The grant; the client's id and secret here or in an `Authorization: Basic` header. A JSON body with the same fields is accepted too."),
    responses(
        (status = 200, description = "An access token.", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type` or `invalid_scope`.", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client` (with `WWW-Authenticate: Basic` when Basic was used).", body = OAuthErrorBody),
        (status = 503, description = "`temporarily_unavailable`: retry later.", body = OAuthErrorBody)))]
pub async fn token(
    State(ctx): State<Arc<AppContext>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match issue(&ctx, &headers, &body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn issue(
    ctx: &AppContext,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, OAuthError> {
    let req = parse_body(headers, body)?;
    let basic = basic_credentials(headers);
    let used_basic = !matches!(basic, Ok(None));
    let in_body = req.client_id.is_some() || req.client_secret.is_some();
    let (client_id, client_secret) = match (basic, &req.client_id, &req.client_secret) {
        _ if used_basic && in_body => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "use one client authentication method, not two",
            ));
        }
        (Ok(Some(pair)), _, _) => pair,
        (Err(e), _, _) => {
            tracing::debug!(reason = %e, "token: malformed Basic credentials");
            return Err(OAuthError {
                basic: true,
                ..OAuthError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "malformed Basic credentials",
                )
            });
        }
        (Ok(None), Some(id), Some(secret)) => (id.clone(), secret.clone()),
        (Ok(None), _, _) => {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication is required",
            ));
        }
    };
    match req.grant_type.as_deref() {
        Some("client_credentials") => {}
        Some(_) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "only client_credentials is supported",
            ));
        }
        None => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "grant_type is required",
            ));
        }
    }
    let invalid_client = OAuthError {
        basic: used_basic,
        ..OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        )
    };
    // Read without caching: the id is anything the caller sent, until its secret matches.
    let client = match ctx.store.get_client(&client_id).await {
        Ok(Some(c))
            if !c.disabled && secret::verify_client_secret(&client_secret, &c.secret_hash) =>
        {
            ctx.remember_client(&c);
            c
        }
        Ok(_) => return Err(invalid_client),
        Err(e) => {
            tracing::error!(error = %e, "token: client lookup failed");
            return Err(OAuthError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "retry later",
            ));
        }
    };
    let granted: Vec<Scope> = match req
        .scope
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => client.scopes.clone(),
        Some(s) => {
            let mut out = Vec::new();
            for word in s.split_ascii_whitespace() {
                match Scope::parse(word) {
                    Some(sc) if client.scopes.contains(&sc) => {
                        if !out.contains(&sc) {
                            out.push(sc);
                        }
                    }
                    _ => {
                        return Err(OAuthError::new(
                            StatusCode::BAD_REQUEST,
                            "invalid_scope",
                            "a requested scope is unknown or not granted to this client",
                        ));
                    }
                }
            }
            out
        }
    };
    let scope = granted
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let now = ctx.clock.now().unix_timestamp();
    let ttl = ctx.config.token_ttl.as_secs() as i64;
    let claims = Claims {
        iss: ctx.issuer(headers),
        sub: client.id.clone(),
        aud: AUDIENCE.to_string(),
        client_id: client.id.clone(),
        scope: scope.clone(),
        iat: now,
        exp: now + ttl,
        jti: hookline_domain::ids::new_id("tok_", now as i128 * 1000),
    };
    let Some(signer) = ctx.jwt.signer(now).await else {
        tracing::error!("token: no signing key yet (the first key rotation has not run)");
        return Err(OAuthError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "retry later",
        ));
    };
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(signer.kid.clone());
    header.typ = Some("at+jwt".into());
    let token = jsonwebtoken::encode(&header, &claims, &signer.key).map_err(|e| {
        tracing::error!(error = %e, "token: signing failed");
        OAuthError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "retry later",
        )
    })?;
    tracing::info!(client_id = %client.id, scope = %scope, "token issued");
    let mut resp = Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "scope": scope,
    }))
    .into_response();
    forbid_storing(resp.headers_mut());
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

/// `GET /.well-known/jwks.json`.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "oauth",
    responses((status = 200, description = "The token signing keys.", body = Jwks)))]
pub async fn jwks(State(ctx): State<Arc<AppContext>>) -> Response {
    let mut resp = Json(ctx.jwt.jwks().await).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}

/// `GET /.well-known/oauth-authorization-server`.
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    responses((status = 200, description = "RFC 8414 metadata.", body = ServerMetadata)))]
pub async fn metadata(
    State(ctx): State<Arc<AppContext>>,
    headers: HeaderMap,
) -> Json<serde_json::Value> {
    let iss = &ctx.issuer(&headers);
    Json(json!({
        "issuer": iss,
        "token_endpoint": format!("{iss}/oauth/token"),
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": Scope::ALL.map(|s| s.as_str()),
        "response_types_supported": ["token"],
        "service_documentation": format!("{iss}/docs"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(value: &str) -> Result<Option<(String, String)>, BasicCredentialsError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(value).expect("header"),
        );
        basic_credentials(&headers)
    }

    #[test]
    fn basic_credentials_are_decoded_or_say_what_is_wrong() {
        let pair = |id: &str, secret: &str| Some((id.to_string(), secret.to_string()));
        assert_eq!(
            basic(&format!("Basic {}", STANDARD.encode("cli%3A1:s%2Bx"))),
            Ok(pair("cli:1", "s+x"))
        );
        assert_eq!(basic_credentials(&HeaderMap::new()), Ok(None));
        assert_eq!(basic("Bearer abc"), Ok(None), "another scheme");
        assert_eq!(
            basic("Basic cli_1:hunter2"),
            Err(BasicCredentialsError::NotBase64)
        );
        assert!(matches!(
            basic(&format!("Basic {}", STANDARD.encode([0xff, b':', b'x']))),
            Err(BasicCredentialsError::NotUtf8(_))
        ));
        assert_eq!(
            basic(&format!("Basic {}", STANDARD.encode("no-colon"))),
            Err(BasicCredentialsError::NoSeparator)
        );
    }

    #[test]
    fn malformed_basic_credentials_quote_nothing_of_them() {
        for value in [
            "Basic hunter2!!",
            &format!("Basic {}", STANDARD.encode("hunter2")),
        ] {
            let err = basic(value).expect_err("malformed");
            let text = format!("{err} {err:?}");
            assert!(
                !text.contains("hunter2") && !text.contains("aHVudGVy"),
                "{text}"
            );
        }
    }
}
