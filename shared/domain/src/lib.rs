//! Hookline's domain: the things a webhook hub is made of, and the rules they obey.
//!
//! Nothing here performs I/O or knows about AWS, HTTP frameworks or SQLite; the handlers
//! crate drives these types through the ports, and both backends store them unchanged.

pub mod apps;
pub mod catalog;
pub mod client;
pub mod delivery;
pub mod destination;
pub mod error;
pub mod event;
pub mod filter;
pub mod health;
pub mod ids;
pub mod import;
pub mod limits;
pub mod manufacturer;
pub mod pull;
pub mod retry;
pub mod secret;
pub mod signature;
pub mod state;
pub mod subscription;
pub mod sync;
pub mod template;
mod text;
pub mod time_fmt;

pub use catalog::{Catalog, EventType};
pub use client::{Client, Scope};
pub use delivery::{Attempt, Delivery, DeliveryStatus};
pub use error::{FieldError, ValidationError};
pub use event::{Envelope, Event};
pub use filter::Filter;
pub use health::{DisabledReason, FailureStep};
pub use ids::{
    ClientId, ConnectionId, DeliveryId, EventId, ImportId, SubscriptionId, SyncRequestId,
};
pub use import::{Import, ImportChunk, ImportFormat, RowAction, RowError, RowOutcome};
pub use limits::{LimitOverrides, Limits};
pub use manufacturer::{Manufacturer, ManufacturerInput};
pub use pull::{PullCursor, PullMessage};
pub use retry::RetrySchedule;
pub use state::{StateCode, StatePattern};
pub use subscription::{Subscription, TypeSelector};
pub use sync::{ExternalSource, SyncRequest, SyncStatus};
