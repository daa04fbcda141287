//! Queueing deliveries for an attempt now: what fan-out, the manual retry, replay and the test
//! ping share. The delivery handler only ever receives these messages (and re-queues one it
//! cannot keep waiting in the queue).

use hookline_ports::{PortError, QueueMessage, QueueName, QueueSender};

use crate::messages::{DeliveryMessage, to_body};

/// Queues these delivery messages for an attempt now (fan-out sends new deliveries whole).
pub async fn enqueue_messages(
    queue: &dyn QueueSender,
    messages: &[DeliveryMessage],
) -> Result<(), PortError> {
    if messages.is_empty() {
        return Ok(());
    }
    let msgs = messages
        .iter()
        .map(|m| QueueMessage::now(to_body(m)))
        .collect();
    queue.send(QueueName::Deliveries, msgs).await
}
