//! The SQS queue adapter against moto: the port's conformance suite on queues created by
//! `provision::queues`, redrive to the dead-letter queue and back, and whole-second rounding.

mod support;

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use hookline_aws::SqsQueue;
use hookline_aws::provision::queues::{QUEUES, create_queues};
use hookline_aws::sqs::redrive;
use hookline_ports::{QueueConsumer, QueueMessage, QueueName, QueueSender, ReceivedMessage};
use support::moto::{Moto, unique};

/// A queue backend over fresh queues on `moto`.
async fn fresh_queue(moto: &Moto, max_events: u32, max_deliveries: u32) -> SqsQueue {
    let client = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let urls = create_queues(&client, &unique("hookline"), max_events, max_deliveries)
        .await
        .expect("create the queues");
    SqsQueue::new(client, urls)
}

/// Receives one message, waiting up to 5 s.
async fn receive_one(queue: &SqsQueue, q: QueueName, visibility: Duration) -> ReceivedMessage {
    let mut got = queue
        .receive(q, 1, Duration::from_secs(5), visibility)
        .await
        .expect("receive");
    assert_eq!(got.len(), 1, "expected one message from {}", q.as_str());
    got.remove(0)
}

async fn depth_becomes(queue: &SqsQueue, q: QueueName, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let d = queue.depth(q).await.expect("depth");
        if d == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "depth of {} is {d}, expected {n}",
            q.as_str()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn queue_passes_the_conformance_suite_on_sqs() {
    let moto = Moto::start();
    let queue = fresh_queue(&moto, 3, 5).await;
    hookline_ports::conformance::queue_suite(&queue, 3, 5).await;
}

#[tokio::test]
async fn provisioned_queues_have_the_declared_settings() {
    let moto = Moto::start();
    let client = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let prefix = unique("hookline");
    let urls = create_queues(&client, &prefix, 5, 60)
        .await
        .expect("create the queues");
    let again = create_queues(&client, &prefix, 5, 60)
        .await
        .expect("creating again with the same settings");
    assert_eq!(again, urls);
    let attributes = |url: String| {
        let client = client.clone();
        async move {
            client
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::All)
                .send()
                .await
                .expect("attributes")
                .attributes
                .unwrap_or_default()
        }
    };
    for def in QUEUES {
        let url = urls.url(def.queue).to_owned();
        assert!(url.ends_with(&def.name(&prefix)), "{url}");
        let a = attributes(url).await;
        let get = |name: QueueAttributeName| a.get(&name).cloned().unwrap_or_default();
        if let Some(secs) = def.retention_secs {
            assert_eq!(
                get(QueueAttributeName::MessageRetentionPeriod),
                secs.to_string()
            );
        }
        if let Some(secs) = def.visibility_timeout_secs {
            assert_eq!(get(QueueAttributeName::VisibilityTimeout), secs.to_string());
        }
        let policy = get(QueueAttributeName::RedrivePolicy);
        match def.dead_letter {
            None => assert!(policy.is_empty(), "{}: {policy}", def.suffix()),
            Some(dlq) => {
                let dlq_arn = attributes(urls.url(dlq).to_owned()).await;
                let dlq_arn = dlq_arn.get(&QueueAttributeName::QueueArn).cloned();
                let policy: serde_json::Value = serde_json::from_str(&policy).expect("JSON");
                assert_eq!(policy["deadLetterTargetArn"].as_str(), dlq_arn.as_deref());
                let max = if def.queue == QueueName::Events {
                    5
                } else {
                    60
                };
                assert_eq!(policy["maxReceiveCount"].as_u64(), Some(max));
            }
        }
    }
}

#[tokio::test]
async fn delivery_past_max_receives_is_in_the_dlq_and_can_be_moved_back() {
    let moto = Moto::start();
    let queue = fresh_queue(&moto, 5, 2).await;
    let body = r#"{"delivery":"dlv_redrive"}"#.to_owned();
    queue
        .send(QueueName::Deliveries, vec![QueueMessage::now(body.clone())])
        .await
        .expect("send");
    for n in 1..=2 {
        let m = receive_one(&queue, QueueName::Deliveries, Duration::ZERO).await;
        assert_eq!(m.receive_count, n);
    }
    let third = queue
        .receive(QueueName::Deliveries, 10, Duration::ZERO, Duration::ZERO)
        .await
        .expect("receive");
    assert!(
        third.is_empty(),
        "the third receive must move it to the DLQ"
    );
    depth_becomes(&queue, QueueName::DeliveriesDlq, 1).await;
    depth_becomes(&queue, QueueName::Deliveries, 0).await;

    let moved = redrive(&queue, QueueName::DeliveriesDlq, QueueName::Deliveries, 100)
        .await
        .expect("redrive");
    assert_eq!(moved, 1);
    depth_becomes(&queue, QueueName::DeliveriesDlq, 0).await;
    let back = receive_one(&queue, QueueName::Deliveries, Duration::from_secs(30)).await;
    assert_eq!(back.body, body);
    assert_eq!(back.receive_count, 1, "a redriven delivery starts afresh");
    queue
        .delete(QueueName::Deliveries, vec![back.receipt_handle])
        .await
        .expect("delete");
    depth_becomes(&queue, QueueName::Deliveries, 0).await;
}

#[tokio::test]
async fn redrive_moves_at_most_max_messages() {
    let moto = Moto::start();
    let queue = fresh_queue(&moto, 5, 5).await;
    let messages = (0..13)
        .map(|n| QueueMessage::now(format!(r#"{{"n":{n}}}"#)))
        .collect();
    queue
        .send(QueueName::EventsDlq, messages)
        .await
        .expect("send");
    let moved = redrive(&queue, QueueName::EventsDlq, QueueName::Events, 11)
        .await
        .expect("redrive");
    assert_eq!(moved, 11);
    depth_becomes(&queue, QueueName::Events, 11).await;
    depth_becomes(&queue, QueueName::EventsDlq, 2).await;
    let rest = redrive(&queue, QueueName::EventsDlq, QueueName::Events, 100)
        .await
        .expect("redrive the rest");
    assert_eq!(rest, 2);
    depth_becomes(&queue, QueueName::Events, 13).await;
    depth_becomes(&queue, QueueName::EventsDlq, 0).await;
}

#[tokio::test]
async fn sub_second_delays_are_rounded_up() {
    let moto = Moto::start();
    let queue = fresh_queue(&moto, 5, 5).await;
    let q = QueueName::Deliveries;
    let t0 = Instant::now();
    let delayed = QueueMessage {
        body: r#"{"delayed":true}"#.into(),
        delay: Duration::from_millis(300),
    };
    queue.send(q, vec![delayed]).await.expect("send");
    let at_once = queue
        .receive(q, 10, Duration::ZERO, Duration::ZERO)
        .await
        .expect("receive");
    assert!(
        at_once.is_empty(),
        "a 300 ms delay must be 1 s on SQS, not 0"
    );
    let m = receive_one(&queue, q, Duration::from_millis(300)).await;
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "delay ended early"
    );

    // A 300 ms visibility is 1 s too: the message stays hidden just after the receive.
    let hidden = queue
        .receive(q, 10, Duration::ZERO, Duration::ZERO)
        .await
        .expect("receive");
    assert!(hidden.is_empty(), "a 300 ms visibility must be 1 s, not 0");
    let again = receive_one(&queue, q, Duration::ZERO).await;
    assert_eq!(again.message_id, m.message_id);

    // And so is a 300 ms change of visibility.
    queue
        .change_visibility(q, &again.receipt_handle, Duration::from_millis(300))
        .await
        .expect("change_visibility");
    let hidden = queue
        .receive(q, 10, Duration::ZERO, Duration::ZERO)
        .await
        .expect("receive");
    assert!(hidden.is_empty(), "a 300 ms change must be 1 s, not 0");
    let last = receive_one(&queue, q, Duration::from_secs(30)).await;
    queue
        .delete(q, vec![last.receipt_handle])
        .await
        .expect("delete");
}

#[tokio::test]
async fn batches_are_split_by_size_as_well_as_by_count() {
    let moto = Moto::start();
    let queue = fresh_queue(&moto, 5, 5).await;
    // Six 300 kB bodies are 1.8 MB: over SQS's 1 MiB per batch, though under 10 messages.
    let big = "x".repeat(300_000);
    let messages = (0..6)
        .map(|n| QueueMessage::now(format!(r#"{{"n":{n},"pad":"{big}"}}"#)))
        .collect();
    queue
        .send(QueueName::Events, messages)
        .await
        .expect("send of 1.8 MB");
    depth_becomes(&queue, QueueName::Events, 6).await;
}

#[tokio::test]
async fn sending_to_a_missing_queue_is_a_backend_error_without_the_body() {
    let moto = Moto::start();
    let client = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let url = format!("{}/123456789012/missing", moto.endpoint);
    let urls = hookline_aws::sqs::QueueUrls {
        events: url.clone(),
        events_dlq: url.clone(),
        deliveries: url.clone(),
        deliveries_dlq: url,
    };
    let queue = SqsQueue::new(client, urls);
    let err = queue
        .send(
            QueueName::Events,
            vec![QueueMessage::now("SECRET-BODY".into())],
        )
        .await
        .expect_err("no such queue");
    let text = err.to_string();
    assert!(text.starts_with("backend: send to events"), "{text}");
    assert!(!text.contains("SECRET-BODY"), "{text}");
    let debug = format!("{err:?}");
    assert!(!debug.contains("SECRET-BODY"), "{debug}");
    // The SDK's own error is kept as the cause.
    let cause = std::error::Error::source(&err).expect("a cause");
    assert!(
        cause
            .downcast_ref::<aws_sdk_sqs::error::SdkError<
                aws_sdk_sqs::operation::send_message_batch::SendMessageBatchError,
                aws_sdk_sqs::config::http::HttpResponse,
            >>()
            .is_some(),
        "{cause}"
    );
}
