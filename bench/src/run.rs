//! One measured run: publish through the API, collect what the receiver saw, and check it —
//! every expected (event, subscription) pair exactly once, nothing unexpected.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::api::Api;
use crate::process::Receiver;
use crate::receiver::{Arrival, now_ns};
use crate::stats::{Latency, latency, round};

/// How long a run waits without a new arrival before it calls the rest missing.
const IDLE_LIMIT: Duration = Duration::from_secs(30);
/// How long it keeps listening after the last expected arrival, to catch duplicates.
const DUPLICATE_WATCH: Duration = Duration::from_millis(500);

/// One accepted publish.
#[derive(Debug, Clone)]
pub struct Published {
    /// `evt_…`.
    pub event_id: String,
    /// When the publish call started (ns since the epoch).
    pub sent_ns: u128,
    /// When its 202 arrived.
    pub accepted_ns: u128,
}

/// What a run publishes.
pub struct Traffic {
    /// The events, in order.
    pub events: Vec<Value>,
    /// Publishing tasks (closed loop) or the bound on outstanding calls (fixed rate).
    pub concurrency: usize,
    /// Events per second, or `None` for as fast as the API accepts.
    pub rate: Option<f64>,
}

impl Traffic {
    /// `n` lot dispatches in `state`.
    pub fn dispatches(n: usize, state: &str, concurrency: usize, rate: Option<f64>) -> Traffic {
        Traffic {
            events: (0..n)
                .map(|i| crate::api::lot_event("LotDispatched", state, i))
                .collect(),
            concurrency,
            rate,
        }
    }
}

/// Publishes `traffic` with `token`; returns the accepted events and the errors.
pub async fn publish(api: &Api, token: &str, traffic: Traffic) -> (Vec<Published>, Vec<String>) {
    let events = Arc::new(traffic.events);
    let mut tasks = JoinSet::new();
    match traffic.rate {
        None => {
            let next = Arc::new(AtomicUsize::new(0));
            for _ in 0..traffic.concurrency.max(1) {
                let (api, token, events, next) =
                    (api.clone(), token.to_string(), events.clone(), next.clone());
                tasks.spawn(async move {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(event) = events.get(i) else { break };
                        out.push(publish_one(&api, &token, event).await);
                    }
                    out
                });
            }
        }
        Some(rate) => {
            // Open loop: a publish starts on schedule whether or not earlier ones finished
            // (up to `concurrency` outstanding), so slow answers cannot hide queueing delay.
            let gate = Arc::new(Semaphore::new(traffic.concurrency.max(1)));
            let start = tokio::time::Instant::now();
            for i in 0..events.len() {
                tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate)).await;
                let Ok(permit) = gate.clone().acquire_owned().await else {
                    break;
                };
                let (api, token, events) = (api.clone(), token.to_string(), events.clone());
                tasks.spawn(async move {
                    let r = publish_one(&api, &token, &events[i]).await;
                    drop(permit);
                    vec![r]
                });
            }
        }
    }
    let mut ok = Vec::new();
    let mut errors = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        for r in joined.unwrap_or_default() {
            match r {
                Ok(p) => ok.push(p),
                Err(e) => errors.push(e),
            }
        }
    }
    (ok, errors)
}

async fn publish_one(api: &Api, token: &str, event: &Value) -> Result<Published, String> {
    let sent_ns = now_ns();
    let event_id = api.publish(token, event).await?;
    Ok(Published {
        event_id,
        sent_ns,
        accepted_ns: now_ns(),
    })
}

/// Reads arrivals until `expected` deliveries (answered with a success) have come (then a little longer, for
/// duplicates), or until nothing new has come for `IDLE_LIMIT`.
pub async fn collect(receiver: &Receiver, expected: usize) -> Result<Vec<Arrival>, String> {
    let mut all = Vec::with_capacity(expected);
    let mut healthy = 0usize;
    let mut last_progress = Instant::now();
    let mut done_at: Option<Instant> = None;
    loop {
        let page = receiver.arrivals(all.len()).await?;
        if !page.is_empty() {
            last_progress = Instant::now();
        }
        healthy += page.iter().filter(|a| a.delivered()).count();
        all.extend(page);
        if healthy >= expected && done_at.is_none() {
            done_at = Some(Instant::now());
        }
        if done_at.is_some_and(|t| t.elapsed() >= DUPLICATE_WATCH)
            || last_progress.elapsed() >= IDLE_LIMIT
        {
            return Ok(all);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// What was expected of a run.
pub struct Expected<'a> {
    /// Subscriptions whose receivers answer, by id.
    pub subscriptions: &'a HashSet<String>,
    /// Every accepted event.
    pub published: &'a [Published],
}

/// How the arrivals compare with what was expected.
#[derive(Debug, Default)]
pub struct Check {
    /// Expected (event, subscription) pairs.
    pub expected: usize,
    /// Expected pairs that arrived (once or more).
    pub received: usize,
    /// Extra arrivals of an expected pair.
    pub duplicates: usize,
    /// Expected pairs that never arrived.
    pub missing: usize,
    /// Arrivals for a subscription or event that was not expected.
    pub unexpected: usize,
    /// Publish call → first arrival, ms, one per received pair.
    pub latencies_ms: Vec<f64>,
    /// The last expected arrival.
    pub last_ns: u128,
    /// When each received pair first arrived.
    pub arrived_ns: Vec<u128>,
}

impl Check {
    /// Whether every expected pair arrived exactly once and nothing else did.
    pub fn exact(&self) -> bool {
        self.missing == 0 && self.duplicates == 0 && self.unexpected == 0
    }
}

/// Compares the healthy arrivals with the expectation.
pub fn check(arrivals: &[Arrival], expected: &Expected<'_>) -> Check {
    let sent: HashMap<&str, u128> = expected
        .published
        .iter()
        .map(|p| (p.event_id.as_str(), p.sent_ns))
        .collect();
    let mut seen: HashMap<(&str, &str), u32> = HashMap::new();
    let mut c = Check {
        expected: sent.len() * expected.subscriptions.len(),
        ..Check::default()
    };
    for a in arrivals.iter().filter(|a| a.delivered()) {
        let (Some(&sent_ns), true) = (
            sent.get(a.event_id.as_str()),
            expected.subscriptions.contains(&a.subscription_id),
        ) else {
            c.unexpected += 1;
            continue;
        };
        let n = seen
            .entry((a.event_id.as_str(), a.subscription_id.as_str()))
            .or_insert(0);
        *n += 1;
        if *n == 1 {
            c.received += 1;
            c.latencies_ms
                .push(a.at_ns.saturating_sub(sent_ns) as f64 / 1e6);
            c.last_ns = c.last_ns.max(a.at_ns);
            c.arrived_ns.push(a.at_ns);
        } else {
            c.duplicates += 1;
        }
    }
    c.missing = c.expected - c.received;
    c
}

/// The figures of one run of one scenario.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunResult {
    /// Events published (accepted).
    pub events: usize,
    /// Deliveries expected to healthy receivers.
    pub deliveries_expected: usize,
    /// Deliveries that arrived (first arrivals of expected pairs).
    pub deliveries_received: usize,
    /// Extra arrivals of a pair.
    pub duplicates: usize,
    /// Expected pairs that never arrived.
    pub missing: usize,
    /// Publishes the API refused or that failed.
    pub publish_errors: usize,
    /// Every event reached every healthy receiver, exactly once.
    pub complete: bool,
    /// Events accepted per second (first publish → last 202).
    pub accepted_per_s: f64,
    /// Deliveries per second (first publish → last arrival).
    pub delivered_per_s: f64,
    /// Publish call → receipt.
    pub latency_ms: Latency,
    /// `delivered_per_s` ÷ the ceiling's POSTs per second in the same round of runs.
    pub ceiling_ratio: f64,
    /// The runner's peak resident set, MB.
    pub peak_rss_mb: f64,
    /// Runner CPU seconds per 1,000 deliveries.
    pub cpu_s_per_1000: f64,
    /// First publish → last arrival, seconds.
    pub wall_s: f64,
    /// Events accepted and deliveries made in each step of the run, from the first publish.
    #[serde(skip_serializing_if = "Timeline::is_empty")]
    pub timeline: Timeline,
    /// The runner over time (the soak).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub samples: Vec<Sample>,
    /// Scenario-specific figures.
    #[serde(flatten)]
    pub extra: BTreeMap<String, f64>,
}

impl RunResult {
    /// The figures of a run whose healthy receivers are `subscriptions`: `arrivals` checked
    /// against `published`.
    pub fn checked(
        arrivals: &[Arrival],
        subscriptions: &HashSet<String>,
        published: &[Published],
        publish_errors: usize,
        cpu_s: f64,
        peak_rss_mb: f64,
    ) -> RunResult {
        let c = check(
            arrivals,
            &Expected {
                subscriptions,
                published,
            },
        );
        RunResult::from_check(published, publish_errors, c, cpu_s, peak_rss_mb)
    }

    /// The figures of a run: what was published, what arrived, and what it cost the runner.
    pub fn from_check(
        published: &[Published],
        publish_errors: usize,
        check: Check,
        cpu_s: f64,
        peak_rss_mb: f64,
    ) -> RunResult {
        let first = published.iter().map(|p| p.sent_ns).min().unwrap_or(0);
        let last_accept = published.iter().map(|p| p.accepted_ns).max().unwrap_or(0);
        let secs = |a: u128, b: u128| (b.saturating_sub(a) as f64 / 1e9).max(1e-9);
        let wall = secs(first, check.last_ns);
        RunResult {
            events: published.len(),
            deliveries_expected: check.expected,
            deliveries_received: check.received,
            duplicates: check.duplicates,
            missing: check.missing,
            publish_errors,
            complete: check.exact() && publish_errors == 0,
            accepted_per_s: round(published.len() as f64 / secs(first, last_accept)),
            delivered_per_s: round(check.received as f64 / wall),
            cpu_s_per_1000: round(cpu_s * 1000.0 / (check.received.max(1) as f64)),
            peak_rss_mb: round(peak_rss_mb),
            wall_s: round(wall),
            latency_ms: rounded(latency(check.latencies_ms)),
            timeline: Timeline::of(first, published, &check.arrived_ns),
            ceiling_ratio: 0.0,
            samples: Vec::new(),
            extra: BTreeMap::new(),
        }
    }
}

/// The runner at one moment of a long run.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    /// Seconds since the first sample (the start of publishing).
    pub t_s: f64,
    /// Resident set (VmRSS), MiB.
    pub rss_mb: f64,
    /// Its data directory on disk, MiB.
    pub data_dir_mb: f64,
}

/// How a run went over time: what was accepted and what arrived in each `step_ms`, counted
/// from the first publish. It shows where a run's time goes: in fanout-100, deliveries
/// trickle while events are still being accepted and fanned out, and most arrive after.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timeline {
    /// Length of a step.
    pub step_ms: u64,
    /// 202s received in each step.
    pub accepted: Vec<usize>,
    /// First arrivals of expected deliveries in each step.
    pub delivered: Vec<usize>,
}

impl Timeline {
    /// The shortest step.
    const STEP_MS: u64 = 100;
    /// Most steps: a longer run gets longer steps (whole multiples of the shortest).
    const MAX_STEPS: u128 = 100;

    fn of(first_ns: u128, published: &[Published], arrived_ns: &[u128]) -> Timeline {
        if published.is_empty() && arrived_ns.is_empty() {
            return Timeline::default();
        }
        let shortest = u128::from(Self::STEP_MS) * 1_000_000;
        let last = published
            .iter()
            .map(|p| p.accepted_ns)
            .chain(arrived_ns.iter().copied())
            .max()
            .unwrap_or(first_ns);
        let span = last.saturating_sub(first_ns) + 1;
        let step_ns = span.div_ceil(shortest * Self::MAX_STEPS).max(1) * shortest;
        let counts = |times: &mut dyn Iterator<Item = u128>| {
            let mut out = vec![0; usize::try_from(span.div_ceil(step_ns)).unwrap_or(0)];
            for t in times {
                let i = usize::try_from(t.saturating_sub(first_ns) / step_ns).unwrap_or(usize::MAX);
                if let Some(n) = out.get_mut(i) {
                    *n += 1;
                }
            }
            out
        };
        Timeline {
            step_ms: u64::try_from(step_ns / 1_000_000).unwrap_or(u64::MAX),
            accepted: counts(&mut published.iter().map(|p| p.accepted_ns)),
            delivered: counts(&mut arrived_ns.iter().copied()),
        }
    }

    fn is_empty(&self) -> bool {
        self.accepted.is_empty()
    }
}

fn rounded(l: Latency) -> Latency {
    Latency {
        p50: round(l.p50),
        p95: round(l.p95),
        p99: round(l.p99),
        max: round(l.max),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arrival(event: &str, sub: &str, at_ns: u128) -> Arrival {
        Arrival {
            name: "main".into(),
            event_id: event.into(),
            subscription_id: sub.into(),
            at_ns,
            hung: false,
            failed: false,
        }
    }

    fn published(id: &str, sent_ns: u128) -> Published {
        Published {
            event_id: id.into(),
            sent_ns,
            accepted_ns: sent_ns + 1,
        }
    }

    #[test]
    fn the_timeline_counts_acceptances_and_first_arrivals_per_step_from_the_first_publish() {
        let ms = 1_000_000u128;
        let t0 = 5_000 * ms;
        let events = [
            Published {
                event_id: "evt_1".into(),
                sent_ns: t0,
                accepted_ns: t0 + 20 * ms,
            },
            Published {
                event_id: "evt_2".into(),
                sent_ns: t0 + 50 * ms,
                accepted_ns: t0 + 130 * ms,
            },
        ];
        let arrived = [t0 + 90 * ms, t0 + 99 * ms, t0 + 100 * ms, t0 + 350 * ms];
        let t = Timeline::of(t0, &events, &arrived);
        assert_eq!(t.step_ms, 100);
        assert_eq!(t.accepted, vec![1, 1, 0, 0]);
        assert_eq!(t.delivered, vec![2, 1, 0, 1]);
        assert!(Timeline::of(t0, &[], &[]).is_empty());

        // A run of 25 s has 100 steps of 300 ms (the shortest multiple of 100 ms that fits).
        let long = [t0 + 299 * ms, t0 + 300 * ms, t0 + 25_000 * ms];
        let t = Timeline::of(t0, &events, &long);
        assert_eq!(t.step_ms, 300);
        assert_eq!(t.delivered.len(), 84);
        assert_eq!(t.delivered[0], 1);
        assert_eq!(t.delivered[1], 1);
        assert_eq!(t.delivered[83], 1);
        assert_eq!(t.accepted[0], 2);
    }

    #[test]
    fn a_run_is_exact_only_with_every_pair_once_and_nothing_else() {
        let subs: HashSet<String> = ["sub_a".to_string(), "sub_b".to_string()].into();
        let events = [published("evt_1", 1_000_000), published("evt_2", 2_000_000)];
        let expected = Expected {
            subscriptions: &subs,
            published: &events,
        };
        let all = vec![
            arrival("evt_1", "sub_a", 3_000_000),
            arrival("evt_1", "sub_b", 4_000_000),
            arrival("evt_2", "sub_a", 5_000_000),
            arrival("evt_2", "sub_b", 6_000_000),
        ];
        let c = check(&all, &expected);
        assert!(c.exact());
        assert_eq!((c.expected, c.received, c.last_ns), (4, 4, 6_000_000));
        assert_eq!(c.latencies_ms, vec![2.0, 3.0, 3.0, 4.0]);
        assert_eq!(
            c.arrived_ns,
            vec![3_000_000, 4_000_000, 5_000_000, 6_000_000]
        );

        let mut dup = all.clone();
        dup.push(arrival("evt_2", "sub_b", 7_000_000));
        let c = check(&dup, &expected);
        assert_eq!((c.duplicates, c.exact()), (1, false));

        let c = check(&all[..3], &expected);
        assert_eq!((c.missing, c.exact()), (1, false));

        let mut stray = all.clone();
        stray.push(arrival("evt_1", "sub_other", 7_000_000));
        stray.push(arrival("evt_9", "sub_a", 7_000_000));
        let c = check(&stray, &expected);
        assert_eq!((c.unexpected, c.exact()), (2, false));

        let mut failed = all.clone();
        failed.push(Arrival {
            failed: true,
            ..arrival("evt_1", "sub_a", 2_500_000)
        });
        let c = check(&failed, &expected);
        assert!(c.exact(), "an attempt answered 500 is not a delivery");
        assert_eq!(c.latencies_ms, vec![2.0, 3.0, 3.0, 4.0]);

        let mut hung = all;
        hung.push(Arrival {
            hung: true,
            ..arrival("evt_1", "sub_dead", 7_000_000)
        });
        assert!(
            check(&hung, &expected).exact(),
            "a hanging receiver's requests are not counted"
        );
    }
}
