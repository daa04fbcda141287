//! Moving messages between queues through the port alone: how a dead-letter queue is
//! replayed where SQS's `StartMessageMoveTask` is missing (moto) or not wanted.

use std::time::Duration;

use hookline_ports::{PortError, Queue, QueueMessage, QueueName};

use super::BATCH_ENTRIES;

/// Moves up to `max` messages from one queue to another (a dead-letter queue back to its
/// source, for a replay) by receive, send and delete — the portable form of SQS's
/// `StartMessageMoveTask`, which moto lacks. Sent before deleted, so a crash duplicates rather
/// than loses; a moved message is new to `to` (its next receive counts 1). Returns how many
/// moved (0 when `from` is `to`).
pub async fn redrive(
    queue: &dyn Queue,
    from: QueueName,
    to: QueueName,
    max: usize,
) -> Result<usize, PortError> {
    // Long enough to send and delete a batch before it shows again.
    const HOLD: Duration = Duration::from_secs(30);
    // A short long-poll: SQS's short poll may miss messages on some of its servers.
    const WAIT: Duration = Duration::from_secs(1);
    if from == to {
        return Ok(0);
    }
    let mut moved = 0;
    while moved < max {
        let batch = queue
            .receive(from, (max - moved).min(BATCH_ENTRIES), WAIT, HOLD)
            .await?;
        if batch.is_empty() {
            break;
        }
        let copies = batch
            .iter()
            .map(|m| QueueMessage::now(m.body.clone()))
            .collect();
        queue.send(to, copies).await?;
        moved += batch.len();
        let handles = batch.into_iter().map(|m| m.receipt_handle).collect();
        queue.delete(from, handles).await?;
    }
    Ok(moved)
}
