//! End-to-end tests of the local runner: the real binary as a child process on 127.0.0.1,
//! driven over HTTP, delivering to real receivers. One test binary (one link) for all areas.

mod support;

mod access;
mod apps_auth;
mod apps_examples;
mod apps_hooks;
mod apps_polling;
mod apps_search;
mod apps_secrets;
mod apps_third_party;
mod apps_versions;
mod auth;
mod bad_ids;
mod clients;
mod console_admin;
mod dead_endpoints;
mod dead_letters;
mod delivery;
mod delivery_failures;
mod delivery_log;
mod delivery_records;
mod delivery_settings;
mod destinations;
mod durability;
mod event_log;
mod event_types;
mod event_validation;
mod events;
mod http_server;
mod imports;
mod limits;
mod logs;
mod manufacturer_events;
mod manufacturers;
mod memory;
mod payload_formats;
mod pull;
mod replay;
mod routing;
mod service;
mod shutdown;
mod subscription_validation;
mod subscriptions;
mod sync;
mod tokens;
