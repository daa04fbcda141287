//! `TestApp`: the local runner as a real child process on a free port of 127.0.0.1, with a
//! fresh data directory, its stdout and stderr captured to files, and the bootstrap admin.
//!
//! The runner announces its address by writing `127.0.0.1:PORT` to `$HOOKLINE_DATA_DIR/addr`;
//! the harness waits for that file, then for `GET /health` 200. Dropping the app kills the
//! process and scans its output for every secret the test saw.
//!
//! With `HOOKLINE_E2E_BACKEND=aws` the app also owns a `moto_server` and a stack on it made by
//! `infra/local/bootstrap` (see `backend`): the runner gets the bootstrap's environment, under
//! the harness's own settings, and the emulator stays up across restarts until the app drops.

mod command;
mod output;

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use super::backend::{Backend, Moto};
use super::secrets::{SecretRegistry, random_string};

pub use command::run_binary;
use command::runner_command;

/// The bootstrap admin client's id.
pub const ADMIN_ID: &str = "cl_admin";
/// How long the runner may take to announce its address and become healthy.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a graceful shutdown may take.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(20);
/// How often the address file and the child's exit are polled.
const POLL: Duration = Duration::from_millis(20);
/// How long a run of the binary with arguments (an admin command) may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Deliveries in flight on the AWS backend: each app has its own moto, which a small machine
/// cannot serve at the embedded backend's pace.
const AWS_DELIVERY_CONCURRENCY: &str = "8";

/// Configures a `TestApp` before it starts.
#[derive(Debug, Clone)]
pub struct TestAppBuilder {
    env: BTreeMap<String, String>,
}

impl TestAppBuilder {
    /// `HOOKLINE_RETRY_SCHEDULE` (e.g. `100ms` or `200ms,400ms`).
    pub fn retry_schedule(self, schedule: &str) -> Self {
        self.env("HOOKLINE_RETRY_SCHEDULE", schedule)
    }

    /// `HOOKLINE_VISIBILITY_TIMEOUT_SECS`.
    pub fn visibility_timeout_secs(self, secs: u64) -> Self {
        self.env("HOOKLINE_VISIBILITY_TIMEOUT_SECS", &secs.to_string())
    }

    /// `HOOKLINE_LOG_FORMAT` (`json` or `text`).
    pub fn log_format(self, format: &str) -> Self {
        self.env("HOOKLINE_LOG_FORMAT", format)
    }

    /// Any environment variable of the runner.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.to_string(), value.to_string());
        self
    }

    /// Starts the runner and waits until it is healthy.
    pub async fn spawn(self) -> TestApp {
        let dir = tempfile::Builder::new()
            .prefix("hookline-e2e-")
            .tempdir()
            .expect("a temporary directory");
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&data_dir).expect("the data directory");
        let admin_secret = random_string(40);
        let secrets = Arc::new(SecretRegistry::default());
        let backend = Backend::from_env();
        // The AWS backend: the app's own emulator and a stack on it. The bootstrap's variables
        // come first so that the harness's own settings (its admin client) override them.
        let mut env = BTreeMap::new();
        let moto = match backend {
            Backend::Embedded => None,
            Backend::Aws => {
                let moto = Moto::start(&dir.path().join("moto.log")).await;
                let vars = moto.bootstrap().await;
                if let Some(secret) = vars.get("HOOKLINE_ADMIN_CLIENT_SECRET") {
                    secrets.remember("bootstrap admin client secret", secret);
                    if let Some(id) = vars.get("HOOKLINE_ADMIN_CLIENT_ID") {
                        secrets.remember_basic(id, secret);
                    }
                }
                env.extend(vars);
                env.insert(
                    "HOOKLINE_DELIVERY_CONCURRENCY".to_string(),
                    AWS_DELIVERY_CONCURRENCY.to_string(),
                );
                Some(moto)
            }
        };
        for (k, v) in [
            ("HOOKLINE_ADDR", "127.0.0.1:0"),
            ("HOOKLINE_ADMIN_CLIENT_ID", ADMIN_ID),
            ("HOOKLINE_RETRY_SCHEDULE", "200ms,400ms,800ms"),
            ("HOOKLINE_ALLOW_PRIVATE_DESTINATIONS", "true"),
            ("HOOKLINE_ALLOW_HTTP", "true"),
            ("HOOKLINE_TOKEN_TTL_SECS", "900"),
            ("HOOKLINE_LOG_FORMAT", "text"),
            ("RUST_LOG", "debug"),
            ("NO_COLOR", "1"),
        ] {
            env.insert(k.to_string(), v.to_string());
        }
        env.insert("HOOKLINE_DATA_DIR".into(), data_dir.display().to_string());
        env.insert("HOOKLINE_ADMIN_CLIENT_SECRET".into(), admin_secret.clone());
        env.extend(self.env);

        secrets.remember("admin client secret", &admin_secret);
        secrets.remember_basic(ADMIN_ID, &admin_secret);
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        let mut app = TestApp {
            dir,
            data_dir,
            env,
            child: None,
            addr: String::new(),
            http,
            admin_secret,
            secrets,
            backend,
            moto,
        };
        app.start_process().await;
        app
    }
}

/// A running (or stopped, between `kill9` and `start_again`) local runner.
pub struct TestApp {
    dir: tempfile::TempDir,
    data_dir: PathBuf,
    env: BTreeMap<String, String>,
    child: Option<Child>,
    /// `127.0.0.1:PORT` of the current process (changes on every start).
    pub addr: String,
    /// Client for the API: no redirects followed, no proxy.
    pub http: reqwest::Client,
    admin_secret: String,
    pub(crate) secrets: Arc<SecretRegistry>,
    backend: Backend,
    /// The emulated AWS of the `aws` backend: survives the runner's restarts, goes with the app.
    moto: Option<Moto>,
}

impl TestApp {
    /// A runner with the test defaults (retry schedule `200ms,400ms,800ms`, debug logs).
    pub async fn spawn() -> TestApp {
        TestApp::builder().spawn().await
    }

    /// A builder for a runner with other settings.
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            env: BTreeMap::new(),
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The backend the runner uses (`HOOKLINE_E2E_BACKEND`).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The bootstrap admin client's secret.
    pub fn admin_secret(&self) -> &str {
        &self.admin_secret
    }

    /// Remembers a secret that must never reach the runner's output.
    pub fn remember_secret(&self, kind: &'static str, value: &str) {
        self.secrets.remember(kind, value);
    }

    /// The runner's peak resident memory so far (`VmHWM` of `/proc/PID/status`), in bytes.
    pub fn peak_rss(&self) -> u64 {
        let child = self.child.as_ref().expect("the runner is running");
        let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            .expect("the runner's /proc status");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in kB");
        kib * 1024
    }

    /// SIGTERM, then waits for the exit (graceful shutdown).
    pub async fn stop(&mut self) -> ExitStatus {
        let Some(child) = self.child.as_mut() else {
            panic!("the runner is not running");
        };
        let pid = child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = tokio::time::Instant::now() + SHUTDOWN_TIMEOUT;
        loop {
            if let Some(status) = child.try_wait().expect("the runner's status") {
                self.child = None;
                return status;
            }
            if tokio::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                self.child = None;
                panic!(
                    "the runner did not exit within {SHUTDOWN_TIMEOUT:?} of SIGTERM\n{}",
                    self.output_tail(40)
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Graceful stop, then a new process on the same data directory.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start_again().await;
    }

    /// SIGKILL: the process dies wherever it is.
    pub fn kill9(&mut self) {
        let Some(mut child) = self.child.take() else {
            panic!("the runner is not running");
        };
        child.kill().expect("SIGKILL");
        child.wait().expect("the killed runner's status");
    }

    /// Changes an environment variable for the next start (after `stop` or `kill9`).
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.insert(key.to_string(), value.to_string());
    }

    /// Starts a new process on the same data directory (after `stop` or `kill9`).
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "the runner is still running");
        self.start_process().await;
    }

    async fn start_process(&mut self) {
        let addr_file = self.data_dir.join("addr");
        match std::fs::remove_file(&addr_file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("cannot remove {}: {e}", addr_file.display()),
        }
        let append = |name: &str| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.path().join(name))
                .expect("a log file")
        };
        let mut cmd = runner_command(&self.env);
        cmd.envs(&self.env)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(append("runner.stdout.log"))
            .stderr(append("runner.stderr.log"));
        let child = cmd.spawn().expect("the runner starts");
        self.child = Some(child);

        let deadline = tokio::time::Instant::now() + STARTUP_TIMEOUT;
        let addr = loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait().expect("the runner's status")
            {
                self.child = None;
                panic!(
                    "the runner exited during start-up ({status})\n{}",
                    self.output_tail(60)
                );
            }
            if let Ok(text) = std::fs::read_to_string(&addr_file) {
                let text = text.trim();
                if !text.is_empty() {
                    break text.to_string();
                }
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "the runner wrote no {} within {STARTUP_TIMEOUT:?}\n{}",
                    addr_file.display(),
                    self.output_tail(60)
                );
            }
            tokio::time::sleep(POLL).await;
        };
        self.addr = addr
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();

        loop {
            let healthy = self
                .http
                .get(self.url("/health"))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .map(|r| r.status().as_u16() == 200)
                .unwrap_or(false);
            if healthy {
                return;
            }
            if tokio::time::Instant::now() >= deadline {
                panic!(
                    "GET /health on {} never answered 200 within {STARTUP_TIMEOUT:?}\n{}",
                    self.addr,
                    self.output_tail(60)
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
