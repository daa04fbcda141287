//! Design invariant 8 on SQS: no delivery settings the API accepts can outlive the deliveries
//! queue as template.yaml defines it. The worst case — the most attempts a subscription may
//! ask for, every wait at the 12-hour cap a `Retry-After` may set, every attempt preceded by
//! the waits a busy endpoint may cause, every handler slow to its timeout — is played out
//! against the template's redrive count, retention and function timeout, message by message,
//! with the same wait planning the deliver function uses.

mod support;

use std::time::Duration;

use hookline_domain::retry::{MAX_DELAY, QueueLimits, Wait, plan_wait};
use hookline_domain::subscription::MAX_MAX_ATTEMPTS;
use support::stack::template;

/// One delivery message as SQS sees it.
#[derive(Debug)]
struct Message {
    /// Since it was sent.
    age: Duration,
    /// Receives so far.
    receives: u32,
}

/// A chain of messages carrying one delivery, and what the queue would do to them.
struct Chain {
    limits: QueueLimits,
    /// How long a handler holds a message before it sets its wait (the function's timeout).
    handling: Duration,
    message: Message,
    /// Messages sent again because the one before could not wait.
    resends: u32,
}

impl Chain {
    /// A receive of the current message: the queue must still have it, and not yet have
    /// moved it to the dead-letter queue.
    fn receive(&mut self) {
        self.message.receives += 1;
        assert!(
            self.message.receives <= self.limits.max_receives,
            "dead-lettered by the redrive policy: {:?}",
            self.message
        );
        if let Some(retention) = self.limits.retention {
            assert!(
                self.message.age <= retention,
                "dropped by the queue's retention: {:?}",
                self.message
            );
        }
    }

    /// The handler, holding the message, makes it wait `delay` before the next receive.
    fn wait(&mut self, delay: Duration) {
        let mut remaining = delay;
        loop {
            self.message.age += self.handling;
            match plan_wait(
                remaining,
                self.handling,
                self.message.age,
                self.message.receives,
                &self.limits,
            ) {
                Wait::Hide(hide) => {
                    assert!(
                        hide <= MAX_DELAY - self.handling,
                        "{hide:?} is past SQS's limit"
                    );
                    self.message.age += hide;
                    remaining -= hide.min(remaining);
                }
                Wait::Resend(delay) => {
                    assert!(
                        delay <= Duration::from_secs(900),
                        "DelaySeconds is at most 900"
                    );
                    self.resends += 1;
                    self.message = Message {
                        age: delay,
                        receives: 0,
                    };
                    remaining -= delay.min(remaining);
                }
            }
            self.receive();
            if remaining.is_zero() {
                return;
            }
        }
    }
}

#[test]
fn no_retry_schedule_the_api_accepts_outlives_the_deliveries_queue() {
    let t = template();
    let params = &t["Parameters"];
    let queue = &t["Resources"]["DeliveriesQueue"]["Properties"];
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    let retention = queue["MessageRetentionPeriod"]
        .as_u64()
        .expect("the deliveries queue's retention");
    assert_eq!(
        env["HOOKLINE_QUEUE_RETENTION_SECS"].as_u64(),
        Some(retention),
        "the functions know the queue's retention"
    );
    assert_eq!(
        env["HOOKLINE_MAX_RECEIVES"]["Ref"], "DeliveriesMaxReceiveCount",
        "the functions know the queue's redrive count"
    );
    let timeout = t["Resources"]["DeliverFunction"]["Properties"]["Timeout"]
        .as_u64()
        .expect("the deliver function's timeout");
    let busy_waits_per_attempt = 3;
    // Every redrive count the template accepts, down to its smallest.
    for key in ["MinValue", "Default", "MaxValue"] {
        let max_receives = params["DeliveriesMaxReceiveCount"][key]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .expect("DeliveriesMaxReceiveCount");
        let mut chain = Chain {
            limits: QueueLimits::sqs(max_receives, Duration::from_secs(retention)),
            handling: Duration::from_secs(timeout),
            message: Message {
                age: Duration::ZERO,
                receives: 0,
            },
            resends: 0,
        };
        chain.receive();
        let mut attempts = 0;
        for attempt in 1..=MAX_MAX_ATTEMPTS {
            for _ in 0..busy_waits_per_attempt {
                chain.wait(Duration::from_secs(timeout));
            }
            attempts = attempt;
            if attempt < MAX_MAX_ATTEMPTS {
                chain.wait(MAX_DELAY);
            }
        }
        assert_eq!(attempts, MAX_MAX_ATTEMPTS, "the whole schedule ran");
        assert!(
            chain.resends > 0,
            "{key}: a schedule of {} days cannot ride one message",
            MAX_MAX_ATTEMPTS / 2
        );
    }
}
