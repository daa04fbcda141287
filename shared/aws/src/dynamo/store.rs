//! The store ports, one impl block per aggregate, each method mapped onto one access pattern
//! of the table.

use async_trait::async_trait;
use hookline_domain::manufacturer::FssaiLicence;
use hookline_domain::{
    Client, ClientId, Delivery, DeliveryId, Event, EventId, EventType, Manufacturer, StatePattern,
    Subscription, SubscriptionId,
};
use hookline_ports::{
    Claim, ClientStore, DeliveryFilter, DeliveryKey, DeliveryStore, EventInsert, EventListing,
    EventStore, EventTypeStore, ManufacturerQuery, ManufacturerStore, Page, PortError,
    SubscriptionStore,
};
use time::OffsetDateTime;

use super::DynamoStore;
use super::clients::{
    CLIENT_SK, client_item, client_pk, clients_list, event_type_item, event_types_list,
};
use super::deliveries::{DELIVERY_SK, deliveries_list, delivery_pk};
use super::events::{EVENT_SK, event_pk, events_list, recent_events_list};
use super::item::{Item, from_body};
use super::manufacturers::manufacturers_list;
use super::ops::Must;
use super::subscriptions::{SUB_SK, sub_pk, subscriptions_list};

/// A looked-up item's domain value.
fn decode<T: serde::de::DeserializeOwned>(
    op: &str,
    item: Option<Item>,
) -> Result<Option<T>, PortError> {
    item.map(|i| from_body(op, &i)).transpose()
}

#[async_trait]
impl ClientStore for DynamoStore {
    async fn insert_client(&self, client: &Client) -> Result<(), PortError> {
        let item = client_item("insert_client", client)?;
        match self.put_item("insert_client", item, Must::BeAbsent).await? {
            true => Ok(()),
            false => Err(PortError::Conflict("client id already exists".to_string())),
        }
    }

    async fn insert_bootstrap_admin(&self, client: &Client) -> Result<bool, PortError> {
        self.insert_bootstrap_admin_items(client).await
    }

    async fn get_client(&self, id: &ClientId) -> Result<Option<Client>, PortError> {
        let item = self
            .get_item("get_client", client_pk(id), CLIENT_SK)
            .await?;
        decode("get_client", item)
    }

    async fn put_client(&self, client: &Client) -> Result<(), PortError> {
        let item = client_item("put_client", client)?;
        match self.put_item("put_client", item, Must::Exist).await? {
            true => Ok(()),
            false => Err(PortError::NotFound),
        }
    }

    async fn delete_client(&self, id: &ClientId) -> Result<(), PortError> {
        match self
            .delete_item("delete_client", client_pk(id), CLIENT_SK)
            .await?
        {
            true => Ok(()),
            false => Err(PortError::NotFound),
        }
    }

    async fn list_clients(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Client>, PortError> {
        self.list_page(&clients_list(), cursor, limit).await
    }
}

#[async_trait]
impl EventTypeStore for DynamoStore {
    async fn list_event_types(&self) -> Result<Vec<EventType>, PortError> {
        self.list_all(&event_types_list()).await
    }

    async fn put_event_type(&self, event_type: &EventType) -> Result<(), PortError> {
        let item = event_type_item("put_event_type", event_type)?;
        self.put_item("put_event_type", item, Must::Anything)
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl EventStore for DynamoStore {
    async fn insert_event(
        &self,
        event: &Event,
        idempotency_key: Option<&str>,
    ) -> Result<EventInsert, PortError> {
        self.insert_event_items(event, idempotency_key).await
    }

    async fn mark_event_enqueued(&self, event_id: &EventId) -> Result<(), PortError> {
        self.set_enqueued(event_id).await
    }

    async fn get_event(&self, id: &EventId) -> Result<Option<Event>, PortError> {
        let item = self.get_item("get_event", event_pk(id), EVENT_SK).await?;
        decode("get_event", item)
    }

    async fn list_events(
        &self,
        state: Option<&StatePattern>,
        since: OffsetDateTime,
        until: OffsetDateTime,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Event>, PortError> {
        match events_list(state.map(|s| s.as_str()), since, until) {
            Some(q) => self.list_page(&q, cursor, limit).await,
            None => Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            }),
        }
    }

    async fn list_recent_events(
        &self,
        listing: &EventListing,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Event>, PortError> {
        match recent_events_list(listing) {
            Some(q) => self.list_page(&q, cursor, limit).await,
            None => Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            }),
        }
    }
}

#[async_trait]
impl SubscriptionStore for DynamoStore {
    async fn insert_subscription(&self, sub: &Subscription) -> Result<(), PortError> {
        self.write_subscription("insert_subscription", sub, Must::BeAbsent)
            .await
    }

    async fn get_subscription(
        &self,
        id: &SubscriptionId,
    ) -> Result<Option<Subscription>, PortError> {
        let item = self
            .get_item("get_subscription", sub_pk(id), SUB_SK)
            .await?;
        decode("get_subscription", item)
    }

    async fn update_subscription(&self, sub: &Subscription) -> Result<bool, PortError> {
        self.update_subscription_over(sub).await
    }

    async fn delete_subscription(&self, id: &SubscriptionId) -> Result<(), PortError> {
        self.remove_subscription(id).await
    }

    async fn list_subscriptions(
        &self,
        client_id: Option<&ClientId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Subscription>, PortError> {
        self.list_page(
            &subscriptions_list(client_id.map(ClientId::as_str)),
            cursor,
            limit,
        )
        .await
    }

    async fn subscriptions_generation(&self) -> Result<u64, PortError> {
        self.generation().await
    }
}

#[async_trait]
impl DeliveryStore for DynamoStore {
    async fn insert_delivery(&self, delivery: &Delivery) -> Result<bool, PortError> {
        let item = self.delivery_item("insert_delivery", delivery)?;
        self.put_item("insert_delivery", item, Must::BeAbsent).await
    }

    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<Vec<bool>, PortError> {
        self.insert_delivery_batch(deliveries).await
    }

    async fn get_delivery(&self, id: &DeliveryId) -> Result<Option<Delivery>, PortError> {
        let item = self
            .get_item("get_delivery", delivery_pk(id), DELIVERY_SK)
            .await?;
        decode("get_delivery", item)
    }

    async fn put_delivery(&self, delivery: &Delivery) -> Result<(), PortError> {
        let item = self.delivery_item("put_delivery", delivery)?;
        self.put_item("put_delivery", item, Must::Anything)
            .await
            .map(|_| ())
    }

    async fn update_delivery(&self, delivery: &Delivery) -> Result<bool, PortError> {
        self.put_delivery_over("update_delivery", delivery).await
    }

    /// Always written: Lambda instances share the table, so no claim can be held in memory.
    async fn claim_delivery(
        &self,
        claim: Delivery,
        _at: OffsetDateTime,
    ) -> Result<Claim, PortError> {
        Ok(
            match self.put_delivery_over("claim_delivery", &claim).await? {
                true => Claim::Claimed,
                false => Claim::Changed,
            },
        )
    }

    async fn list_deliveries(
        &self,
        key: &DeliveryKey,
        filter: &DeliveryFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Delivery>, PortError> {
        self.list_page(&deliveries_list(key, filter)?, cursor, limit)
            .await
    }
}

#[async_trait]
impl ManufacturerStore for DynamoStore {
    async fn insert_manufacturer(&self, m: &Manufacturer) -> Result<bool, PortError> {
        self.insert_manufacturer_items(m).await
    }

    async fn get_manufacturer(
        &self,
        fssai: &FssaiLicence,
    ) -> Result<Option<Manufacturer>, PortError> {
        self.read_manufacturer("get_manufacturer", fssai).await
    }

    async fn update_manufacturer(
        &self,
        m: &Manufacturer,
        expected: u64,
    ) -> Result<bool, PortError> {
        self.update_manufacturer_items(m, expected).await
    }

    async fn list_manufacturers(
        &self,
        query: &ManufacturerQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Manufacturer>, PortError> {
        self.list_page(&manufacturers_list(query), cursor, limit)
            .await
    }
}
