//! The integration apps' app versions and connections on the table.
//!
//! An app version is `APP#key#version` / `APP` (its `version` attribute the record's
//! `revision`), listed per app in gsi1 `APP#key#VERSIONS` and in all in gsi2 `APPS`, whose
//! sort keys put versions in semver order (`hookline_ports::version_sort_key`) after the key:
//! `sortkey\u{1}version`, `key\u{1}sortkey\u{1}version` (`\u{1}` sorts below every character
//! of a key or a version, so the order is (key, sort key, version), as on SQLite).
//!
//! A connection is `CONN#id` / `CONN` (with its `version` and `hook_token`), listed by id in
//! gsi1 `CLIENT#id#CONNS` and gsi2 `CONNS`; its hook token is the item `HOOK#token` / `HOOK`
//! naming it, written and deleted with it in one transaction, each put conditioned on absence:
//! a token is unique.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{Delete, TransactWriteItem};
use hookline_domain::apps::{AppVersion, Connection};
use hookline_domain::{ClientId, ConnectionId};
use hookline_ports::{AppStore, ConnectionStore, Page, PortError, version_sort_key};

use super::DynamoStore;
use super::error::build;
use super::item::{Item, body, from_body, get_s, key, n, names, s};
use super::ops::{Must, Transaction};
use super::query::ListQuery;
use super::schema::{BODY, GSI1, GSI2, PK, SK, VERSION};

const APP_SK: &str = "APP";
const CONN_SK: &str = "CONN";
const HOOK_SK: &str = "HOOK";
/// A connection's hook token (the condition of its updates: it never changes).
const HOOK_TOKEN: &str = "hook_token";
/// A hook token item's connection id.
const CONNECTION: &str = "connection";

fn app_pk(key: &str, version: &str) -> String {
    format!("APP#{key}#{version}")
}

fn conn_pk(id: &str) -> String {
    format!("CONN#{id}")
}

fn hook_pk(token: &str) -> String {
    format!("HOOK#{token}")
}

fn app_item(op: &str, v: &AppVersion) -> Result<Item, PortError> {
    let order = format!("{}\u{1}{}", version_sort_key(v.version()), v.version());
    Ok(Item::from([
        (PK.to_string(), s(app_pk(v.key(), v.version()))),
        (SK.to_string(), s(APP_SK)),
        (
            GSI1.partition_key.to_string(),
            s(format!("APP#{}#VERSIONS", v.key())),
        ),
        (GSI1.sort_key.to_string(), s(order.clone())),
        (GSI2.partition_key.to_string(), s("APPS")),
        (
            GSI2.sort_key.to_string(),
            s(format!("{}\u{1}{order}", v.key())),
        ),
        (VERSION.to_string(), n(v.revision)),
        (BODY.to_string(), body(op, v)?),
    ]))
}

fn conn_item(op: &str, c: &Connection) -> Result<Item, PortError> {
    Ok(Item::from([
        (PK.to_string(), s(conn_pk(&c.id))),
        (SK.to_string(), s(CONN_SK)),
        (
            GSI1.partition_key.to_string(),
            s(format!("CLIENT#{}#CONNS", c.client_id)),
        ),
        (GSI1.sort_key.to_string(), s(c.id.to_string())),
        (GSI2.partition_key.to_string(), s("CONNS")),
        (GSI2.sort_key.to_string(), s(c.id.to_string())),
        (VERSION.to_string(), n(c.version)),
        (HOOK_TOKEN.to_string(), s(c.hook_token.clone())),
        (BODY.to_string(), body(op, c)?),
    ]))
}

fn hook_item(c: &Connection) -> Item {
    Item::from([
        (PK.to_string(), s(hook_pk(&c.hook_token))),
        (SK.to_string(), s(HOOK_SK)),
        (CONNECTION.to_string(), s(c.id.to_string())),
    ])
}

impl DynamoStore {
    /// A stored value by key.
    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        op: &str,
        pk: String,
        sk: &str,
    ) -> Result<Option<T>, PortError> {
        let item = self.get_item(op, pk, sk).await?;
        item.map(|i| from_body(op, &i)).transpose()
    }

    /// A transaction item: the delete of an item that must exist.
    fn tx_delete(&self, op: &str, pk: String, sk: &str) -> Result<TransactWriteItem, PortError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(#pk)")
            .set_expression_attribute_names(Some(names(&[PK])))
            .build()
            .map_err(|e| build(op, e))?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }
}

#[async_trait]
impl AppStore for DynamoStore {
    async fn insert_app_version(&self, v: &AppVersion) -> Result<bool, PortError> {
        const OP: &str = "insert_app_version";
        self.put_item(OP, app_item(OP, v)?, Must::BeAbsent).await
    }

    async fn get_app_version(
        &self,
        key: &str,
        version: &str,
    ) -> Result<Option<AppVersion>, PortError> {
        self.read("get_app_version", app_pk(key, version), APP_SK)
            .await
    }

    async fn update_app_version(&self, v: &AppVersion) -> Result<bool, PortError> {
        const OP: &str = "update_app_version";
        let mut next = v.clone();
        next.revision = v.revision.saturating_add(1);
        let item = app_item(OP, &next)?;
        if self.put_over_version(OP, item, v.revision, None).await? {
            return Ok(true);
        }
        match self
            .get_item(OP, app_pk(v.key(), v.version()), APP_SK)
            .await?
        {
            Some(_) => Ok(false),
            None => Err(PortError::NotFound),
        }
    }

    async fn list_app_versions(
        &self,
        key: Option<&str>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AppVersion>, PortError> {
        const OP: &str = "list_app_versions";
        let q = match key {
            Some(k) => ListQuery::partition(OP, GSI1, format!("APP#{k}#VERSIONS"), true),
            None => ListQuery::partition(OP, GSI2, "APPS".to_string(), true),
        };
        self.list_page(&q, cursor, limit).await
    }
}

#[async_trait]
impl ConnectionStore for DynamoStore {
    async fn insert_connection(&self, c: &Connection) -> Result<(), PortError> {
        const OP: &str = "insert_connection";
        let writes = vec![
            self.tx_put(OP, conn_item(OP, c)?, Must::BeAbsent)?,
            self.tx_put(OP, hook_item(c), Must::BeAbsent)?,
        ];
        match self.transact(OP, writes).await? {
            Transaction::Done => Ok(()),
            o if o.condition_failed(0) || o.condition_failed(1) => Err(PortError::Conflict(
                "connection id or hook token already exists".to_string(),
            )),
            _ => Err(PortError::backend(format!(
                "dynamodb {OP}: transaction cancelled"
            ))),
        }
    }

    async fn get_connection(&self, id: &ConnectionId) -> Result<Option<Connection>, PortError> {
        self.read("get_connection", conn_pk(id), CONN_SK).await
    }

    async fn connection_by_hook(&self, hook_token: &str) -> Result<Option<Connection>, PortError> {
        const OP: &str = "connection_by_hook";
        let Some(hook) = self.get_item(OP, hook_pk(hook_token), HOOK_SK).await? else {
            return Ok(None);
        };
        let Some(id) = get_s(&hook, CONNECTION) else {
            return Err(super::error::corrupt(OP, "hook token without a connection"));
        };
        let found: Option<Connection> = self.read(OP, conn_pk(id), CONN_SK).await?;
        // A token left by an interrupted write names a connection that is gone or not its own.
        Ok(found.filter(|c| c.hook_token == hook_token))
    }

    async fn update_connection(&self, c: &Connection) -> Result<bool, PortError> {
        const OP: &str = "update_connection";
        let mut next = c.clone();
        next.version = c.version.saturating_add(1);
        let item = conn_item(OP, &next)?;
        let token = (HOOK_TOKEN, ":hook", s(c.hook_token.clone()));
        if self
            .put_over_version(OP, item, c.version, Some(token))
            .await?
        {
            return Ok(true);
        }
        let stored: Option<Connection> = self.read(OP, conn_pk(&c.id), CONN_SK).await?;
        match stored {
            None => Err(PortError::NotFound),
            Some(s) if s.version == c.version && s.hook_token != c.hook_token => Err(
                PortError::Conflict("a connection's hook token never changes".to_string()),
            ),
            Some(_) => Ok(false),
        }
    }

    async fn delete_connection(&self, id: &ConnectionId) -> Result<(), PortError> {
        const OP: &str = "delete_connection";
        let Some(stored) = self.read::<Connection>(OP, conn_pk(id), CONN_SK).await? else {
            return Err(PortError::NotFound);
        };
        let writes = vec![
            self.tx_delete(OP, conn_pk(id), CONN_SK)?,
            self.tx_delete(OP, hook_pk(&stored.hook_token), HOOK_SK)?,
        ];
        match self.transact(OP, writes).await? {
            Transaction::Done => Ok(()),
            o if o.condition_failed(0) => Err(PortError::NotFound),
            // The token item is gone already (an earlier delete's answer lost): the
            // connection alone goes.
            o if o.condition_failed(1) => match self.delete_item(OP, conn_pk(id), CONN_SK).await? {
                true => Ok(()),
                false => Err(PortError::NotFound),
            },
            _ => Err(PortError::backend(format!(
                "dynamodb {OP}: transaction cancelled"
            ))),
        }
    }

    async fn list_connections(
        &self,
        client_id: Option<&ClientId>,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Connection>, PortError> {
        const OP: &str = "list_connections";
        let q = match client_id {
            Some(c) => ListQuery::partition(OP, GSI1, format!("CLIENT#{c}#CONNS"), true),
            None => ListQuery::partition(OP, GSI2, "CONNS".to_string(), true),
        };
        self.list_page(&q, cursor, limit).await
    }
}
