#![doc = include_str!("../README.md")]

pub mod config;
pub mod env;
pub mod function_queue;
pub mod lambda;
pub mod logs;
pub mod worker;

pub use lambda::{
    AwsPorts, KeyAccess, QueueAccess, StartError, context, context_from_env, context_from_env_with,
    ensure_bootstrap_admin, ensure_bootstrap_admin_from, function_ports, function_sdk_config,
    handler_config_from_env, key_secrets, metrics_from_env, ports, rotation_policy_from_env,
    settings_from_env,
};
pub use logs::{init_logs, invocation, json_logs};
