//! The error responses of the OpenAPI document, written once as `components/responses` and
//! referenced by every operation that can answer them: each is an RFC 9457 problem
//! (`problem.rs`) with the status's own codes and headers.
//!
//! [`CommonResponses`] adds what every authenticated operation can answer, whatever it does:
//! 401 (the `Caller` extractor), 429 (the per-client rate limit) and 503 (the backend). The
//! rest (400, 403, 404, 409, 413, 422) each operation lists in its own annotation.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{Content, OpenApi, Ref, RefOr, Response, ResponseBuilder, Schema};
use utoipa::{Modify, PartialSchema, ToResponse, ToSchema};

/// Content type of every problem response.
const PROBLEM_JSON: &str = crate::problem::PROBLEM_JSON;

/// An RFC 9457 problem body, as `problem::problem_response` renders it.
pub struct Problem;

impl ToSchema for Problem {}

impl PartialSchema for Problem {
    fn schema() -> RefOr<Schema> {
        let text = || ObjectBuilder::new().schema_type(Type::String);
        let field_error = ObjectBuilder::new()
            .property(
                "field",
                text().description(Some("Path of the field (`url`, `events[3].state`).")),
            )
            .property(
                "message",
                text().description(Some("What is wrong with it.")),
            )
            .property(
                "line",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .description(Some(
                        "Line of the field's text (a `template`'s error), when known.",
                    )),
            )
            .required("field")
            .required("message");
        ObjectBuilder::new()
            .description(Some("An RFC 9457 problem."))
            .property(
                "type",
                text().description(Some("`urn:hookline:problem:<code>`")),
            )
            .property(
                "title",
                text().description(Some("The status's reason phrase.")),
            )
            .property(
                "status",
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(400))
                    .maximum(Some(599)),
            )
            .property(
                "detail",
                text().description(Some("What went wrong (never a secret).")),
            )
            .property(
                "code",
                text()
                    .description(Some("Stable snake_case code; each response lists its own."))
                    .enum_values(Some(crate::problem::CODES)),
            )
            .property(
                "errors",
                ArrayBuilder::new()
                    .items(field_error)
                    .description(Some("One entry per invalid field.")),
            )
            .required("type")
            .required("title")
            .required("status")
            .required("detail")
            .required("code")
            .into()
    }
}

/// A problem response with `description`.
fn problem(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        Content::new(Some(Ref::from_schema_name("Problem"))),
    )
}

/// A header of `type_` that the response always carries.
fn header(type_: Type, description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(type_)))
        .description(Some(format!("{description} Always sent.")))
        .build()
}

macro_rules! problem_responses {
    ($($name:ident: $description:expr $(, $header:expr)?;)+) => {
        $(
            #[doc = $description]
            pub struct $name;

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    #[allow(unused_mut)]
                    let mut r = problem($description);
                    $( let (name, h) = $header; r = r.header(name, h); )?
                    (stringify!($name), r.build().into())
                }
            }
        )+
    };
}

problem_responses! {
    BadRequest: "The request is malformed or a field is invalid (`invalid_request`, `unknown_event_type`, `invalid_destination`); `errors` lists the fields.";
    Unauthorized: "The bearer token is missing, invalid or expired, or its client is disabled or deleted (`unauthorized`).",
        ("WWW-Authenticate", header(Type::String, "`Bearer`."));
    Forbidden: "The token lacks the operation's scope, or a state is not the client's or not this stack's (`forbidden`).";
    NotFound: "No such resource, or one the caller may not see (`not_found`).";
    Conflict: "The resource is not in a state that allows this (`conflict`).";
    PayloadTooLarge: "The request body is larger than the operation accepts (`payload_too_large`).";
    UnsupportedMediaType: "The body is not of a kind the operation reads (`unsupported_media_type`): an import takes a CSV file or an XLSX workbook.";
    Unprocessable: "The request is well-formed but cannot be carried out: an event's `data` (or an event type's `example`) does not match its type's schema (`schema_mismatch`), a subscription's `template` does not parse or render JSON (`invalid_template`, with the template's `line`), its `retry` schedule is outside the stack's limits (`invalid_retry_schedule`), a credential is given in `headers` instead of `auth` (`credential_in_headers`), a quota is used up (`quota_exceeded`), or a manufacturer's fields are invalid (`invalid_request`, every bad field in `errors`).";
    InvalidField: "A field of the body is not a valid value (`invalid_request`), such as a reference outside `^[0-9a-zA-Z\\-_,.;:|]+$`; `errors` names the field. Or a quota is used up (`quota_exceeded`).";
    RateLimited: "The client sent too many requests (`rate_limited`); retry after `Retry-After` seconds.",
        ("Retry-After", header(Type::Integer, "Seconds to wait before retrying."));
    Unavailable: "The service could not reach its storage or queues (`backend_unavailable`); retry later.";
}

/// Adds 401, 429 and 503 to every operation that takes a bearer token.
pub struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        let common: [(&str, &str); 3] = [
            ("401", Unauthorized::response().0),
            ("429", RateLimited::response().0),
            ("503", Unavailable::response().0),
        ];
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let authenticated = op.security.as_ref().is_some_and(|s| !s.is_empty());
                if !authenticated {
                    continue;
                }
                for (status, name) in common {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| Ref::from_response_name(name).into());
                }
            }
        }
    }
}
