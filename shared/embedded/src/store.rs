//! The store ports, one impl block per aggregate: each method serializes its input on the
//! calling task, then runs one write on the writer thread, one list read on the blocking
//! pool, or one point read (`lookup`) where `db::readers` says.

use std::sync::atomic::Ordering;

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

use crate::EmbeddedBackend;
use crate::claims::{BeforeWrite, ClaimBy};
use crate::codec::{to_json, unix_ns};
use crate::deliveries::{self, DeliveryRow};
use crate::events::{self, EventQuery, NewEvent};
use crate::manufacturers::{self, ManufacturerRow};
use crate::{clients, event_types, subscriptions};

#[async_trait]
impl ClientStore for EmbeddedBackend {
    async fn insert_client(&self, client: &Client) -> Result<(), PortError> {
        let (id, body) = (client.id.clone(), to_json("insert_client", client)?);
        self.db
            .write("insert_client", move |tx| clients::insert(tx, &id, &body))
            .await
    }

    async fn insert_bootstrap_admin(&self, client: &Client) -> Result<bool, PortError> {
        let (id, body) = (
            client.id.clone(),
            to_json("insert_bootstrap_admin", client)?,
        );
        self.db
            .write("insert_bootstrap_admin", move |tx| {
                clients::insert_bootstrap_admin(tx, &id, &body)
            })
            .await
    }

    async fn get_client(&self, id: &ClientId) -> Result<Option<Client>, PortError> {
        let id = id.to_string();
        self.db
            .lookup("get_client", move |c| clients::get(c, &id))
            .await
    }

    async fn put_client(&self, client: &Client) -> Result<(), PortError> {
        let (id, body) = (client.id.clone(), to_json("put_client", client)?);
        self.db
            .write("put_client", move |tx| clients::put(tx, &id, &body))
            .await
    }

    async fn delete_client(&self, id: &ClientId) -> Result<(), PortError> {
        let id = id.to_string();
        self.db
            .write("delete_client", move |tx| clients::delete(tx, &id))
            .await
    }

    async fn list_clients(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Client>, PortError> {
        let cursor = cursor.map(str::to_string);
        self.db
            .read("list_clients", move |c| {
                clients::list(c, cursor.as_deref(), limit)
            })
            .await
    }
}

#[async_trait]
impl EventTypeStore for EmbeddedBackend {
    async fn list_event_types(&self) -> Result<Vec<EventType>, PortError> {
        self.db.read("list_event_types", event_types::list).await
    }

    async fn put_event_type(&self, event_type: &EventType) -> Result<(), PortError> {
        let name = event_type.name.clone();
        let body = to_json("put_event_type", event_type)?;
        self.db
            .write("put_event_type", move |tx| {
                event_types::put(tx, &name, &body)
            })
            .await
    }
}

#[async_trait]
impl EventStore for EmbeddedBackend {
    async fn insert_event(
        &self,
        event: &Event,
        idempotency_key: Option<&str>,
    ) -> Result<EventInsert, PortError> {
        let row = NewEvent::new(event, to_json("insert_event", event)?);
        let key = idempotency_key.map(str::to_string);
        self.db
            .write("insert_event", move |tx| {
                events::insert(tx, &row, key.as_deref())
            })
            .await
    }

    async fn mark_event_enqueued(&self, event_id: &EventId) -> Result<(), PortError> {
        let id = event_id.to_string();
        // One UPDATE: no savepoint needed.
        self.db
            .write_each("mark_event_enqueued", move |tx| {
                events::mark_enqueued(tx, &id)
            })
            .await
    }

    async fn get_event(&self, id: &EventId) -> Result<Option<Event>, PortError> {
        let id = id.to_string();
        self.db
            .lookup("get_event", move |c| events::get(c, &id))
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
        let q = EventQuery {
            state: state.map(StatePattern::to_string),
            since_ns: unix_ns(since),
            until_ns: unix_ns(until),
            cursor: cursor.map(str::to_string),
            limit,
        };
        self.db
            .read("list_events", move |c| events::list(c, &q))
            .await
    }

    async fn list_recent_events(
        &self,
        listing: &EventListing,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Event>, PortError> {
        let listing = listing.clone();
        let cursor = cursor.map(str::to_string);
        self.db
            .read("list_recent_events", move |c| {
                events::list_recent(c, &listing, cursor.as_deref(), limit)
            })
            .await
    }
}

#[async_trait]
impl SubscriptionStore for EmbeddedBackend {
    async fn insert_subscription(&self, sub: &Subscription) -> Result<(), PortError> {
        let (id, client) = (sub.id.clone(), sub.client_id.clone());
        let body = to_json("insert_subscription", sub)?;
        self.db
            .write("insert_subscription", move |tx| {
                subscriptions::insert(tx, &id, &client, &body)
            })
            .await
            .map(|g| {
                self.committed_generation(g);
            })
    }

    async fn get_subscription(
        &self,
        id: &SubscriptionId,
    ) -> Result<Option<Subscription>, PortError> {
        let id = id.to_string();
        self.db
            .lookup("get_subscription", move |c| subscriptions::get(c, &id))
            .await
    }

    async fn update_subscription(&self, sub: &Subscription) -> Result<bool, PortError> {
        let expected = sub.version;
        let mut next = sub.clone();
        next.version = expected + 1;
        let (id, client) = (next.id.clone(), next.client_id.clone());
        let body = to_json("update_subscription", &next)?;
        let committed = self
            .db
            .write("update_subscription", move |tx| {
                subscriptions::update(tx, &id, &client, &body, expected)
            })
            .await?;
        Ok(committed.map(|g| self.committed_generation(g)).is_some())
    }

    async fn delete_subscription(&self, id: &SubscriptionId) -> Result<(), PortError> {
        let id = id.to_string();
        self.db
            .write("delete_subscription", move |tx| {
                subscriptions::delete(tx, &id)
            })
            .await
            .map(|g| {
                self.committed_generation(g);
            })
    }

    async fn list_subscriptions(
        &self,
        client_id: Option<&ClientId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Subscription>, PortError> {
        let client = client_id.map(ClientId::to_string);
        let cursor = cursor.map(str::to_string);
        self.db
            .read("list_subscriptions", move |c| {
                subscriptions::list(c, client.as_deref(), cursor.as_deref(), limit)
            })
            .await
    }

    async fn subscriptions_generation(&self) -> Result<u64, PortError> {
        // Every subscription write of the store goes through this process (it holds the data
        // directory's lock), and each leaves the generation it committed here: no read needed,
        // once one is known. (Fan-out and every delivery batch ask, thousands of times a
        // second; the read was 2% of the runner's CPU in fan-out.)
        let known = self.generation.load(Ordering::Acquire);
        if known > 0 {
            return Ok(known);
        }
        let stored = self
            .db
            .lookup("subscriptions_generation", subscriptions::generation)
            .await?;
        Ok(self.committed_generation(stored))
    }
}

#[async_trait]
impl DeliveryStore for EmbeddedBackend {
    async fn insert_delivery(&self, delivery: &Delivery) -> Result<bool, PortError> {
        let row = DeliveryRow::new(delivery, to_json("insert_delivery", delivery)?);
        self.db
            .write("insert_delivery", move |tx| deliveries::insert(tx, &row))
            .await
    }

    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<Vec<bool>, PortError> {
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        let rows = deliveries
            .iter()
            .map(|d| Ok(DeliveryRow::new(d, to_json("insert_deliveries", d)?)))
            .collect::<Result<Vec<_>, PortError>>()?;
        // Without a savepoint: as the port allows, an error may leave some stored, and the
        // caller's retry finds them.
        let created: Vec<bool> = self
            .db
            .write_each("insert_deliveries", move |tx| {
                rows.iter().map(|row| deliveries::insert(tx, row)).collect()
            })
            .await?;
        self.claims.inserted(deliveries, &created);
        Ok(created)
    }

    async fn get_delivery(&self, id: &DeliveryId) -> Result<Option<Delivery>, PortError> {
        let id = id.to_string();
        self.db
            .lookup("get_delivery", move |c| deliveries::get(c, &id))
            .await
    }

    async fn put_delivery(&self, delivery: &Delivery) -> Result<(), PortError> {
        let row = DeliveryRow::new(delivery, to_json("put_delivery", delivery)?);
        let (claims, id) = (self.claims.clone(), delivery.id.clone());
        self.db
            .write("put_delivery", move |tx| {
                // Replaces whatever was claimed, as it would replace a written claim.
                claims.forget(&id);
                deliveries::put(tx, &row)
            })
            .await
    }

    async fn update_delivery(&self, delivery: &Delivery) -> Result<bool, PortError> {
        self.write_over("update_delivery", delivery.clone()).await
    }

    async fn claim_delivery(
        &self,
        claim: Delivery,
        at: OffsetDateTime,
    ) -> Result<Claim, PortError> {
        match self.claims.claim(claim, at) {
            ClaimBy::Memory(answer) => Ok(answer),
            ClaimBy::Write(claim) => Ok(match self.write_over("claim_delivery", *claim).await? {
                true => Claim::Claimed,
                false => Claim::Changed,
            }),
        }
    }

    async fn list_deliveries(
        &self,
        key: &DeliveryKey,
        filter: &DeliveryFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Delivery>, PortError> {
        let key = key.clone();
        let filter = filter.clone();
        let cursor = cursor.map(str::to_string);
        self.db
            .read("list_deliveries", move |c| {
                deliveries::list(c, &key, &filter, cursor.as_deref(), limit)
            })
            .await
    }
}

impl EmbeddedBackend {
    /// `update_delivery` and the written `claim_delivery` (named `op`): `delivery` replaces
    /// the stored one if that is still at `delivery.version`, and is stored with the next
    /// version. A claim held in memory is first written, or taken as the stored version when
    /// this is its owner's outcome (see [`crate::claims`]).
    async fn write_over(&self, op: &'static str, mut next: Delivery) -> Result<bool, PortError> {
        let expected = next.version;
        next.version = expected + 1;
        let row = DeliveryRow::new(&next, to_json(op, &next)?);
        let claims = self.claims.clone();
        let id = next.id;
        let (written, by_owner) = self
            .db
            .write_each(op, move |tx| match claims.before_write(&row.id, expected) {
                // One conditional UPDATE (then a read): no savepoint needed.
                BeforeWrite::Nothing => Ok((deliveries::update(tx, &row, expected)?, false)),
                BeforeWrite::Owner { stored } => Ok((deliveries::update(tx, &row, stored)?, true)),
                BeforeWrite::WriteHeld(mut held) => {
                    let over = held.version;
                    held.version = over + 1;
                    let claimed = DeliveryRow::new(&held, to_json(op, &*held)?);
                    // False if the stored delivery moved since (nothing to keep then).
                    deliveries::update(tx, &claimed, over)?;
                    Ok((deliveries::update(tx, &row, expected)?, false))
                }
            })
            .await?;
        if written && by_owner {
            self.claims.outcome_written(&id);
        }
        Ok(written)
    }
}

#[async_trait]
impl ManufacturerStore for EmbeddedBackend {
    async fn insert_manufacturer(&self, m: &Manufacturer) -> Result<bool, PortError> {
        let row = ManufacturerRow::of("insert_manufacturer", m)?;
        self.db
            .write("insert_manufacturer", move |tx| {
                manufacturers::insert(tx, &row)
            })
            .await
    }

    async fn get_manufacturer(
        &self,
        fssai: &FssaiLicence,
    ) -> Result<Option<Manufacturer>, PortError> {
        let fssai = fssai.to_string();
        self.db
            .lookup("get_manufacturer", move |c| manufacturers::get(c, &fssai))
            .await
    }

    async fn update_manufacturer(
        &self,
        m: &Manufacturer,
        expected: u64,
    ) -> Result<bool, PortError> {
        let row = ManufacturerRow::of("update_manufacturer", m)?;
        self.db
            .write("update_manufacturer", move |tx| {
                manufacturers::update(tx, &row, expected)
            })
            .await
    }

    async fn list_manufacturers(
        &self,
        query: &ManufacturerQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Manufacturer>, PortError> {
        let (query, cursor) = (query.clone(), cursor.map(str::to_string));
        self.db
            .read("list_manufacturers", move |c| {
                manufacturers::list(c, &query, cursor.as_deref(), limit)
            })
            .await
    }
}
