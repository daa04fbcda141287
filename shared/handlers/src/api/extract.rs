//! Request extractors that answer with problem+json instead of axum's plain-text rejections.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use hookline_domain::ClientId;
use hookline_domain::ids::RequestId;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use crate::auth::Caller;
use crate::problem::ApiError;

/// Largest JSON body of the management routes.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// Reads the body up to `limit` bytes; larger bodies are 413 `payload_too_large`.
pub async fn read_body(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body exceeds {limit} bytes"),
            )
        })
}

/// Parses JSON, mapping the parser's message into a 400 `invalid_request`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request("a JSON request body is required"));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("request body: {e}")))
}

/// Parses a JSON object body. Every request body of the API is an object, and serde would
/// otherwise accept an array for a struct (`[]` as an all-defaults `EventTypeInput`).
pub fn parse_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{') {
        return Err(ApiError::bad_request("request body: must be a JSON object"));
    }
    parse_json(bytes)
}

/// A JSON body of at most `MAX_JSON_BODY` bytes.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, MAX_JSON_BODY).await?;
        parse_object(&bytes).map(JsonBody)
    }
}

/// An optional JSON body: no body at all is the default. A body of only whitespace is not
/// JSON (RFC 8259 needs a value), so it is a 400 like any other unparsable body.
pub struct OptionalJsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Default> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, MAX_JSON_BODY).await?;
        if bytes.is_empty() {
            return Ok(OptionalJsonBody(T::default()));
        }
        parse_object(&bytes).map(OptionalJsonBody)
    }
}

/// The `{id}` of a by-id route, parsed as the id of its resource (`IdPath<SubscriptionId>`).
/// An id of the wrong shape or length (another resource's, too long for a DynamoDB key,
/// characters no id has) names nothing: the 404 of a missing resource, and no backend ever
/// sees it.
pub struct IdPath<T>(pub T);

impl<S: Send + Sync, T: RequestId> FromRequestParts<S> for IdPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(id) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::not_found(T::RESOURCE))?;
        T::parse_request(&id)
            .map(IdPath)
            .ok_or_else(|| ApiError::not_found(T::RESOURCE))
    }
}

/// The `{id}` of a by-id route, as the document declares it: the shape [`IdPath`] lets
/// through for `T`.
pub struct IdParam<T>(PhantomData<T>);

impl<T: RequestId> IntoParams for IdParam<T> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(T::PATTERN));
        vec![
            ParameterBuilder::new()
                .name("id")
                .parameter_in(ParameterIn::Path)
                .description(Some(format!(
                    "The resource's id: {}. Any other text is a 404.",
                    T::SHAPE
                )))
                .required(Required::True)
                .schema(Some(schema))
                .build(),
        ]
    }
}

/// An id given as a filter (`?event_id=`): one of the wrong shape cannot exist, and is a 400.
pub fn id_param<T: RequestId>(name: &str, value: &str) -> Result<T, ApiError> {
    T::parse_request(value)
        .ok_or_else(|| ApiError::bad_request(format!("{name}: not {} ({})", T::NAME, T::SHAPE)))
}

/// Query parameters, with a problem+json rejection.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or("");
        serde_urlencoded::from_str(q)
            .map(QueryParams)
            .map_err(|e| ApiError::bad_request(format!("query: {e}")))
    }
}

/// `cursor` and `limit` of a list call.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Opaque cursor from the previous page's `next_cursor`; empty is the first page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

impl PageParams {
    /// The cursor, if one was given (an empty `cursor=` asks for the first page).
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref().filter(|c| !c.is_empty())
    }

    /// The validated page size.
    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.limit.as_deref() {
            // `limit=` is not a number: refused, as the document says (an integer).
            None => Ok(50),
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => Ok(n),
                _ => Err(ApiError::bad_request(
                    "limit: must be an integer between 1 and 100",
                )),
            },
        }
    }
}

/// `?client_id=` (an admin's only) plus paging: the list of a client's own resources
/// (subscriptions, connections).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OwnedListParams {
    /// Admin only: one client's (ignored for other callers).
    #[param(pattern = r"^[A-Za-z0-9_.\-]{1,128}$")]
    pub client_id: Option<String>,
    /// Opaque cursor from the previous page's `next_cursor`; empty is the first page.
    pub cursor: Option<String>,
    /// Page size, 1–100 (default 50).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

impl OwnedListParams {
    /// The client whose resources `caller` lists (an admin: the one asked for, or every
    /// client's; anyone else: its own), and the page. `client_id` is checked for every
    /// caller, though only an admin's is used: the same request is valid or not whoever
    /// sends it.
    pub fn owner_and_page(
        self,
        caller: &Caller,
    ) -> Result<(Option<ClientId>, PageParams), ApiError> {
        let asked = self
            .client_id
            .as_deref()
            .map(|c| id_param::<ClientId>("client_id", c))
            .transpose()?;
        let owner = if caller.is_admin() {
            asked
        } else {
            Some(caller.client.id.clone())
        };
        let page = PageParams {
            cursor: self.cursor,
            limit: self.limit,
        };
        Ok((owner, page))
    }
}

#[cfg(test)]
mod tests {
    use hookline_domain::{ClientId, EventId, SubscriptionId};

    use super::*;

    /// The `pattern` the document declares for the query parameter `name` of `P`.
    fn query_pattern<P: IntoParams>(name: &str) -> serde_json::Value {
        let param = P::into_params(|| None)
            .into_iter()
            .find(|p| p.name == name)
            .expect("the parameter");
        serde_json::to_value(param).expect("json")["schema"]["pattern"].clone()
    }

    #[derive(Debug, Default, Deserialize, PartialEq)]
    struct Options {
        #[serde(default)]
        reason: Option<String>,
    }

    async fn optional_body(body: &'static [u8]) -> Result<Options, ApiError> {
        let req = Request::new(axum::body::Body::from(body));
        OptionalJsonBody::<Options>::from_request(req, &())
            .await
            .map(|OptionalJsonBody(v)| v)
    }

    #[tokio::test]
    async fn an_optional_body_is_absent_only_when_empty() {
        assert_eq!(optional_body(b"").await.expect("empty"), Options::default());
        let given = optional_body(b" {\"reason\": \"x\"}\n")
            .await
            .expect("object");
        assert_eq!(given.reason.as_deref(), Some("x"));
        for body in [&b"\r"[..], b" ", b"\n\t", b"[]", b"null"] {
            let err = optional_body(body).await.expect_err("not a JSON object");
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{body:?}");
        }
    }

    #[test]
    fn the_id_filters_declare_the_shapes_their_handlers_parse() {
        use crate::api::{deliveries, subscriptions};
        let declared = [
            (
                query_pattern::<deliveries::ListParams>("subscription_id"),
                SubscriptionId::PATTERN,
            ),
            (
                query_pattern::<deliveries::ListParams>("event_id"),
                EventId::PATTERN,
            ),
            (
                query_pattern::<subscriptions::ListParams>("client_id"),
                ClientId::PATTERN,
            ),
        ];
        for (got, want) in declared {
            assert_eq!(got, want);
        }
    }
}
