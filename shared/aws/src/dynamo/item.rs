//! Item building blocks: key values, sortable times, JSON bodies, attribute accessors.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use hookline_ports::PortError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::{Date, OffsetDateTime};

use super::error::corrupt;
use super::schema::{BODY, PK, SK};

/// An item or key as the SDK holds it.
pub(crate) type Item = HashMap<String, AttributeValue>;

/// A string attribute value.
pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute value.
pub(crate) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// The primary key of an item.
pub(crate) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([(PK.to_string(), s(pk)), (SK.to_string(), s(sk))])
}

/// A string attribute of an item.
pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

/// A time as a fixed-width decimal of Unix nanoseconds shifted to be non-negative, so that
/// lexical order is time order (clamped to the years 1677–2262, which `i64` covers).
pub(crate) fn sort_time(t: OffsetDateTime) -> String {
    let ns = t
        .unix_timestamp_nanos()
        .clamp(i128::from(i64::MIN), i128::from(i64::MAX));
    format!("{:020}", ns + 10_000_000_000_000_000_000)
}

/// The sort key of a timed list entry: `time#id` (ties broken by id).
pub(crate) fn timed(t: OffsetDateTime, id: &str) -> String {
    format!("{}#{id}", sort_time(t))
}

/// `YYYY-MM-DD` of a day.
pub(crate) fn day(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// TTL value: `t + retention` in epoch seconds.
pub(crate) fn expires_at(t: OffsetDateTime, retention: std::time::Duration) -> AttributeValue {
    let secs = i64::try_from(retention.as_secs()).unwrap_or(i64::MAX);
    n(t.unix_timestamp().saturating_add(secs))
}

/// The JSON body attribute of a domain value.
pub(crate) fn body<T: Serialize>(op: &str, value: &T) -> Result<AttributeValue, PortError> {
    serde_json::to_string(value)
        .map(AttributeValue::S)
        .map_err(|_| PortError::backend(format!("dynamodb {op}: value not serializable")))
}

/// The domain value of an item's JSON body.
pub(crate) fn from_body<T: DeserializeOwned>(op: &str, item: &Item) -> Result<T, PortError> {
    let text = get_s(item, BODY).ok_or_else(|| corrupt(op, "no body"))?;
    serde_json::from_str(text).map_err(|_| corrupt(op, "body does not decode"))
}

/// Expression attribute names `#name` → `name` for each attribute.
pub(crate) fn names(attrs: &[&str]) -> HashMap<String, String> {
    attrs
        .iter()
        .map(|a| (format!("#{a}"), (*a).to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_time_orders_lexically_like_time() {
        let times = [
            OffsetDateTime::from_unix_timestamp_nanos(-5).ok(),
            Some(OffsetDateTime::UNIX_EPOCH),
            OffsetDateTime::from_unix_timestamp_nanos(9).ok(),
            OffsetDateTime::from_unix_timestamp_nanos(10).ok(),
            OffsetDateTime::from_unix_timestamp(1_800_000_000).ok(),
        ];
        let keys: Vec<String> = times.iter().flatten().map(|t| sort_time(*t)).collect();
        assert_eq!(keys.len(), 5);
        assert!(
            keys.windows(2)
                .all(|w| w[0] < w[1] && w[0].len() == w[1].len())
        );
    }
}
