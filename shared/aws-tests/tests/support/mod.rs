//! Shared test support.
#![allow(dead_code)]
#[path = "../../../handlers/tests/support/api.rs"]
pub mod api;
pub mod moto;
#[path = "../../../handlers/tests/support/receiver.rs"]
pub mod receiver;
pub mod stack;
pub mod stack_on_moto;
pub mod sweep;
