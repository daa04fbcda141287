//! `soak` (run only when named): a steady publish rate below the client limit for
//! `--soak-seconds` (600 by default) to a receiver that answers 500 to a share of the
//! attempts, with a short retry schedule, sampling the runner's resident set and the size of
//! its data directory. The runner keeps events and deliveries for `RETENTION` only, so that
//! the run covers several retention periods. It passes when every event was delivered
//! exactly once, the peak RSS of the second half is at most `MAX_RSS_GROWTH` times that of
//! the first, and so is the largest data directory of the second half.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::api::Api;
use crate::process::{RUNNER_LOG, Runner, status_kb};
use crate::run::{RunResult, Sample, Traffic, collect, publish};
use crate::scenarios::{Bench, report_errors};
use crate::stats::round;

/// Events per second: three quarters of the client's default limit (200/s), so the limiter
/// never refuses the soak's own steady publishes.
const RATE: f64 = 150.0;
/// Retries after 1, 2 and 5 s: every failed attempt comes back within the run.
const RETRY_SCHEDULE: &str = "1s,2s,5s";
/// Time between samples.
const SAMPLE_EVERY: Duration = Duration::from_secs(15);
/// The second half's peak RSS may be at most this multiple of the first half's.
pub const MAX_RSS_GROWTH: f64 = 1.2;
/// The runner's retention (`HOOKLINE_RETENTION_SECS`): a fifth of the default run, so that
/// the store reaches its steady size within the first half.
const RETENTION: &str = "120";

impl Bench {
    pub(crate) async fn soak(&self) -> Result<RunResult, String> {
        let mut env = self.limited_runner_env();
        env.push(("HOOKLINE_RETRY_SCHEDULE".into(), RETRY_SCHEDULE.into()));
        env.push(("HOOKLINE_RETENTION_SECS".into(), RETENTION.into()));
        self.on_runner(&env, async |runner| self.soak_on(runner).await)
            .await
    }

    async fn soak_on(&self, runner: &Runner) -> Result<RunResult, String> {
        let api = Api::new(runner, self.publishers);
        let admin = api.admin(runner).await?;
        let (platform, sub) = api
            .publisher_and_subscription(&admin, "AP", &self.url("/flaky/soak"))
            .await?;
        self.receiver.reset().await?;
        let events = (RATE * self.soak.as_secs_f64()).round() as usize;
        eprintln!(
            "  {events} events at {RATE}/s over {} s; samples every {} s:",
            self.soak.as_secs(),
            SAMPLE_EVERY.as_secs()
        );
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = tokio::spawn(sample_until(
            runner.pid,
            runner.data_dir().to_path_buf(),
            stop.clone(),
        ));
        let cpu0 = runner.cpu_seconds();
        let traffic = Traffic::dispatches(events, "AP", self.publishers, Some(RATE));
        let (published, errors) = publish(&api, &platform.token, traffic).await;
        report_errors(&errors);
        let arrivals = collect(&self.receiver, published.len()).await?;
        let cpu = runner.cpu_seconds() - cpu0;
        stop.store(true, Ordering::Relaxed);
        let samples = sampler.await.map_err(|e| format!("sampler: {e}"))?;
        let subs = HashSet::from([sub]);
        let mut r = RunResult::checked(
            &arrivals,
            &subs,
            &published,
            errors.len(),
            cpu,
            runner.peak_rss_mb(),
        );
        let half = self.soak.as_secs_f64() / 2.0;
        let peak = |first: bool, of: fn(&Sample) -> f64| {
            samples
                .iter()
                .filter(|s| (s.t_s < half) == first)
                .map(of)
                .fold(0.0, f64::max)
        };
        let (first, second) = (peak(true, |s| s.rss_mb), peak(false, |s| s.rss_mb));
        let growth = second / first.max(1e-3);
        let (dir_first, dir_second) = (
            peak(true, |s| s.data_dir_mb),
            peak(false, |s| s.data_dir_mb),
        );
        let dir_growth = dir_second / dir_first.max(1e-3);
        let dir = |s: Option<&Sample>| s.map(|s| s.data_dir_mb).unwrap_or(0.0);
        let figures = [
            ("rss_peak_first_half_mb", first),
            ("rss_peak_second_half_mb", second),
            ("rss_growth", growth),
            ("data_dir_start_mb", dir(samples.first())),
            ("data_dir_peak_first_half_mb", dir_first),
            ("data_dir_peak_second_half_mb", dir_second),
            ("data_dir_growth", dir_growth),
            ("data_dir_end_mb", dir(samples.last())),
            (
                "failed_attempts",
                arrivals.iter().filter(|a| a.failed).count() as f64,
            ),
        ];
        for (k, v) in figures {
            r.extra.insert(k.into(), round(v));
        }
        r.complete = r.complete && growth <= MAX_RSS_GROWTH && dir_growth <= MAX_RSS_GROWTH;
        r.samples = samples;
        Ok(r)
    }
}

/// Samples the runner every `SAMPLE_EVERY` (and once more when `stop` is set).
async fn sample_until(pid: u32, dir: PathBuf, stop: Arc<AtomicBool>) -> Vec<Sample> {
    let start = Instant::now();
    let mut samples = Vec::new();
    loop {
        let s = sample(pid, &dir, start);
        eprintln!(
            "  t {:>5.0} s  RSS {:>6.1} MiB  data dir {:>7.1} MiB",
            s.t_s, s.rss_mb, s.data_dir_mb
        );
        samples.push(s);
        let next = Instant::now() + SAMPLE_EVERY;
        while Instant::now() < next {
            if stop.load(Ordering::Relaxed) {
                samples.push(sample(pid, &dir, start));
                return samples;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

fn sample(pid: u32, dir: &Path, start: Instant) -> Sample {
    Sample {
        t_s: round(start.elapsed().as_secs_f64()),
        rss_mb: round(status_kb(pid, "VmRSS:") / 1024.0),
        data_dir_mb: round(disk_bytes(dir) as f64 / (1024.0 * 1024.0)),
    }
}

/// The space a directory's files take on disk (allocated blocks, as `du` counts).
fn disk_bytes(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        // The harness keeps the runner's output there too: logs, not the runner's data.
        .filter(|e| e.file_name() != RUNNER_LOG)
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_bytes(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}
