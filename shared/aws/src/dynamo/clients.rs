//! Clients (`CLIENT#id`, listed in `CLIENTS` by id) and event types (`EVENT_TYPE#name`,
//! listed in `EVENT_TYPES` by name).

use hookline_domain::{Client, EventType};
use hookline_ports::PortError;

use super::item::{Item, body, s};
use super::query::ListQuery;
use super::schema::{BODY, GSI1, PK, SK};

/// Sort key of a client item.
pub(crate) const CLIENT_SK: &str = "CLIENT";
/// Sort key of an event type item.
pub(crate) const EVENT_TYPE_SK: &str = "EVENT_TYPE";

/// Partition key of a client.
pub(crate) fn client_pk(id: &str) -> String {
    format!("CLIENT#{id}")
}

/// Partition key of an event type.
pub(crate) fn event_type_pk(name: &str) -> String {
    format!("EVENT_TYPE#{name}")
}

/// The item of a client.
pub(crate) fn client_item(op: &str, c: &Client) -> Result<Item, PortError> {
    Ok(Item::from([
        (PK.to_string(), s(client_pk(&c.id))),
        (SK.to_string(), s(CLIENT_SK)),
        (GSI1.partition_key.to_string(), s("CLIENTS")),
        (GSI1.sort_key.to_string(), s(c.id.clone())),
        (BODY.to_string(), body(op, c)?),
    ]))
}

/// The item of an event type.
pub(crate) fn event_type_item(op: &str, t: &EventType) -> Result<Item, PortError> {
    Ok(Item::from([
        (PK.to_string(), s(event_type_pk(&t.name))),
        (SK.to_string(), s(EVENT_TYPE_SK)),
        (GSI1.partition_key.to_string(), s("EVENT_TYPES")),
        (GSI1.sort_key.to_string(), s(t.name.clone())),
        (BODY.to_string(), body(op, t)?),
    ]))
}

/// Every client, by id.
pub(crate) fn clients_list() -> ListQuery {
    ListQuery::partition("list_clients", GSI1, "CLIENTS".to_string(), true)
}

/// Every event type, by name.
pub(crate) fn event_types_list() -> ListQuery {
    ListQuery::partition("list_event_types", GSI1, "EVENT_TYPES".to_string(), true)
}

/// Partition key of the marker recording that the bootstrap admin was created.
const BOOTSTRAP_PK: &str = "META#BOOTSTRAP_ADMIN";
/// Its sort key.
const BOOTSTRAP_SK: &str = "META";

impl super::DynamoStore {
    /// `insert_bootstrap_admin`: one transaction of the marker and the client, each put only
    /// if absent. The marker's condition failing means the admin was made before: nothing
    /// is written. The client's alone failing (a client from before the marker) leaves the
    /// client as it is and writes the marker.
    pub(crate) async fn insert_bootstrap_admin_items(&self, c: &Client) -> Result<bool, PortError> {
        use super::ops::{Must, Transaction};
        const OP: &str = "insert_bootstrap_admin";
        let marker = || {
            Item::from([
                (PK.to_string(), s(BOOTSTRAP_PK)),
                (SK.to_string(), s(BOOTSTRAP_SK)),
                (BODY.to_string(), s(c.id.clone())),
            ])
        };
        let items = vec![
            self.tx_put(OP, marker(), Must::BeAbsent)?,
            self.tx_put(OP, client_item(OP, c)?, Must::BeAbsent)?,
        ];
        match self.transact(OP, items).await? {
            Transaction::Done => Ok(true),
            outcome if outcome.condition_failed(0) => Ok(false),
            outcome if outcome.condition_failed(1) => {
                self.put_item(OP, marker(), Must::BeAbsent).await?;
                Ok(false)
            }
            Transaction::Cancelled(_) => Err(PortError::backend(format!(
                "dynamodb {OP}: the transaction was cancelled"
            ))),
        }
    }
}
