//! Page cursors, as URL-safe base64 of JSON. A list of one partition (or a walk of partitions
//! one after another) resumes from the partition being walked and the key of the last item
//! returned (or none, to start that partition from its beginning). A sharded list (`shard`)
//! resumes from its group (the list, or the day) and the merge point: the sort key and `pk`
//! of the last item returned, every shard resuming after it (see `query`). Opaque to callers;
//! anything that does not decode, or that names a partition, key or point outside the list
//! being read, is `PortError::InvalidCursor` (checked by `query::ListQuery::resume`).

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hookline_ports::PortError;
use serde::{Deserialize, Serialize};

use super::item::{Item, get_s, s};

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    /// The index partition (e.g. `CLIENTS`), or the group of a sharded list (`DELIVERIES`,
    /// `EVENTS#2026-11-23`).
    pub p: String,
    /// The exclusive start key (every attribute a string), or `None` for the partition start;
    /// always `None` for a sharded list.
    pub k: Option<BTreeMap<String, String>>,
    /// A sharded list: the point (index sort key, then `pk`) up to which every shard has been
    /// returned; `None` (absent) for the start of the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m: Option<(String, String)>,
}

impl Cursor {
    /// A cursor after `item` (whose key attributes `attrs` are copied) in partition `p`.
    pub fn after(p: &str, item: &Item, attrs: &[&str]) -> Cursor {
        let k = attrs
            .iter()
            .filter_map(|a| get_s(item, a).map(|v| ((*a).to_string(), v.to_string())))
            .collect();
        Cursor {
            p: p.to_string(),
            k: Some(k),
            m: None,
        }
    }

    /// The opaque text.
    pub fn encode(&self) -> String {
        // Serializing a struct of strings cannot fail.
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    /// Parses the opaque text.
    pub fn decode(text: &str) -> Result<Cursor, PortError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| PortError::InvalidCursor)?;
        serde_json::from_slice(&bytes).map_err(|_| PortError::InvalidCursor)
    }

    /// The start key as an SDK key, if any.
    pub fn start_key(&self) -> Option<Item> {
        self.k
            .as_ref()
            .map(|k| k.iter().map(|(a, v)| (a.clone(), s(v.clone()))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_invalid() {
        let c = Cursor {
            p: "CLIENTS".to_string(),
            k: Some(BTreeMap::from([("pk".to_string(), "CLIENT#a".to_string())])),
            m: None,
        };
        assert_eq!(Cursor::decode(&c.encode()).ok(), Some(c.clone()));
        // The format of a one-partition cursor is as it was before sharded lists.
        assert_eq!(
            serde_json::to_string(&c).ok().as_deref(),
            Some(r#"{"p":"CLIENTS","k":{"pk":"CLIENT#a"}}"#)
        );
        let sharded = Cursor {
            p: "DELIVERIES".to_string(),
            k: None,
            m: Some(("t#d".to_string(), "DELIVERY#d".to_string())),
        };
        assert_eq!(Cursor::decode(&sharded.encode()).ok(), Some(sharded));
        for bad in ["garbage", "%%%", "", "bm90IGpzb24"] {
            assert!(matches!(Cursor::decode(bad), Err(PortError::InvalidCursor)));
        }
    }
}
