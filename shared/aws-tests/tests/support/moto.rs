//! A `moto_server` on a free loopback port for the duration of one test (each test owns its
//! server and kills it on drop, so nothing outlives a test process under nextest): the AWS APIs
//! emulated locally, reached through the ordinary SDK clients via `AWS_ENDPOINT_URL`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto server.
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
const MOTO_SERVER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../infra/local/moto_server.py"
);

impl Moto {
    /// Starts `moto_server` and waits until it answers (fails the test if it is missing).
    pub fn start() -> Moto {
        let port = free_port();
        let child = Command::new("python3")
            .arg(MOTO_SERVER)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "python3 with moto must be first on PATH: infra/scripts/test.sh installs moto into .venv (infra/scripts/python-tools.sh)",
            );
        let endpoint = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto { child, endpoint }
    }

    /// SDK configuration pointing every client at this server, with dummy credentials.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .load()
            .await
    }
}

/// A unique resource name for one test (moto state is shared by every test of the binary).
pub fn unique(prefix: &str) -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}", n % 1_000_000_000_000)
}
