//! The CLI tests' harness: the end-to-end harness of `tests/` (a real runner process with a
//! fresh data directory and the bootstrap admin, real receivers on 127.0.0.1, `eventually`),
//! compiled here from its own files, and `Hookline`, which runs the built `hookline` binary.
// This binary uses only part of the shared harness.
#![allow(dead_code, unused_imports)]

#[path = "../../../../tests/tests/e2e/support/api/mod.rs"]
pub mod api;
#[path = "../../../../tests/tests/e2e/support/app/mod.rs"]
pub mod app;
#[path = "../../../../tests/tests/e2e/support/backend.rs"]
pub mod backend;
#[path = "../../../../tests/tests/e2e/support/imports.rs"]
pub mod imports;
#[path = "../../../../tests/tests/e2e/support/receiver/mod.rs"]
pub mod receiver;
#[path = "../../../../tests/tests/e2e/support/secrets.rs"]
pub mod secrets;
#[path = "../../../../tests/tests/e2e/support/wait.rs"]
pub mod wait;

mod hookline;

pub use api::TestClient;
pub use app::ADMIN_ID;
pub use app::TestApp;
pub use hookline::{Hookline, Listener, Run};
pub use receiver::{Receiver, Reply};
pub use wait::eventually;

use std::time::Duration;

/// How long a condition that involves deliveries may take to come true.
pub const WAIT: Duration = Duration::from_secs(20);

/// A runner, a `hookline` with no profile yet, and the runner's API URL.
pub async fn not_logged_in() -> (TestApp, Hookline, String) {
    let app = TestApp::spawn().await;
    let api = app.url("");
    (app, Hookline::new(), api)
}

/// A runner and a `hookline` logged in to it as the bootstrap admin (profile `default`).
pub async fn logged_in() -> (TestApp, Hookline) {
    let (app, cli, _) = not_logged_in().await;
    cli.login(&app, ADMIN_ID, app.admin_secret(), None).await;
    (app, cli)
}

/// `minutes` ago, as RFC 3339.
pub fn rfc3339_now_minus_minutes(minutes: i64) -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::minutes(minutes))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("an RFC 3339 time")
}
