//! The stack's four queues as data — names, retention, visibility and which dead-letter queue
//! each source queue redrives to — and their creation on an emulator. A test compares
//! [`QUEUES`] with `template.yaml`, so the template and the tests cannot drift apart.

use aws_sdk_sqs::types::QueueAttributeName;
use hookline_ports::{PortError, QueueName};

use crate::sqs::{QueueUrls, sdk_error};

/// 14 days, SQS's maximum, on every queue: a dead letter waits for an operator, and a delivery
/// on a long retry schedule must not expire in its source queue before its last attempt.
pub const RETENTION_SECS: u32 = 1_209_600;

/// The events queue's visibility timeout: six times the fan-out function's 30 s timeout, as
/// Lambda's SQS integration asks (as in `template.yaml`).
pub const EVENTS_VISIBILITY_SECS: u32 = 180;

/// The deliveries queue's visibility timeout: six times the deliver function's 45 s timeout;
/// retries then set their own visibility with `ChangeMessageVisibility`.
pub const DELIVERIES_VISIBILITY_SECS: u32 = 270;

/// How one queue is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDefinition {
    /// Which queue.
    pub queue: QueueName,
    /// `MessageRetentionPeriod` in seconds; `None` keeps SQS's default (4 days).
    pub retention_secs: Option<u32>,
    /// `VisibilityTimeout` in seconds; `None` keeps SQS's default (30 s).
    pub visibility_timeout_secs: Option<u32>,
    /// The dead-letter queue its `RedrivePolicy` names, for a source queue.
    pub dead_letter: Option<QueueName>,
}

impl QueueDefinition {
    /// The name's suffix after `<prefix>-` (`events`, `events-dlq`, …).
    pub fn suffix(&self) -> &'static str {
        self.queue.as_str()
    }

    /// The queue's name in the stack whose names start with `prefix`.
    pub fn name(&self, prefix: &str) -> String {
        format!("{prefix}-{}", self.suffix())
    }
}

/// The four queues, dead-letter queues first: a source queue's redrive policy names its
/// dead-letter queue's ARN, so that queue must exist before it.
pub const QUEUES: [QueueDefinition; 4] = [
    QueueDefinition {
        queue: QueueName::EventsDlq,
        retention_secs: Some(RETENTION_SECS),
        visibility_timeout_secs: None,
        dead_letter: None,
    },
    QueueDefinition {
        queue: QueueName::DeliveriesDlq,
        retention_secs: Some(RETENTION_SECS),
        visibility_timeout_secs: None,
        dead_letter: None,
    },
    QueueDefinition {
        queue: QueueName::Events,
        retention_secs: Some(RETENTION_SECS),
        visibility_timeout_secs: Some(EVENTS_VISIBILITY_SECS),
        dead_letter: Some(QueueName::EventsDlq),
    },
    QueueDefinition {
        queue: QueueName::Deliveries,
        retention_secs: Some(RETENTION_SECS),
        visibility_timeout_secs: Some(DELIVERIES_VISIBILITY_SECS),
        dead_letter: Some(QueueName::DeliveriesDlq),
    },
];

/// The `RedrivePolicy` attribute of a source queue.
pub fn redrive_policy(dead_letter_arn: &str, max_receive_count: u32) -> String {
    serde_json::json!({
        "deadLetterTargetArn": dead_letter_arn,
        "maxReceiveCount": max_receive_count,
    })
    .to_string()
}

/// Creates the four queues `<prefix>-events`, `<prefix>-events-dlq`, `<prefix>-deliveries`
/// and `<prefix>-deliveries-dlq` (again with the same settings is a no-op, as `CreateQueue`
/// is) and returns their URLs. A source queue's message goes to its dead-letter queue on the
/// receive after its `max_receives_*`-th.
pub async fn create_queues(
    client: &aws_sdk_sqs::Client,
    prefix: &str,
    max_receives_events: u32,
    max_receives_deliveries: u32,
) -> Result<QueueUrls, PortError> {
    // (queue, url, arn)
    let mut created: Vec<(QueueName, String, Option<String>)> = Vec::new();
    for def in QUEUES {
        let name = def.name(prefix);
        let mut request = client.create_queue().queue_name(&name);
        if let Some(secs) = def.retention_secs {
            request =
                request.attributes(QueueAttributeName::MessageRetentionPeriod, secs.to_string());
        }
        if let Some(secs) = def.visibility_timeout_secs {
            request = request.attributes(QueueAttributeName::VisibilityTimeout, secs.to_string());
        }
        if let Some(dlq) = def.dead_letter {
            let arn = created
                .iter()
                .find(|(q, _, _)| *q == dlq)
                .and_then(|(_, _, arn)| arn.as_deref())
                .ok_or_else(|| {
                    PortError::backend(format!("create {name}: {} not created first", dlq.as_str()))
                })?;
            let max_receives = match def.queue {
                QueueName::Events => max_receives_events,
                _ => max_receives_deliveries,
            };
            request = request.attributes(
                QueueAttributeName::RedrivePolicy,
                redrive_policy(arn, max_receives),
            );
        }
        let url = request
            .send()
            .await
            .map_err(|e| sdk_error(&format!("create {name}"), e))?
            .queue_url
            .ok_or_else(|| PortError::backend(format!("create {name}: no queue URL")))?;
        let is_dead_letter = QUEUES.iter().any(|d| d.dead_letter == Some(def.queue));
        let arn = if is_dead_letter {
            Some(queue_arn(client, &name, &url).await?)
        } else {
            None
        };
        created.push((def.queue, url, arn));
    }
    let url = |queue: QueueName| {
        created
            .iter()
            .find(|(q, _, _)| *q == queue)
            .map(|(_, url, _)| url.clone())
            .ok_or_else(|| PortError::backend(format!("{} was not created", queue.as_str())))
    };
    Ok(QueueUrls {
        events: url(QueueName::Events)?,
        events_dlq: url(QueueName::EventsDlq)?,
        deliveries: url(QueueName::Deliveries)?,
        deliveries_dlq: url(QueueName::DeliveriesDlq)?,
    })
}

/// The ARN of a queue, which a redrive policy needs and `CreateQueue` does not return.
async fn queue_arn(
    client: &aws_sdk_sqs::Client,
    name: &str,
    url: &str,
) -> Result<String, PortError> {
    let out = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("ARN of {name}"), e))?;
    out.attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| PortError::backend(format!("ARN of {name}: not returned")))
}
