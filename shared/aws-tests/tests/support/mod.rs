//! Shared test support.
#![allow(dead_code)]
pub mod moto;
#[path = "../../../handlers/tests/support/receiver.rs"]
pub mod receiver;
pub mod stack;
pub mod stack_on_moto;
pub mod sweep;
