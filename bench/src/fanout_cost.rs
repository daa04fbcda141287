//! `fanout-cost`: one event matching 1,000 subscriptions while 10,000 others exist, then one
//! matching 100: the time to the last delivery must follow the matches, not the subscriptions
//! that exist.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::json;

use crate::api::{Api, PUBLISHER, SUBSCRIBER, lot_event};
use crate::process::Runner;
use crate::run::{Expected, Published, RunResult, Traffic, check, collect, publish};
use crate::scenarios::{Bench, report_errors, subscribe_many};

impl Bench {
    /// One event matching 1,000 subscriptions while 10,000 others exist, then one matching
    /// 100: the time to the last delivery must follow the matches.
    pub(crate) async fn fanout_cost(&self) -> Result<RunResult, String> {
        self.on_runner(&self.runner_env(), async |runner| {
            self.fanout_cost_on(runner).await
        })
        .await
    }

    async fn fanout_cost_on(&self, runner: &Runner) -> Result<RunResult, String> {
        let api = Api::new(runner, self.publishers);
        let admin = api.admin(runner).await?;
        let platform = api
            .portal(&admin, "central platform", &PUBLISHER, &["AP", "TG"])
            .await?;
        let tenant = api
            .portal(&admin, "partner tools", &SUBSCRIBER, &["AP", "TG"])
            .await?;
        let many = self.scaled(1_000);
        let few = self.scaled(100);
        let others = self.scaled(10_000);
        // The others: the same types in another state, and other types in this one.
        let half = others / 2;
        let url = self.url("/hook/other");
        subscribe_many(
            &api,
            &tenant,
            &json!({"url": url, "event_types": ["LotDispatched", "LotReceived"], "states": ["TG"]}),
            half,
        )
        .await?;
        subscribe_many(&api, &tenant, &json!({"url": url, "event_types": ["BatchCreated", "LotTestPassed"], "states": ["AP"]}), others - half).await?;
        let dispatched: HashSet<String> = subscribe_many(&api, &tenant, &json!({"url": self.url("/hook/many"), "event_types": ["LotDispatched"], "states": ["AP"]}), many).await?.into_iter().collect();
        let received: HashSet<String> = subscribe_many(&api, &tenant, &json!({"url": self.url("/hook/few"), "event_types": ["LotReceived"], "states": ["AP"]}), few).await?.into_iter().collect();
        // One event that matches nothing first: the runner loads its subscription index on
        // the first event after a change, and that one-off load is not the per-event cost.
        api.publish(&platform.token, &lot_event("LotSentBack", "AP", 0))
            .await?;
        tokio::time::sleep(Duration::from_millis(1500)).await;

        let cpu0 = runner.cpu_seconds();
        let mut phases = Vec::new();
        for (event_type, subs) in [("LotDispatched", &dispatched), ("LotReceived", &received)] {
            self.receiver.reset().await?;
            let (published, errors) = publish(
                &api,
                &platform.token,
                Traffic {
                    events: vec![lot_event(event_type, "AP", 1)],
                    concurrency: 1,
                    rate: None,
                },
            )
            .await;
            report_errors(&errors);
            let arrivals = collect(&self.receiver, published.len() * subs.len()).await?;
            let c = check(
                &arrivals,
                &Expected {
                    subscriptions: subs,
                    published: &published,
                },
            );
            phases.push((published, errors.len(), c));
        }
        let cpu = runner.cpu_seconds() - cpu0;
        let (few_pub, few_err, few_check) = phases.pop().ok_or("no phase")?;
        let (many_pub, many_err, many_check) = phases.pop().ok_or("no phase")?;
        let to_last = |p: &[Published], last_ns: u128| {
            p.first()
                .map(|p| last_ns.saturating_sub(p.sent_ns) as f64 / 1e6)
                .unwrap_or(0.0)
        };
        let few_ms = to_last(&few_pub, few_check.last_ns);
        let few_exact = few_check.exact();
        let few_received = few_check.received;
        let many_ms = to_last(&many_pub, many_check.last_ns);
        let mut r = RunResult::from_check(
            &many_pub,
            many_err + few_err,
            many_check,
            0.0,
            runner.peak_rss_mb(),
        );
        r.cpu_s_per_1000 = crate::stats::round(
            cpu * 1000.0 / (r.deliveries_received + few_received).max(1) as f64,
        );
        r.complete = r.complete && few_exact;
        r.deliveries_received += few_received;
        r.deliveries_expected += few;
        r.missing += few - few_received.min(few);
        let round = crate::stats::round;
        r.extra
            .insert("subscriptions".into(), (others + many + few) as f64);
        r.extra.insert("matches_many".into(), many as f64);
        r.extra.insert("matches_few".into(), few as f64);
        r.extra
            .insert("to_last_delivery_ms_many".into(), round(many_ms));
        r.extra
            .insert("to_last_delivery_ms_few".into(), round(few_ms));
        r.extra.insert(
            "ms_per_match_many".into(),
            round(many_ms / many.max(1) as f64),
        );
        r.extra
            .insert("ms_per_match_few".into(), round(few_ms / few.max(1) as f64));
        Ok(r)
    }
}
