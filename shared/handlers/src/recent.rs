//! Events this process accepted or read lately. An event never changes once stored, and in
//! the local runner the same process accepts it, fans it out and delivers it — up to once per
//! matching subscription — so the store is read for it once at most, not once per delivery.
//! On Lambda, where each function is its own process, it saves the deliver function one read
//! per delivery of an event fanned out to several subscriptions of one batch.

use std::collections::{HashMap, VecDeque};
use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use hookline_domain::Event;
use hookline_ports::{PortError, Store};

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

/// Events kept; the oldest goes first.
const CAPACITY: usize = 4096;

/// The cache of recent events.
#[derive(Default)]
pub struct RecentEvents {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    by_id: HashMap<String, Arc<KnownEvent>>,
    order: VecDeque<String>,
}

impl RecentEvents {
    /// Remembers an event that was just stored (or read).
    pub fn remember(&self, event: Arc<KnownEvent>) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.by_id.contains_key(&event.id) {
            return;
        }
        if inner.order.len() >= CAPACITY
            && let Some(oldest) = inner.order.pop_front()
        {
            inner.by_id.remove(&oldest);
        }
        inner.order.push_back(event.id.clone());
        inner.by_id.insert(event.id.clone(), event);
    }

    /// An event by id: from memory if it is there, else from the store (and remembered).
    pub async fn get(
        &self,
        store: &dyn Store,
        id: &str,
    ) -> Result<Option<Arc<KnownEvent>>, PortError> {
        if let Some(e) = self
            .inner
            .lock()
            .ok()
            .and_then(|i| i.by_id.get(id).cloned())
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

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().map(|i| i.by_id.len()).unwrap_or(0)
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

    #[test]
    fn the_oldest_event_goes_first_when_full() {
        let recent = RecentEvents::default();
        for i in 0..CAPACITY + 1 {
            recent.remember(event(&format!("evt_{i}")));
        }
        assert_eq!(recent.len(), CAPACITY);
        let inner = recent.inner.lock().expect("lock");
        assert!(!inner.by_id.contains_key("evt_0"));
        assert!(inner.by_id.contains_key(&format!("evt_{CAPACITY}")));
    }
}
