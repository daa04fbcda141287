//! The table's definition as data: attribute names, key schema, GSIs and the TTL attribute.
//! The store, the provisioning code and the template check all read it from here, so the
//! table that `create_table` makes, the one `template.yaml` declares and the one the store
//! queries cannot drift apart.

/// Partition key of every item (string).
pub const PK: &str = "pk";
/// Sort key of every item (string).
pub const SK: &str = "sk";
/// The TTL attribute (epoch seconds): events, idempotency claims and deliveries expire.
pub const EXPIRES_AT: &str = "expires_at";
/// The domain value as JSON text.
pub const BODY: &str = "body";
/// Events: whether the event was handed to the events queue (boolean).
pub const ENQUEUED: &str = "enqueued";
/// Idempotency claims: the original event id.
pub const EVENT_ID: &str = "event_id";
/// Deliveries: the status, for the status filter of `list_deliveries` (read with the items).
pub const STATUS: &str = "status";
/// Deliveries and subscriptions: the optimistic-concurrency version (number), for
/// `update_delivery` and `update_subscription`.
pub const VERSION: &str = "version";
/// The subscriptions generation counter (number) on `META#SUBS_GENERATION`.
pub const GENERATION: &str = "gen";

/// One global secondary index: overloaded string keys, keys only projected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GsiDefinition {
    /// Index name.
    pub name: &'static str,
    /// Partition key attribute (string).
    pub partition_key: &'static str,
    /// Sort key attribute (string).
    pub sort_key: &'static str,
}

/// The whole table definition (key attributes are all strings; billing is on demand).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableDefinition {
    /// Partition key attribute.
    pub partition_key: &'static str,
    /// Sort key attribute.
    pub sort_key: &'static str,
    /// The global secondary indexes.
    pub gsis: &'static [GsiDefinition],
    /// Every index's `ProjectionType` as CloudFormation spells it: `KEYS_ONLY` (the table's
    /// and the index's keys), so that a write that changes no key writes no index; lists read
    /// the items by key (`dynamo::bodies`).
    pub projection: &'static str,
    /// The TTL attribute.
    pub ttl_attribute: &'static str,
    /// `BillingMode` as CloudFormation spells it.
    pub billing_mode: &'static str,
}

/// GSI 1: clients, event types, events by state, subscriptions by client, deliveries by
/// subscription, manufacturers by state.
pub const GSI1: GsiDefinition = GsiDefinition {
    name: "gsi1",
    partition_key: "gsi1pk",
    sort_key: "gsi1sk",
};
/// GSI 2: events by day, every subscription, deliveries by client, every manufacturer.
pub const GSI2: GsiDefinition = GsiDefinition {
    name: "gsi2",
    partition_key: "gsi2pk",
    sort_key: "gsi2sk",
};
/// GSI 3: deliveries by event.
pub const GSI3: GsiDefinition = GsiDefinition {
    name: "gsi3",
    partition_key: "gsi3pk",
    sort_key: "gsi3sk",
};
/// GSI 4: every delivery.
pub const GSI4: GsiDefinition = GsiDefinition {
    name: "gsi4",
    partition_key: "gsi4pk",
    sort_key: "gsi4sk",
};

/// The table every stack creates (and `template.yaml` declares).
pub const TABLE: TableDefinition = TableDefinition {
    partition_key: PK,
    sort_key: SK,
    gsis: &[GSI1, GSI2, GSI3, GSI4],
    projection: "KEYS_ONLY",
    ttl_attribute: EXPIRES_AT,
    billing_mode: "PAY_PER_REQUEST",
};

impl TableDefinition {
    /// Every key attribute (table and indexes), each once, in declaration order.
    pub fn key_attributes(&self) -> Vec<&'static str> {
        let mut names = vec![self.partition_key, self.sort_key];
        for g in self.gsis {
            names.push(g.partition_key);
            names.push(g.sort_key);
        }
        names
    }
}
