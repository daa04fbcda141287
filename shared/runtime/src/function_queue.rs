//! The queue port of a deployed function: only what its IAM policy allows.

use std::time::Duration;

use async_trait::async_trait;
use hookline_aws::SqsQueue;
use hookline_ports::{PortError, Queue, QueueMessage, QueueName, ReceivedMessage};

/// The queue port of a deployed function ([`QueueAccess`](crate::QueueAccess)): sends and visibility changes go
/// to SQS if the function may send; receiving, deleting and counting are the event source
/// mapping's job (and outside every function's IAM policy), so they fail without calling SQS.
#[derive(Debug)]
pub struct FunctionQueue {
    sqs: Option<SqsQueue>,
}

impl FunctionQueue {
    /// A function's queue port: sends and visibility changes through `sqs`, if it has one.
    pub fn new(sqs: Option<SqsQueue>) -> FunctionQueue {
        FunctionQueue { sqs }
    }

    fn refused(&self, what: &str) -> PortError {
        match self.sqs {
            None => PortError::Backend("this function has no queue access".into()),
            Some(_) => PortError::Backend(format!(
                "this function only sends to queues and cannot {what} (the event source mapping does)"
            )),
        }
    }

    fn sender(&self, what: &str) -> Result<&SqsQueue, PortError> {
        self.sqs.as_ref().ok_or_else(|| self.refused(what))
    }
}

#[async_trait]
impl Queue for FunctionQueue {
    async fn send(&self, queue: QueueName, messages: Vec<QueueMessage>) -> Result<(), PortError> {
        self.sender("send")?.send(queue, messages).await
    }

    async fn receive(
        &self,
        _: QueueName,
        _: usize,
        _: Duration,
        _: Duration,
    ) -> Result<Vec<ReceivedMessage>, PortError> {
        Err(self.refused("receive"))
    }

    async fn delete(&self, _: QueueName, _: Vec<String>) -> Result<(), PortError> {
        Err(self.refused("delete"))
    }

    async fn change_visibility(
        &self,
        queue: QueueName,
        receipt_handle: &str,
        visibility: Duration,
    ) -> Result<(), PortError> {
        self.sender("change visibility")?
            .change_visibility(queue, receipt_handle, visibility)
            .await
    }

    async fn depth(&self, _: QueueName) -> Result<u64, PortError> {
        Err(self.refused("count messages"))
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
            q.receive(QueueName::Events, 1, Duration::ZERO, Duration::ZERO)
                .await
                .err(),
            q.delete(QueueName::Events, vec!["h".into()]).await.err(),
            q.depth(QueueName::Events).await.err(),
        ] {
            let e = message(e.expect("refused"));
            assert!(e.contains("has no queue access"), "{e}");
        }
    }

    #[tokio::test]
    async fn a_sending_function_never_receives_deletes_or_counts() {
        let q = FunctionQueue { sqs: Some(sqs()) };
        for e in [
            q.receive(QueueName::Events, 1, Duration::ZERO, Duration::ZERO)
                .await
                .err(),
            q.delete(QueueName::Events, vec!["h".into()]).await.err(),
            q.depth(QueueName::Events).await.err(),
        ] {
            let e = message(e.expect("refused"));
            assert!(e.contains("only sends to queues"), "{e}");
        }
        // Sends do go to SQS (here: an endpoint that refuses the connection).
        let sent = q
            .send(QueueName::Events, vec![QueueMessage::now("{}".to_string())])
            .await
            .expect_err("nothing listens");
        assert!(!message(sent).contains("only sends to queues"));
    }
}
