//! The national manufacturer registry (seed 000): manufacturers of the fortified-rice programme,
//! unique across India by their FSSAI licence number, and the states that use each.
//!
//! [`ManufacturerInput`] is what a client or a spreadsheet row submits (text);
//! [`ManufacturerInput::validate`] turns it into a [`ValidManufacturer`] or reports every bad
//! field; a [`Manufacturer`] is the stored record: the valid fields plus who created it, when,
//! and a version for optimistic concurrency.

mod commodity;
mod fssai;
pub(crate) mod input;
mod upsert;

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

pub use commodity::Commodity;
pub use fssai::FssaiLicence;
pub use input::{ContactInput, ManufacturerInput};
pub use upsert::{UpsertOutcome, UpsertPlan, forbidden_states, plan_upsert};

use crate::ids::ClientId;
use crate::state::StateCode;

/// The contact person of a manufacturer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// Full name.
    pub name: String,
    /// Phone number: digits, with the leading `+` if one was given.
    pub phone: String,
    /// E-mail address.
    pub email: String,
}

/// A manufacturer's fields, validated and normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidManufacturer {
    /// The key: unique across India.
    pub fssai_licence: FssaiLicence,
    /// Registered name.
    pub name: String,
    /// Last day the licence is valid.
    #[serde(with = "crate::time_fmt::date")]
    pub licence_valid_until: Date,
    /// Street address of the unit.
    pub address: String,
    /// District of the unit.
    pub district: String,
    /// State of the unit.
    pub state: StateCode,
    /// PIN code, 6 digits.
    pub pincode: String,
    /// Contact person.
    pub contact: Contact,
    /// What it makes.
    pub commodity: Commodity,
    /// States whose programmes use it: sorted, no repeats, never empty.
    pub states: Vec<StateCode>,
}

/// The event a new manufacturer publishes (its data: the [`Manufacturer`]).
pub const CREATED_TYPE: &str = "ManufacturerCreated";
/// The event a changed manufacturer publishes (its data: the [`Manufacturer`] as it now is).
pub const UPDATED_TYPE: &str = "ManufacturerUpdated";

/// Whether `event_type` is one the registry publishes itself, which no client may publish:
/// a portal that receives it can trust that the record behind it exists.
pub fn is_registry_event(event_type: &str) -> bool {
    event_type == CREATED_TYPE || event_type == UPDATED_TYPE
}

/// The fields that say which business a record is (as opposed to how to reach it): two records
/// of one licence number that differ in one of these are two claims, not one update.
pub const IDENTIFYING_FIELDS: [&str; 3] = ["name", "state", "pincode"];

impl ValidManufacturer {
    /// The name as lists sort and prefix-match it: lower case, blanks collapsed to one space.
    pub fn name_key(&self) -> String {
        name_key(&self.name)
    }

    /// The [`IDENTIFYING_FIELDS`] in which `other` differs from `self` (names compared as
    /// [`name_key`] does), in that order; empty when both describe the same business.
    pub fn identity_differences(&self, other: &ValidManufacturer) -> Vec<&'static str> {
        let same = [
            self.name_key() == other.name_key(),
            self.state == other.state,
            self.pincode == other.pincode,
        ];
        IDENTIFYING_FIELDS
            .into_iter()
            .zip(same)
            .filter(|(_, same)| !same)
            .map(|(field, _)| field)
            .collect()
    }
}

/// `name` as lists sort and prefix-match it: lower case, blanks collapsed to one space. A
/// `name_prefix` query is keyed the same way.
pub fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// A stored manufacturer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manufacturer {
    /// The fields.
    #[serde(flatten)]
    pub details: ValidManufacturer,
    /// When it was registered.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it last changed.
    #[serde(with = "crate::time_fmt::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// The client that registered it.
    pub created_by: ClientId,
    /// The client that changed it last.
    pub updated_by: ClientId,
    /// 1 when created, one more at every change: a write names the version it read.
    pub version: u64,
    /// Set while this version's events may not be published yet: a record is written with it,
    /// then written again without it once its events are. A write that finds it set (the
    /// process died, or the queue failed, in between) publishes them. Never shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unpublished: bool,
}

impl Manufacturer {
    /// A new record of `details`, registered by `client` at `now`, version 1, its events not
    /// published yet.
    pub fn new(details: ValidManufacturer, client: ClientId, now: OffsetDateTime) -> Self {
        Manufacturer {
            details,
            created_at: now,
            updated_at: now,
            created_by: client.clone(),
            updated_by: client,
            version: 1,
            unpublished: true,
        }
    }

    /// The same record, its events published.
    pub fn published(&self) -> Self {
        Manufacturer {
            unpublished: false,
            ..self.clone()
        }
    }

    /// Whether writing `details` would change this record (re-importing the same data does not).
    pub fn would_change(&self, details: &ValidManufacturer) -> bool {
        self.details != *details
    }

    /// The record with `details` written by `client` at `now`: the next version, its events
    /// not published yet.
    pub fn updated(
        &self,
        details: ValidManufacturer,
        client: ClientId,
        now: OffsetDateTime,
    ) -> Self {
        Manufacturer {
            details,
            created_at: self.created_at,
            updated_at: now,
            created_by: self.created_by.clone(),
            updated_by: client,
            version: self.version + 1,
            unpublished: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> ValidManufacturer {
        input::tests::sample().validate().unwrap()
    }

    #[test]
    fn the_same_data_changes_nothing() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let m = Manufacturer::new(valid(), ClientId::from_stored("cl_a"), now);
        assert!(!m.would_change(&valid()));
        let mut moved = valid();
        moved.contact.phone = "+919800000000".into();
        assert!(m.would_change(&moved));
        let next = m.updated(moved, ClientId::from_stored("cl_b"), now);
        assert_eq!((next.version, next.created_by.as_str()), (2, "cl_a"));
    }

    #[test]
    fn identity_is_name_state_and_pincode() {
        let a = valid();
        let mut b = valid();
        b.name = "ANNAPURNA   frk industries".into();
        b.contact.email = "other@example.in".into();
        assert!(a.identity_differences(&b).is_empty());
        b.name = "Other Mills".into();
        b.pincode = "500001".into();
        assert_eq!(a.identity_differences(&b), ["name", "pincode"]);
    }

    #[test]
    fn a_record_is_written_flat_with_dates_and_times_as_text() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let m = Manufacturer::new(valid(), ClientId::from_stored("cl_a"), now);
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["fssai_licence"], "10014011000123");
        assert_eq!(json["licence_valid_until"], "2027-03-31");
        assert_eq!(json["commodity"], "FRK");
        assert_eq!(json["created_at"], "1970-01-01T00:00:00Z");
        assert_eq!(json["version"], 1);
        assert_eq!(json["unpublished"], true);
        let back: Manufacturer = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
        let published = serde_json::to_value(m.published()).unwrap();
        assert!(
            published.get("unpublished").is_none(),
            "never shown once published"
        );
        let back: Manufacturer = serde_json::from_value(published).unwrap();
        assert!(!back.unpublished);
    }
}
