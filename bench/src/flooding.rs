//! `flooding-neighbour`: a healthy client publishing at a modest fixed rate, alone and then
//! beside another client that floods `POST /v1/events` with batches as fast as it can, under
//! the stack's default client limits (the flooder gets 429s). The healthy client's p99 may
//! grow at most 2×.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use crate::api::{Api, lot_event};
use crate::process::Runner;
use crate::receiver::{Arrival, now_ns};
use crate::run::{Expected, Published, RunResult, Traffic, check, collect, publish};
use crate::scenarios::{Bench, beside_alone, report_errors};

/// The healthy client's events per second (a quarter of its limit).
const HEALTHY_RATE: f64 = 50.0;
/// The flooder's concurrent publish calls.
const FLOODERS: usize = 8;
/// Events in each of the flooder's batches (the API's most).
const FLOOD_BATCH: usize = 100;

/// What the flooder got.
#[derive(Default)]
struct Flood {
    /// Events of its accepted batches.
    accepted: Vec<Published>,
    /// Batches refused with 429.
    refused: usize,
    /// Any other answer or failure.
    other_errors: usize,
}

impl Bench {
    /// The healthy client alone, then beside the flooder, each on a fresh runner.
    pub(crate) async fn flooding_neighbour(&self) -> Result<RunResult, String> {
        let events = self.scaled(1_000);
        let alone = self.flooding_run(events, false).await?;
        let beside = self.flooding_run(events, true).await?;
        Ok(beside_alone(alone, beside))
    }

    async fn flooding_run(&self, events: usize, flood: bool) -> Result<RunResult, String> {
        self.on_runner(&self.limited_runner_env(), async |runner| {
            self.flooding_on(runner, events, flood).await
        })
        .await
    }

    async fn flooding_on(
        &self,
        runner: &Runner,
        events: usize,
        flood: bool,
    ) -> Result<RunResult, String> {
        let api = Api::new(runner, self.publishers);
        let admin = api.admin(runner).await?;
        let (platform, healthy_sub) = api
            .publisher_and_subscription(&admin, "AP", &self.url("/hook/main"))
            .await?;
        let (flooder, flood_sub) = api
            .publisher_and_subscription(&admin, "TG", &self.url("/hook/flood"))
            .await?;
        self.receiver.reset().await?;
        let cpu0 = runner.cpu_seconds();
        let stop = Arc::new(AtomicBool::new(false));
        // On a thread and runtime of its own: the flood's tasks must not delay the healthy
        // publisher's calls inside the harness, only compete in the runner.
        let flooding = flood.then(|| {
            let (api, token, stop) = (Api::new(runner, FLOODERS), flooder.token, stop.clone());
            std::thread::spawn(move || flood_until(api, token, stop))
        });
        let traffic = Traffic::dispatches(events, "AP", self.publishers, Some(HEALTHY_RATE));
        let (published, errors) = publish(&api, &platform.token, traffic).await;
        stop.store(true, Ordering::Relaxed);
        let flooded = match flooding {
            Some(t) => tokio::task::spawn_blocking(move || t.join())
                .await
                .map_err(|e| e.to_string())?
                .map_err(|_| "the flooder panicked".to_string())??,
            None => Flood::default(),
        };
        report_errors(&errors);
        let arrivals = collect(&self.receiver, published.len() + flooded.accepted.len()).await?;
        let cpu = runner.cpu_seconds() - cpu0;
        let of = |name: &str| -> Vec<Arrival> {
            arrivals
                .iter()
                .filter(|a| a.name == name)
                .cloned()
                .collect()
        };
        let healthy_subs = HashSet::from([healthy_sub]);
        let c = check(
            &of("main"),
            &Expected {
                subscriptions: &healthy_subs,
                published: &published,
            },
        );
        let flood_subs = HashSet::from([flood_sub]);
        let fc = check(
            &of("flood"),
            &Expected {
                subscriptions: &flood_subs,
                published: &flooded.accepted,
            },
        );
        let mut r = RunResult::from_check(&published, errors.len(), c, cpu, runner.peak_rss_mb());
        r.complete = r.complete && fc.exact();
        if flood {
            let figures = [
                ("flood_accepted_events", flooded.accepted.len()),
                ("flood_refused_429", flooded.refused),
                ("flood_refused_events", flooded.refused * FLOOD_BATCH),
                ("flood_other_errors", flooded.other_errors),
                ("flood_missing", fc.missing),
                ("flood_duplicates", fc.duplicates),
            ];
            for (k, v) in figures {
                r.extra.insert(k.into(), v as f64);
            }
        }
        Ok(r)
    }
}

/// The flooder: `FLOODERS` calls at a time, each a batch of `FLOOD_BATCH`, sent again as soon
/// as it is answered (no heed to `Retry-After`), until `stop`.
fn flood_until(api: Api, token: String, stop: Arc<AtomicBool>) -> Result<Flood, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("flooder: {e}"))?;
    rt.block_on(async move {
        let batch: Arc<Vec<Value>> = Arc::new(
            (0..FLOOD_BATCH)
                .map(|i| lot_event("LotDispatched", "TG", i))
                .collect(),
        );
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..FLOODERS {
            let (api, token, stop, batch) =
                (api.clone(), token.clone(), stop.clone(), batch.clone());
            tasks.spawn(async move {
                let mut out = Flood::default();
                while !stop.load(Ordering::Relaxed) {
                    let sent_ns = now_ns();
                    match api.publish_batch(&token, &batch).await {
                        Ok((202, ids)) => {
                            let accepted_ns = now_ns();
                            out.accepted
                                .extend(ids.into_iter().map(|event_id| Published {
                                    event_id,
                                    sent_ns,
                                    accepted_ns,
                                }));
                        }
                        Ok((429, _)) => out.refused += 1,
                        _ => out.other_errors += 1,
                    }
                }
                out
            });
        }
        let mut all = Flood::default();
        while let Some(t) = tasks.join_next().await {
            let t = t.map_err(|e| format!("flooder: {e}"))?;
            all.accepted.extend(t.accepted);
            all.refused += t.refused;
            all.other_errors += t.other_errors;
        }
        Ok(all)
    })
}
