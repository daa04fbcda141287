//! Shared test support.
#![allow(dead_code)]
pub mod moto;
pub mod stack;
pub mod stack_on_moto;
