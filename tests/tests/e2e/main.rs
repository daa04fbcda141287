//! End-to-end tests of the local runner: the real binary as a child process on 127.0.0.1,
//! driven over HTTP, delivering to real receivers. One test binary (one link) for all areas.

mod support;

mod access;
mod auth;
mod bad_ids;
mod clients;
mod dead_endpoints;
mod dead_letters;
mod delivery;
mod destinations;
mod durability;
mod event_types;
mod events;
mod http_server;
mod limits;
mod logs;
mod memory;
mod replay;
mod routing;
mod service;
mod shutdown;
mod subscriptions;
