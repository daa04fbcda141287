//! The v1 HTTP API, one file per resource, plus the extractors and views they share.

pub mod clients;
pub mod deliveries;
pub mod delivery_settings;
pub mod delivery_stats;
pub mod event_deliveries;
pub mod event_list;
pub mod event_types;
pub mod events;
pub mod extract;
pub mod filters;
pub mod imports;
pub mod manufacturer_views;
pub mod manufacturers;
pub mod no_store;
pub mod pull;
pub mod pull_views;
pub mod replay;
pub mod responses;
pub mod schemas;
pub mod service;
pub mod subscription_secrets;
pub mod subscriptions;
pub mod sync_requests;
pub mod sync_sources;
pub mod sync_views;
pub mod views;
