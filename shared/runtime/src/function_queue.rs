//! The queue port of a deployed function: only the sending half, as its IAM policy allows.

use std::time::Duration;

use async_trait::async_trait;
use hookline_aws::SqsQueue;
use hookline_ports::{PortError, QueueMessage, QueueName, QueueSender};

/// The sending half of the queue port of a deployed function
/// ([`QueueAccess`](crate::QueueAccess)): sends and visibility changes go to SQS if the
/// function may send, and fail without calling SQS if it has no queue access (the token
/// function). Receiving, deleting and counting are the event source mapping's job (and outside
/// every function's IAM policy): not offered at all.
#[derive(Debug)]
pub struct FunctionQueue {
    sqs: Option<SqsQueue>,
}

impl FunctionQueue {
    /// A function's queue port: sends and visibility changes through `sqs`, if it has one.
    pub fn new(sqs: Option<SqsQueue>) -> FunctionQueue {
        FunctionQueue { sqs }
    }

    fn sender(&self) -> Result<&SqsQueue, PortError> {
        self.sqs
            .as_ref()
            .ok_or_else(|| PortError::backend("this function has no queue access"))
    }
}

#[async_trait]
impl QueueSender for FunctionQueue {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        self.sender()?.send(queue, messages).await
    }

    async fn change_visibility(
        &self,
        queue: QueueName,
        receipt_handle: &str,
        visibility: Duration,
    ) -> Result<(), PortError> {
        self.sender()?
            .change_visibility(queue, receipt_handle, visibility)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hookline_aws::aws_sdk_sqs;
    use hookline_aws::sqs::QueueUrls;

    fn sqs() -> SqsQueue {
        // An endpoint nothing listens on: a call that reached SQS would fail differently.
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new("us-east-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let url = "http://127.0.0.1:9/q".to_string();
        SqsQueue::new(
            aws_sdk_sqs::Client::from_conf(config),
            QueueUrls {
                events: url.clone(),
                events_dlq: url.clone(),
                deliveries: url.clone(),
                deliveries_dlq: url,
            },
        )
    }

    fn message(e: PortError) -> String {
        e.to_string()
    }

    #[tokio::test]
    async fn a_function_without_queue_access_refuses_every_call() {
        let q = FunctionQueue { sqs: None };
        let msg = || vec![QueueMessage::now("{}".to_string())];
        for e in [
            q.send(QueueName::Events, msg()).await.err(),
            q.change_visibility(QueueName::Deliveries, "h", Duration::ZERO)
                .await
                .err(),
        ] {
            let e = message(e.expect("refused"));
            assert!(e.contains("has no queue access"), "{e}");
        }
    }

    #[tokio::test]
    async fn a_sending_function_sends_to_sqs() {
        let q = FunctionQueue { sqs: Some(sqs()) };
        // Sends do go to SQS (here: an endpoint that refuses the connection).
        let sent = q
            .send(QueueName::Events, vec![QueueMessage::now("{}".to_string())])
            .await
            .expect_err("nothing listens");
        assert!(!message(sent).contains("no queue access"));
    }
}
