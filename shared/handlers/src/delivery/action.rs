//! Run the steps: a workflow's attempt (a subscription whose mode is `action`) performs its
//! steps in order, from the first not yet done in this cycle (`Delivery::steps_done`), each an
//! action of one of the client's connections ([`AppEngine::run_step`]). A step that succeeds
//! counts as done (written with the attempt), so that the next attempt resumes after it; the
//! first that fails ends the attempt, which is recorded and retried on the schedule as a
//! failed webhook is; one that can never succeed (a template that does not render, an unknown
//! action, a missing input) dead-letters the delivery at once, as an unrenderable webhook
//! template does.
//!
//! The attempt holds one slot among the subscription's requests in flight for all its steps
//! (a workflow has no single URL: its runs, not its endpoints, are what the limit counts),
//! and frees it with what the last request sent says of the tool: available, or not (no
//! answer, a 5xx, a 429), or nothing at all when no request went out.
//!
//! [`AppEngine::run_step`]: crate::apps::AppEngine::run_step

use std::time::Duration;

use hookline_domain::subscription::ActionStep;
use hookline_domain::{Event, Subscription};
use serde_json::Value;

use crate::apps::{ResolveError, Resolved, StepOutcome};
use crate::delivery::admission::Admitted;
use crate::delivery::client::SendResult;
use crate::delivery::context::DeliveryContext;
use crate::delivery::outcome::Outcome;
use crate::delivery::record::outcome_of;
use crate::delivery::send::{Sent, enter};

/// A step (its search, its action, and their token, login or challenge requests) takes at
/// most this many times the subscription's timeout, which bounds each request.
const STEP_TIMEOUTS: u32 = 2;

/// What an action attempt came to, entered on the delivery as its attempt.
pub(crate) enum Steps {
    /// Every step is done, or one failed and the attempt is decided as a failed send is.
    Ran(Sent, Outcome),
    /// A step can never succeed: the delivery gives up.
    Permanent(Sent),
}

/// The longest an attempt of `sub` takes with `steps_done` of its steps done: what its claim
/// lasts (with a margin), so that no other worker takes the delivery over while it runs. (On
/// AWS the deliver function's own timeout also bounds an attempt: one cut short there records
/// nothing, and its steps run again once this claim has ended.)
pub(crate) fn time_limit(sub: &Subscription, steps_done: u32) -> Duration {
    let left = u32::try_from(sub.actions.len())
        .unwrap_or(u32::MAX)
        .saturating_sub(steps_done)
        .max(1);
    step_limit(sub) * left
}

/// The longest one step of `sub` takes.
fn step_limit(sub: &Subscription) -> Duration {
    request_timeout(sub) * STEP_TIMEOUTS
}

/// Each request of a step is given the subscription's timeout.
fn request_timeout(sub: &Subscription) -> Duration {
    Duration::from_millis(u64::from(sub.timeout_ms))
}

/// One step's outcome, and whether it sent anything.
struct StepRun {
    outcome: StepOutcome,
    sent: bool,
}

/// Runs the attempt's steps from the first not done, and enters the attempt on its delivery.
pub(crate) async fn run_actions(ctx: &DeliveryContext, attempt: &mut Admitted) -> Steps {
    let attempt_no = attempt.delivery.next_attempt_number();
    let entry = attempt.entry.clone();
    let sub = &entry.sub;
    let Some(slot) = attempt.slot.take() else {
        let result = SendResult::not_sent(format!(
            "not run: {} attempts of this workflow are already under way",
            ctx.config.endpoint_concurrency
        ));
        let entered = enter(attempt, attempt_no, result, String::new(), false);
        let outcome = failed(ctx, attempt, &entered);
        return Steps::Ran(entered, outcome);
    };
    if sub.actions.is_empty() {
        let result = SendResult::not_sent("the workflow has no steps".into());
        return Steps::Permanent(enter(attempt, attempt_no, result, String::new(), false));
    }
    let event = serde_json::to_value(Event::envelope(&attempt.event)).unwrap_or(Value::Null);
    let total = sub.actions.len();
    let mut duration_ms = 0u64;
    let mut last: Option<StepRun> = None;
    let mut failed_at = None;
    let from = usize::try_from(attempt.delivery.steps_done).unwrap_or(usize::MAX);
    for (i, step) in sub.actions.iter().enumerate().skip(from) {
        let run = run_step(ctx, sub, step, &event).await;
        duration_ms = duration_ms.saturating_add(run.outcome.duration_ms);
        let succeeded = run.outcome.succeeded();
        last = Some(run);
        if !succeeded {
            failed_at = Some((i, step));
            break;
        }
        attempt.delivery.steps_done += 1;
    }
    // None ran: every step was done already (the workflow lost steps since): done.
    let StepRun { outcome, sent } = last.unwrap_or(StepRun {
        outcome: StepOutcome::default(),
        sent: false,
    });
    // What the last request says of the tool; nothing when none went out.
    if sent {
        slot.finish(outcome.status.is_some_and(|s| s < 500 && s != 429));
    }
    let error = failed_at.map(|(i, step)| {
        format!(
            "step {}/{total} ({}): {}",
            i + 1,
            step.action,
            outcome.error.as_deref().unwrap_or("failed")
        )
    });
    let permanent = outcome.permanent;
    let result = SendResult {
        status: outcome.status,
        duration_ms,
        error,
        excerpt: outcome.response_excerpt,
        retry_after: outcome.retry_after,
    };
    let entered = enter(attempt, attempt_no, result, outcome.request_excerpt, sent);
    if permanent {
        return Steps::Permanent(entered);
    }
    if failed_at.is_none() {
        return Steps::Ran(entered, Outcome::Succeeded);
    }
    let outcome = failed(ctx, attempt, &entered);
    Steps::Ran(entered, outcome)
}

/// A failed attempt, decided on the schedule as a failed send is. A 410 is the tool's answer
/// about one item, not a request to stop the workflow (as it is from a webhook endpoint): it
/// is retried as any other failure.
fn failed(ctx: &DeliveryContext, attempt: &Admitted, sent: &Sent) -> Outcome {
    if sent.result.status != Some(410) {
        return outcome_of(ctx, attempt, sent);
    }
    let mut result = sent.result.clone();
    result.status = None;
    let as_unanswered = Sent {
        attempt_no: sent.attempt_no,
        result,
        sent: sent.sent,
    };
    outcome_of(ctx, attempt, &as_unanswered)
}

/// One step: its connection resolved, its action run within the step's time, the outcome's
/// texts redacted of the connection's secrets. A connection that is missing, disabled or not
/// the workflow's client's fails the step (retried: it may be restored), sending nothing.
async fn run_step(
    ctx: &DeliveryContext,
    sub: &Subscription,
    step: &ActionStep,
    event: &Value,
) -> StepRun {
    let not_run = |why: String| StepRun {
        outcome: StepOutcome {
            error: Some(why),
            ..StepOutcome::default()
        },
        sent: false,
    };
    let resolved = match ctx.engine.resolver.resolve(&step.connection_id).await {
        Ok(resolved) if resolved.connection.client_id != sub.client_id => {
            return not_run(ResolveError::ConnectionNotFound.to_string());
        }
        Ok(resolved) if !resolved.connection.enabled => {
            return not_run("the connection is disabled".into());
        }
        Ok(resolved) => resolved,
        Err(e) if e.is_transient() => {
            tracing::warn!(error = %e, subscription_id = %sub.id, "deliver: could not resolve a connection");
            return not_run("the store failed reading the connection".into());
        }
        Err(e) => return not_run(e.to_string()),
    };
    let limit = step_limit(sub);
    let run = ctx
        .engine
        .run_step(&resolved, step, event, request_timeout(sub));
    match tokio::time::timeout(limit, run).await {
        Ok(outcome) => StepRun {
            // The engine fills the excerpt in once it has a request to send.
            sent: !outcome.request_excerpt.is_empty(),
            outcome: redacted(&resolved, outcome),
        },
        Err(_) => StepRun {
            outcome: StepOutcome {
                duration_ms: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
                error: Some(format!("timed out after {} ms", limit.as_millis())),
                ..StepOutcome::default()
            },
            sent: true,
        },
    }
}

/// `outcome` with every secret of the connection out of its texts (the engine redacts its
/// own; this holds for whatever else was added to them).
fn redacted(resolved: &Resolved, outcome: StepOutcome) -> StepOutcome {
    StepOutcome {
        error: outcome.error.map(|e| resolved.redact(&e)),
        request_excerpt: resolved.redact(&outcome.request_excerpt),
        response_excerpt: resolved.redact(&outcome.response_excerpt),
        ..outcome
    }
}
