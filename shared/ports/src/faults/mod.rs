//! Fault injection for tests: a store and a queue that pass every call through to a real
//! backend, except the calls a test has told to fail. With them, a test can stop a workflow
//! between two of its steps (a record written, its message not sent) as a crash or an outage
//! would, and check that nothing acknowledged is lost.
//!
//! A fault point is a method name (`update_delivery`) or, for a queue, the method and the
//! queue (`send:deliveries`). A point can fail in three ways ([`Fault`]): before the call
//! reaches the backend, after it took effect (the answer lost on its way back), or after a
//! wait, as a call that timed out. [`Faults::record`] lists the points a workflow reaches, so
//! that a test can then fail each of them in turn.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::PortError;

mod apps;
mod pull;
mod queue;
mod store;
mod sync;

pub use queue::FaultyQueue;
pub use store::FaultyStore;

/// How long a [`Fault::Timeout`] waits before it fails: a test-sized stand-in for an SDK's
/// timeout.
pub const TIMEOUT: Duration = Duration::from_millis(50);

/// How an injected fault fails its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// A backend error; the call never reached the backend.
    Fail,
    /// The call took effect, but its caller gets a backend error (the answer was lost).
    FailAfterApplied,
    /// The call waits [`TIMEOUT`], then fails as timed out, without reaching the backend.
    Timeout,
}

impl Fault {
    /// Every kind, for a sweep.
    pub const ALL: [Fault; 3] = [Fault::Fail, Fault::FailAfterApplied, Fault::Timeout];
}

/// The faults planned at one point.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// Calls let through before the first failure.
    skip: u32,
    /// Failures still to come.
    times: u32,
    fault: Fault,
}

#[derive(Debug, Default)]
struct State {
    plans: HashMap<String, Plan>,
    /// Every point called, in order, while recording.
    calls: Option<Vec<String>>,
}

/// Which calls fail, and how: each fault point fails as planned, then works. A point may also
/// hold a hook that runs once, just before its next call goes through: a test's stand-in for
/// a concurrent writer that gets in between a read and a write. Clones share their faults.
#[derive(Clone, Default)]
pub struct Faults {
    state: Arc<Mutex<State>>,
    hooks: Arc<Mutex<HashMap<String, Hook>>>,
}

/// What runs before a call (see [`Faults::before_next`]).
pub type Hook = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("state", &*self.lock())
            .finish_non_exhaustive()
    }
}

impl Faults {
    /// Makes the next `times` calls at `point` fail (before reaching the backend).
    pub fn fail_next(&self, point: &str, times: u32) {
        self.inject(point, Fault::Fail, 0, times);
    }

    /// Lets `skip` calls at `point` through, then fails the `times` after them with `fault`
    /// (replacing what was planned there).
    pub fn inject(&self, point: &str, fault: Fault, skip: u32, times: u32) {
        let plan = Plan { skip, times, fault };
        self.lock().plans.insert(point.to_string(), plan);
    }

    /// Failures still planned at `point`.
    pub fn pending(&self, point: &str) -> u32 {
        self.lock().plans.get(point).map_or(0, |p| p.times)
    }

    /// Starts listing the points called (a fresh list).
    pub fn record(&self) {
        self.lock().calls = Some(Vec::new());
    }

    /// The points called since [`Faults::record`], in order; recording stops.
    pub fn recorded(&self) -> Vec<String> {
        self.lock().calls.take().unwrap_or_default()
    }

    /// Runs `hook` (once) before the next call at `point` reaches the real port.
    pub fn before_next(&self, point: &str, hook: Hook) {
        self.hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(point.to_string(), hook);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The fault that this call at `point` meets, if any.
    fn take(&self, point: &str) -> Option<Fault> {
        let mut state = self.lock();
        if let Some(calls) = &mut state.calls {
            calls.push(point.to_string());
        }
        let plan = state.plans.get_mut(point)?;
        if plan.skip > 0 {
            plan.skip -= 1;
            return None;
        }
        if plan.times == 0 {
            return None;
        }
        plan.times -= 1;
        Some(plan.fault)
    }

    /// Runs `call` at `point` as its planned fault says.
    async fn around<T>(
        &self,
        point: &str,
        call: impl Future<Output = Result<T, PortError>>,
    ) -> Result<T, PortError> {
        let injected = |how: &str| PortError::backend(format!("injected fault at {point}: {how}"));
        let hook = self
            .hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(point);
        if let Some(hook) = hook {
            hook().await;
        }
        match self.take(point) {
            None => call.await,
            Some(Fault::Fail) => Err(injected("failed")),
            Some(Fault::FailAfterApplied) => {
                // What the backend did stands; only its answer is lost.
                let _ = call.await;
                Err(injected("answer lost"))
            }
            Some(Fault::Timeout) => {
                tokio::time::sleep(TIMEOUT).await;
                Err(injected("timed out"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn each_fault_fails_its_call_once_after_the_calls_it_lets_through() {
        let faults = Faults::default();
        let applied = AtomicU32::new(0);
        let call = || async {
            applied.fetch_add(1, Ordering::SeqCst);
            Ok::<_, PortError>(())
        };
        faults.record();
        faults.inject("p", Fault::FailAfterApplied, 1, 1);
        assert!(faults.around("p", call()).await.is_ok(), "let through");
        assert!(faults.around("p", call()).await.is_err(), "answer lost");
        assert_eq!(applied.load(Ordering::SeqCst), 2, "yet applied");
        assert!(faults.around("p", call()).await.is_ok(), "then works");

        faults.inject("p", Fault::Timeout, 0, 1);
        assert!(faults.around("p", call()).await.is_err(), "timed out");
        faults.fail_next("q", 1);
        assert!(faults.around("q", call()).await.is_err());
        assert_eq!(applied.load(Ordering::SeqCst), 3, "neither applied");
        assert_eq!(faults.pending("p") + faults.pending("q"), 0);
        assert_eq!(faults.recorded(), ["p", "p", "p", "p", "q"]);
    }
}
