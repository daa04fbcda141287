//! Running the runner's binary beside the app: a second runner, or an admin command.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use super::{COMMAND_TIMEOUT, POLL, STARTUP_TIMEOUT, TestApp};

impl TestApp {
    /// Runs a second runner on this app's data directory and settings, beside the first,
    /// until it exits (or 30 s pass, when it is killed): its exit status and its output.
    pub fn run_beside(&self) -> (Option<ExitStatus>, String) {
        let mut cmd = runner_command(&self.env);
        let out = self.dir.path().join("beside.log");
        let log = std::fs::File::create(&out).expect("a log file");
        let log2 = log.try_clone().expect("a log file");
        let mut child = cmd
            .envs(&self.env)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .expect("the second runner starts");
        let deadline = std::time::Instant::now() + STARTUP_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().expect("the second runner's status") {
                break Some(status);
            }
            if std::time::Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(POLL);
        };
        (status, std::fs::read_to_string(&out).unwrap_or_default())
    }

    /// Runs the runner's binary with `args` (an admin command such as `dlq count
    /// deliveries`) on this app's environment and data directory, beside the runner or while
    /// it is stopped, until it exits. What it prints is also appended to `admin.log`, which
    /// `output` (and so the secret scan) reads.
    pub async fn run_command(&self, args: &[&str]) -> CommandOutput {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let env = self.env.clone();
        let dir = self.dir.path().to_path_buf();
        let out = tokio::task::spawn_blocking(move || run_binary(&args, &env, &dir))
            .await
            .expect("the command's task");
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("admin.log"))
            .expect("the admin log");
        use std::io::Write as _;
        let _ = write!(log, "{}\n{}\n", out.stdout, out.stderr);
        out
    }

    /// `hookline-local dlq count <queue>` (`deliveries` or `events`) on this app's
    /// environment: the number of messages it printed.
    pub async fn dlq_count(&self, queue: &str) -> String {
        self.run_command(&["dlq", "count", queue])
            .await
            .success()
            .to_string()
    }
}

/// How a run of the binary with arguments ended, and what it printed.
#[derive(Debug)]
pub struct CommandOutput {
    /// The exit status.
    pub status: ExitStatus,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
}

impl CommandOutput {
    /// The exit code (`None` if a signal ended it).
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Asserts exit code 0 and returns stdout, trimmed.
    #[track_caller]
    pub fn success(&self) -> &str {
        assert_eq!(
            self.code(),
            Some(0),
            "the command failed ({})\nstdout: {}\nstderr: {}",
            self.status,
            self.stdout,
            self.stderr
        );
        self.stdout.trim()
    }
}

/// Runs the runner's binary with `args` and exactly the `HOOKLINE_` and `AWS_` variables of
/// `env` (the test process's own are removed), in `dir`, until it exits or `COMMAND_TIMEOUT`
/// passes (then it is killed and the test fails).
pub fn run_binary(args: &[String], env: &BTreeMap<String, String>, dir: &Path) -> CommandOutput {
    let mut cmd = runner_command(env);
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let stdout_path = dir.join(format!("command-{n}.stdout"));
    let stderr_path = dir.join(format!("command-{n}.stderr"));
    let file = |p: &Path| std::fs::File::create(p).expect("a command output file");
    let mut child = cmd
        .args(args)
        .envs(env)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(file(&stdout_path))
        .stderr(file(&stderr_path))
        .spawn()
        .expect("the binary starts");
    let deadline = std::time::Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the command's status") {
            break status;
        }
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "hookline-local {} did not exit within {COMMAND_TIMEOUT:?}\n{}",
                args.join(" "),
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(POLL);
    };
    let read = |p: &Path| {
        let text = std::fs::read_to_string(p).unwrap_or_default();
        let _ = std::fs::remove_file(p);
        text
    };
    CommandOutput {
        status,
        stdout: read(&stdout_path),
        stderr: read(&stderr_path),
    }
}

/// The runner's binary with none of the test process's own `HOOKLINE_` and `AWS_` variables
/// but those `env` sets, so that the shell a test runs in cannot change what it tests.
pub(super) fn runner_command(env: &BTreeMap<String, String>) -> Command {
    let mut cmd = runner_program();
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if (k.starts_with("HOOKLINE_") || k.starts_with("AWS_")) && !env.contains_key(&*k) {
            cmd.env_remove(&*k);
        }
    }
    cmd
}

/// Set in the environment of a test binary started as the runner (see [`runner_process`]).
const RUNNER_PROCESS_VAR: &str = "HOOKLINE_TEST_RUNNER_PROCESS";

/// The runner's program: this package's `hookline-e2e-runner`. A package that shares this
/// harness without that binary (the CLI's tests, `cli/tests`) cannot name it, so there the
/// test binary itself is started again, on [`runner_process`] alone.
fn runner_program() -> Command {
    if let Some(bin) = option_env!("CARGO_BIN_EXE_hookline-e2e-runner") {
        return Command::new(bin);
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    // Test names leave out the crate's name: `harness::app::command::runner_process`.
    let module = module_path!().split_once("::").map_or("", |(_, m)| m);
    let mut cmd = Command::new(exe);
    cmd.args([
        "--exact",
        &format!("{module}::runner_process"),
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(RUNNER_PROCESS_VAR, "1");
    cmd
}

/// The runner in a test binary's process, for a package without a runner binary (see
/// [`runner_program`]): what `hookline-local` runs without arguments (logs included), until
/// SIGTERM.
/// Skipped (ignored) in every ordinary run, and a no-op outside that process.
#[test]
#[ignore = "the runner's process in packages without hookline-e2e-runner, started by the harness"]
fn runner_process() {
    if std::env::var_os(RUNNER_PROCESS_VAR).is_none() {
        return;
    }
    let ran = hookline_local::run_main();
    std::process::exit(if ran == std::process::ExitCode::SUCCESS {
        0
    } else {
        1
    });
}
