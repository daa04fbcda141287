//! The scenarios of the benchmark. Each run starts a fresh runner (fresh data directory),
//! registers its clients and subscriptions through the API, publishes through the API, and
//! checks what the receiver got.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::api::{Api, PUBLISHER, Portal, SUBSCRIBER, lot_event};
use crate::process::{Receiver, Runner};
use crate::receiver::now_ns;
use crate::run::{Expected, Published, RunResult, Traffic, check, collect, publish};

/// Scenarios run only when named (not part of `all`).
pub const EXPLICIT: [&str; 1] = ["soak"];

/// Every scenario, in the order `all` runs them.
pub const ALL: [&str; 11] = [
    "ceiling",
    "throughput-1",
    "latency-500",
    "fanout-10",
    "fanout-100",
    "fanout-cost",
    "noisy-neighbour",
    "flooding-neighbour",
    "action-oauth2",
    "import",
    "lambda-init",
];

/// What every scenario shares.
pub struct Bench {
    /// The release runner.
    pub runner_bin: PathBuf,
    /// The receiver process.
    pub receiver: Receiver,
    /// Size multiplier.
    pub scale: f64,
    /// Concurrent publish calls.
    pub publishers: usize,
    /// Deliveries the runner may have in flight; the ceiling posts with as many.
    pub delivery_concurrency: usize,
    /// How long the soak publishes.
    pub soak: Duration,
}

impl Bench {
    pub(crate) fn scaled(&self, n: usize) -> usize {
        ((n as f64 * self.scale).round() as usize).max(1)
    }

    /// The runner's settings with the stack's default client limits (200 requests/s, bursts
    /// of 400, 1,000 subscriptions per client): the scenarios about the limits.
    pub(crate) fn limited_runner_env(&self) -> Vec<(String, String)> {
        vec![
            (
                "HOOKLINE_DELIVERY_CONCURRENCY".into(),
                self.delivery_concurrency.to_string(),
            ),
            // Loopback receivers over plain HTTP: the local runner's defaults, stated.
            ("HOOKLINE_ALLOW_PRIVATE_DESTINATIONS".into(), "true".into()),
            ("HOOKLINE_ALLOW_HTTP".into(), "true".into()),
        ]
    }

    /// The runner's settings for the scenarios that measure the pipeline: no per-client rate
    /// (they publish as fast as the API accepts, far past 200/s) and room for fanout-cost's
    /// 11,100 subscriptions of one client.
    pub(crate) fn runner_env(&self) -> Vec<(String, String)> {
        let mut env = self.limited_runner_env();
        env.push(("HOOKLINE_RATE_LIMIT_PER_SECOND".into(), "0".into()));
        env.push(("HOOKLINE_MAX_SUBSCRIPTIONS".into(), "1000000".into()));
        env
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.receiver.base)
    }

    /// Runs one scenario once.
    pub async fn run(&self, scenario: &str) -> Result<RunResult, String> {
        match scenario {
            "ceiling" => self.ceiling().await,
            "throughput-1" => self.deliveries(self.scaled(20_000), 1, 0, None).await,
            "latency-500" => {
                let rate = 500.0;
                self.deliveries(self.scaled(20_000), 1, 0, Some(rate)).await
            }
            "fanout-10" => self.deliveries(self.scaled(3_000), 10, 0, None).await,
            "fanout-100" => self.deliveries(self.scaled(500), 100, 0, None).await,
            "fanout-cost" => self.fanout_cost().await,
            "noisy-neighbour" => self.noisy_neighbour().await,
            "flooding-neighbour" => self.flooding_neighbour().await,
            "action-oauth2" => self.action_oauth2().await,
            "import" => self.import().await,
            "soak" => self.soak().await,
            other => Err(format!("unknown scenario {other:?}")),
        }
    }

    /// The harness's own client posting webhook-sized requests straight to the receiver with
    /// the runner's delivery concurrency: what this machine's loopback allows.
    async fn ceiling(&self) -> Result<RunResult, String> {
        let n = self.scaled(20_000);
        self.receiver.reset().await?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(self.delivery_concurrency)
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        let url = self.url("/hook/ceiling");
        let body = serde_json::to_vec(&json!({
            "id": "evt_01KCEILING0000000000000000",
            "type": "LotDispatched",
            "state": "AP",
            "timestamp": "2026-11-20T10:00:00Z",
            "source": "cl_01KCEILING000000000000000",
            "data": lot_event("LotDispatched", "AP", 1)["data"],
        }))
        .map_err(|e| e.to_string())?;
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = JoinSet::new();
        for _ in 0..self.delivery_concurrency {
            let (http, url, body, next) = (http.clone(), url.clone(), body.clone(), next.clone());
            tasks.spawn(async move {
                let mut sent = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    let event_id = format!("evt_ceiling_{i}");
                    let sent_ns = now_ns();
                    let ok = http
                        .post(&url)
                        .header("content-type", "application/json")
                        .header("user-agent", "Hookline/bench")
                        .header("webhook-id", &event_id)
                        .header("webhook-timestamp", "1763632800")
                        .header(
                            "webhook-signature",
                            "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
                        )
                        .header("hookline-event-type", "LotDispatched")
                        .header("hookline-state", "AP")
                        .header("hookline-attempt", "1")
                        .header("hookline-subscription-id", "sub_ceiling")
                        .body(body.clone())
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success());
                    if ok {
                        sent.push(Published {
                            event_id,
                            sent_ns,
                            accepted_ns: now_ns(),
                        });
                    }
                }
                sent
            });
        }
        let mut published = Vec::with_capacity(n);
        while let Some(t) = tasks.join_next().await {
            published.extend(t.unwrap_or_default());
        }
        let errors = n - published.len();
        let arrivals = collect(&self.receiver, published.len()).await?;
        let subs = HashSet::from(["sub_ceiling".to_string()]);
        let c = check(
            &arrivals,
            &Expected {
                subscriptions: &subs,
                published: &published,
            },
        );
        let mut r = RunResult::from_check(&published, errors, c, 0.0, 0.0);
        r.ceiling_ratio = 1.0;
        Ok(r)
    }

    /// `events` events of one type, `subs` answering subscriptions and `hanging` subscriptions
    /// whose receiver never answers (another tenant's).
    async fn deliveries(
        &self,
        events: usize,
        subs: usize,
        hanging: usize,
        rate: Option<f64>,
    ) -> Result<RunResult, String> {
        self.on_runner(&self.runner_env(), async |runner| {
            self.deliveries_on(runner, events, subs, hanging, rate)
                .await
        })
        .await
    }

    /// Starts a runner with `env` on a fresh data directory, runs `run` on it, and stops it.
    pub(crate) async fn on_runner(
        &self,
        env: &[(String, String)],
        run: impl AsyncFnOnce(&Runner) -> Result<RunResult, String>,
    ) -> Result<RunResult, String> {
        let runner = Runner::start(&self.runner_bin, env).await?;
        let result = run(&runner).await;
        runner.stop().await;
        result
    }

    async fn deliveries_on(
        &self,
        runner: &Runner,
        events: usize,
        subs: usize,
        hanging: usize,
        rate: Option<f64>,
    ) -> Result<RunResult, String> {
        let api = Api::new(runner, self.publishers);
        let admin = api.admin(runner).await?;
        let platform = api
            .portal(&admin, "central platform", &PUBLISHER, &["AP"])
            .await?;
        let tenant = api
            .portal(&admin, "AP state portal", &SUBSCRIBER, &["AP"])
            .await?;
        let body = json!({"url": self.url("/hook/main"), "event_types": ["LotDispatched"], "states": ["AP"]});
        let healthy: HashSet<String> = subscribe_many(&api, &tenant, &body, subs)
            .await?
            .into_iter()
            .collect();
        if hanging > 0 {
            let dead = api
                .portal(&admin, "an unreachable partner", &SUBSCRIBER, &["AP"])
                .await?;
            let body = json!({"url": self.url("/hang/dead"), "event_types": ["LotDispatched"], "states": ["AP"], "timeout_ms": 5000});
            subscribe_many(&api, &dead, &body, hanging).await?;
        }
        self.receiver.reset().await?;
        let cpu0 = runner.cpu_seconds();
        let traffic = Traffic::dispatches(events, "AP", self.publishers, rate);
        let (published, errors) = publish(&api, &platform.token, traffic).await;
        report_errors(&errors);
        let arrivals = collect(&self.receiver, published.len() * healthy.len()).await?;
        let cpu = runner.cpu_seconds() - cpu0;
        let mut r = RunResult::checked(
            &arrivals,
            &healthy,
            &published,
            errors.len(),
            cpu,
            runner.peak_rss_mb(),
        );
        if hanging > 0 {
            r.extra.insert(
                "hung_requests".into(),
                arrivals.iter().filter(|a| a.hung).count() as f64,
            );
        }
        Ok(r)
    }

    /// A healthy receiver alone at a fixed rate, then again beside a receiver that never
    /// answers and gets the same traffic: the healthy one's p99 may grow at most 2×.
    async fn noisy_neighbour(&self) -> Result<RunResult, String> {
        let events = self.scaled(3_000);
        let rate = Some(200.0);
        let alone = self.deliveries(events, 1, 0, rate).await?;
        let beside = self.deliveries(events, 1, 1, rate).await?;
        Ok(beside_alone(alone, beside))
    }
}

/// The run `beside` a neighbour, with the healthy receiver's p99 against its p99 `alone`
/// (`healthy_p99_ratio`); complete only if both runs were.
pub(crate) fn beside_alone(alone: RunResult, mut beside: RunResult) -> RunResult {
    let round = crate::stats::round;
    beside
        .extra
        .insert("healthy_p99_alone_ms".into(), alone.latency_ms.p99);
    beside.extra.insert(
        "healthy_p99_ratio".into(),
        round(beside.latency_ms.p99 / alone.latency_ms.p99.max(1e-3)),
    );
    beside.complete = beside.complete && alone.complete;
    beside.peak_rss_mb = beside.peak_rss_mb.max(alone.peak_rss_mb);
    beside
}

/// Creates `n` subscriptions with `body`, a few calls at a time.
pub(crate) async fn subscribe_many(
    api: &Api,
    portal: &Portal,
    body: &Value,
    n: usize,
) -> Result<Vec<String>, String> {
    let gate = Arc::new(Semaphore::new(8));
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        let permit = gate
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let (api, token, body) = (api.clone(), portal.token.clone(), body.clone());
        tasks.spawn(async move {
            let r = api.subscribe(&token, &body).await;
            drop(permit);
            r
        });
    }
    let mut ids = Vec::with_capacity(n);
    while let Some(t) = tasks.join_next().await {
        ids.push(t.map_err(|e| e.to_string())??);
    }
    Ok(ids)
}

pub(crate) fn report_errors(errors: &[String]) {
    if let Some(first) = errors.first() {
        eprintln!("  {} publishes failed; the first: {first}", errors.len());
    }
}
