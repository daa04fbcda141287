//! Hookline's AWS backend: the ports implemented over DynamoDB (store), SQS (queues) and
//! Secrets Manager (JWT signing keys) with the official SDK crates. Endpoints come from the
//! standard `AWS_ENDPOINT_URL` (or per-service) variables, so the same code talks to AWS,
//! LocalStack or moto; resource names come from `AwsSettings` and must match `template.yaml`.

pub mod dynamo;
pub mod keys;
pub mod provision;
pub mod runtime;
pub mod settings;
pub mod sqs;

pub use dynamo::DynamoStore;
pub use keys::SecretsKeyStore;
pub use settings::AwsSettings;
pub use sqs::SqsQueue;

/// Loads the shared SDK configuration (region, credentials, endpoint) from the environment.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}
