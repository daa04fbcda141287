//! What a test plants in a hub's store (a subscribed client, an event, a queued delivery) and
//! reads back from it.

use hookline_domain::secret::{hash_client_secret, new_client_secret, new_webhook_secret};
use hookline_domain::subscription::new_subscription;
use hookline_domain::{Client, Delivery, Event, Scope, Subscription};
use hookline_domain::{ClientId, DeliveryId, EventId, StatePattern, SubscriptionId};
use hookline_handlers::messages::{DeliveryMessage, to_body};
use hookline_ports::{DeliveryKey, QueueMessage, QueueName};
use time::OffsetDateTime;

use super::{EVENT_TYPE, Hub, STATE, now_ms};

impl Hub {
    /// A new client subscribed to `EVENT_TYPE` in `STATE` at `url`.
    pub async fn subscribe(&self, url: &str, max_attempts: u32) -> Subscription {
        self.subscribe_as(&new_client_secret(), url, max_attempts)
            .await
    }

    pub(super) async fn subscribe_as(
        &self,
        secret: &str,
        url: &str,
        max_attempts: u32,
    ) -> Subscription {
        let now = OffsetDateTime::now_utc();
        let client = Client {
            id: ClientId::new(now_ms()),
            name: "Receiving portal".into(),
            scopes: vec![
                Scope::SubscriptionsWrite,
                Scope::SubscriptionsRead,
                Scope::EventsRead,
            ],
            states: vec![StatePattern::from_stored(STATE)],
            secret_hash: hash_client_secret(secret),
            created_at: now,
            disabled: false,
            limits: Default::default(),
        };
        self.store.insert_client(&client).await.expect("client");
        let mut sub = new_subscription(
            SubscriptionId::new(now_ms()),
            client.id,
            new_webhook_secret(),
            now,
        );
        sub.url = url.into();
        sub.event_types = vec![EVENT_TYPE.into()];
        sub.states = vec![StatePattern::from_stored(STATE)];
        sub.max_attempts = max_attempts;
        self.store
            .insert_subscription(&sub)
            .await
            .expect("subscription");
        sub
    }

    /// A stored, accepted event of `EVENT_TYPE` in `STATE`.
    pub async fn publish(&self) -> Event {
        let now = OffsetDateTime::now_utc();
        let event = Event {
            id: EventId::new(now_ms()),
            event_type: EVENT_TYPE.into(),
            state: StatePattern::from_stored(STATE),
            occurred_at: now,
            received_at: now,
            source: "cl_publisher".into(),
            publisher_key: None,
            recipient: None,
            data: serde_json::json!({ "lot": "L-42", "quantity_kg": 1200 }),
        };
        self.store.insert_event(&event, None).await.expect("event");
        event
    }

    /// Records a delivery of `event` to `sub` (after `adjust`) and queues it by id, as a
    /// manual retry does: the worker reads it from the store.
    pub async fn queue_delivery(
        &self,
        event: &Event,
        sub: &Subscription,
        adjust: impl FnOnce(&mut Delivery),
    ) -> DeliveryId {
        let id = DeliveryId::for_event(&event.id, &sub.id);
        let mut delivery = Delivery::new(
            id.clone(),
            &event.id,
            &sub.id,
            &sub.client_id,
            OffsetDateTime::now_utc(),
        );
        adjust(&mut delivery);
        assert!(self.store.insert_delivery(&delivery).await.expect("insert"));
        let body = to_body(&DeliveryMessage::id(&id));
        self.queue
            .send(QueueName::Deliveries, vec![QueueMessage::now(body)])
            .await
            .expect("send");
        id
    }

    pub async fn delivery(&self, id: &DeliveryId) -> Delivery {
        self.store
            .get_delivery(id)
            .await
            .expect("get delivery")
            .expect("the delivery exists")
    }

    pub async fn deliveries_of(&self, event: &Event) -> Vec<Delivery> {
        let key = DeliveryKey::Event(event.id.clone());
        let page = self
            .store
            .list_deliveries(&key, &Default::default(), None, 100)
            .await;
        page.expect("list deliveries").items
    }
}
