//! The store: clients, event types, events, subscriptions and deliveries, one port per
//! aggregate ([`ClientStore`], [`EventTypeStore`], [`EventStore`], [`SubscriptionStore`],
//! [`DeliveryStore`], the bulk imports' [`ImportStore`], and in `sync` the [`SyncStore`]), and
//! [`Store`], every one of them at once, for code that needs several.
//! The pull subscriptions' message logs are the [`PullStore`] port, in `pull`. (The JWT keys have
//! ports of their own, in `keys`.)
//!
//! Every method is one of three DynamoDB-cheap operations, so that the same handler code runs
//! on SQLite and on DynamoDB without a scan anywhere:
//!
//! | method | access pattern (DynamoDB shape) |
//! |---|---|
//! | `insert_client` | conditional put `CLIENT#id` (attribute_not_exists) |
//! | `insert_bootstrap_admin` | transaction: conditional put `META#BOOTSTRAP_ADMIN` + conditional put `CLIENT#id` |
//! | `get_client` | key lookup `CLIENT#id` |
//! | `put_client` | put `CLIENT#id` (must exist) |
//! | `delete_client` | delete `CLIENT#id` |
//! | `list_clients` | query partition `CLIENTS`, sorted by id |
//! | `list_event_types` | query partition `EVENT_TYPES` |
//! | `put_event_type` | put `EVENT_TYPE#name` |
//! | `insert_event` | transaction: conditional put `IDEM#client#key` + conditional put `EVENT#id` |
//! | `mark_event_enqueued` | update `EVENT#id` |
//! | `get_event` | key lookup `EVENT#id` |
//! | `list_events` | query partition `EVENTS#state` (or the all-states index), sort key range `received_at` |
//! | `list_recent_events` | the same partitions read newest first (days newest first), type and states as filters |
//! | `insert_subscription` | transaction: conditional put `SUB#id` + increment `SUBS_GENERATION` |
//! | `get_subscription` | key lookup `SUB#id` |
//! | `update_subscription` | transaction: put `SUB#id` (version = expected) + increment `SUBS_GENERATION` |
//! | `delete_subscription` | transaction: delete `SUB#id` + increment `SUBS_GENERATION` |
//! | `list_subscriptions` | query partition `CLIENT#id#SUBS`, or partition `SUBS` for all |
//! | `subscriptions_generation` | key lookup `SUBS_GENERATION` |
//! | `insert_delivery` | conditional put `DELIVERY#id` (attribute_not_exists) |
//! | `insert_deliveries` | one conditional put per delivery (a backend may group them) |
//! | `get_delivery` | key lookup `DELIVERY#id` |
//! | `put_delivery` | put `DELIVERY#id` |
//! | `update_delivery` | conditional put `DELIVERY#id` (version = expected) |
//! | `claim_delivery` | conditional put `DELIVERY#id` (version = expected), or none (see [`Claim`]) |
//! | `list_deliveries` | query partition `SUB#id`, `EVENT#id`, `CLIENT#id` or `DELIVERIES`, newest first, sort key range `created_at`, status and event type as filters |
//! | `insert_manufacturer` | transaction: conditional put `MANUFACTURER#fssai` (attribute_not_exists) + one entry per state |
//! | `get_manufacturer` | key lookup `MANUFACTURER#fssai` |
//! | `update_manufacturer` | transaction: put `MANUFACTURER#fssai` (version = expected) + its state entries |
//! | `list_manufacturers` | query partition `STATE#code#MANUFACTURERS` or `MANUFACTURERS`, sort key range of the name prefix |
//!
//! Lists return pages: `limit` items at most and an opaque `next_cursor` (None at the end).

use async_trait::async_trait;
use hookline_domain::manufacturer::{FssaiLicence, ValidManufacturer, name_key};
use hookline_domain::{
    Client, ClientId, Delivery, DeliveryId, DeliveryStatus, Event, EventId, EventType,
    Manufacturer, StateCode, StatePattern, Subscription, SubscriptionId,
};
use time::OffsetDateTime;

use crate::apps::{AppStore, ConnectionStore, PollStore};
use crate::error::PortError;
use crate::imports::ImportStore;
use crate::pull::PullStore;
use crate::secrets::SecretStore;
use crate::sync::SyncStore;

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// Cursor for the next page; `None` when this is the last.
    pub next_cursor: Option<String>,
}

/// Outcome of `insert_event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventInsert {
    /// Stored as new.
    Created,
    /// The same publisher already sent this key: the original event id, and whether it was
    /// already handed to the events queue.
    Existing {
        /// Original event id.
        event_id: EventId,
        /// Whether `mark_event_enqueued` was called for it.
        enqueued: bool,
    },
}

/// What [`DeliveryStore::claim_delivery`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The attempt is the caller's until the claim's lease (`next_attempt_at`) ends: it
    /// sends, then writes its outcome over the claim's `version + 1`.
    Claimed,
    /// Not claimed: the stored delivery is no longer at the claim's version (another attempt
    /// claimed it, or the caller's copy is stale). Reading it again tells what became of it.
    Changed,
    /// Not claimed: another attempt holds the delivery, and the store knows it without a
    /// read (a claim it holds in memory, see [`DeliveryStore::claim_delivery`]). Reading the
    /// delivery again would not show that claim: wait a moment instead.
    Taken,
}

/// What `list_deliveries` lists by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryKey {
    /// Deliveries of one subscription.
    Subscription(SubscriptionId),
    /// Deliveries of one event.
    Event(EventId),
    /// Deliveries of every subscription of one client.
    Client(ClientId),
    /// Every delivery (admin).
    All,
}

/// What `list_deliveries` keeps of a key's deliveries: each field set narrows the list, and
/// the default keeps them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    /// Only deliveries now in this status.
    pub status: Option<DeliveryStatus>,
    /// Only deliveries of events of this type (records without a type never match).
    pub event_type: Option<String>,
    /// Only deliveries created at or after this time.
    pub since: Option<OffsetDateTime>,
    /// Only deliveries created before this time.
    pub until: Option<OffsetDateTime>,
}

impl DeliveryFilter {
    /// Deliveries of one status (or all, for `None`), whenever created.
    pub fn status(status: Option<DeliveryStatus>) -> Self {
        DeliveryFilter {
            status,
            ..DeliveryFilter::default()
        }
    }
}

/// What `list_recent_events` lists: events received in `[since, until)`, of some states and
/// one type (each `None`: any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventListing {
    /// Only events of one of these states (`None`: every state, system events included).
    pub states: Option<Vec<StateCode>>,
    /// Only events of this type.
    pub event_type: Option<String>,
    /// Inclusive lower bound of `received_at`.
    pub since: OffsetDateTime,
    /// Exclusive upper bound of `received_at`.
    pub until: OffsetDateTime,
}

/// The clients (API callers) and the stack's bootstrap admin.
#[async_trait]
pub trait ClientStore: Send + Sync + 'static {
    /// Stores a new client; `Conflict` if the id exists.
    async fn insert_client(&self, client: &Client) -> Result<(), PortError>;
    /// Stores the stack's bootstrap admin, once in the store's life: a marker recording that
    /// it was created is written with it, atomically, and while the marker exists nothing is
    /// written (so an admin deleted or disabled through the API stays so, whatever starts
    /// later). Returns whether it was created now. A client with this id that exists without
    /// the marker (a store from before the marker) is left as it is, and the marker written.
    async fn insert_bootstrap_admin(&self, client: &Client) -> Result<bool, PortError>;
    /// A client by id.
    async fn get_client(&self, id: &ClientId) -> Result<Option<Client>, PortError>;
    /// Replaces an existing client; `NotFound` if it does not exist.
    async fn put_client(&self, client: &Client) -> Result<(), PortError>;
    /// Deletes a client; `NotFound` if it does not exist.
    async fn delete_client(&self, id: &ClientId) -> Result<(), PortError>;
    /// Clients sorted by id.
    async fn list_clients(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Client>, PortError>;
}

/// The event catalog.
#[async_trait]
pub trait EventTypeStore: Send + Sync + 'static {
    /// Every event type, sorted by name.
    async fn list_event_types(&self) -> Result<Vec<EventType>, PortError>;
    /// Creates or replaces an event type.
    async fn put_event_type(&self, event_type: &EventType) -> Result<(), PortError>;
}

/// Accepted events, and the idempotency keys they were published with.
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Stores an accepted event. When `idempotency_key` is given, the pair
    /// (`event.source`, key) is claimed atomically with the event: if it was claimed before,
    /// nothing is written and the original is returned.
    async fn insert_event(
        &self,
        event: &Event,
        idempotency_key: Option<&str>,
    ) -> Result<EventInsert, PortError>;
    /// Records that the event was handed to the events queue.
    async fn mark_event_enqueued(&self, event_id: &EventId) -> Result<(), PortError>;
    /// An event by id.
    async fn get_event(&self, id: &EventId) -> Result<Option<Event>, PortError>;
    /// Events accepted in `[since, until)`, oldest first, of one state (or of all states).
    async fn list_events(
        &self,
        state: Option<&StatePattern>,
        since: OffsetDateTime,
        until: OffsetDateTime,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Event>, PortError>;
    /// Events of a listing, newest first (ties by id, descending). A page may hold fewer
    /// than `limit` events while a `next_cursor` follows (a backend filtering what it read
    /// stops after a bounded amount of reading).
    async fn list_recent_events(
        &self,
        listing: &EventListing,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Event>, PortError>;
}

/// Subscriptions, and the generation counter that says when any changed.
#[async_trait]
pub trait SubscriptionStore: Send + Sync + 'static {
    /// Stores a new subscription; `Conflict` if the id exists. Bumps the generation.
    async fn insert_subscription(&self, sub: &Subscription) -> Result<(), PortError>;
    /// A subscription by id.
    async fn get_subscription(
        &self,
        id: &SubscriptionId,
    ) -> Result<Option<Subscription>, PortError>;
    /// Replaces a subscription only if its stored `version` still equals `sub.version`, and
    /// stores it with `version + 1`, bumping the generation. Returns false (writing nothing)
    /// if it changed since it was read — callers read it again and re-apply their change, so
    /// no concurrent edit is overwritten; `NotFound` if it does not exist.
    async fn update_subscription(&self, sub: &Subscription) -> Result<bool, PortError>;
    /// Deletes a subscription; `NotFound` if gone. Bumps the generation.
    async fn delete_subscription(&self, id: &SubscriptionId) -> Result<(), PortError>;
    /// Subscriptions of one client (or all, for `None`), sorted by id.
    async fn list_subscriptions(
        &self,
        client_id: Option<&ClientId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Subscription>, PortError>;
    /// A counter that changes whenever any subscription is written; fan-out reloads its
    /// in-memory index only when it moved.
    async fn subscriptions_generation(&self) -> Result<u64, PortError>;
}

/// Deliveries: one per (event, subscription), with their attempts.
#[async_trait]
pub trait DeliveryStore: Send + Sync + 'static {
    /// Stores a new delivery; returns false (and writes nothing) if the id exists.
    async fn insert_delivery(&self, delivery: &Delivery) -> Result<bool, PortError>;
    /// Stores new deliveries, each as `insert_delivery` would; returns, in order, whether each
    /// was new. On an error, some may have been stored: callers retry, and the retry finds them.
    async fn insert_deliveries(&self, deliveries: &[Delivery]) -> Result<Vec<bool>, PortError> {
        let mut created = Vec::with_capacity(deliveries.len());
        for d in deliveries {
            created.push(self.insert_delivery(d).await?);
        }
        Ok(created)
    }
    /// A delivery by id.
    async fn get_delivery(&self, id: &DeliveryId) -> Result<Option<Delivery>, PortError>;
    /// Replaces a delivery (or creates it), whatever its stored version. Version 0 means "as
    /// created, never changed" (a delivery message may carry such a copy, and a worker's claim
    /// over version 0 trusts it): put a changed delivery with a version above 0.
    async fn put_delivery(&self, delivery: &Delivery) -> Result<(), PortError>;
    /// Replaces a delivery only if its stored `version` still equals `delivery.version`, and
    /// stores it with `version + 1`. Returns false (writing nothing) if it changed since it
    /// was read; `NotFound` if it does not exist.
    async fn update_delivery(&self, delivery: &Delivery) -> Result<bool, PortError>;
    /// Claims a delivery's next attempt for the caller: `claim` is the caller's copy at the
    /// version it read, with the attempt listed as under way (its outcome not recorded) and
    /// `next_attempt_at` set to the end of the claim's lease; `at` is the time of the claim.
    ///
    /// The guarantee, whatever the backend: at most one claim over one version is
    /// [`Claim::Claimed`]; the owner's outcome, written by `update_delivery` over
    /// `claim.version + 1`, ends the claim; until then any other write of the delivery over
    /// `claim.version` changes nothing (`false`). A claim whose outcome is never written
    /// (the request sent, the store failing, the process gone) stays on record as it was
    /// claimed, its attempt under way, so that the next attempt after the lease is made
    /// with the reason on record. `NotFound` if the delivery does not exist.
    ///
    /// What an adapter may skip: by default the claim is written as `update_delivery` writes
    /// it. A store that knows no other process can touch the delivery — it inserted it itself
    /// (`insert_deliveries`), nothing has written it since, and no other process writes
    /// over this store — may instead hold the claim in memory and write nothing. It must then
    /// keep the guarantee as if the claim were written: answer a second claim with
    /// [`Claim::Taken`] while the lease lasts; take the owner's write over `version + 1` as
    /// over the claim; and write the claim as it stands before any other write of the
    /// delivery, or before a claim made once the lease has ended, is let through. Reads show
    /// the delivery as last written. A held claim dies with the process: what its attempt did
    /// is then not on record (the saving's price).
    async fn claim_delivery(&self, claim: Delivery, at: OffsetDateTime)
    -> Result<Claim, PortError>;
    /// Deliveries by subscription, event, client or all, newest first, narrowed by `filter`.
    /// A filtered page may hold fewer than `limit` deliveries while a `next_cursor` follows.
    async fn list_deliveries(
        &self,
        key: &DeliveryKey,
        filter: &DeliveryFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Delivery>, PortError>;
}

/// What `list_manufacturers` lists: the manufacturers a state uses (or all), whose names start
/// with a prefix (or all), by name then licence number.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManufacturerQuery {
    /// Only those whose `states` hold this state.
    pub state: Option<StateCode>,
    /// Only those whose [`name_key`] starts with this (already keyed: see [`ManufacturerQuery::new`]).
    pub name_prefix: Option<String>,
}

impl ManufacturerQuery {
    /// A query for `state` and names starting with `name_prefix` as a person types it (case and
    /// repeated blanks ignored, as [`name_key`] does); an empty prefix lists every name.
    pub fn new(state: Option<StateCode>, name_prefix: Option<&str>) -> Self {
        ManufacturerQuery {
            state,
            name_prefix: name_prefix.map(name_key).filter(|p| !p.is_empty()),
        }
    }

    /// The inclusive range of [`manufacturer_sort_key`]s the prefix covers, if there is one.
    pub fn sort_key_range(&self) -> Option<(String, String)> {
        self.name_prefix
            .as_ref()
            .map(|p| (p.clone(), format!("{p}{}", char::MAX)))
    }
}

/// The key both backends list manufacturers by: the [`name_key`], a `\u{1}` (below every
/// character a name keeps), then the licence number — so byte order is (name, number) order.
pub fn manufacturer_sort_key(m: &ValidManufacturer) -> String {
    format!("{}\u{1}{}", m.name_key(), m.fssai_licence)
}

/// The national manufacturer registry, keyed by FSSAI licence number.
#[async_trait]
pub trait ManufacturerStore: Send + Sync + 'static {
    /// Stores a new manufacturer; false (writing nothing) if its licence number is registered
    /// already. Of two concurrent inserts of one number, exactly one is true.
    async fn insert_manufacturer(&self, m: &Manufacturer) -> Result<bool, PortError>;
    /// A manufacturer by licence number.
    async fn get_manufacturer(
        &self,
        fssai: &FssaiLicence,
    ) -> Result<Option<Manufacturer>, PortError>;
    /// Replaces a manufacturer with `m` (which carries its next version) only if the stored
    /// version is still `expected`; false (writing nothing) if it moved; `NotFound` if there
    /// is none.
    async fn update_manufacturer(&self, m: &Manufacturer, expected: u64)
    -> Result<bool, PortError>;
    /// Manufacturers by [`manufacturer_sort_key`], of a state and/or a name prefix.
    async fn list_manufacturers(
        &self,
        query: &ManufacturerQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Manufacturer>, PortError>;
}

/// Every store port at once: what a handler context holds. Implemented for every type that
/// implements them all; code that needs one aggregate only can take that port alone.
pub trait Store:
    ClientStore
    + EventTypeStore
    + EventStore
    + SubscriptionStore
    + DeliveryStore
    + ManufacturerStore
    + ImportStore
    + SyncStore
    + PullStore
    + AppStore
    + ConnectionStore
    + PollStore
    + SecretStore
{
}

impl<T> Store for T where
    T: ClientStore
        + EventTypeStore
        + EventStore
        + SubscriptionStore
        + DeliveryStore
        + ManufacturerStore
        + ImportStore
        + SyncStore
        + PullStore
        + AppStore
        + ConnectionStore
        + PollStore
        + SecretStore
        + ?Sized
{
}
