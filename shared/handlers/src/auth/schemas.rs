//! The OAuth endpoints' bodies, described for the OpenAPI document. The handlers in
//! [`super::token`] read and write these shapes with `serde_json::json!` and a private form
//! type; these types only describe them (a generated client needs typed bodies), and the
//! drift test plus `infra/scripts/fuzz.sh` hold the two together.

#![allow(dead_code)]

use serde::Deserialize;
use utoipa::ToSchema;

/// The client-credentials grant (RFC 6749 §4.4), as a form or as JSON. The client's id and
/// secret go here (`client_secret_post`) or in an `Authorization: Basic` header
/// (`client_secret_basic`), not both.
#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// Always `client_credentials`.
    #[schema(example = "client_credentials")]
    grant_type: GrantType,
    /// Space-separated scopes to grant (default: all of the client's).
    #[schema(example = "events:write subscriptions:write")]
    scope: Option<String>,
    /// The client's id (`client_secret_post`).
    #[schema(example = "cl_01JD0000000000000000000000")]
    client_id: Option<String>,
    /// The client's secret (`client_secret_post`).
    #[schema(format = Password)]
    client_secret: Option<String>,
}

/// The only grant this server issues tokens for.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// RFC 6749 §4.4.
    ClientCredentials,
}

/// An access token (RFC 6749 §5.1): an ES256 JWT (RFC 9068) to send as `Authorization:
/// Bearer`. Responses carry `Cache-Control: no-store`.
#[derive(Deserialize, ToSchema)]
pub struct TokenResponse {
    /// The JWT.
    access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    token_type: String,
    /// Seconds until it expires.
    #[schema(example = 900)]
    expires_in: u64,
    /// The granted scopes, space-separated.
    #[schema(example = "events:write subscriptions:read subscriptions:write")]
    scope: String,
}

/// An OAuth error (RFC 6749 §5.2); not problem+json.
#[derive(Deserialize, ToSchema)]
pub struct OAuthErrorBody {
    /// What went wrong.
    error: OAuthErrorCode,
    /// A sentence for the developer (never a secret).
    error_description: String,
}

/// The error codes the token endpoint answers with.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    /// 400: a malformed body, or no `grant_type`.
    InvalidRequest,
    /// 401: unknown or disabled client, or a wrong secret.
    InvalidClient,
    /// 400: a grant type other than `client_credentials`.
    UnsupportedGrantType,
    /// 400: a scope that is unknown or not granted to the client.
    InvalidScope,
    /// 503: the store or the signing key is not available; retry later.
    TemporarilyUnavailable,
}

/// The public signing keys (RFC 7517).
#[derive(Deserialize, ToSchema)]
pub struct Jwks {
    /// Current and next keys; verify a token with the one its `kid` names.
    keys: Vec<Jwk>,
}

/// One P-256 public key.
#[derive(Deserialize, ToSchema)]
pub struct Jwk {
    /// `EC`.
    kty: String,
    /// `P-256`.
    crv: String,
    /// The x coordinate (base64url).
    x: String,
    /// The y coordinate (base64url).
    y: String,
    /// Key id, as in a token's header.
    kid: String,
    /// `ES256`.
    alg: String,
    /// `sig`.
    #[serde(rename = "use")]
    key_use: String,
}

/// Authorization-server metadata (RFC 8414).
#[derive(Deserialize, ToSchema)]
pub struct ServerMetadata {
    /// The tokens' `iss`.
    issuer: String,
    /// `POST` here for a token.
    token_endpoint: String,
    /// The signing keys.
    jwks_uri: String,
    /// `["client_credentials"]`.
    grant_types_supported: Vec<String>,
    /// `client_secret_basic` and `client_secret_post`.
    token_endpoint_auth_methods_supported: Vec<String>,
    /// Every scope a client can be granted.
    scopes_supported: Vec<String>,
    /// `["token"]`.
    response_types_supported: Vec<String>,
    /// The API's documentation page.
    service_documentation: String,
}
