//! The secret store over Secrets Manager: one secret per name, `{prefix}{name}` (the prefix,
//! `HOOKLINE_SECRETS_PREFIX`, is `hookline/{stack}/` in the template, which the functions' IAM
//! policies scope their permissions to), its value a `SecretBinary`. A put writes a new
//! version of an existing secret or creates it (tagged `hookline:store=secrets`); a get of a missing secret (or of one being
//! deleted) is `None`; a delete is at once, without a recovery window.
//!
//! Errors carry the operation, the secret's name and Secrets Manager's error code and message,
//! which never quote a value.

use std::time::Duration;

use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::Tag;
use hookline_ports::{MAX_SECRET_BYTES, PortError};

use crate::sqs::sdk_error;

/// Tries of a create that Secrets Manager refuses while a deleted secret of the same name is
/// still going (a force delete takes a moment).
const CREATE_TRIES: u32 = 6;

/// The tag every secret of the store is created with (`TagResource`), which tells them from the
/// stack's key secrets in the console and in cost reports.
const TAG_KEY: &str = "hookline:store";
const TAG_VALUE: &str = "secrets";

/// The stack's secrets in Secrets Manager, under one name prefix.
#[derive(Clone)]
pub struct ManagedSecrets {
    client: aws_sdk_secretsmanager::Client,
    prefix: String,
}

impl std::fmt::Debug for ManagedSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManagedSecrets")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Whether Secrets Manager refused a call because the secret is being deleted.
fn being_deleted<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("InvalidRequestException") && e.message().is_some_and(|m| m.contains("delet"))
}

impl ManagedSecrets {
    /// Secrets named `{prefix}{name}`.
    pub fn new(client: aws_sdk_secretsmanager::Client, prefix: impl Into<String>) -> Self {
        ManagedSecrets {
            client,
            prefix: prefix.into(),
        }
    }

    /// The name prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn id(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Creates or replaces the secret `name`.
    pub async fn put(&self, name: &str, value: &[u8]) -> Result<(), PortError> {
        if value.len() > MAX_SECRET_BYTES {
            return Err(PortError::backend(format!(
                "the secret {name} is larger than {MAX_SECRET_BYTES} bytes"
            )));
        }
        let id = self.id(name);
        let what = format!("put the secret {name}");
        let mut tries = 0;
        loop {
            tries += 1;
            let put = self
                .client
                .put_secret_value()
                .secret_id(&id)
                .secret_binary(Blob::new(value))
                .send()
                .await;
            match put {
                Ok(_) => return Ok(()),
                Err(e) if e.code() == Some("ResourceNotFoundException") => {}
                Err(e) if being_deleted(&e) && tries < CREATE_TRIES => {}
                Err(e) => return Err(sdk_error(&what, e)),
            }
            let created = self
                .client
                .create_secret()
                .name(&id)
                .secret_binary(Blob::new(value))
                .tags(Tag::builder().key(TAG_KEY).value(TAG_VALUE).build())
                .send()
                .await;
            match created {
                Ok(_) => return Ok(()),
                // Created meanwhile by another put: write over it.
                Err(e) if e.code() == Some("ResourceExistsException") && tries < CREATE_TRIES => {}
                Err(e) if being_deleted(&e) && tries < CREATE_TRIES => {
                    tokio::time::sleep(Duration::from_millis(250 * u64::from(tries))).await;
                }
                Err(e) => return Err(sdk_error(&what, e)),
            }
        }
    }

    /// The secret `name`, if there is one.
    pub async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, PortError> {
        let res = self
            .client
            .get_secret_value()
            .secret_id(self.id(name))
            .send()
            .await;
        match res {
            Ok(out) => Ok(out
                .secret_binary()
                .map(|b| b.as_ref().to_vec())
                .or_else(|| out.secret_string().map(|s| s.as_bytes().to_vec()))),
            Err(e) if e.code() == Some("ResourceNotFoundException") || being_deleted(&e) => {
                Ok(None)
            }
            Err(e) => Err(sdk_error(&format!("read the secret {name}"), e)),
        }
    }

    /// Deletes the secret `name` at once; nothing if there is none.
    pub async fn delete(&self, name: &str) -> Result<(), PortError> {
        let res = self
            .client
            .delete_secret()
            .secret_id(self.id(name))
            .force_delete_without_recovery(true)
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceNotFoundException") || being_deleted(&e) => Ok(()),
            Err(e) => Err(sdk_error(&format!("delete the secret {name}"), e)),
        }
    }
}

#[async_trait::async_trait]
impl hookline_ports::SecretStore for crate::DynamoStore {
    async fn put_secret(&self, name: &str, value: &[u8]) -> Result<(), PortError> {
        self.secrets()?.put(name, value).await
    }

    async fn get_secret(&self, name: &str) -> Result<Option<Vec<u8>>, PortError> {
        self.secrets()?.get(name).await
    }

    async fn delete_secret(&self, name: &str) -> Result<(), PortError> {
        self.secrets()?.delete(name).await
    }
}
