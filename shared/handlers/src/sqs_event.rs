//! The SQS handlers' input: what Lambda's event source mapping passes them. Wherever there is
//! no Lambda (the local runner's pollers, the tests), messages received through the queue port
//! are turned into that same event here, so that the handlers see one shape everywhere.

use std::collections::HashMap;

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use hookline_ports::{QueueName, ReceivedMessage};

/// Turns received messages into the event Lambda would pass.
pub fn to_sqs_event(queue: QueueName, messages: &[ReceivedMessage]) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| to_sqs_message(queue, m.clone()))
        .collect();
    event
}

/// One received message as Lambda would pass it.
pub fn to_sqs_message(queue: QueueName, m: ReceivedMessage) -> SqsMessage {
    let mut r = SqsMessage::default();
    let mut attrs = HashMap::with_capacity(2);
    attrs.insert(
        "ApproximateReceiveCount".to_string(),
        m.receive_count.to_string(),
    );
    attrs.insert("SentTimestamp".to_string(), m.sent_at_ms.to_string());
    r.attributes = attrs;
    r.message_id = Some(m.message_id);
    r.receipt_handle = Some(m.receipt_handle);
    r.body = Some(m.body);
    r.event_source = Some("aws:sqs".into());
    r.event_source_arn = Some(format!("arn:aws:sqs:local:000000000000:{}", queue.as_str()));
    r
}
