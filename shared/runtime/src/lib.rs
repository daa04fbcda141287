#![doc = include_str!("../README.md")]

pub mod config;
pub mod env;
pub mod lambda;
pub mod logs;
pub mod worker;

pub use lambda::{
    AwsPorts, StartError, api_context_from_env, core, ensure_bootstrap_admin,
    ensure_bootstrap_admin_from, function_sdk_config, handler_config_from_env, invocation_deadline,
    key_secrets, metrics_from_env, ports, queue_sender, rotation_policy_from_env,
    settings_from_env, token_context_from_env, worker_context_from_env,
};
pub use logs::{init_logs, invocation, json_logs};
