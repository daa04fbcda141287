//! Faults at every step of an event's path, on both backends (see `support/sweep.rs`): each
//! store and queue call that ingest, fan-out and delivery make fails once — before it takes
//! effect, after it took effect with its answer lost, or by timing out — and the acknowledged
//! event still reaches every subscription, twice only where a failed attempt says why, with
//! nothing left behind.

mod support;

use std::sync::Arc;

use support::stack_on_moto::StackOnMoto;
use support::sweep::{Backend, sweep};

/// The embedded backend, its handlers in Lambda's ownership mode or, `sole_process`, in the
/// local runner's.
async fn sweep_embedded(sole_process: bool) {
    let dir = tempfile::tempdir().expect("a data directory");
    let path = dir.path().to_path_buf();
    let embedded = tokio::task::spawn_blocking(move || {
        hookline_embedded::EmbeddedBackend::open(&path, Default::default())
    })
    .await
    .expect("open task")
    .expect("the embedded backend");
    hookline_handlers::auth::rotation::ensure_first_key(&embedded, 1)
        .await
        .expect("a signing key");
    let backend = Backend {
        store: embedded.store(),
        queue: embedded.queue(),
        keys: embedded.signing_keys(),
        name: "embedded",
        sole_process,
    };
    sweep(&backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_on_the_embedded_backend_loses_nothing_and_sends_nothing_twice_unexplained() {
    sweep_embedded(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_in_the_local_runners_sole_process_mode_loses_nothing_and_sends_nothing_twice_unexplained()
 {
    sweep_embedded(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_on_the_aws_backend_loses_nothing_and_sends_nothing_twice_unexplained() {
    let stack = StackOnMoto::start(|_| {}).await;
    let backend = Backend {
        store: stack.store.clone(),
        queue: stack.queue.clone(),
        keys: Arc::clone(&stack.signing_keys),
        name: "aws",
        sole_process: false,
    };
    sweep(&backend).await;
}
