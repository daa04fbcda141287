//! The subscription index: every subscription of the stack in memory, keyed so that finding
//! the subscriptions of an event costs in proportion to the matches, not to the number of
//! subscriptions. It is rebuilt only when the store's subscription generation moves, which
//! costs one key lookup per fan-out batch.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock, RwLock};

use hookline_domain::{
    ClientId, Event, Filter, StatePattern, Subscription, SubscriptionId, TypeSelector,
};
use hookline_ports::{PortError, Store};

use crate::delivery::client::Target;

/// A subscription with its compiled filter.
pub struct IndexedSubscription {
    /// The subscription.
    pub sub: Subscription,
    /// Its filter, compiled.
    pub filter: Option<Filter>,
    /// Its URL as the webhook client checked it, on first use (a snapshot of the index lives
    /// only as long as its subscriptions stay unchanged).
    pub target: OnceLock<Target>,
}

/// An immutable snapshot of the index.
#[derive(Default)]
pub struct SubscriptionIndex {
    generation: u64,
    subs: Vec<Arc<IndexedSubscription>>,
    by_id: HashMap<SubscriptionId, usize>,
    /// (state or `*`, exact type) → subscriptions.
    exact: HashMap<(StatePattern, String), Vec<usize>>,
    /// state or `*` → subscriptions with a prefix or `*` selector.
    wildcard: HashMap<StatePattern, Vec<usize>>,
    /// owning client → its subscriptions (for system events addressed to one client).
    by_client: HashMap<ClientId, Vec<usize>>,
}

impl SubscriptionIndex {
    /// Builds an index of `subs`.
    pub fn build(generation: u64, subs: Vec<Subscription>) -> Self {
        let mut idx = SubscriptionIndex {
            generation,
            ..Default::default()
        };
        for sub in subs {
            let i = idx.subs.len();
            let filter = sub.filter.as_ref().and_then(|f| Filter::compile(f).ok());
            for state in &sub.states {
                for sel in &sub.event_types {
                    match TypeSelector::parse(sel) {
                        TypeSelector::Exact(t) => {
                            idx.exact.entry((state.clone(), t)).or_default().push(i)
                        }
                        _ => idx.wildcard.entry(state.clone()).or_default().push(i),
                    }
                }
            }
            idx.by_id.insert(sub.id.clone(), i);
            idx.by_client
                .entry(sub.client_id.clone())
                .or_default()
                .push(i);
            idx.subs.push(Arc::new(IndexedSubscription {
                sub,
                filter,
                target: OnceLock::new(),
            }));
        }
        idx
    }

    /// Subscriptions whose state and type selectors cover the event (enabled or not; the
    /// caller applies `Subscription::matches` for the rest).
    pub fn candidates(
        &self,
        state: &StatePattern,
        event_type: &str,
    ) -> Vec<Arc<IndexedSubscription>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for st in [state, &StatePattern::Any] {
            if let Some(list) = self.exact.get(&(st.clone(), event_type.to_string())) {
                for &i in list {
                    if seen.insert(i) {
                        out.push(self.subs[i].clone());
                    }
                }
            }
            if let Some(list) = self.wildcard.get(st) {
                for &i in list {
                    if !seen.contains(&i) && self.subs[i].sub.covers_type(event_type) {
                        seen.insert(i);
                        out.push(self.subs[i].clone());
                    }
                }
            }
        }
        out
    }

    /// The subscriptions of an event's candidates: by state and type, or — for a system
    /// event addressed to one client — that client's (the caller applies
    /// `Subscription::matches` for the rest).
    pub fn candidates_of(&self, event: &Event) -> Vec<Arc<IndexedSubscription>> {
        match &event.recipient {
            Some(client) => self
                .by_client
                .get(client)
                .into_iter()
                .flatten()
                .map(|&i| self.subs[i].clone())
                .collect(),
            None => self.candidates(&event.state, &event.event_type),
        }
    }

    /// A subscription by id.
    pub fn get(&self, id: &SubscriptionId) -> Option<Arc<IndexedSubscription>> {
        self.by_id.get(id).map(|&i| self.subs[i].clone())
    }

    /// Number of subscriptions.
    pub fn len(&self) -> usize {
        self.subs.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.subs.is_empty()
    }
}

/// The per-process cache of the index.
#[derive(Default)]
pub struct IndexCache {
    current: RwLock<Option<Arc<SubscriptionIndex>>>,
    rebuild: tokio::sync::Mutex<()>,
}

impl IndexCache {
    /// The index, rebuilt first if the store's generation moved.
    pub async fn get(&self, store: &dyn Store) -> Result<Arc<SubscriptionIndex>, PortError> {
        let generation = store.subscriptions_generation().await?;
        if let Some(idx) = self.cached(generation) {
            return Ok(idx);
        }
        // One rebuild at a time; whoever waited re-checks before rebuilding again.
        let _guard = self.rebuild.lock().await;
        if let Some(idx) = self.cached(generation) {
            return Ok(idx);
        }
        let mut subs = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = store
                .list_subscriptions(None, cursor.as_deref(), 1000)
                .await?;
            subs.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        // The generation read before listing: if a write raced the listing, the next call
        // sees a newer generation and rebuilds again.
        let idx = Arc::new(SubscriptionIndex::build(generation, subs));
        if let Ok(mut g) = self.current.write() {
            *g = Some(idx.clone());
        }
        Ok(idx)
    }

    fn cached(&self, generation: u64) -> Option<Arc<SubscriptionIndex>> {
        let g = self.current.read().ok()?;
        g.as_ref().filter(|i| i.generation == generation).cloned()
    }
}

#[cfg(test)]
mod tests {
    use hookline_domain::subscription::new_subscription;
    use time::OffsetDateTime;

    use super::*;

    fn sub(id: &str, states: &[&str], types: &[&str]) -> Subscription {
        let mut s = new_subscription(
            SubscriptionId::from_stored(id),
            ClientId::from_stored("cl_1"),
            "whsec_x".into(),
            OffsetDateTime::UNIX_EPOCH,
        );
        s.states = states
            .iter()
            .map(|s| StatePattern::from_stored(*s))
            .collect();
        s.event_types = types.iter().map(|s| s.to_string()).collect();
        s
    }

    fn ids(v: Vec<Arc<IndexedSubscription>>) -> Vec<String> {
        let mut ids: Vec<String> = v.iter().map(|e| e.sub.id.to_string()).collect();
        ids.sort();
        ids
    }

    #[test]
    fn candidates_cover_exact_prefix_all_and_star_states_once_each() {
        let idx = SubscriptionIndex::build(
            1,
            vec![
                sub("sub_exact", &["AP"], &["LotDispatched"]),
                sub("sub_prefix", &["AP"], &["Lot*", "LotDispatched"]),
                sub("sub_all", &["*"], &["*"]),
                sub("sub_other_state", &["TG"], &["LotDispatched"]),
                sub("sub_other_type", &["AP"], &["BatchCreated"]),
            ],
        );
        assert_eq!(
            ids(idx.candidates(&StatePattern::from_stored("AP"), "LotDispatched")),
            vec!["sub_all", "sub_exact", "sub_prefix"]
        );
        assert_eq!(
            ids(idx.candidates(&StatePattern::from_stored("TG"), "LotReceived")),
            vec!["sub_all"]
        );
    }

    #[test]
    fn a_system_event_finds_its_recipients_subscriptions_only() {
        let mut other = sub("sub_other_client", &["*"], &["*"]);
        other.client_id = ClientId::from_stored("cl_2");
        let idx = SubscriptionIndex::build(
            1,
            vec![
                sub("sub_ap", &["AP"], &["LotDispatched"]),
                sub("sub_tg", &["TG"], &["*"]),
                other,
            ],
        );
        let mut event = crate::test_support::event("evt_1", serde_json::json!({}));
        event.recipient = Some(ClientId::from_stored("cl_1"));
        assert_eq!(ids(idx.candidates_of(&event)), vec!["sub_ap", "sub_tg"]);
    }

    #[test]
    fn non_matching_subscriptions_are_never_visited() {
        // 10,000 subscriptions on other types: the exact-type lookup skips them entirely.
        let mut subs: Vec<Subscription> = (0..10_000)
            .map(|i| sub(&format!("sub_n{i}"), &["AP"], &["BatchCreated"]))
            .collect();
        subs.extend((0..3).map(|i| sub(&format!("sub_m{i}"), &["AP"], &["LotDispatched"])));
        let idx = SubscriptionIndex::build(1, subs);
        assert_eq!(
            idx.candidates(&StatePattern::from_stored("AP"), "LotDispatched")
                .len(),
            3
        );
        assert_eq!(idx.len(), 10_003);
    }
}
