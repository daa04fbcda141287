//! Why one event message of a fan-out failed: the queue retries it (a retry creates nothing
//! twice).

use hookline_ports::PortError;

/// Why the deliveries of one event message could not be made, stored or queued.
#[derive(Debug, thiserror::Error)]
pub enum FanoutError {
    /// The message body is not an event message.
    #[error("malformed message")]
    MalformedMessage(#[source] serde_json::Error),
    /// The message names an event the store does not hold.
    #[error("unknown event {0}")]
    UnknownEvent(String),
    /// The event could not be read.
    #[error("{0}")]
    ReadEvent(#[source] PortError),
    /// The deliveries could not be stored, or the stored ones looked up.
    #[error("{0}")]
    Store(#[source] PortError),
    /// The deliveries' messages could not be queued.
    #[error("{0}")]
    Queue(#[source] PortError),
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::event::sqs::SqsMessage;

    use super::*;
    use crate::fanout::event_message;

    fn record(body: Option<&str>) -> SqsMessage {
        let mut r = SqsMessage::default();
        r.body = body.map(str::to_string);
        r
    }

    #[test]
    fn a_record_without_an_event_message_is_malformed() {
        for body in [None, Some(""), Some("{\"after\": 3}"), Some("not json")] {
            let err = event_message(&record(body)).expect_err("malformed");
            assert!(
                matches!(err, FanoutError::MalformedMessage(_)),
                "{body:?}: {err:?}"
            );
            assert_eq!(err.to_string(), "malformed message");
        }
        assert!(event_message(&record(Some(r#"{"event_id": "evt_1"}"#))).is_ok());
    }

    #[test]
    fn an_unknown_event_is_named() {
        assert_eq!(
            FanoutError::UnknownEvent("evt_1".into()).to_string(),
            "unknown event evt_1"
        );
    }
}
