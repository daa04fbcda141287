//! Hookline's ports: the traits through which every handler reaches storage, queues, keys
//! and the clock. The embedded backend (SQLite) and the AWS backend (DynamoDB, SQS, Secrets
//! Manager) implement them; `conformance` is the one test suite both must pass.

pub mod apps;
pub mod clock;
pub mod conformance;
pub mod error;
pub mod faults;
pub mod imports;
pub mod key_set;
pub mod keys;
pub mod metrics;
pub mod pull;
pub mod queue;
pub mod secrets;
pub mod store;
pub mod sync;

pub use apps::{AppStore, ConnectionStore, PollStore, version_sort_key};
pub use clock::{Clock, ShiftedClock, SystemClock};
pub use error::{BackendCause, PortError};
pub use imports::ImportStore;
pub use keys::{KeyRotation, PublicKey, PublicKeys, SigningKey, SigningKeys};
pub use metrics::{AttemptOutcome, Metrics, NoMetrics};
pub use pull::{Ack, Appended, PULL_POLL_INTERVAL, PullLog, PullStore};
pub use queue::{Queue, QueueConsumer, QueueMessage, QueueName, QueueSender, ReceivedMessage};
pub use secrets::{MAX_SECRET_BYTES, SecretStore};
pub use store::{
    Claim, ClientStore, DeliveryFilter, DeliveryKey, DeliveryStore, EventInsert, EventListing,
    EventStore, EventTypeStore, ManufacturerQuery, ManufacturerStore, Page, Store,
    SubscriptionStore, manufacturer_sort_key,
};
pub use sync::{ResourceKey, SyncEnd, SyncStore};
