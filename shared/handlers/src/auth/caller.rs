//! The authenticated caller of a `/v1` route: bearer token verified, client still enabled.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use hookline_domain::{Client, ClientId, Scope};
use jsonwebtoken::{Algorithm, Validation};

use crate::auth::token::{AUDIENCE, Claims};
use crate::context::AppContext;
use crate::limits::Rate;
use crate::problem::{ApiError, ApiResult};

/// Who is calling, and with which granted scopes.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The client, as currently stored (cached for at most the client cache TTL).
    pub client: Client,
    /// Scopes granted to this token.
    pub scopes: Vec<Scope>,
}

impl Caller {
    /// Whether the token carries admin scope.
    pub fn is_admin(&self) -> bool {
        self.scopes.contains(&Scope::Admin)
    }

    /// 403 unless the token carries `scope` (admin carries every scope).
    pub fn require(&self, scope: Scope) -> ApiResult<()> {
        if self.is_admin() || self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this token lacks the '{}' scope",
                scope.as_str()
            )))
        }
    }

    /// 403 unless the token carries one of `scopes` (admin carries every scope).
    pub fn require_any(&self, scopes: &[Scope]) -> ApiResult<()> {
        if self.is_admin() || scopes.iter().any(|s| self.scopes.contains(s)) {
            return Ok(());
        }
        let names: Vec<String> = scopes.iter().map(|s| format!("'{}'", s.as_str())).collect();
        Err(ApiError::forbidden(format!(
            "this token lacks the {} scope",
            names.join(" or ")
        )))
    }

    /// Whether the caller may see or act on something owned by `client_id`.
    pub fn owns(&self, client_id: &ClientId) -> bool {
        self.is_admin() || self.client.id == *client_id
    }

    /// Counts `cost` requests against the client's rate (a batch publish costs one per
    /// event; the extractor has already counted one): 429 once the client is past it.
    pub fn charge(&self, ctx: &AppContext, cost: u32) -> ApiResult<()> {
        let limits = ctx.limits_of(&self.client);
        let Some(rate) = Rate::new(
            limits.requests_per_second,
            Duration::from_secs(1),
            limits.burst,
        ) else {
            return Ok(());
        };
        ctx.rates.take(&self.client.id, cost, rate).map_err(|wait| {
            ApiError::rate_limited(
                format!(
                    "this client may make {} requests per second (bursts of {}); retry later",
                    limits.requests_per_second, limits.burst
                ),
                wait,
            )
        })
    }

    /// Counts a test ping against the client's pings per minute: 429 once past it.
    pub fn charge_test_ping(&self, ctx: &AppContext) -> ApiResult<()> {
        let per_minute = ctx.limits_of(&self.client).test_pings_per_minute;
        let Some(rate) = Rate::new(per_minute, Duration::from_secs(60), per_minute) else {
            return Ok(());
        };
        let key = format!("test-ping:{}", self.client.id);
        ctx.rates.take(&key, 1, rate).map_err(|wait| {
            ApiError::rate_limited(
                format!("this client may send {per_minute} test pings per minute"),
                wait,
            )
        })
    }

    /// Whether the caller may publish or read events of `state`.
    pub fn allows_state(&self, state: &str) -> bool {
        self.is_admin() || self.client.allows_state(state)
    }
}

impl FromRequestParts<Arc<AppContext>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &Arc<AppContext>,
    ) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::unauthorized("a bearer token is required"))?;
        let token = match value.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
            _ => return Err(ApiError::unauthorized("a bearer token is required")),
        };
        let issuer = ctx.issuer(&parts.headers);
        let now = ctx.clock.now().unix_timestamp();
        let claims = match ctx.tokens.get(token, &issuer, now) {
            Some(claims) => claims,
            None => {
                let claims = verify(ctx, token, &issuer).await?;
                ctx.tokens.insert(token, &issuer, &claims, now);
                claims
            }
        };
        let client = match ctx.client(&claims.sub).await {
            Ok(Some(c)) if !c.disabled => c,
            Ok(_) => {
                return Err(ApiError::unauthorized(
                    "the token's client is disabled or deleted",
                ));
            }
            Err(e) => return Err(ApiError::unavailable(&e)),
        };
        let scopes = claims
            .scope
            .split_ascii_whitespace()
            .filter_map(Scope::parse)
            .filter(|s| client.scopes.contains(s))
            .collect();
        let caller = Caller { client, scopes };
        caller.charge(ctx, 1)?;
        Ok(caller)
    }
}

/// Verifies signature, issuer, audience and expiry of an access token.
async fn verify(ctx: &AppContext, token: &str, issuer: &str) -> ApiResult<Claims> {
    let invalid = || ApiError::unauthorized("the bearer token is invalid or expired");
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid())?;
    if header.alg != Algorithm::ES256 {
        return Err(invalid());
    }
    let kid = header.kid.as_deref().ok_or_else(invalid)?;
    let key = ctx.jwt.decoding_key(kid).await.ok_or_else(invalid)?;
    let mut v = Validation::new(Algorithm::ES256);
    v.set_issuer(&[issuer]);
    v.set_audience(&[AUDIENCE]);
    v.leeway = 5;
    jsonwebtoken::decode::<Claims>(token, &key, &v)
        .map(|d| d.claims)
        .map_err(|_| invalid())
}
