//! `Hookline`: the built `hookline` binary run as a process, with its own profiles file in a
//! temporary directory and none of the test process's `HOOKLINE_` variables; `Listener`: a
//! `hookline listen` left running, stopped with a signal.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use super::app::TestApp;
use super::wait::eventually;

/// How long one command may take before the test fails.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The binary with a profiles file of its own.
pub struct Hookline {
    dir: tempfile::TempDir,
}

/// How a run ended and what it printed.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`None`: a signal ended it).
    pub code: Option<i32>,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl Run {
    /// Asserts exit code 0; stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "hookline failed: {self:?}");
        &self.stdout
    }

    /// Asserts exit code 0; stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        let out = self.ok();
        serde_json::from_str(out).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {out}"))
    }

    /// Asserts the exit code and that stderr is one line; that line.
    #[track_caller]
    pub fn failed(&self, code: i32) -> &str {
        assert_eq!(self.code, Some(code), "wrong exit code: {self:?}");
        let err = self.stderr.trim_end();
        assert_eq!(err.lines().count(), 1, "stderr is not one line: {self:?}");
        err
    }
}

impl Hookline {
    /// A binary with an empty configuration directory.
    pub fn new() -> Hookline {
        Hookline {
            dir: tempfile::Builder::new()
                .prefix("hookline-cli-")
                .tempdir()
                .expect("a temporary directory"),
        }
    }

    /// The profiles file the binary uses (`$HOOKLINE_CONFIG`).
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config").join("profiles.toml")
    }

    /// The binary with `args`, `HOOKLINE_CONFIG` set and every other `HOOKLINE_` variable of
    /// the test process removed.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hookline"));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("HOOKLINE_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(args)
            .env("HOOKLINE_CONFIG", self.config_path())
            .env("HOME", self.dir.path())
            .env_remove("XDG_CONFIG_HOME")
            .current_dir(self.dir.path());
        cmd
    }

    /// Runs `args` to the end.
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with(self.command(args), None).await
    }

    /// Runs `args` with `input` on standard input.
    pub async fn run_stdin(&self, args: &[&str], input: &str) -> Run {
        self.run_with(self.command(args), Some(input.to_string()))
            .await
    }

    /// Runs `cmd` to the end (killed, and the test failed, after `COMMAND_TIMEOUT`).
    pub async fn run_with(&self, mut cmd: Command, input: Option<String>) -> Run {
        let dir = self.dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            let (out, err) = (dir.join("run.stdout"), dir.join("run.stderr"));
            let file = |p: &Path| std::fs::File::create(p).expect("an output file");
            cmd.stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(file(&out))
            .stderr(file(&err));
            let mut child = cmd.spawn().expect("hookline starts");
            if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
                use std::io::Write as _;
                stdin.write_all(text.as_bytes()).expect("writing stdin");
            }
            let deadline = std::time::Instant::now() + COMMAND_TIMEOUT;
            let status = loop {
                if let Some(status) = child.try_wait().expect("hookline's status") {
                    break status;
                }
                if std::time::Instant::now() >= deadline {
                    let _ = child.kill();
                    panic!("hookline did not exit within {COMMAND_TIMEOUT:?}");
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            Run {
                code: status.code(),
                stdout: std::fs::read_to_string(&out).unwrap_or_default(),
                stderr: std::fs::read_to_string(&err).unwrap_or_default(),
            }
        })
        .await
        .expect("the command's task")
    }

    /// `hookline login` to `app` with `id` and `secret` (the secret on standard input, as a
    /// script would pipe it), asserting success.
    pub async fn login(&self, app: &TestApp, id: &str, secret: &str, profile: Option<&str>) {
        let api = app.url("");
        let mut args = vec!["login", "--api", &api, "--client-id", id];
        if let Some(p) = profile {
            args.extend(["--profile", p]);
        }
        self.run_stdin(&args, &format!("{secret}\n")).await.ok();
    }

    /// `hookline events send -t LotDispatched -s AP` with `extra` arguments.
    pub async fn send_lot(&self, extra: &[&str]) -> Run {
        let mut args = vec!["events", "send", "-t", "LotDispatched", "-s", "AP"];
        args.extend(extra);
        self.run(&args).await
    }

    /// `hookline subscriptions create ARGS --json`, asserting success: the created
    /// subscription, whose secret `app` then watches for in its logs.
    pub async fn create_subscription(&self, app: &TestApp, args: &[&str]) -> Value {
        let mut all = vec!["subscriptions", "create", "--json"];
        all.extend(args);
        let created = self.run(&all).await.json();
        let secret = created["secret"]
            .as_str()
            .expect("the new subscription's secret");
        app.remember_secret("webhook secret", secret);
        created
    }

    /// Starts `args` (a `listen`) and leaves it running, its output in files.
    pub fn spawn(&self, args: &[&str]) -> Listener {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let out = self.dir.path().join(format!("listen-{n}.stdout"));
        let err = self.dir.path().join(format!("listen-{n}.stderr"));
        let file = |p: &Path| std::fs::File::create(p).expect("an output file");
        let child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(file(&out))
            .stderr(file(&err))
            .spawn()
            .expect("hookline starts");
        Listener {
            child: Some(child),
            out,
            err,
        }
    }
}

/// A running `hookline listen`.
pub struct Listener {
    child: Option<Child>,
    out: PathBuf,
    err: PathBuf,
}

impl Listener {
    /// What it printed on stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// What it printed on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Waits until stderr holds `text`; the whole stderr then. Fails at once if the
    /// process has exited without printing it.
    pub async fn wait_for_stderr(&mut self, text: &str) -> String {
        let child = self.child.as_mut().expect("hookline is running");
        let (out, err) = (self.out.clone(), self.err.clone());
        eventually(super::WAIT, &format!("hookline to print '{text}'"), || {
            let printed = std::fs::read_to_string(&err).unwrap_or_default();
            if !printed.contains(text)
                && let Some(status) = child.try_wait().expect("hookline's status")
            {
                panic!(
                    "hookline exited ({status}) without printing '{text}'\nstderr: {printed}\nstdout: {}",
                    std::fs::read_to_string(&out).unwrap_or_default()
                );
            }
            async move { printed.contains(text).then_some(printed) }
        })
        .await
    }

    /// Sends `signal` (`INT` for Ctrl-C, `TERM`) and waits for the exit: its code.
    pub async fn stop(&mut self, signal: &str) -> Option<i32> {
        let child = self.child.as_mut().expect("hookline is running");
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill -{signal} failed");
        let status = eventually(super::WAIT, "hookline to exit", || {
            let status = child.try_wait().expect("hookline's status");
            async move { status }
        })
        .await;
        self.child = None;
        status.code()
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
