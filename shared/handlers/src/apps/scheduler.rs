//! The polling triggers' scheduler: runs the connections' polls that are due, each new item
//! published once as an event, as `POST /v1/events` publishes one (catalog validation, the
//! idempotency key, stored then queued for fan-out).
//!
//! One run of a poll: **claim** it (a conditional write of its lease, so that of two runners
//! that found it due only one runs it) → **resolve** its connection → **poll** the tool
//! ([`AppEngine::poll`]) → **publish** the new items under the keys
//! `poll:{connection}:{trigger}:{item id}` → **record** the cursor, the ids seen, the count
//! published and the error, if any, and the next run, freeing the lease. A run that fails
//! keeps its cursor (the same items are found again next time, and their keys make any already
//! published a duplicate); a run cut short (a crash, a Lambda timeout) is taken up again once
//! its lease ends.
//!
//! The local runner calls [`run_polls_until`] every `HOOKLINE_POLL_TICK_MS`; on AWS the `poll`
//! function calls it on a `rate(1 minute)` schedule.

use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hookline_domain::apps::{PollState, TriggerSpec};
use hookline_domain::event::NewEvent;
use hookline_domain::{Client, Scope};
use hookline_ports::PortError;
use serde_json::Value;
use time::OffsetDateTime;

use crate::api::events::accept;
use crate::api::hooks::trigger_event;
use crate::apps::{AppEngine, ResolveError, Resolved};
use crate::catalog::CatalogCache;
use crate::context::WorkerContext;
use crate::delivery::client::WebhookClient;

/// How long a claimed run holds its poll: well past the longest run ([`RUN_LIMIT`] and the
/// publishing), so that a poll is never run twice at once, and short enough that a run cut
/// short is taken up again soon.
pub const POLL_LEASE: Duration = Duration::from_secs(120);
/// Each request of a poll (a token or login request included) is given this long.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// A poll's requests together are given at most this long.
pub const RUN_LIMIT: Duration = Duration::from_secs(25);
/// Polls claimed and run at once.
pub const BATCH: usize = 10;
/// No batch starts later than this before a deadline: its runs (at most [`RUN_LIMIT`]) and
/// their publishing end before it.
pub const BATCH_TIME: Duration = Duration::from_secs(30);

/// What the scheduler needs: the queue workers' context (store, clock, configuration, queue
/// sender, recent events), the app engine, and the event catalog.
pub struct PollContext {
    /// What the queue workers share.
    pub worker: Arc<WorkerContext>,
    /// Runs the polls' requests.
    pub engine: Arc<AppEngine>,
    /// Event types, to validate each item as the event it becomes.
    pub catalog: CatalogCache,
}

impl PollContext {
    /// The scheduler's context over `worker` and `engine` (the local runner shares one engine,
    /// and so its tokens and sessions, among the API, delivery and polling).
    pub fn new(worker: Arc<WorkerContext>, engine: Arc<AppEngine>) -> Arc<PollContext> {
        let catalog = CatalogCache::new(worker.config.client_cache_ttl);
        Arc::new(PollContext {
            worker,
            engine,
            catalog,
        })
    }

    /// The scheduler's context over `worker`, with an engine of its own (the `poll` function).
    pub fn from_worker(worker: Arc<WorkerContext>) -> Result<Arc<PollContext>, PortError> {
        let engine = worker.app_engine(WebhookClient::new(&worker.config)?);
        Ok(PollContext::new(worker, engine))
    }
}

impl Deref for PollContext {
    type Target = WorkerContext;

    fn deref(&self) -> &WorkerContext {
        &self.worker
    }
}

/// What runs of polls came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollRun {
    /// Polls found due.
    pub due: usize,
    /// Polls this runner claimed (the others were taken by another runner meanwhile).
    pub ran: usize,
    /// Events published (duplicates of earlier ones not counted).
    pub published: u64,
    /// Runs that ended with an error (the poll's `last_error`).
    pub failed: usize,
}

impl std::ops::AddAssign for PollRun {
    fn add_assign(&mut self, other: PollRun) {
        self.due += other.due;
        self.ran += other.ran;
        self.published += other.published;
        self.failed += other.failed;
    }
}

/// Runs up to `max` polls due at `now`, at once.
pub async fn run_due_polls(
    ctx: &PollContext,
    now: OffsetDateTime,
    max: usize,
) -> Result<PollRun, PortError> {
    let due = ctx.store.due_polls(now, max).await?;
    let mut total = PollRun {
        due: due.len(),
        ..PollRun::default()
    };
    let runs = futures_util::future::join_all(due.into_iter().map(|p| run_poll(ctx, p, now)));
    for run in runs.await {
        total += run;
    }
    Ok(total)
}

/// Runs due polls, batch after batch, until none is left or `deadline` (if any) is near.
/// Store failures are logged: the next call tries again.
pub async fn run_polls_until(ctx: &PollContext, deadline: Option<Instant>) -> PollRun {
    let mut total = PollRun::default();
    loop {
        if deadline.is_some_and(|d| Instant::now() + BATCH_TIME > d) {
            break;
        }
        match run_due_polls(ctx, ctx.clock.now(), BATCH).await {
            Ok(run) => {
                total += run;
                // The last of the due, or none claimed (others hold them).
                if run.due < BATCH || run.ran == 0 {
                    break;
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "poll: could not list the due polls");
                break;
            }
        }
    }
    total
}

/// One poll's run, from its claim to its record.
async fn run_poll(ctx: &PollContext, due: PollState, now: OffsetDateTime) -> PollRun {
    let Some(mut poll) = claim(ctx, due, now).await else {
        return PollRun::default();
    };
    let mut run = PollRun {
        ran: 1,
        ..PollRun::default()
    };
    let ran = poll_and_publish(ctx, &poll).await;
    match ran {
        Ran::Skipped => {}
        Ran::Failed(error) => {
            run.failed = 1;
            poll.last_error = Some(error);
            poll.last_run_at = Some(now);
        }
        Ran::Published {
            page_cursor,
            seen,
            published,
            skipped,
        } => {
            run.published = published;
            poll.cursor = page_cursor;
            poll.seen = seen;
            poll.published += published;
            poll.last_error = skipped;
            poll.last_run_at = Some(now);
        }
    }
    poll.next_run_at = now + Duration::from_secs(u64::from(poll.interval_seconds.max(1)));
    poll.lease_until = None;
    match ctx.store.update_poll(&poll).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(connection_id = %poll.connection_id, trigger = %poll.trigger, "poll: the poll changed during its run (its lease ran out, or it was replaced); its outcome is not recorded")
        }
        Err(e) => {
            tracing::error!(error = %e, connection_id = %poll.connection_id, trigger = %poll.trigger, "poll: could not record a run; it runs again when its lease ends")
        }
    }
    run
}

/// Claims a due poll for this runner: its lease written over the version read. `None`: another
/// runner claimed it first (or the store failed).
async fn claim(ctx: &PollContext, due: PollState, now: OffsetDateTime) -> Option<PollState> {
    let mut claim = due;
    claim.lease_until = Some(now + POLL_LEASE);
    match ctx.store.update_poll(&claim).await {
        Ok(true) => {
            claim.version += 1;
            Some(claim)
        }
        Ok(false) => None,
        Err(e) => {
            tracing::warn!(error = %e, connection_id = %claim.connection_id, "poll: could not claim a poll");
            None
        }
    }
}

/// What a claimed run did.
enum Ran {
    /// The connection or its polling of this trigger is disabled: not run, rescheduled.
    Skipped,
    /// It failed (a redacted reason); the cursor stays.
    Failed(String),
    /// The new items were published (or skipped as invalid events).
    Published {
        page_cursor: Option<Value>,
        seen: Vec<String>,
        published: u64,
        /// Why some items were not published, if any were not.
        skipped: Option<String>,
    },
}

/// Resolve → poll → publish.
async fn poll_and_publish(ctx: &PollContext, poll: &PollState) -> Ran {
    let resolved = match ctx.engine.resolver.resolve(&poll.connection_id).await {
        Ok(resolved) => resolved,
        Err(e) => return Ran::Failed(resolve_failure(&e)),
    };
    let connection = &resolved.connection;
    let polling = connection.polling.get(&poll.trigger);
    if !connection.enabled || !polling.is_some_and(|p| p.enabled) {
        return Ran::Skipped;
    }
    let Some(trigger) = resolved.app.definition.triggers.get(&poll.trigger) else {
        return Ran::Failed(format!("the app has no trigger {}", poll.trigger));
    };
    // Its items are published as the client's: only while it may publish for the state (the
    // cursor stays meanwhile, so that nothing is skipped).
    let owner = match ctx.client(&connection.client_id).await {
        Ok(Some(owner)) if !owner.disabled => owner,
        Ok(_) => return Ran::Failed("the connection's client is disabled or deleted".into()),
        Err(e) => {
            tracing::warn!(error = %e, "poll: could not read the connection's client");
            return Ran::Failed("the store failed; tried again at the next run".into());
        }
    };
    if !(owner.has_scope(Scope::Admin) || owner.allows_state(connection.state.as_str())) {
        return Ran::Failed(format!(
            "the connection's client may no longer publish for {}",
            connection.state.as_str()
        ));
    }
    let polled = tokio::time::timeout(
        RUN_LIMIT,
        ctx.engine
            .poll(&resolved, &poll.trigger, poll, REQUEST_TIMEOUT),
    )
    .await;
    let page = match polled {
        Ok(Ok(page)) => page,
        Ok(Err(outcome)) => {
            let why = outcome.error.unwrap_or_else(|| "the poll failed".into());
            return Ran::Failed(match outcome.status {
                Some(status) if !why.contains(&status.to_string()) => {
                    format!("HTTP {status}: {why}")
                }
                _ => why,
            });
        }
        Err(_) => return Ran::Failed(format!("timed out after {} s", RUN_LIMIT.as_secs())),
    };
    let (events, skipped) =
        match trigger_events(ctx, (&resolved, &owner), trigger, poll, page.items).await {
            Ok(built) => built,
            Err(e) => {
                tracing::warn!(error = %e, "poll: could not read the event catalog");
                return Ran::Failed("the event catalog could not be read; tried again".into());
            }
        };
    match accept(&ctx.worker.core, ctx.queue.as_ref(), &ctx.events, events).await {
        Ok(outcomes) => Ran::Published {
            page_cursor: page.cursor,
            seen: page.seen,
            published: outcomes.iter().filter(|(_, dup)| !dup).count() as u64,
            skipped,
        },
        Err(e) => {
            tracing::warn!(error = ?e, connection_id = %poll.connection_id, trigger = %poll.trigger, "poll: could not publish the new items; the cursor stays");
            Ran::Failed(
                "publishing the new items failed; they are published at the next run".into(),
            )
        }
    }
}

/// The text recorded for a connection that could not be resolved (no secret in it).
fn resolve_failure(e: &ResolveError) -> String {
    if e.is_transient() {
        tracing::warn!(error = %e, "poll: could not resolve a connection");
        "the store failed; tried again at the next run".into()
    } else {
        e.to_string()
    }
}

/// Most validation failures quoted in a poll's `last_error`.
const QUOTED_FAILURES: usize = 3;

/// The events of `items` (the trigger's type, the connection's state, its client as the
/// publisher, the item as data), each validated against the catalog as the hook route
/// validates one ([`trigger_event`]); the invalid ones are left out and said why (`None`: all
/// valid).
async fn trigger_events(
    ctx: &PollContext,
    (resolved, owner): (&Resolved, &Client),
    trigger: &TriggerSpec,
    poll: &PollState,
    items: Vec<(String, Value)>,
) -> Result<(Vec<NewEvent>, Option<String>), PortError> {
    if items.is_empty() {
        return Ok((Vec::new(), None));
    }
    let catalog = ctx.catalog.get(ctx.store.as_ref()).await?;
    let publisher = (&resolved.connection, owner);
    let mut events = Vec::with_capacity(items.len());
    let mut failures = Vec::new();
    let total = items.len();
    for (id, data) in items {
        let key = Some(poll_key(poll, &id));
        let event_type = &trigger.event_type;
        match trigger_event(&ctx.worker.core, &catalog, publisher, event_type, data, key) {
            Ok(event) => events.push(event),
            Err(e) => failures.push(format!("{id}: {}", e.detail)),
        }
    }
    if failures.is_empty() {
        return Ok((events, None));
    }
    let count = failures.len();
    failures.truncate(QUOTED_FAILURES);
    let why = hookline_domain::delivery::bounded(
        &format!(
            "{count} of {total} items skipped: not valid {} events ({})",
            trigger.event_type,
            failures.join("; ")
        ),
        hookline_domain::delivery::RESPONSE_EXCERPT_BYTES,
    );
    Ok((events, Some(resolved.redact(&why))))
}

/// The idempotency key of a polled item: `poll:{connection}:{trigger}:{item id}` (the id as
/// the engine gives it, a long one already hashed).
pub fn poll_key(poll: &PollState, item_id: &str) -> String {
    format!("poll:{}:{}:{item_id}", poll.connection_id, poll.trigger)
}
