//! Events this process accepted or read lately. An event never changes once stored, and in
//! the local runner the same process accepts it, fans it out and delivers it — up to once per
//! matching subscription — so the store is read for it once at most, not once per delivery.
//! On Lambda, where each function is its own process, it saves the deliver function one read
//! per delivery of an event fanned out to several subscriptions of one batch.

use std::collections::{HashMap, VecDeque};
use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use hookline_domain::{Event, EventId};
use hookline_ports::{PortError, Store};
use serde_json::Value;

/// An event, and the body of its webhooks once one was wanted: serialized once, then shared
/// by every delivery of the event (a fan-out to 100 subscriptions serialized it 100 times).
#[derive(Debug)]
pub struct KnownEvent {
    event: Event,
    envelope: OnceLock<Bytes>,
}

impl KnownEvent {
    /// The event, its envelope not serialized yet.
    pub fn new(event: Event) -> KnownEvent {
        KnownEvent {
            event,
            envelope: OnceLock::new(),
        }
    }

    /// [`Event::envelope_bytes`], serialized on the first call.
    pub fn envelope(&self) -> Bytes {
        self.envelope
            .get_or_init(|| Bytes::from(self.event.envelope_bytes()))
            .clone()
    }
}

impl Deref for KnownEvent {
    type Target = Event;

    fn deref(&self) -> &Event {
        &self.event
    }
}

/// What the cache may hold, in estimated bytes of memory (see [`footprint`]): events come in
/// all sizes, up to the ingest limit (256 KiB of JSON, several times that once parsed), so a
/// bound on their number alone bounds nothing. 32 MiB keeps thousands of small events, or
/// the last few dozen of the largest, well inside the smallest Lambda memory setting.
pub const DEFAULT_BUDGET: usize = 32 << 20;

/// The cache of recent events.
pub struct RecentEvents {
    budget: usize,
    inner: Mutex<Inner>,
}

impl Default for RecentEvents {
    fn default() -> Self {
        RecentEvents::with_budget(DEFAULT_BUDGET)
    }
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<EventId, (Arc<KnownEvent>, usize)>,
    order: VecDeque<EventId>,
    bytes: usize,
}

impl RecentEvents {
    /// A cache holding at most `budget` estimated bytes of events.
    pub fn with_budget(budget: usize) -> RecentEvents {
        RecentEvents {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Remembers an event that was just stored (or read). One that would take more than an
    /// eighth of the budget is not kept: it would push out many others for one reuse.
    pub fn remember(&self, event: Arc<KnownEvent>) {
        let cost = footprint(&event);
        if cost > self.budget / 8 {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.by_id.contains_key(&event.id) {
            return;
        }
        while inner.bytes + cost > self.budget {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some((_, freed)) = inner.by_id.remove(&oldest) {
                inner.bytes -= freed;
            }
        }
        inner.bytes += cost;
        inner.order.push_back(event.id.clone());
        inner.by_id.insert(event.id.clone(), (event, cost));
    }

    /// An event by id: from memory if it is there, else from the store (and remembered).
    pub async fn get(
        &self,
        store: &dyn Store,
        id: &EventId,
    ) -> Result<Option<Arc<KnownEvent>>, PortError> {
        if let Some(e) = self
            .inner
            .lock()
            .ok()
            .and_then(|i| i.by_id.get(id).map(|(e, _)| e.clone()))
        {
            return Ok(Some(e));
        }
        let Some(event) = store.get_event(id).await? else {
            return Ok(None);
        };
        let event = Arc::new(KnownEvent::new(event));
        self.remember(event.clone());
        Ok(Some(event))
    }

    /// Estimated bytes held.
    pub fn bytes(&self) -> usize {
        self.inner.lock().map(|i| i.bytes).unwrap_or(0)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().map(|i| i.by_id.len()).unwrap_or(0)
    }
}

/// Estimated memory of a cached event: its fields, its parsed payload (see [`heap_bytes`])
/// and, once serialized, its webhook body, charged up front at the payload's size again.
fn footprint(event: &KnownEvent) -> usize {
    let strings = event.id.len()
        + event.event_type.len()
        + event.state.len()
        + event.source.len()
        + event.publisher_key.as_ref().map_or(0, String::len);
    // The map's key and entry, the queue's key, the event itself.
    let fixed = 2 * event.id.len() + std::mem::size_of::<KnownEvent>() + 128;
    fixed + strings + 2 * heap_bytes(&event.data)
}

/// Bytes a parsed JSON value holds on the heap, estimated: each allocation's length plus a
/// word of allocator overhead, and per object member its key, its value and its share of a
/// B-tree node.
fn heap_bytes(value: &Value) -> usize {
    const VALUE: usize = std::mem::size_of::<Value>();
    const ALLOC: usize = 16;
    const MEMBER: usize = std::mem::size_of::<String>() + VALUE + 24;
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => 0,
        Value::String(s) => s.capacity() + ALLOC,
        Value::Array(items) => {
            items.capacity() * VALUE + ALLOC + items.iter().map(heap_bytes).sum::<usize>()
        }
        Value::Object(members) => {
            ALLOC
                + members
                    .iter()
                    .map(|(k, v)| MEMBER + k.capacity() + ALLOC + heap_bytes(v))
                    .sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: &str) -> Arc<KnownEvent> {
        Arc::new(KnownEvent::new(crate::test_support::event(
            id,
            serde_json::json!({}),
        )))
    }

    #[test]
    fn an_events_webhook_body_is_its_envelope_serialized_once() {
        let known = event("evt_1");
        let first = known.envelope();
        assert_eq!(first, known.event.envelope_bytes());
        // The same bytes, not a second serialization.
        assert_eq!(known.envelope().as_ptr(), first.as_ptr());
    }

    fn sized(id: &str, kib: usize) -> Arc<KnownEvent> {
        let data = serde_json::json!({ "blob": "x".repeat(kib << 10) });
        Arc::new(KnownEvent::new(crate::test_support::event(id, data)))
    }

    #[test]
    fn the_oldest_events_go_first_when_the_budget_is_full() {
        let recent = RecentEvents::with_budget(8 << 20);
        for i in 0..40 {
            recent.remember(sized(&format!("evt_{i}"), 256));
        }
        // Each 256 KiB payload is charged at least twice its size: at most 16 fit in 8 MiB.
        assert!(recent.bytes() <= 8 << 20, "{}", recent.bytes());
        assert!((1..=16).contains(&recent.len()), "{}", recent.len());
        let inner = recent.inner.lock().expect("lock");
        assert!(!inner.by_id.contains_key(&EventId::from_stored("evt_0")));
        assert!(inner.by_id.contains_key(&EventId::from_stored("evt_39")));
    }

    #[test]
    fn many_small_events_fit_where_few_large_ones_do() {
        let recent = RecentEvents::with_budget(4 << 20);
        for i in 0..1000 {
            recent.remember(event(&format!("evt_{i}")));
        }
        assert_eq!(recent.len(), 1000);
    }

    #[test]
    fn an_event_larger_than_an_eighth_of_the_budget_is_not_kept() {
        let recent = RecentEvents::with_budget(1 << 20);
        recent.remember(event("evt_small"));
        recent.remember(sized("evt_big", 200));
        assert_eq!(recent.len(), 1);
    }

    #[test]
    fn the_estimate_counts_what_a_parsed_payload_holds() {
        // 10,000 members of small values: far more memory than its ~170 KB of JSON.
        let members: serde_json::Map<String, Value> = (0..10_000)
            .map(|i| (format!("field_{i:05}"), Value::from(i)))
            .collect();
        let value = Value::Object(members);
        let text = serde_json::to_vec(&value).expect("json").len();
        assert!(
            heap_bytes(&value) > 3 * text,
            "{} vs {text}",
            heap_bytes(&value)
        );
    }
}
