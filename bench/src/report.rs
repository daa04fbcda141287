//! Medians across runs, the targets of the issue, the table on stdout and the JSON document.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::lambda_init::FunctionInit;
use crate::run::RunResult;
use crate::stats::{median, round};

/// Peak RSS allowed to the runner in every scenario, MB.
pub const MAX_RSS_MB: f64 = 64.0;
/// The soak's: ten minutes with a fifth of the attempts failing and their retries pending,
/// and a store at its retention's size; what it checks first is that the figure stays flat.
pub const SOAK_MAX_RSS_MB: f64 = 96.0;

/// A target: a figure of the median run, a comparison, a bound.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// JSON path in the median, `/`-separated (`latency_ms/p99`).
    pub figure: &'static str,
    /// `true`: at least `bound`; `false`: at most.
    pub at_least: bool,
    /// The bound.
    pub bound: f64,
}

/// The targets per scenario (besides RSS and completeness, which every one has).
pub fn targets(scenario: &str) -> Vec<Target> {
    let t = |figure, at_least, bound| Target {
        figure,
        at_least,
        bound,
    };
    match scenario {
        "throughput-1" => vec![t("delivered_per_s", true, 3_500.0)],
        "latency-500" => vec![t("latency_ms/p99", false, 10.0)],
        "fanout-10" => vec![t("delivered_per_s", true, 12_500.0)],
        "fanout-100" => vec![t("delivered_per_s", true, 20_000.0)],
        "fanout-cost" => vec![t("to_last_delivery_ms_many", false, 500.0)],
        "noisy-neighbour" | "flooding-neighbour" => vec![t("healthy_p99_ratio", false, 2.0)],
        // Token cached: at most one token request per expiry (its cache period).
        "action-oauth2" => vec![t("token_requests_per_expiry", false, 1.0)],
        // 10,000 rows "in seconds": at most 10 s.
        "import" => vec![t("rows_per_s", true, 1_000.0)],
        "soak" => vec![t("rss_growth", false, crate::soak::MAX_RSS_GROWTH)],
        _ => Vec::new(),
    }
}

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('/').try_fold(v, |v, k| v.get(k))
}

/// The median of each numeric figure across runs; `complete` only if every run was.
pub fn median_of(runs: &[Value]) -> Value {
    let Some(Value::Object(first)) = runs.first() else {
        return Value::Null;
    };
    let mut out = Map::new();
    for (key, sample) in first {
        // A run's timeline is its own: steps of different runs do not line up.
        if key == "timeline" {
            continue;
        }
        let column: Vec<Value> = runs.iter().filter_map(|r| r.get(key).cloned()).collect();
        let merged = match sample {
            Value::Number(_) => {
                let xs: Vec<f64> = column.iter().filter_map(Value::as_f64).collect();
                json!(round(median(&xs)))
            }
            Value::Bool(_) => json!(column.iter().all(|v| v.as_bool() == Some(true))),
            Value::Object(_) => median_of(&column),
            other => other.clone(),
        };
        out.insert(key.clone(), merged);
    }
    Value::Object(out)
}

/// One scenario's runs, median and verdict.
pub struct ScenarioReport {
    /// Name.
    pub name: String,
    /// Every run.
    pub runs: Vec<RunResult>,
    /// Runs that could not finish, with why.
    pub errors: Vec<String>,
}

impl ScenarioReport {
    /// The JSON of this scenario: runs, median, targets and whether they were met.
    pub fn to_json(&self) -> Value {
        let runs: Vec<Value> = self
            .runs
            .iter()
            .filter_map(|r| serde_json::to_value(r).ok())
            .collect();
        let median = median_of(&runs);
        let mut checks = Vec::new();
        for t in targets(&self.name) {
            let value = lookup(&median, t.figure).and_then(Value::as_f64);
            let met = value.is_some_and(|v| {
                if t.at_least {
                    v >= t.bound
                } else {
                    v <= t.bound
                }
            });
            checks.push(json!({
                "figure": t.figure,
                "target": format!("{} {}", if t.at_least { "≥" } else { "≤" }, t.bound),
                "value": value,
                "met": met,
            }));
        }
        if self.name != "ceiling" {
            let bound = if self.name == "soak" {
                SOAK_MAX_RSS_MB
            } else {
                MAX_RSS_MB
            };
            let rss = lookup(&median, "peak_rss_mb").and_then(Value::as_f64);
            checks.push(json!({
                "figure": "peak_rss_mb",
                "target": format!("≤ {bound}"),
                "value": rss,
                "met": rss.is_some_and(|v| v <= bound),
            }));
        }
        let complete =
            self.errors.is_empty() && !self.runs.is_empty() && self.runs.iter().all(|r| r.complete);
        let met = complete && checks.iter().all(|c| c["met"] == true);
        json!({
            "runs": runs,
            "median": median,
            "targets": checks,
            "complete": complete,
            "met": met,
            "errors": self.errors,
        })
    }
}

fn cell(v: Option<&Value>) -> String {
    match v {
        Some(Value::Number(n)) => {
            let x = n.as_f64().unwrap_or(0.0);
            if x.abs() >= 100.0 {
                format!("{x:.0}")
            } else if x.abs() >= 10.0 {
                format!("{x:.1}")
            } else {
                format!("{x:.2}")
            }
        }
        Some(Value::Bool(b)) => if *b { "yes" } else { "NO" }.to_string(),
        _ => "-".into(),
    }
}

/// The table printed at the end: one line per scenario (its median), then the
/// scenario-specific figures and the Lambda functions.
pub fn table(
    scenarios: &BTreeMap<String, Value>,
    order: &[String],
    lambda: Option<&BTreeMap<String, FunctionInit>>,
) -> String {
    let mut s = String::new();
    let cols = [
        ("scenario", 16),
        ("deliv/s", 9),
        ("accept/s", 9),
        ("p50 ms", 8),
        ("p95 ms", 8),
        ("p99 ms", 8),
        ("max ms", 8),
        ("×ceil", 6),
        ("RSS MB", 7),
        ("CPU s/1k", 9),
        ("complete", 9),
        ("targets", 8),
    ];
    for (name, w) in cols {
        s.push_str(&format!("{name:<w$} "));
    }
    s.push('\n');
    for name in order {
        let Some(sc) = scenarios.get(name) else {
            continue;
        };
        let m = &sc["median"];
        let row = [
            name.clone(),
            cell(lookup(m, "delivered_per_s")),
            cell(lookup(m, "accepted_per_s")),
            cell(lookup(m, "latency_ms/p50")),
            cell(lookup(m, "latency_ms/p95")),
            cell(lookup(m, "latency_ms/p99")),
            cell(lookup(m, "latency_ms/max")),
            cell(lookup(m, "ceiling_ratio")),
            cell(lookup(m, "peak_rss_mb")),
            cell(lookup(m, "cpu_s_per_1000")),
            cell(sc.get("complete")),
            if sc["met"] == true { "met" } else { "MISSED" }.to_string(),
        ];
        for (v, (_, w)) in row.iter().zip(cols) {
            s.push_str(&format!("{v:<w$} "));
        }
        s.push('\n');
    }
    for name in order {
        let Some(sc) = scenarios.get(name) else {
            continue;
        };
        for t in sc["targets"].as_array().into_iter().flatten() {
            if t["met"] != true {
                s.push_str(&format!(
                    "  {name}: {} = {} (target {})\n",
                    t["figure"].as_str().unwrap_or(""),
                    cell(t.get("value")),
                    t["target"].as_str().unwrap_or("")
                ));
            }
        }
        for e in sc["errors"].as_array().into_iter().flatten() {
            s.push_str(&format!("  {name}: error: {}\n", e.as_str().unwrap_or("")));
        }
    }
    let extras: Vec<(&String, &Value)> = order
        .iter()
        .filter_map(|n| scenarios.get(n).map(|sc| (n, &sc["median"])))
        .collect();
    for (name, m) in extras {
        let Some(obj) = m.as_object() else { continue };
        let known = [
            "events",
            "deliveries_expected",
            "deliveries_received",
            "duplicates",
            "missing",
            "publish_errors",
            "complete",
            "accepted_per_s",
            "delivered_per_s",
            "latency_ms",
            "ceiling_ratio",
            "peak_rss_mb",
            "cpu_s_per_1000",
            "wall_s",
            "samples",
        ];
        let more: Vec<String> = obj
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={}", cell(Some(v))))
            .collect();
        if !more.is_empty() {
            s.push_str(&format!("  {name}: {}\n", more.join(" ")));
        }
        for sample in m["samples"].as_array().into_iter().flatten() {
            s.push_str(&format!(
                "    t {:>5} s  RSS {:>6} MiB  data dir {:>7} MiB\n",
                cell(sample.get("t_s")),
                cell(sample.get("rss_mb")),
                cell(sample.get("data_dir_mb"))
            ));
        }
    }
    if let Some(fns) = lambda {
        s.push_str("\nfunction   size MB  init ms  RSS MB  targets (≤10 MB, ≤30 ms)\n");
        for (f, r) in fns {
            s.push_str(&format!(
                "{f:<10} {:<8.2} {:<8.1} {:<7.1} {}\n",
                r.size_mb,
                r.init_ms,
                r.rss_mb,
                if r.met { "met" } else { "MISSED" }
            ));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_merge_numbers_nested_objects_and_flags() {
        let runs = vec![
            json!({"x": 1.0, "l": {"p99": 9.0}, "complete": true, "timeline": {"step_ms": 100, "delivered": [1]}}),
            json!({"x": 5.0, "l": {"p99": 3.0}, "complete": false, "timeline": {"step_ms": 100, "delivered": [2]}}),
            json!({"x": 2.0, "l": {"p99": 4.0}, "complete": true, "timeline": {"step_ms": 100, "delivered": [3]}}),
        ];
        let m = median_of(&runs);
        assert_eq!(m["x"], 2.0);
        assert_eq!(m["l"]["p99"], 4.0);
        assert_eq!(m["complete"], false);
        assert!(
            m.get("timeline").is_none(),
            "timelines stay with their runs"
        );
    }
}
