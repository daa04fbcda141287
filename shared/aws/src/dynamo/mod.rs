//! `DynamoStore`: the `Store` port over one DynamoDB table (single-table design). Every method
//! is a key lookup, a `Query` on one index partition (optionally by sort-key range), or a
//! conditional write / `TransactWriteItems` — there is no `Scan` anywhere in this module.
//!
//! Every item has string keys `pk`/`sk`; lists use four GSIs with overloaded string keys
//! `gsiNpk`/`gsiNsk`, all projecting every attribute. Domain values are stored whole as JSON
//! text in `body` (an exact round trip); other attributes exist only to be keyed, filtered,
//! conditioned on or expired. Times in sort keys are fixed-width Unix nanoseconds (see
//! `item::sort_time`) followed by `#id`, so lexical order is (time, id) order.
//!
//! | item | pk | sk | gsi1 pk / sk | gsi2 pk / sk | gsi3, gsi4 | other attributes |
//! |---|---|---|---|---|---|---|
//! | client | `CLIENT#id` | `CLIENT` | `CLIENTS` / id | | | body |
//! | event type | `EVENT_TYPE#name` | `EVENT_TYPE` | `EVENT_TYPES` / name | | | body |
//! | event | `EVENT#id` | `EVENT` | `STATE#code#EVENTS` / `received#id` | `EVENTS#YYYY-MM-DD` / `received#id` | | body, enqueued, expires_at |
//! | idempotency claim | `IDEM#source#key` | `IDEM` | | | | event_id, expires_at |
//! | subscription | `SUB#id` | `SUB` | `CLIENT#id#SUBS` / id | `SUBS` / id | | body |
//! | generation counter | `META#SUBS_GENERATION` | `META` | | | | gen (number) |
//! | delivery | `DELIVERY#id` | `DELIVERY` | `SUB#id#DELIVERIES` / `created#id` | `CLIENT#id#DELIVERIES` / `created#id` | gsi3 `EVENT#id#DELIVERIES`, gsi4 `DELIVERIES`, both / `created#id` | body, status, version, expires_at |
//!
//! Lists: clients, event types and subscriptions ascend by id/name; events ascend by
//! `received#id` within `BETWEEN since AND until` (bare times bracket `time#id` keys, so the
//! range is `[since, until)`); deliveries descend (`ScanIndexForward = false`), newest first
//! with ties by id descending, the status being a `FilterExpression`.
//!
//! Write throughput: the all-states event list is bucketed by day (`EVENTS#YYYY-MM-DD`,
//! walked oldest first across the window; the cursor names the day), because every accepted
//! event writes it. The all-deliveries list (`DELIVERIES`) is one partition: it is an admin
//! view, and one GSI partition takes about 1,000 writes/s — each delivery write (insert and
//! every attempt) counts — which a per-state stack stays far below. If it ever nears that,
//! bucket it by day like events (a hot GSI partition throttles writes to the table).
//!
//! TTL: events, claims and deliveries carry `expires_at` (epoch seconds), `retention` (30 days
//! by default) after their receipt/creation time. Key lookups are strongly consistent;
//! queries on GSIs are eventually consistent, as GSIs always are on AWS.

mod clients;
mod cursor;
mod deliveries;
mod error;
mod events;
mod item;
mod ops;
mod query;
pub mod schema;
mod store;
mod subscriptions;

use std::time::Duration;

/// How long events, idempotency claims and deliveries are kept unless told otherwise.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// The store port over one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    retention: Duration,
}

impl DynamoStore {
    /// A store on `table`, keeping items for `DEFAULT_RETENTION`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
            retention: DEFAULT_RETENTION,
        }
    }

    /// The same store, with events, claims and deliveries expiring `retention` after creation.
    pub fn with_retention(mut self, retention: Duration) -> DynamoStore {
        self.retention = retention;
        self
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }
}
