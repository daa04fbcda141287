//! The port conformance suite: one set of checks that every backend (embedded SQLite, and
//! DynamoDB/SQS/Secrets Manager) must pass, so handlers can rely on the documented contract
//! rather than on one backend's habits.
//!
//! Each suite is an async function taking the port as a trait object; it panics with a message
//! naming the broken rule. Call them from a backend's tests inside a tokio runtime.
//!
//! - [`store_suite`] and [`keys_suite`] use fresh ids (and a fresh state code) for every run
//!   and only assert on what they wrote, so they can share a long-lived store, such as an
//!   AWS emulator, with other runs and tests.
//! - [`queue_suite`] needs queues of its own that start empty (fresh queues per run on AWS);
//!   it leaves them empty. Its waits are whole seconds, because SQS counts visibility and delay
//!   in seconds.

mod apps;
mod claims;
mod clients;
mod deliveries;
mod events;
mod imports;
mod keys;
mod listings;
mod manufacturers;
mod polls;
mod pull;
mod queue;
mod secrets;
mod subscriptions;
mod sync;

use std::future::Future;
use std::pin::pin;
use std::task::Poll;

use hookline_domain::{ClientId, EventId, StatePattern, SubscriptionId, ids};
use time::OffsetDateTime;

use crate::error::PortError;
use crate::store::{Page, Store};

pub use keys::keys_suite;
pub use queue::queue_suite;

/// Runs every store check: clients, event types, events, subscriptions, deliveries, claims,
/// manufacturers, imports, the sync port's sources, allocations and requests, the pull
/// port's message logs, the integration apps' versions, connections and polls, and secrets.
pub async fn store_suite(store: &dyn Store) {
    let run = Run::new();
    clients::clients(store, &run).await;
    clients::event_types(store, &run).await;
    clients::bootstrap_admin(store, &run).await;
    events::events(store, &run).await;
    events::list_events(store, &run).await;
    listings::recent_events(store, &run).await;
    subscriptions::subscriptions(store, &run).await;
    subscriptions::list_subscriptions(store, &run).await;
    deliveries::deliveries(store, &run).await;
    deliveries::insert_many(store, &run).await;
    deliveries::list_deliveries(store, &run).await;
    listings::delivery_filters(store, &run).await;
    claims::one_claim_per_version(store, &run).await;
    claims::no_write_beside_a_claim(store, &run).await;
    claims::a_lapsed_claim_is_on_record(store, &run).await;
    manufacturers::manufacturers(store, &run).await;
    manufacturers::concurrent_writes(store, &run).await;
    manufacturers::list_manufacturers(store, &run).await;
    imports::imports(store, &run).await;
    sync::external_sources(store, &run).await;
    sync::allocations(store, &run).await;
    sync::sync_requests(store, &run).await;
    pull::order_and_cycles(store, &run).await;
    pull::concurrent_appends(store, &run).await;
    pull::acknowledgements(store, &run).await;
    pull::retention(store, &run).await;
    apps::app_versions(store, &run).await;
    apps::connections(store, &run).await;
    polls::polls(store, &run).await;
    secrets::secrets(store, &run).await;
    secrets::oversized(store, &run).await;
}

/// What makes one run's data its own.
struct Run {
    /// Unique tag (time-ordered id body).
    tag: String,
    /// A state code no other run uses (`Q` + 7 random characters).
    state: StatePattern,
    /// Unix ms at the start of the run.
    start_ms: i128,
}

impl Run {
    fn new() -> Run {
        let start_ms = now_ms();
        let tag = ids::new_id("", start_ms);
        let random_tail = &tag[tag.len() - 7..];
        Run {
            state: StatePattern::from_stored(format!("Q{}", random_tail.to_ascii_uppercase())),
            tag,
            start_ms,
        }
    }

    /// A fresh client id.
    fn client_id(&self) -> ClientId {
        ClientId::new(now_ms())
    }

    /// A fresh subscription id.
    fn subscription_id(&self) -> SubscriptionId {
        SubscriptionId::new(now_ms())
    }

    /// A fresh event id.
    fn event_id(&self) -> EventId {
        EventId::new(now_ms())
    }
}

/// Upper bound on pages read while walking a list, so a cursor that never ends fails.
const MAX_PAGES: usize = 10_000;

fn now_ms() -> i128 {
    OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000
}

/// A time at whole milliseconds (what every backend stores exactly).
fn at_ms(ms: i128) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Walks a list from the first page until `next_cursor` is `None`; returns every page.
/// Checks that no page exceeds `limit`.
async fn walk<T, F, Fut>(what: &str, limit: usize, mut fetch: F) -> Vec<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, PortError>>,
{
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = match fetch(cursor.take()).await {
            Ok(p) => p,
            Err(e) => panic!("{what}: listing page {} failed: {e}", pages.len() + 1),
        };
        assert!(
            page.items.len() <= limit,
            "{what}: page {} has {} items, more than the limit {limit}",
            pages.len() + 1,
            page.items.len()
        );
        pages.push(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return pages,
        }
        assert!(
            pages.len() < MAX_PAGES,
            "{what}: the cursor never reached the end"
        );
    }
}

/// The page sizes a list of `n` items must come in when nothing else is in it.
fn exact_page_sizes(n: usize, limit: usize) -> Vec<usize> {
    if n == 0 {
        return vec![0];
    }
    let mut sizes = vec![limit; n / limit];
    if !n.is_multiple_of(limit) {
        sizes.push(n % limit);
    }
    sizes
}

/// Runs two futures to completion concurrently on the current task (`tokio::join!` without
/// the macros feature).
async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut out_a = None;
    let mut out_b = None;
    std::future::poll_fn(move |cx| {
        if out_a.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            out_a = Some(v);
        }
        if out_b.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            out_b = Some(v);
        }
        match (out_a.take(), out_b.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                out_a = x;
                out_b = y;
                Poll::Pending
            }
        }
    })
    .await
}
