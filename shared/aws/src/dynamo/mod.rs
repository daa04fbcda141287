//! `DynamoStore`: the `Store` port over one DynamoDB table (single-table design). Every method
//! is a key lookup, a `Query` on index partitions (optionally by sort-key range) and a
//! `BatchGetItem` of the items it lists, or a conditional write / `TransactWriteItems` — there
//! is no `Scan` anywhere in this module.
//!
//! Every item has string keys `pk`/`sk`; lists use four GSIs with overloaded string keys
//! `gsiNpk`/`gsiNsk`, each projecting keys only (`KEYS_ONLY`: the table's and its own). Domain
//! values are stored whole as JSON text in `body` (an exact round trip); other attributes
//! exist only to be keyed, filtered, conditioned on or expired. Times in sort keys are
//! fixed-width Unix nanoseconds (see `item::sort_time`) followed by `#id`, so lexical order is
//! (time, id) order.
//!
//! | item | pk | sk | gsi1 pk / sk | gsi2 pk / sk | gsi3, gsi4 | other attributes |
//! |---|---|---|---|---|---|---|
//! | client | `CLIENT#id` | `CLIENT` | `CLIENTS` / id | | | body |
//! | event type | `EVENT_TYPE#name` | `EVENT_TYPE` | `EVENT_TYPES` / name | | | body |
//! | event | `EVENT#id` | `EVENT` | `STATE#code#EVENTS` / `received#id` | `EVENTS#YYYY-MM-DD#n` / `received#id` | | body, enqueued, expires_at |
//! | idempotency claim | `IDEM#source#key` | `IDEM` | | | | event_id, expires_at |
//! | subscription | `SUB#id` | `SUB` | `CLIENT#id#SUBS` / id | `SUBS` / id | | body, version |
//! | generation counter | `META#SUBS_GENERATION` | `META` | | | | gen (number) |
//! | import | `IMPORT#id` | `IMPORT` | | | | body |
//! | import chunk | `IMPORT#id` | `CHUNK#nnnnnn` | | | | body |
//! | external source | `XS#owner#resource` | `SRC#reference` | `XS#owner#resource#SOURCES` / reference | | | body |
//! | allocation | `XS#owner#resource` | `ALLOC#reference#member` | `XS#owner#resource#ALLOC#reference` / member | | | body (the member id) |
//! | sync request | `SYNCREQ#id` | `SYNCREQ` | `XS#owner#resource#REQUESTS` / id | | | body, status (the condition of its one transition) |
//! | delivery | `DELIVERY#id` | `DELIVERY` | `SUB#id#DELIVERIES` / `created#id` | `CLIENT#id#DELIVERIES` / `created#id` | gsi3 `EVENT#id#DELIVERIES`, gsi4 `DELIVERIES#n`, both / `created#id` | body, status, version, expires_at |
//! | manufacturer | `MANUFACTURER#fssai` | `MANUFACTURER` | | `MANUFACTURERS` / `name\u{1}fssai` | | body, version |
//! | pull log counter | `PULL#sub` | `LOG` | | | | last, acked (numbers) |
//! | pull message | `PULL#sub` | `MSG#position` (20 digits) | | | | body, expires_at |
//! | pull append key | `PULL#sub` | `DLV#delivery#cycle` | | | | position, expires_at |
//! | app version | `APP#key#version` | `APP` | `APP#key#VERSIONS` / `sortkey\u{1}version` | `APPS` / `key\u{1}sortkey\u{1}version` | | body, version (the revision) |
//! | connection | `CONN#id` | `CONN` | `CLIENT#id#CONNS` / id | `CONNS` / id | | body, version, hook_token |
//! | hook token | `HOOK#token` | `HOOK` | | | | connection |
//! | poll | `POLL#connection` | `TRIGGER#trigger` | `POLLS` / `next_run#connection#trigger` | | | body, version |
//! | manufacturer's state entry | `MANUFACTURER#fssai` | `STATE#code` | `STATE#code#MANUFACTURERS` / `name\u{1}fssai` | | | body (a copy) |
//!
//! `n` is the item's shard: `shard::shard_of(id)`, a fixed hash of its id modulo
//! `shard::SHARDS` (16).
//!
//! Lists: clients, event types and subscriptions ascend by id/name, manufacturers by name then
//! number; events ascend by
//! `received#id` within `BETWEEN since AND until` (bare times bracket `time#id` keys, so the
//! range is `[since, until)`); deliveries descend (`ScanIndexForward = false`), newest first
//! with ties by id descending, the status filtered on the items read (`query`).
//!
//! Projections: an index projecting every attribute is written in full (a unit per KB) each
//! time its item is, and a delivery is written three times (created, claimed, its attempt
//! recorded) into up to four indexes. Keys only, a write that changes no key attribute (the
//! claim, the attempt, marking an event queued, replacing a client or subscription) writes no
//! index at all, and a new item writes one small entry (a unit) per index whose key it
//! carries. A list therefore queries an index for keys and reads the items by key
//! (`bodies`: `BatchGetItem`, 100 keys a request, eventually consistent like the index itself,
//! in the index's order, a key whose item was deleted meanwhile dropped): a page of 100 is one
//! `Query` per partition and one `BatchGetItem`. Reads cost more than they did (an item read by
//! key is half a unit per 4 KB, where a `Query` of full entries shared its 4 KB units), but
//! lists are rare next to writes, and fan-out and delivery load the subscriptions once per
//! generation.
//!
//! Write throughput: one partition key of a GSI takes about 1,000 write units a second (a
//! keys-only entry is one unit), and past that DynamoDB throttles writes to the table itself;
//! a partition whose sort key is a time is always written at its newest end, so DynamoDB
//! cannot split it to spread the load. The two lists that every new item of a kind lands on
//! are therefore sharded (`shard`): all deliveries (every new delivery writes its gsi4 entry)
//! in `DELIVERIES#0` … `#15`, and each day of events of all states in
//! `EVENTS#YYYY-MM-DD#0` … `#15`, an item in the shard of its id. Reads merge the shards by
//! sort key (`query`): one `Query` per shard per page, the cursor being the merge point; a day
//! walk (oldest first, the cursor naming the day) merges each day's shards. Reads also take
//! in the unsharded `DELIVERIES` and `EVENTS#YYYY-MM-DD`, where items written before the
//! sharding stay until rewritten or expired. The other lists stay one partition each: each
//! holds one subscription's, client's, event's or state's items, so only that one's own rate
//! is bounded by it.
//!
//! TTL: events, claims and deliveries carry `expires_at` (epoch seconds), `retention` (30 days
//! by default) after their receipt/creation time; pull messages and their append keys, their
//! own `kept_until` (the pull retention after they were stored; see `pull`). Key lookups are strongly consistent;
//! queries on GSIs are eventually consistent, as GSIs always are on AWS, and so are the reads
//! of the items they list (`bodies`).

mod apps;
mod apps_polls;
mod bodies;
mod clients;
mod cursor;
mod deliveries;
mod error;
mod events;
mod imports;
mod item;
mod list;
mod manufacturers;
mod merge;
mod ops;
mod partition;
mod pull;
mod query;
pub mod schema;
mod shard;
mod store;
mod subscriptions;
mod sync;

use std::time::Duration;

use crate::secrets::ManagedSecrets;

/// How long events, idempotency claims and deliveries are kept unless told otherwise.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// The store port over one DynamoDB table, and its secret store over Secrets Manager.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    retention: Duration,
    secrets: Option<ManagedSecrets>,
}

impl DynamoStore {
    /// A store on `table`, keeping items for `DEFAULT_RETENTION`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
            retention: DEFAULT_RETENTION,
            secrets: None,
        }
    }

    /// The same store, keeping its secrets (`SecretStore`) in `secrets`; without them, every
    /// secret call fails.
    pub fn with_secrets(mut self, secrets: ManagedSecrets) -> DynamoStore {
        self.secrets = Some(secrets);
        self
    }

    /// The secret store, if the store was given one.
    pub(crate) fn secrets(&self) -> Result<&ManagedSecrets, hookline_ports::PortError> {
        self.secrets.as_ref().ok_or_else(|| {
            hookline_ports::PortError::backend("this store was built without a secret store")
        })
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
