//! The `hookline` binary, built by cargo, run as a process against a real local runner
//! process on 127.0.0.1 (the end-to-end harness of `tests/`), with real receivers.

mod harness;

mod apps;
mod deliveries;
mod events;
mod listen;
mod manufacturers;
mod profiles;
mod subscriptions;
mod verify;
