//! SQS's errors as the port sees them: stale receipt handles are success, the rest a
//! `PortError::Backend` naming the operation and the error code, never a message body, and
//! keeping the SDK error as its cause.

use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata};
use hookline_ports::PortError;

/// Whether an SQS error only says that a receipt handle is stale: expired, of a message
/// deleted or received again since, or of a message no longer in flight.
pub(super) fn is_stale_handle(code: Option<&str>, message: Option<&str>) -> bool {
    let Some(code) = code else {
        return false;
    };
    // Query-compatible codes look like `AWS.SimpleQueueService.MessageNotInflight`.
    let code = code.rsplit(['.', '#']).next().unwrap_or(code);
    match code {
        "ReceiptHandleIsInvalid" | "InvalidReceiptHandle" | "MessageNotInflight" => true,
        // AWS reports an expired handle, or a message already gone, as a bad parameter.
        "InvalidParameterValue" => message.is_some_and(|m| {
            let m = m.to_ascii_lowercase();
            m.contains("receipthandle")
                || m.contains("receipt handle")
                || m.contains("does not exist or is not available")
        }),
        _ => false,
    }
}

/// A backend error naming the operation and SQS's error code (never a message body).
pub(crate) fn sdk_error<E>(what: &str, err: E) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let detail = match err.code() {
        Some(code) => format!("{code}: {}", err.message().unwrap_or("")),
        None => DisplayErrorContext(&err).to_string(),
    };
    PortError::backend_caused_by(format!("{what}: {detail}"), err)
}

#[cfg(test)]
mod tests {
    use super::is_stale_handle;

    #[test]
    fn only_receipt_handle_errors_are_stale() {
        assert!(is_stale_handle(Some("ReceiptHandleIsInvalid"), None));
        assert!(is_stale_handle(
            Some("AWS.SimpleQueueService.MessageNotInflight"),
            None
        ));
        let expired = "Value abc for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.";
        assert!(is_stale_handle(
            Some("InvalidParameterValue"),
            Some(expired)
        ));
        let limit = "Value 50000 for parameter VisibilityTimeout is invalid.";
        assert!(!is_stale_handle(Some("InvalidParameterValue"), Some(limit)));
        assert!(!is_stale_handle(Some("QueueDoesNotExist"), None));
        assert!(!is_stale_handle(None, None));
    }
}
