//! SDK errors as `PortError::Backend`: the operation, the error kind and the service's error
//! code and message, never the request (which holds item contents) or a debug dump. The SDK
//! error itself is kept as the cause.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use hookline_ports::PortError;

/// A failed SDK call as a backend error.
pub(crate) fn backend<E, R>(op: &str, err: SdkError<E, R>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let kind = match err {
        SdkError::ConstructionFailure(_) => "request construction failed",
        SdkError::TimeoutError(_) => "timed out",
        SdkError::DispatchFailure(_) => "dispatch failed",
        SdkError::ResponseError(_) => "unreadable response",
        SdkError::ServiceError(_) => "service error",
        _ => "error",
    };
    let code = err.code().unwrap_or("-");
    let message = err.message().unwrap_or("");
    let summary = format!("dynamodb {op}: {kind} ({code}) {message}");
    PortError::backend_caused_by(summary, err)
}

/// A request that the SDK refused to build (a missing required field: a bug, not input).
pub(crate) fn build(op: &str, err: aws_sdk_dynamodb::error::BuildError) -> PortError {
    PortError::backend_caused_by(format!("dynamodb {op}: request not built: {err}"), err)
}

/// A stored item that does not decode (bad JSON body, missing attribute).
pub(crate) fn corrupt(op: &str, what: &str) -> PortError {
    PortError::backend(format!("dynamodb {op}: stored item unreadable: {what}"))
}
