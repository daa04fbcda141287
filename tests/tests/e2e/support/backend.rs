//! Which backend the runner under test uses, chosen by `HOOKLINE_E2E_BACKEND`:
//!
//! - `embedded` (default): SQLite in the app's data directory.
//! - `aws`: DynamoDB, SQS and Secrets Manager on a `moto_server` that the `TestApp` owns (one
//!   per app, on a free loopback port), provisioned by `infra/local/bootstrap` under a unique
//!   stack name. The server outlives the runner's restarts and `kill -9`: it plays AWS, whose
//!   data a crash of the runner does not touch. It goes when the app is dropped.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::secrets::random_string;

/// How long `moto_server` may take to listen (a Python start-up, slow on a loaded machine).
const MOTO_STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The backend of every runner of this test process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Aws,
}

impl Backend {
    /// Reads `HOOKLINE_E2E_BACKEND` (unset or empty: embedded; anything unknown fails the test).
    pub fn from_env() -> Backend {
        match std::env::var("HOOKLINE_E2E_BACKEND")
            .unwrap_or_default()
            .trim()
        {
            "" | "embedded" => Backend::Embedded,
            "aws" => Backend::Aws,
            other => panic!("HOOKLINE_E2E_BACKEND='{other}': use embedded or aws"),
        }
    }

    /// The name `GET /health` reports for this backend.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Embedded => "embedded",
            Backend::Aws => "aws",
        }
    }
}

/// A `moto_server` owned by one `TestApp`, killed on drop.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `moto_server` with DynamoDB requests applied one at a time, as the service applies the
/// conditional writes the tests rely on (see the script); run by the `python3` first on PATH,
/// the virtual environment's that `infra/scripts/test.sh` installs moto into.
const MOTO_SERVER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/local/moto_server.py");

impl Moto {
    /// Starts `moto_server` on a free port of 127.0.0.1, its output appended to `log`, and
    /// waits until it accepts connections.
    pub async fn start(log: &Path) -> Moto {
        let mut last_error = String::new();
        // A free port can be taken between the probe and moto's bind: try a few.
        for _ in 0..3 {
            let port = free_port();
            let out = File::options()
                .create(true)
                .append(true)
                .open(log)
                .expect("the moto log file");
            let err = out.try_clone().expect("the moto log file");
            let child = Command::new("python3")
                .arg(MOTO_SERVER)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .expect(
                    "python3 with moto must be first on PATH for HOOKLINE_E2E_BACKEND=aws: \
                     infra/scripts/test.sh installs it into .venv",
                );
            let mut moto = Moto {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
            };
            let deadline = tokio::time::Instant::now() + MOTO_STARTUP_TIMEOUT;
            loop {
                if let Some(status) = moto.child.try_wait().expect("moto_server's status") {
                    last_error = format!("moto_server on port {port} exited: {status}");
                    break;
                }
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    return moto;
                }
                if tokio::time::Instant::now() >= deadline {
                    panic!(
                        "moto_server did not listen on port {port} within {MOTO_STARTUP_TIMEOUT:?}; see {}",
                        log.display()
                    );
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        panic!(
            "moto_server would not start: {last_error}\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }

    /// Runs `infra/local/bootstrap` against this server for a new, uniquely named stack and
    /// returns the environment it prints (`export NAME=value` lines).
    pub async fn bootstrap(&self) -> BTreeMap<String, String> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/local/bootstrap");
        let stack = format!("e2e-{}", random_string(10).to_ascii_lowercase());
        let mut cmd = Command::new("python3");
        cmd.arg(&script);
        // Nothing of the caller's AWS or Hookline configuration may leak into the stack.
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("AWS_") || k.starts_with("HOOKLINE_") {
                cmd.env_remove(&*k);
            }
        }
        cmd.env("AWS_ENDPOINT_URL", &self.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("HOOKLINE_STACK", &stack)
            .stdin(Stdio::null());
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("the bootstrap task")
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "infra/local/bootstrap failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let vars: BTreeMap<String, String> = stdout
            .lines()
            .filter_map(|l| l.trim().strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .collect();
        for required in ["HOOKLINE_BACKEND", "HOOKLINE_TABLE", "AWS_ENDPOINT_URL"] {
            assert!(
                vars.contains_key(required),
                "infra/local/bootstrap printed no {required}"
            );
        }
        vars
    }
}
