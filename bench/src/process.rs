//! The processes a run drives: the local runner under test (a fresh data directory each time)
//! and the receiver, plus what `/proc` says about them (peak RSS, CPU time).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::receiver::Arrival;

/// The runner's output, kept in its data directory.
pub const RUNNER_LOG: &str = "runner.log";

/// The bootstrap admin the harness starts every runner with.
pub const ADMIN_ID: &str = "bench-admin";

/// Linux's `USER_HZ`: the unit of utime and stime in `/proc/PID/stat` (100 on every
/// architecture Linux runs on today).
const CLOCK_TICKS_PER_S: f64 = 100.0;

/// The receiver process.
pub struct Receiver {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    http: reqwest::Client,
}

impl Receiver {
    /// Starts `hookline-bench receiver` (this very executable) and waits for its address.
    pub async fn start() -> Result<Receiver, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current exe: {e}"))?;
        let mut child = Command::new(exe)
            .arg("receiver")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting the receiver: {e}"))?;
        let stdout = child.stdout.take().ok_or("receiver: no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .map_err(|_| "the receiver did not start within 10 s".to_string())?
            .map_err(|e| format!("receiver: {e}"))?
            .ok_or("the receiver exited")?;
        let addr = line
            .strip_prefix("listening on ")
            .ok_or_else(|| format!("receiver said {line:?}"))?;
        Ok(Receiver {
            child,
            base: format!("http://{addr}"),
            http: reqwest::Client::new(),
        })
    }

    /// Arrivals from index `from` on.
    pub async fn arrivals(&self, from: usize) -> Result<Vec<Arrival>, String> {
        let resp = self
            .http
            .get(format!("{}/_arrivals?from={from}", self.base))
            .send()
            .await
            .map_err(|e| format!("receiver: {e}"))?;
        resp.json().await.map_err(|e| format!("receiver: {e}"))
    }

    /// Forgets every arrival.
    pub async fn reset(&self) -> Result<(), String> {
        self.http
            .post(format!("{}/_reset", self.base))
            .send()
            .await
            .map_err(|e| format!("receiver: {e}"))?;
        Ok(())
    }

    /// Stops the receiver.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A local runner under test.
pub struct Runner {
    child: Child,
    /// Its process id.
    pub pid: u32,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The bootstrap admin's secret.
    pub admin_secret: String,
    dir: tempfile::TempDir,
}

impl Runner {
    /// Starts `bin` on a fresh data directory with `env` on top of the harness's settings,
    /// and waits until it answers `/health`.
    pub async fn start(bin: &Path, env: &[(String, String)]) -> Result<Runner, String> {
        let dir = tempfile::Builder::new()
            .prefix("hookline-bench-")
            .tempdir()
            .map_err(|e| format!("data dir: {e}"))?;
        let admin_secret = format!("bench-{}", crate::receiver::now_ns());
        let log = std::fs::File::create(dir.path().join(RUNNER_LOG))
            .map_err(|e| format!("runner log: {e}"))?;
        let log2 = log.try_clone().map_err(|e| format!("runner log: {e}"))?;
        let mut cmd = Command::new(bin);
        cmd.env("HOOKLINE_DATA_DIR", dir.path())
            .env("HOOKLINE_ADDR", "127.0.0.1:0")
            .env("HOOKLINE_ADMIN_CLIENT_ID", ADMIN_ID)
            .env("HOOKLINE_ADMIN_CLIENT_SECRET", &admin_secret)
            .env_remove("HOOKLINE_BACKEND")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("starting {}: {e}", bin.display()))?;
        let pid = child.id().ok_or("the runner exited at once")?;
        let addr_file = dir.path().join("addr");
        let started = Instant::now();
        let base = loop {
            if let Ok(addr) = std::fs::read_to_string(&addr_file)
                && !addr.trim().is_empty()
            {
                break format!("http://{}", addr.trim());
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err(format!(
                    "the runner wrote no address within 30 s; see {}",
                    dir.path().join("runner.log").display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let http = reqwest::Client::new();
        loop {
            if let Ok(r) = http.get(format!("{base}/health")).send().await
                && r.status().is_success()
            {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                return Err("the runner did not become healthy within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Runner {
            child,
            pid,
            base,
            admin_secret,
            dir,
        })
    }

    /// CPU seconds (user + system) the runner has used so far.
    pub fn cpu_seconds(&self) -> f64 {
        cpu_seconds(self.pid)
    }

    /// The runner's peak resident set so far, MB (VmHWM).
    pub fn peak_rss_mb(&self) -> f64 {
        status_kb(self.pid, "VmHWM:") / 1024.0
    }

    /// Its data directory (its log, `runner.log`, included).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the runner (SIGKILL: its data directory is thrown away anyway).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// CPU seconds (user + system) of a process, from `/proc/PID/stat`.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ")": state is field 3 of the man page, so utime (14) and stime (15) are 11 and 12.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / CLOCK_TICKS_PER_S
}

/// A `kB` line of `/proc/PID/status` (`VmHWM:`, `VmRSS:`), in kB.
pub fn status_kb(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0.0)
}

/// The workspace's target directory, as cargo would pick it.
pub fn target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    // `cargo run` puts this binary at <target>/release/hookline-bench.
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().and_then(Path::parent).map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// Builds packages with cargo (the `CARGO` that ran this binary, else `cargo` on the path).
pub fn cargo_build(profile: &str, packages: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = std::process::Command::new(cargo);
    cmd.args(["build", "--locked", "--profile", profile]);
    for p in packages {
        cmd.args(["-p", p]);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("running cargo build: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo build --profile {profile} failed"))
    }
}
