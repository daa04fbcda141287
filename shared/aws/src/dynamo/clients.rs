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
