//! The fault-injecting store: every store port, each call a fault point named after its method.

use std::sync::Arc;

use async_trait::async_trait;
use hookline_domain::manufacturer::FssaiLicence;
use hookline_domain::{
    Client, ClientId, Delivery, DeliveryId, Event, EventId, EventType, Import, ImportChunk,
    ImportId, Manufacturer, StatePattern, Subscription, SubscriptionId,
};
use time::OffsetDateTime;

use super::Faults;
use crate::{
    Claim, ClientStore, DeliveryFilter, DeliveryKey, DeliveryStore, EventInsert, EventListing,
    EventStore, EventTypeStore, ImportStore, ManufacturerQuery, ManufacturerStore, Page, PortError,
    Store, SubscriptionStore,
};

/// A [`Store`] whose calls fail where its [`Faults`] say.
pub struct FaultyStore {
    pub(super) inner: Arc<dyn Store>,
    pub(super) faults: Faults,
}

impl FaultyStore {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>, faults: Faults) -> FaultyStore {
        FaultyStore { inner, faults }
    }
}

#[async_trait]
impl ClientStore for FaultyStore {
    async fn insert_client(&self, client: &Client) -> Result<(), PortError> {
        self.faults
            .around("insert_client", self.inner.insert_client(client))
            .await
    }
    async fn insert_bootstrap_admin(&self, client: &Client) -> Result<bool, PortError> {
        self.faults
            .around(
                "insert_bootstrap_admin",
                self.inner.insert_bootstrap_admin(client),
            )
            .await
    }
    async fn get_client(&self, id: &ClientId) -> Result<Option<Client>, PortError> {
        self.faults
            .around("get_client", self.inner.get_client(id))
            .await
    }
    async fn put_client(&self, client: &Client) -> Result<(), PortError> {
        self.faults
            .around("put_client", self.inner.put_client(client))
            .await
    }
    async fn delete_client(&self, id: &ClientId) -> Result<(), PortError> {
        self.faults
            .around("delete_client", self.inner.delete_client(id))
            .await
    }
    async fn list_clients(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Client>, PortError> {
        self.faults
            .around("list_clients", self.inner.list_clients(cursor, limit))
            .await
    }
}

#[async_trait]
impl EventTypeStore for FaultyStore {
    async fn list_event_types(&self) -> Result<Vec<EventType>, PortError> {
        self.faults
            .around("list_event_types", self.inner.list_event_types())
            .await
    }
    async fn put_event_type(&self, event_type: &EventType) -> Result<(), PortError> {
        self.faults
            .around("put_event_type", self.inner.put_event_type(event_type))
            .await
    }
}

#[async_trait]
impl EventStore for FaultyStore {
    async fn insert_event(
        &self,
        event: &Event,
        idempotency_key: Option<&str>,
    ) -> Result<EventInsert, PortError> {
        self.faults
            .around(
                "insert_event",
                self.inner.insert_event(event, idempotency_key),
            )
            .await
    }
    async fn mark_event_enqueued(&self, event_id: &EventId) -> Result<(), PortError> {
        self.faults
            .around(
                "mark_event_enqueued",
                self.inner.mark_event_enqueued(event_id),
            )
            .await
    }
    async fn get_event(&self, id: &EventId) -> Result<Option<Event>, PortError> {
        self.faults
            .around("get_event", self.inner.get_event(id))
            .await
    }
    async fn list_events(
        &self,
        state: Option<&StatePattern>,
        since: OffsetDateTime,
        until: OffsetDateTime,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Event>, PortError> {
        self.faults
            .around(
                "list_events",
                self.inner.list_events(state, since, until, cursor, limit),
            )
            .await
    }
    async fn list_recent_events(
        &self,
        listing: &EventListing,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Event>, PortError> {
        self.faults
            .around(
                "list_recent_events",
                self.inner.list_recent_events(listing, cursor, limit),
            )
            .await
    }
}

#[async_trait]
impl SubscriptionStore for FaultyStore {
    async fn insert_subscription(&self, sub: &Subscription) -> Result<(), PortError> {
        self.faults
            .around("insert_subscription", self.inner.insert_subscription(sub))
            .await
    }
    async fn get_subscription(
        &self,
        id: &SubscriptionId,
    ) -> Result<Option<Subscription>, PortError> {
        self.faults
            .around("get_subscription", self.inner.get_subscription(id))
            .await
    }
    async fn update_subscription(&self, sub: &Subscription) -> Result<bool, PortError> {
        self.faults
            .around("update_subscription", self.inner.update_subscription(sub))
            .await
    }
    async fn delete_subscription(&self, id: &SubscriptionId) -> Result<(), PortError> {
        self.faults
            .around("delete_subscription", self.inner.delete_subscription(id))
            .await
    }
    async fn list_subscriptions(
        &self,
        client_id: Option<&ClientId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Subscription>, PortError> {
        self.faults
            .around(
                "list_subscriptions",
                self.inner.list_subscriptions(client_id, cursor, limit),
            )
            .await
    }
    async fn subscriptions_generation(&self) -> Result<u64, PortError> {
        self.faults
            .around(
                "subscriptions_generation",
                self.inner.subscriptions_generation(),
            )
            .await
    }
}

#[async_trait]
impl DeliveryStore for FaultyStore {
    async fn insert_delivery(&self, delivery: &Delivery) -> Result<bool, PortError> {
        self.faults
            .around("insert_delivery", self.inner.insert_delivery(delivery))
            .await
    }
    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<Vec<bool>, PortError> {
        self.faults
            .around(
                "insert_deliveries",
                self.inner.insert_deliveries(deliveries),
            )
            .await
    }
    async fn get_delivery(&self, id: &DeliveryId) -> Result<Option<Delivery>, PortError> {
        self.faults
            .around("get_delivery", self.inner.get_delivery(id))
            .await
    }
    async fn put_delivery(&self, delivery: &Delivery) -> Result<(), PortError> {
        self.faults
            .around("put_delivery", self.inner.put_delivery(delivery))
            .await
    }
    async fn update_delivery(&self, delivery: &Delivery) -> Result<bool, PortError> {
        self.faults
            .around("update_delivery", self.inner.update_delivery(delivery))
            .await
    }
    async fn claim_delivery(
        &self,
        claim: Delivery,
        at: OffsetDateTime,
    ) -> Result<Claim, PortError> {
        self.faults
            .around("claim_delivery", self.inner.claim_delivery(claim, at))
            .await
    }
    async fn list_deliveries(
        &self,
        key: &DeliveryKey,
        filter: &DeliveryFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Delivery>, PortError> {
        self.faults
            .around(
                "list_deliveries",
                self.inner.list_deliveries(key, filter, cursor, limit),
            )
            .await
    }
}

#[async_trait]
impl ImportStore for FaultyStore {
    async fn insert_import(&self, import: &Import) -> Result<(), PortError> {
        self.faults
            .around("insert_import", self.inner.insert_import(import))
            .await
    }
    async fn get_import(&self, id: &ImportId) -> Result<Option<Import>, PortError> {
        self.faults
            .around("get_import", self.inner.get_import(id))
            .await
    }
    async fn record_import_chunk(
        &self,
        import: &ImportId,
        chunk: &ImportChunk,
    ) -> Result<bool, PortError> {
        self.faults
            .around(
                "record_import_chunk",
                self.inner.record_import_chunk(import, chunk),
            )
            .await
    }
    async fn list_import_chunks(&self, import: &ImportId) -> Result<Vec<ImportChunk>, PortError> {
        self.faults
            .around("list_import_chunks", self.inner.list_import_chunks(import))
            .await
    }
}

#[async_trait]
impl ManufacturerStore for FaultyStore {
    async fn insert_manufacturer(&self, m: &Manufacturer) -> Result<bool, PortError> {
        self.faults
            .around("insert_manufacturer", self.inner.insert_manufacturer(m))
            .await
    }
    async fn get_manufacturer(
        &self,
        fssai: &FssaiLicence,
    ) -> Result<Option<Manufacturer>, PortError> {
        self.faults
            .around("get_manufacturer", self.inner.get_manufacturer(fssai))
            .await
    }
    async fn update_manufacturer(
        &self,
        m: &Manufacturer,
        expected: u64,
    ) -> Result<bool, PortError> {
        self.faults
            .around(
                "update_manufacturer",
                self.inner.update_manufacturer(m, expected),
            )
            .await
    }
    async fn list_manufacturers(
        &self,
        query: &ManufacturerQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Manufacturer>, PortError> {
        self.faults
            .around(
                "list_manufacturers",
                self.inner.list_manufacturers(query, cursor, limit),
            )
            .await
    }
}
