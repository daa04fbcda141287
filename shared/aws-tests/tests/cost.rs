//! What one delivered webhook costs on AWS, counted on moto: events published through the
//! API, fanned out and delivered by the handlers exactly as the functions run them (batches
//! of ten from the queues, as the event source mappings hand them over, including the
//! receives and deletes the mappings make), at fan-out 1, 10 and 100. Every AWS request is
//! counted by service and operation; DynamoDB write units are estimated from the items
//! written (see `support::stack_on_moto`). Prices are `bench/results/aws-prices.json`
//! (ap-south-1 where found).
//!
//! The counts are held to bounds half a request above the measured ones, so that a change
//! that adds a request or a write unit per delivery fails here. `HOOKLINE_WRITE_COST=1`
//! writes the figures to `bench/results/aws-cost.json` (`cargo test -p hookline-aws-tests --test
//! cost -- --nocapture`).

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hookline_domain::secret::{hash_client_secret, new_client_secret, new_webhook_secret};
use hookline_domain::subscription::new_subscription;
use hookline_domain::{Client, ClientId, Scope, StatePattern, SubscriptionId};
use hookline_ports::QueueName;
use serde_json::{Value, json};
use support::stack::root;
use support::stack_on_moto::StackOnMoto;
use time::OffsetDateTime;

/// Deliveries per scenario.
const DELIVERIES: usize = 300;
/// The deployed functions' memory (template.yaml, Globals).
const MEMORY_GB: f64 = 0.256;
/// A receiver's answer time assumed for the Lambda duration on AWS (the loopback one here
/// answers in microseconds).
const RECEIVER_MS: f64 = 100.0;

/// One scenario's figures.
#[derive(Debug, Default)]
struct Figures {
    deliveries: usize,
    calls: BTreeMap<String, u64>,
    write_units: f64,
    batch_read_units: f64,
    invocations: BTreeMap<&'static str, u64>,
    /// Handler time on moto and loopback, ms, by function.
    handler_ms: BTreeMap<&'static str, f64>,
}

fn price(prices: &Value, item: &str) -> f64 {
    let found = prices["prices"].as_array().and_then(|all| {
        all.iter()
            .filter(|p| p["item"].as_str().is_some_and(|i| i.starts_with(item)))
            .find(|p| {
                p["region"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("ap-south-1"))
            })
            .or_else(|| {
                all.iter()
                    .find(|p| p["item"].as_str().is_some_and(|i| i.starts_with(item)))
            })
    });
    found
        .and_then(|p| p["usd"].as_f64())
        .unwrap_or_else(|| panic!("no price for {item}"))
}

impl Figures {
    fn per_delivery(&self, key: &str) -> f64 {
        self.calls.get(key).copied().unwrap_or(0) as f64 / self.deliveries as f64
    }

    fn service_calls(&self, service: &str) -> f64 {
        self.calls
            .iter()
            .filter(|(k, _)| k.starts_with(service))
            .map(|(_, n)| *n as f64)
            .sum::<f64>()
            / self.deliveries as f64
    }

    /// Read units per delivery: a consistent key lookup is one, a query about one per call,
    /// an item of a `BatchGetItem` a half.
    fn read_units(&self) -> f64 {
        self.per_delivery("DynamoDB.GetItem")
            + self.per_delivery("DynamoDB.Query")
            + self.batch_read_units / self.deliveries as f64
    }

    fn gb_seconds_per_1000(&self) -> f64 {
        let deliver_batches = *self.invocations.get("deliver").unwrap_or(&0) as f64;
        let ms: f64 = self.handler_ms.values().sum::<f64>() + deliver_batches * RECEIVER_MS;
        ms / 1000.0 * MEMORY_GB / self.deliveries as f64 * 1000.0
    }

    fn invocations_per_1000(&self) -> f64 {
        self.invocations.values().sum::<u64>() as f64 / self.deliveries as f64 * 1000.0
    }

    /// USD per million deliveries, by part.
    fn cost(&self, prices: &Value) -> BTreeMap<&'static str, f64> {
        let m = 1.0;
        let wru = price(prices, "DynamoDB on-demand write");
        let rru = price(prices, "DynamoDB on-demand read");
        let sqs = price(prices, "SQS standard");
        let lambda_requests = price(prices, "Lambda requests");
        let gb_s = price(prices, "Lambda duration, arm64");
        let api = price(prices, "API Gateway HTTP API");
        let publishes =
            *self.invocations.get("ingest").unwrap_or(&0) as f64 / self.deliveries as f64;
        BTreeMap::from([
            (
                "dynamodb_writes",
                self.write_units * wru / self.deliveries as f64 * m,
            ),
            ("dynamodb_reads", self.read_units() * rru * m),
            ("sqs", self.service_calls("SQS.") * sqs * m),
            (
                "lambda_requests",
                self.invocations_per_1000() / 1000.0 * lambda_requests * m,
            ),
            (
                "lambda_duration",
                self.gb_seconds_per_1000() / 1000.0 * 1e6 * gb_s,
            ),
            ("api_gateway", publishes * api * m),
        ])
    }
}

async fn scenario(fanout: usize) -> Figures {
    let stack = StackOnMoto::start(|_| {}).await;
    let receiver = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the receiver");
    let url = format!("http://{}/hook", receiver.local_addr().expect("address"));
    tokio::spawn(async move {
        axum::serve(receiver, axum::Router::new().fallback(|| async { "ok" })).await
    });
    let now = OffsetDateTime::now_utc();
    for i in 0..fanout {
        let mut sub = new_subscription(
            SubscriptionId::from_stored(format!("sub_{i:04}")),
            ClientId::from_stored(format!("cl_sub{i:04}")),
            new_webhook_secret(),
            now,
        );
        sub.url = url.clone();
        sub.event_types = vec!["LotDispatched".into()];
        sub.states = vec![StatePattern::from_stored("AP")];
        stack
            .store
            .insert_subscription(&sub)
            .await
            .expect("subscription");
    }
    let secret = new_client_secret();
    let publisher = Client {
        id: ClientId::new(1),
        name: "publisher".into(),
        scopes: vec![Scope::EventsWrite],
        states: vec![StatePattern::from_stored("AP")],
        secret_hash: hash_client_secret(&secret),
        created_at: now,
        disabled: false,
        limits: Default::default(),
    };
    stack.store.insert_client(&publisher).await.expect("client");
    stack
        .store
        .put_event_type(&hookline_domain::EventType {
            name: "LotDispatched".into(),
            description: String::new(),
            schema: None,
            example: None,
        })
        .await
        .expect("event type");
    let (base, token) = stack.api_token(&publisher.id, &secret).await;
    let http = reqwest::Client::new();
    stack.ops.take_all();

    let mut f = Figures::default();
    let events = DELIVERIES.div_ceil(fanout);
    let timed = |f: &mut Figures, function: &'static str, started: Instant| {
        *f.handler_ms.entry(function).or_default() += started.elapsed().as_secs_f64() * 1000.0;
        *f.invocations.entry(function).or_default() += 1;
    };
    for i in 0..events {
        let started = Instant::now();
        let status = http
            .post(format!("{base}/v1/events"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(json!({"type": "LotDispatched", "state": "AP", "data": {"lot": i}}).to_string())
            .send()
            .await
            .expect("publish")
            .status();
        assert_eq!(status.as_u16(), 202);
        timed(&mut f, "ingest", started);
    }
    // The event source mappings: batches of ten, handed over and deleted as Lambda does.
    for (queue, function) in [
        (QueueName::Events, "fanout"),
        (QueueName::Deliveries, "deliver"),
    ] {
        while let Some(call) = stack.invoke_once(queue, Duration::from_secs(1)).await {
            assert!(call.failed.is_empty(), "{:?}", call.failed);
            *f.handler_ms.entry(function).or_default() += call.handler_time.as_secs_f64() * 1000.0;
            *f.invocations.entry(function).or_default() += 1;
        }
    }
    let recorded = stack.ops.take_all();
    f.calls = recorded.calls;
    f.write_units = recorded.write_units;
    f.batch_read_units = recorded.batch_read_units;
    f.deliveries = events * fanout;
    f
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn what_one_delivered_webhook_costs_on_aws() {
    let prices: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("bench/results/aws-prices.json")).expect("prices"),
    )
    .expect("prices JSON");
    let mut report = Vec::new();
    // Per fan-out, the most DynamoDB calls, SQS requests and DynamoDB write units a delivery
    // may take: half a request (or unit) above what was measured (5.21, 1.51, 12.0 at fan-out
    // 1; 3.32, 0.43, 8.4 at 10; 3.14, 0.32, 8.04 at 100), so that a change that adds a request
    // or a write unit per delivery fails here.
    for (fanout, max_dynamodb, max_sqs, max_units) in [
        (1, 5.7, 2.0, 12.5),
        (10, 3.8, 0.9, 8.9),
        (100, 3.6, 0.8, 8.5),
    ] {
        let f = scenario(fanout).await;
        let cost = f.cost(&prices);
        let total: f64 = cost.values().sum();
        eprintln!(
            "fan-out {fanout}: {} deliveries; per delivery: DynamoDB {:.2} calls, {:.2} write units, {:.2} read units; SQS {:.2} requests; {:.0} invocations and {:.2} GB-s per 1,000; USD {total:.2} per million ({cost:?})",
            f.deliveries,
            f.service_calls("DynamoDB."),
            f.write_units / f.deliveries as f64,
            f.read_units(),
            f.service_calls("SQS."),
            f.invocations_per_1000(),
            f.gb_seconds_per_1000(),
        );
        assert!(
            f.service_calls("DynamoDB.") <= max_dynamodb,
            "fan-out {fanout}: {:?}",
            f.calls
        );
        assert!(
            f.service_calls("SQS.") <= max_sqs,
            "fan-out {fanout}: {:?}",
            f.calls
        );
        let units = f.write_units / f.deliveries as f64;
        assert!(units <= max_units, "fan-out {fanout}: {units} write units");
        report.push(json!({
            "fanout": fanout,
            "deliveries": f.deliveries,
            "calls_per_delivery": f.calls.iter().map(|(k, n)| (k.clone(), json!(*n as f64 / f.deliveries as f64))).collect::<serde_json::Map<_, _>>(),
            "dynamodb_write_units_per_delivery": f.write_units / f.deliveries as f64,
            "dynamodb_read_units_per_delivery": f.read_units(),
            "invocations_per_1000_deliveries": f.invocations,
            "invocations_per_1000": f.invocations_per_1000(),
            "handler_ms_on_moto": f.handler_ms,
            "gb_seconds_per_1000_deliveries": f.gb_seconds_per_1000(),
            "usd_per_million_deliveries": cost,
            "usd_per_million_deliveries_total": total,
        }));
    }
    if std::env::var_os("HOOKLINE_WRITE_COST").is_some() {
        let doc = json!({
            "what": "AWS requests and list-price cost per delivered webhook, counted on moto",
            "memory_gb": MEMORY_GB,
            "receiver_ms_assumed": RECEIVER_MS,
            "scenarios": report,
        });
        std::fs::write(
            root().join("bench/results/aws-cost.json"),
            serde_json::to_string_pretty(&doc).expect("JSON") + "\n",
        )
        .expect("write bench/results/aws-cost.json");
    }
}
