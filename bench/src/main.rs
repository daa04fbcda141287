//! `hookline-bench`: Hookline's benchmark. It builds and starts the fast local runner (a
//! fresh data directory per run), a receiver in its own process, gets real tokens, creates
//! the subscriptions and publishes through the API — so everything a user pays for is inside
//! the measurement — and prints a table and writes the same figures as JSON.
//!
//! ```text
//! cargo run --profile runner -p hookline-bench -- [SCENARIO...|all] [--scale F] [--runs N] [--json FILE]
//! ```
//!
//! Both the harness and the runner are built with the `runner` profile (speed); `release` is
//! the Lambda functions' size-optimised profile.

mod action_oauth2;
mod api;
mod fanout_cost;
mod flooding;
mod import;
mod lambda_init;
mod process;
mod receiver;
mod report;
mod run;
mod scenarios;
mod soak;
mod stats;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};

use crate::process::{Receiver, cargo_build, target_dir};
use crate::report::ScenarioReport;
use crate::scenarios::{ALL, Bench, EXPLICIT};

/// The receiver (this executable) shares the machine's two cores with the runner, so every
/// microsecond it spends per webhook is taken from the system under test: it runs on the
/// same allocator as the runner, which in glibc's allocator costs about a third more CPU per
/// request (the harness's own loopback ceiling rose from about 36,000 to 52,000 POSTs/s).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// The cargo profile of the runner under test.
const RUNNER_PROFILE: &str = "runner";

/// Concurrent publish calls of the closed-loop scenarios.
const PUBLISHERS: usize = 32;
/// Deliveries the runner may have in flight (`HOOKLINE_DELIVERY_CONCURRENCY`); the ceiling
/// posts with as many.
const DELIVERY_CONCURRENCY: usize = 64;

struct Args {
    scenarios: Vec<String>,
    scale: f64,
    runs: usize,
    json: Option<PathBuf>,
    build: bool,
    soak_s: u64,
}

const USAGE: &str = "usage: hookline-bench [SCENARIO...|all] [--scale F] [--runs N] [--json FILE] [--no-build] [--soak-seconds S]
scenarios: ceiling throughput-1 latency-500 fanout-10 fanout-100 fanout-cost noisy-neighbour flooding-neighbour action-oauth2 import lambda-init
run only when named: soak (publishes for --soak-seconds, 600 by default)";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        scenarios: Vec::new(),
        scale: 1.0,
        runs: 3,
        json: None,
        build: true,
        soak_s: 600,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--scale" => {
                args.scale = value("--scale")?
                    .parse()
                    .ok()
                    .filter(|s: &f64| *s > 0.0 && s.is_finite())
                    .ok_or("--scale takes a positive number")?
            }
            "--runs" => {
                args.runs = value("--runs")?
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or("--runs takes a positive whole number")?
            }
            "--json" => args.json = Some(PathBuf::from(value("--json")?)),
            "--no-build" => args.build = false,
            "--soak-seconds" => {
                args.soak_s = value("--soak-seconds")?
                    .parse()
                    .ok()
                    .filter(|n| *n >= 20)
                    .ok_or("--soak-seconds takes a whole number of seconds, at least 20")?
            }
            "-h" | "--help" => return Err(USAGE.into()),
            "all" => args.scenarios.extend(ALL.iter().map(|s| s.to_string())),
            s if ALL.contains(&s) || EXPLICIT.contains(&s) => args.scenarios.push(s.to_string()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if args.scenarios.is_empty() {
        args.scenarios.extend(ALL.iter().map(|s| s.to_string()));
    }
    args.scenarios.dedup();
    Ok(args)
}

fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("receiver") {
        // One thread: a second worker thread bought the receiver nothing it needed (it keeps
        // up with the ceiling's ~40,000 POSTs/s on one), and cost the runner beside it about
        // 8% of fanout-100's deliveries/s in wake-ups and work stealing on the shared cores.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build();
        return match runtime.map(|rt| rt.block_on(receiver::serve())) {
            Ok(Ok(())) => ExitCode::SUCCESS,
            Ok(Err(e)) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("receiver: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hookline-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(bench(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("hookline-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Sets each run's `ceiling_ratio` against the ceiling of its own round (`round_ceilings`,
/// per report and run), or against `median` where that round's ceiling run failed.
fn set_ceiling_ratios(
    reports: &mut [ScenarioReport],
    round_ceilings: &[Vec<Option<f64>>],
    median: f64,
) {
    for (report, ceilings) in reports.iter_mut().zip(round_ceilings) {
        for (r, own) in report.runs.iter_mut().zip(ceilings) {
            let c = own.unwrap_or(median);
            r.ceiling_ratio = stats::round(r.delivered_per_s / c.max(1.0));
        }
    }
}

/// Runs the scenarios; `Ok(false)` when a run was incomplete (a missing or duplicate delivery).
async fn bench(args: Args) -> Result<bool, String> {
    let target = target_dir();
    if args.build {
        eprintln!("building the runner (profile {RUNNER_PROFILE})…");
        cargo_build(RUNNER_PROFILE, &["hookline-local"])?;
        if args.scenarios.iter().any(|s| s == "lambda-init") {
            eprintln!(
                "building the Lambda functions (profile {})…",
                lambda_init::PROFILE
            );
            let pkgs: Vec<String> = lambda_init::FUNCTIONS
                .iter()
                .map(|f| format!("hookline-{f}"))
                .collect();
            let pkgs: Vec<&str> = pkgs.iter().map(String::as_str).collect();
            cargo_build(lambda_init::PROFILE, &pkgs)?;
        }
    }
    let bench = Bench {
        // `HOOKLINE_BENCH_RUNNER` runs another build of the runner (e.g. one with symbols, for
        // `perf record`).
        runner_bin: std::env::var_os("HOOKLINE_BENCH_RUNNER")
            .map(PathBuf::from)
            .unwrap_or_else(|| target.join(RUNNER_PROFILE).join("hookline-local")),
        receiver: Receiver::start().await?,
        scale: args.scale,
        publishers: PUBLISHERS,
        delivery_concurrency: DELIVERY_CONCURRENCY,
        soak: std::time::Duration::from_secs(args.soak_s),
    };

    // The ceiling first, whether or not it was asked for: every figure is quoted against it.
    let mut order: Vec<String> = vec!["ceiling".into()];
    order.extend(
        args.scenarios
            .iter()
            .filter(|s| *s != "ceiling" && *s != "lambda-init")
            .cloned(),
    );
    // In rounds: each runs the ceiling, then every scenario once. The machine's speed drifts
    // by half within an hour; run back to back, one slow stretch fell on all three runs of a
    // scenario (and their median), where in rounds it falls on one run of several.
    let mut reports: Vec<ScenarioReport> = order
        .iter()
        .map(|name| ScenarioReport {
            name: name.clone(),
            runs: Vec::new(),
            errors: Vec::new(),
        })
        .collect();
    // The ceiling of the round each run was made in, when that round's ceiling run finished.
    let mut round_ceilings: Vec<Vec<Option<f64>>> = vec![Vec::new(); reports.len()];
    for i in 1..=args.runs {
        let mut round_ceiling = None;
        for (report, ceilings) in reports.iter_mut().zip(round_ceilings.iter_mut()) {
            let name = &report.name;
            eprintln!("{name}: run {i} of {}…", args.runs);
            match bench.run(name).await {
                Ok(r) => {
                    eprintln!(
                        "  {:.0} deliveries/s, p99 {:.2} ms, complete: {}",
                        r.delivered_per_s, r.latency_ms.p99, r.complete
                    );
                    if name == "ceiling" {
                        round_ceiling = Some(r.delivered_per_s);
                    }
                    report.runs.push(r);
                    ceilings.push(round_ceiling);
                }
                Err(e) => {
                    eprintln!("  failed: {e}");
                    report.errors.push(e);
                }
            }
        }
    }
    let ceiling = stats::median(
        &reports[0]
            .runs
            .iter()
            .map(|r| r.delivered_per_s)
            .collect::<Vec<_>>(),
    );
    set_ceiling_ratios(&mut reports, &round_ceilings, ceiling);
    let lambda = if args.scenarios.iter().any(|s| s == "lambda-init") {
        eprintln!("lambda-init: {} starts of each function…", args.runs);
        match lambda_init::measure(&target, args.runs).await {
            Ok(m) => Some(m),
            Err(e) => {
                eprintln!("  failed: {e}");
                return Err(format!("lambda-init: {e}"));
            }
        }
    } else {
        None
    };
    bench.receiver.stop().await;

    let mut scenarios = BTreeMap::new();
    for r in &reports {
        scenarios.insert(r.name.clone(), r.to_json());
    }
    // Only the ceiling that was asked for is a result; otherwise it is the yardstick only.
    let asked_ceiling = args.scenarios.iter().any(|s| s == "ceiling");
    let ceiling_json = scenarios.get("ceiling").cloned();
    if !asked_ceiling {
        scenarios.remove("ceiling");
        order.retain(|s| s != "ceiling");
    }
    print!("\n{}", report::table(&scenarios, &order, lambda.as_ref()));

    let all_complete = scenarios.values().all(|s| s["complete"] == true);
    let doc = json!({
        "generated_at_unix": receiver::now_ns() / 1_000_000_000,
        "machine": machine(),
        "git_commit": git_commit(),
        "settings": {
            "scale": args.scale,
            "runs": args.runs,
            "publishers": PUBLISHERS,
            "delivery_concurrency": DELIVERY_CONCURRENCY,
            "soak_seconds": args.soak_s,
            "backend": "embedded",
        },
        "ceiling_posts_per_s": stats::round(ceiling),
        "ceiling": ceiling_json,
        "scenarios": scenarios,
        "lambda_init": lambda.map(|m| json!({
            "functions": m,
            "targets": {"size_mb": lambda_init::MAX_SIZE_MB, "init_ms": lambda_init::MAX_INIT_MS},
            "met": m.values().all(|f| f.met),
        })),
    });
    let path = args
        .json
        .unwrap_or_else(|| target.join("hookline-bench").join("last.json"));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    std::fs::write(&path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!("\nwrote {}", path.display());
    Ok(all_complete)
}

/// What the figures were measured on.
fn machine() -> Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string());
    let mem_gib = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| stats::round(kb / 1024.0 / 1024.0));
    json!({
        "cpu": model,
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "memory_gib": mem_gib,
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
    })
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::RunResult;

    fn report(name: &str, delivered: &[f64]) -> ScenarioReport {
        ScenarioReport {
            name: name.into(),
            runs: delivered
                .iter()
                .map(|&d| RunResult {
                    delivered_per_s: d,
                    ..RunResult::default()
                })
                .collect(),
            errors: Vec::new(),
        }
    }

    #[test]
    fn each_run_is_quoted_against_its_own_rounds_ceiling() {
        let mut reports = vec![
            report("ceiling", &[10_000.0, 40_000.0]),
            report("fanout-100", &[5_000.0, 5_000.0, 6_000.0]),
        ];
        let rounds = vec![
            vec![Some(10_000.0), Some(40_000.0)],
            // The third round's ceiling run failed: the median stands in.
            vec![Some(10_000.0), Some(40_000.0), None],
        ];
        set_ceiling_ratios(&mut reports, &rounds, 20_000.0);
        let ratios =
            |r: &ScenarioReport| r.runs.iter().map(|r| r.ceiling_ratio).collect::<Vec<_>>();
        assert_eq!(ratios(&reports[0]), vec![1.0, 1.0]);
        assert_eq!(ratios(&reports[1]), vec![0.5, 0.125, 0.3]);
    }
}
