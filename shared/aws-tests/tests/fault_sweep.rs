//! Faults at every step of an event's path, on both backends (see `support/sweep.rs`): each
//! store and queue call that ingest, fan-out and delivery make fails once — before it takes
//! effect, after it took effect with its answer lost, or by timing out — and the acknowledged
//! event still reaches every subscription, twice only where a failed attempt says why, with
//! nothing left behind.

mod support;

use std::sync::Arc;

use support::stack_on_moto::StackOnMoto;
use support::sweep::{Backend, sweep};

/// The embedded backend, writing every claim as DynamoDB does or, `claims_in_memory`, as the
/// local runner opens it.
async fn sweep_embedded(claims_in_memory: bool) {
    let dir = tempfile::tempdir().expect("a data directory");
    let path = dir.path().to_path_buf();
    let embedded = tokio::task::spawn_blocking(move || {
        let backend = hookline_embedded::EmbeddedBackend::open(&path, Default::default())?;
        Ok::<_, hookline_embedded::EmbeddedError>(match claims_in_memory {
            true => backend.holding_claims_in_memory(),
            false => backend,
        })
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
    };
    sweep(&backend).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_on_the_embedded_backend_loses_nothing_and_sends_nothing_twice_unexplained() {
    sweep_embedded(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_with_claims_held_in_memory_as_the_local_runner_holds_them_loses_nothing_and_sends_nothing_twice_unexplained()
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
    };
    sweep(&backend).await;
}
