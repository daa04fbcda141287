//! `lambda-init`: each function binary as Lambda would start it. A stub of the Lambda Runtime
//! API on loopback notes when the function first asks for an invocation
//! (`GET /2018-06-01/runtime/invocation/next`): exec → that request is the function's init,
//! and its resident set at that moment is what the init left behind. The AWS calls an init
//! makes (the signing key from Secrets Manager) go to a `moto_server` on loopback, provisioned
//! from `template.yaml` by `infra/local/bootstrap`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Serialize;
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::process::status_kb;
use crate::receiver::now_ns;
use crate::stats::{median, round};

/// The seven functions.
pub const FUNCTIONS: [&str; 7] = [
    "token", "ingest", "manage", "fanout", "deliver", "keys", "poll",
];
/// The cargo profile the deployable functions are built with (what `sam build` uses).
pub const PROFILE: &str = "release";
/// The targets: stripped size (MB = 10⁶ bytes) and init time.
pub const MAX_SIZE_MB: f64 = 10.0;
/// Init target, ms.
pub const MAX_INIT_MS: f64 = 30.0;

/// One function's figures.
#[derive(Debug, Clone, Serialize)]
pub struct FunctionInit {
    /// Size of the stripped binary, MB (10⁶ bytes).
    pub size_mb: f64,
    /// Exec → first `invocation/next`, ms, per run.
    pub init_ms_runs: Vec<f64>,
    /// Median of the runs.
    pub init_ms: f64,
    /// Resident set at the first `invocation/next`, MB, median of the runs.
    pub rss_mb: f64,
    /// Size and init within the targets.
    pub met: bool,
}

struct Moto {
    child: tokio::process::Child,
    endpoint: String,
}

async fn start_moto() -> Result<Moto, String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("a free port: {e}"))?;
    let child = Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            format!("moto_server (on PATH from .venv: infra/scripts/python-tools.sh): {e}")
        })?;
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(Moto {
                child,
                endpoint: format!("http://127.0.0.1:{port}"),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("moto_server did not start within 30 s".into())
}

/// The stack's environment, as `infra/local/bootstrap` prints it.
async fn bootstrap(endpoint: &str) -> Result<Vec<(String, String)>, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/local/bootstrap");
    let out = Command::new("python3")
        .arg(&script)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("HOOKLINE_STACK", "hookline-bench")
        .output()
        .await
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "infra/local/bootstrap failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

/// A stub Runtime API: reports each `invocation/next` and then never answers it.
async fn stub_runtime() -> Result<(String, mpsc::UnboundedReceiver<u128>), String> {
    let (tx, rx) = mpsc::unbounded_channel::<u128>();
    async fn next(State(tx): State<mpsc::UnboundedSender<u128>>) -> StatusCode {
        let _ = tx.send(now_ns());
        tokio::time::sleep(Duration::from_secs(3600)).await;
        StatusCode::NO_CONTENT
    }
    async fn error() -> StatusCode {
        StatusCode::ACCEPTED
    }
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(tx);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr.to_string(), rx))
}

/// Starts `bin` once; returns (init ms, RSS MB at the first `invocation/next`).
async fn start_once(
    bin: &Path,
    env: &[(String, String)],
    runtime_api: &str,
    function: &str,
    next: &mut mpsc::UnboundedReceiver<u128>,
) -> Result<(f64, f64), String> {
    while next.try_recv().is_ok() {}
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", format!("hookline-{function}"))
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/hookline-{function}"),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = now_ns();
    let mut child = cmd.spawn().map_err(|e| format!("{}: {e}", bin.display()))?;
    let pid = child.id().unwrap_or(0);
    let first = tokio::time::timeout(Duration::from_secs(20), next.recv()).await;
    let rss = status_kb(pid, "VmRSS:") / 1024.0;
    let _ = child.kill().await;
    match first {
        Ok(Some(at)) => Ok((at.saturating_sub(started) as f64 / 1e6, rss)),
        _ => {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use tokio::io::AsyncReadExt;
                let _ = e.read_to_string(&mut err).await;
            }
            Err(format!(
                "hookline-{function} never asked for an invocation: {}",
                err.lines().last().unwrap_or("no output")
            ))
        }
    }
}

/// Measures every function `runs` times (after one unmeasured start that creates the signing
/// key, as the first deploy does).
pub async fn measure(
    target_dir: &Path,
    runs: usize,
) -> Result<BTreeMap<String, FunctionInit>, String> {
    let moto = start_moto().await?;
    let result = measure_on(&moto.endpoint, target_dir, runs).await;
    let mut child = moto.child;
    let _ = child.kill().await;
    result
}

async fn measure_on(
    endpoint: &str,
    target_dir: &Path,
    runs: usize,
) -> Result<BTreeMap<String, FunctionInit>, String> {
    let mut env = bootstrap(endpoint).await?;
    env.retain(|(k, _)| !k.starts_with("HOOKLINE_ADMIN_CLIENT"));
    env.push(("PATH".into(), std::env::var("PATH").unwrap_or_default()));
    let (runtime_api, mut next) = stub_runtime().await?;
    let mut out = BTreeMap::new();
    for (i, function) in FUNCTIONS.iter().enumerate() {
        let bin: PathBuf = target_dir
            .join(PROFILE)
            .join(format!("hookline-{function}"));
        let size_mb = std::fs::metadata(&bin)
            .map(|m| m.len() as f64 / 1e6)
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        if i == 0 {
            start_once(&bin, &env, &runtime_api, function, &mut next).await?;
        }
        let mut init = Vec::new();
        let mut rss = Vec::new();
        for _ in 0..runs {
            let (ms, mb) = start_once(&bin, &env, &runtime_api, function, &mut next).await?;
            init.push(round(ms));
            rss.push(mb);
        }
        let init_ms = round(median(&init));
        out.insert(
            (*function).to_string(),
            FunctionInit {
                size_mb: round(size_mb),
                init_ms,
                rss_mb: round(median(&rss)),
                met: size_mb <= MAX_SIZE_MB && init_ms <= MAX_INIT_MS,
                init_ms_runs: init,
            },
        );
    }
    Ok(out)
}
