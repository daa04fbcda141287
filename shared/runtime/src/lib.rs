//! Hookline's wiring: what turns the handlers and the adapters into running programs. The
//! Lambda functions (`functions/*`) take from here their configuration, their ports over AWS
//! with what their IAM policies allow, their handler context and their logs; the local runner
//! (`functions/local`) its configuration and the queue pollers that stand in for Lambda's SQS
//! event source mappings.

pub mod config;
pub mod function_queue;
pub mod lambda;
pub mod logs;
pub mod worker;

pub use config::{handler_config_from_env, rotation_policy_from_env};
pub use lambda::{
    AwsPorts, KeyAccess, QueueAccess, StartError, context, context_from_env, context_from_env_with,
    ensure_bootstrap_admin, ensure_bootstrap_admin_from, function_ports, ports,
};
pub use logs::{init_logs, invocation, json_logs};
