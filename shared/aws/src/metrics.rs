//! The handlers' metrics in CloudWatch Embedded Metric Format (EMF): counted in memory during
//! one invocation, then printed to stdout as JSON lines, one per (state, event type), which
//! CloudWatch Logs turns into metrics of the `Hookline` namespace (no API call, no IAM
//! permission, nothing in the request path). The names, units and dimensions are the ones
//! "Metrics" in `infra/README.md` lists.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use hookline_ports::metrics::{AttemptOutcome, Metrics};
use serde_json::{Map, Value, json};

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "Hookline";
/// EMF takes at most this many values of one metric in one document.
pub const MAX_VALUES_PER_METRIC: usize = 100;
/// The stage when the deployment names none (`HOOKLINE_STAGE` unset).
pub const DEFAULT_STAGE: &str = "default";

const EVENTS_ACCEPTED: &str = "EventsAccepted";
const FANOUT_DELIVERIES: &str = "FanoutDeliveries";
const DELIVERIES_SUCCEEDED: &str = "DeliveriesSucceeded";
const DELIVERIES_RETRIED: &str = "DeliveriesRetried";
const DELIVERIES_FAILED: &str = "DeliveriesFailed";
const ATTEMPT_LATENCY: &str = "AttemptLatency";

/// The counts of one (state, event type) since the last flush.
#[derive(Debug, Default)]
struct Counts {
    accepted: u64,
    fanned_out: u64,
    succeeded: u64,
    retried: u64,
    failed: u64,
    latency_ms: Vec<u64>,
}

/// A Lambda function's metrics sink: [`Metrics`] aggregated in memory until [`flush`], which
/// the function calls at the end of every invocation.
///
/// [`flush`]: EmfMetrics::flush
#[derive(Debug)]
pub struct EmfMetrics {
    stage: String,
    /// By state, then by event type (looked up by `&str`: nothing is allocated for a group
    /// already seen in this invocation).
    groups: Mutex<BTreeMap<String, BTreeMap<String, Counts>>>,
}

impl EmfMetrics {
    /// A sink whose metrics carry the dimension `Stage` = `stage`.
    pub fn new(stage: impl Into<String>) -> EmfMetrics {
        EmfMetrics {
            stage: stage.into(),
            groups: Mutex::new(BTreeMap::new()),
        }
    }

    /// Prints what was recorded since the last flush to stdout, one EMF document a line, and
    /// starts counting afresh. Nothing recorded, nothing printed.
    pub fn flush(&self) {
        let written = self.flush_to(&mut io::stdout().lock());
        if let Err(e) = written {
            tracing::warn!(error = %e, "metrics: could not write to stdout");
        }
    }

    /// [`flush`](EmfMetrics::flush) to `out`. Each line is written whole, with one
    /// `write_all`: on a locked stdout, no log line can come between its parts.
    pub fn flush_to(&self, out: &mut impl Write) -> io::Result<()> {
        let documents = self.take_documents(now_ms());
        if documents.is_empty() {
            return Ok(());
        }
        for document in documents {
            let mut line = document.to_string();
            line.push('\n');
            out.write_all(line.as_bytes())?;
        }
        out.flush()
    }

    /// The EMF documents of everything recorded since the last call, stamped `timestamp_ms`.
    fn take_documents(&self, timestamp_ms: u64) -> Vec<Value> {
        let groups = std::mem::take(&mut *self.lock());
        let mut documents = Vec::new();
        for (state, by_type) in &groups {
            for (event_type, counts) in by_type {
                let labels = Labels {
                    stage: &self.stage,
                    state,
                    event_type,
                    timestamp_ms,
                };
                documents.extend(counts.documents(&labels));
            }
        }
        documents
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, BTreeMap<String, Counts>>> {
        // Nothing panics while holding the lock; should it ever, the counts are still sound.
        self.groups.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Applies `change` to the counts of (`state`, `event_type`).
    fn record(&self, state: &str, event_type: &str, change: impl FnOnce(&mut Counts)) {
        let mut groups = self.lock();
        if !groups.contains_key(state) {
            groups.insert(state.to_string(), BTreeMap::new());
        }
        let Some(by_type) = groups.get_mut(state) else {
            return;
        };
        if !by_type.contains_key(event_type) {
            by_type.insert(event_type.to_string(), Counts::default());
        }
        if let Some(counts) = by_type.get_mut(event_type) {
            change(counts);
        }
    }
}

impl Metrics for EmfMetrics {
    fn events_accepted(&self, state: &str, event_type: &str, n: u64) {
        if n > 0 {
            self.record(state, event_type, |c| {
                c.accepted = c.accepted.saturating_add(n)
            });
        }
    }

    fn fanned_out(&self, state: &str, event_type: &str, deliveries: u64) {
        if deliveries > 0 {
            self.record(state, event_type, |c| {
                c.fanned_out = c.fanned_out.saturating_add(deliveries);
            });
        }
    }

    fn attempt(
        &self,
        state: &str,
        event_type: &str,
        outcome: AttemptOutcome,
        latency_ms: Option<u64>,
    ) {
        self.record(state, event_type, |c| {
            let count = match outcome {
                AttemptOutcome::Succeeded => &mut c.succeeded,
                AttemptOutcome::Retried => &mut c.retried,
                AttemptOutcome::Failed => &mut c.failed,
            };
            *count = count.saturating_add(1);
            c.latency_ms.extend(latency_ms);
        });
    }
}

/// What every document of one group carries besides its metrics.
struct Labels<'a> {
    stage: &'a str,
    state: &'a str,
    event_type: &'a str,
    timestamp_ms: u64,
}

impl Counts {
    /// The group's documents: the counts and the first latencies in the first, the further
    /// latencies [`MAX_VALUES_PER_METRIC`] at a time in the next ones. A metric without a
    /// value is left out, and so is a document without a metric.
    fn documents(&self, labels: &Labels<'_>) -> Vec<Value> {
        let mut first: Vec<(&str, &str, Value)> = [
            (EVENTS_ACCEPTED, self.accepted),
            (FANOUT_DELIVERIES, self.fanned_out),
            (DELIVERIES_SUCCEEDED, self.succeeded),
            (DELIVERIES_RETRIED, self.retried),
            (DELIVERIES_FAILED, self.failed),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| (name, "Count", Value::from(n)))
        .collect();
        let mut latencies = self.latency_ms.chunks(MAX_VALUES_PER_METRIC);
        if let Some(chunk) = latencies.next() {
            first.push((ATTEMPT_LATENCY, "Milliseconds", Value::from(chunk)));
        }
        let mut documents = Vec::new();
        if !first.is_empty() {
            documents.push(document(labels, first));
        }
        for chunk in latencies {
            let latency = (ATTEMPT_LATENCY, "Milliseconds", Value::from(chunk));
            documents.push(document(labels, vec![latency]));
        }
        documents
    }
}

/// One EMF document: the `_aws` metadata naming each metric (name, unit) under both dimension
/// sets, the dimensions' values, and each metric's value as a top-level member.
fn document(labels: &Labels<'_>, metrics: Vec<(&str, &str, Value)>) -> Value {
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|(name, unit, _)| json!({ "Name": name, "Unit": unit }))
        .collect();
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": labels.timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Stage"], ["Stage", "State", "EventType"]],
                "Metrics": definitions,
            }],
        }),
    );
    doc.insert("Stage".into(), labels.stage.into());
    doc.insert("State".into(), labels.state.into());
    doc.insert("EventType".into(), labels.event_type.into());
    for (name, _, value) in metrics {
        doc.insert(name.into(), value);
    }
    Value::Object(doc)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRIC_NAMES: [&str; 6] = [
        EVENTS_ACCEPTED,
        FANOUT_DELIVERIES,
        DELIVERIES_SUCCEEDED,
        DELIVERIES_RETRIED,
        DELIVERIES_FAILED,
        ATTEMPT_LATENCY,
    ];

    /// Flushes `metrics` to a buffer; every line, parsed.
    fn flushed(metrics: &EmfMetrics) -> Vec<Value> {
        let mut out = Vec::new();
        metrics.flush_to(&mut out).expect("write to memory");
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(text.is_empty() || text.ends_with('\n'), "{text}");
        text.lines()
            .map(|line| serde_json::from_str(line).expect("each line is one JSON document"))
            .collect()
    }

    /// Checks what CloudWatch requires of a document (see "Specification: Embedded metric
    /// format" in the CloudWatch user guide); returns its metric names.
    fn assert_valid_emf(doc: &Value) -> Vec<String> {
        let aws = &doc["_aws"];
        assert!(aws["Timestamp"].as_u64().is_some_and(|t| t > 0), "{doc}");
        let directives = aws["CloudWatchMetrics"].as_array().expect("directives");
        assert_eq!(directives.len(), 1, "{doc}");
        let directive = &directives[0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(
            directive["Dimensions"],
            json!([["Stage"], ["Stage", "State", "EventType"]])
        );
        for dimension in ["Stage", "State", "EventType"] {
            assert!(doc[dimension].is_string(), "{dimension} in {doc}");
        }
        let metrics = directive["Metrics"].as_array().expect("metrics");
        assert!(!metrics.is_empty(), "a document without a metric: {doc}");
        let mut names = Vec::new();
        for metric in metrics {
            let name = metric["Name"].as_str().expect("a name").to_string();
            assert!(METRIC_NAMES.contains(&name.as_str()), "{name}");
            let unit = if name == ATTEMPT_LATENCY {
                "Milliseconds"
            } else {
                "Count"
            };
            assert_eq!(metric["Unit"], unit, "{name}");
            match &doc[&name] {
                Value::Number(_) => {}
                Value::Array(values) => {
                    assert!(
                        (1..=MAX_VALUES_PER_METRIC).contains(&values.len()),
                        "{name}"
                    );
                    assert!(values.iter().all(Value::is_number), "{name}");
                }
                other => panic!("{name} is {other}, not a value in {doc}"),
            }
            names.push(name);
        }
        for name in METRIC_NAMES {
            assert_eq!(
                doc.get(name).is_some(),
                names.iter().any(|n| n == name),
                "{name}: a top-level value exactly when it is declared, in {doc}"
            );
        }
        names
    }

    #[test]
    fn recorded_attempts_make_one_valid_emf_document() {
        let metrics = EmfMetrics::new("prod");
        let (ap, dispatched) = ("AP", "LotDispatched");
        metrics.attempt(ap, dispatched, AttemptOutcome::Succeeded, Some(12));
        metrics.attempt(ap, dispatched, AttemptOutcome::Succeeded, Some(30));
        metrics.attempt(ap, dispatched, AttemptOutcome::Retried, Some(7));
        metrics.attempt(ap, dispatched, AttemptOutcome::Retried, None);

        let docs = flushed(&metrics);
        assert_eq!(docs.len(), 1, "{docs:?}");
        let doc = &docs[0];
        assert_eq!(
            assert_valid_emf(doc),
            [DELIVERIES_SUCCEEDED, DELIVERIES_RETRIED, ATTEMPT_LATENCY]
        );
        assert_eq!(doc["Stage"], "prod");
        assert_eq!(doc["State"], "AP");
        assert_eq!(doc["EventType"], "LotDispatched");
        assert_eq!(doc[DELIVERIES_SUCCEEDED], 2);
        assert_eq!(doc[DELIVERIES_RETRIED], 2);
        assert_eq!(
            doc[ATTEMPT_LATENCY],
            json!([12, 30, 7]),
            "an attempt not sent has no latency"
        );
        assert!(flushed(&metrics).is_empty(), "a flush starts afresh");
    }

    #[test]
    fn nothing_recorded_prints_nothing() {
        let metrics = EmfMetrics::new("prod");
        assert!(flushed(&metrics).is_empty());
        metrics.events_accepted("AP", "LotDispatched", 0);
        metrics.fanned_out("AP", "LotDispatched", 0);
        assert!(
            flushed(&metrics).is_empty(),
            "zero counts are no data point"
        );
    }

    #[test]
    fn a_batch_is_counted_by_state_and_event_type() {
        let metrics = EmfMetrics::new("prod");
        metrics.events_accepted("AP", "LotDispatched", 2);
        metrics.events_accepted("AP", "LotDispatched", 1);
        metrics.fanned_out("AP", "LotDispatched", 40);
        metrics.fanned_out("AP", "LotReceived", 3);
        metrics.attempt("TS", "LotDispatched", AttemptOutcome::Failed, Some(10_000));
        metrics.attempt("AP", "LotDispatched", AttemptOutcome::Succeeded, Some(5));

        let docs = flushed(&metrics);
        for doc in &docs {
            assert_valid_emf(doc);
        }
        let group = |state: &str, event_type: &str| -> &Value {
            let mut found = docs
                .iter()
                .filter(|d| d["State"] == state && d["EventType"] == event_type);
            let doc = found.next().expect("a document");
            assert!(found.next().is_none(), "one document per group");
            doc
        };
        assert_eq!(docs.len(), 3, "{docs:?}");
        let ap_dispatched = group("AP", "LotDispatched");
        assert_eq!(ap_dispatched[EVENTS_ACCEPTED], 3);
        assert_eq!(ap_dispatched[FANOUT_DELIVERIES], 40);
        assert_eq!(ap_dispatched[DELIVERIES_SUCCEEDED], 1);
        assert_eq!(ap_dispatched[ATTEMPT_LATENCY], json!([5]));
        assert!(ap_dispatched.get(DELIVERIES_FAILED).is_none());
        let ap_received = group("AP", "LotReceived");
        assert_eq!(ap_received[FANOUT_DELIVERIES], 3);
        assert!(ap_received.get(ATTEMPT_LATENCY).is_none());
        let ts_dispatched = group("TS", "LotDispatched");
        assert_eq!(ts_dispatched[DELIVERIES_FAILED], 1);
        assert_eq!(ts_dispatched[ATTEMPT_LATENCY], json!([10_000]));
    }

    #[test]
    fn more_than_100_latencies_are_split_across_documents() {
        let metrics = EmfMetrics::new("prod");
        for ms in 0..250 {
            metrics.attempt("AP", "LotDispatched", AttemptOutcome::Succeeded, Some(ms));
        }
        let docs = flushed(&metrics);
        assert_eq!(docs.len(), 3, "100 + 100 + 50");
        let names: Vec<Vec<String>> = docs.iter().map(assert_valid_emf).collect();
        assert_eq!(names[0], [DELIVERIES_SUCCEEDED, ATTEMPT_LATENCY]);
        assert_eq!(names[1], [ATTEMPT_LATENCY], "each count is sent once");
        assert_eq!(names[2], [ATTEMPT_LATENCY]);
        assert_eq!(docs[0][DELIVERIES_SUCCEEDED], 250);
        let latencies: Vec<u64> = docs
            .iter()
            .flat_map(|d| d[ATTEMPT_LATENCY].as_array().expect("values").clone())
            .map(|v| v.as_u64().expect("a number"))
            .collect();
        assert_eq!(
            latencies,
            (0..250).collect::<Vec<u64>>(),
            "every value, once"
        );
    }
}
