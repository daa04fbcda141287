//! What writing a manufacturer by its FSSAI number does to the registry: the pure decision the
//! API's `PUT` and the bulk import share, so that both treat other states' records alike.
//!
//! The registry is national and each record is used by the states in its `states` list. A
//! writer *shares* a record when it may act for one of those states (admins share every
//! record). Then:
//! - no record: it is created;
//! - a shared record: the writer's fields replace the stored ones; `states` keeps the states
//!   the writer may not act for and takes the writer's list for the rest;
//! - a record only other states use: it is the same business when the
//!   [`IDENTIFYING_FIELDS`](super::IDENTIFYING_FIELDS) agree, and then only the writer's states
//!   are added to `states` (the other fields are the other states' to keep); when they differ
//!   it is a **conflict**: reported with the differing fields, nothing written;
//! - whatever the case, when the result equals the stored record nothing is written
//!   (re-importing the same data changes nothing).

use super::{Manufacturer, ValidManufacturer};
use crate::client::{Client, Scope};
use crate::error::FieldError;
use crate::state::StateCode;

/// What to write, decided from the stored record (if any) and the submitted fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpsertPlan {
    /// No record: create this one.
    Create(ValidManufacturer),
    /// Replace the stored record (at the version read) with these fields.
    Update(ValidManufacturer),
    /// The stored record already says this.
    Unchanged,
    /// Another state's record describes another business under this number.
    Conflict {
        /// The identifying fields that differ.
        fields: Vec<&'static str>,
    },
}

/// What an upsert did, as the API and the import report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpsertOutcome {
    /// A new record (version 1); `ManufacturerCreated` was published.
    Created(Manufacturer),
    /// The record changed (next version); `ManufacturerUpdated` was published.
    Updated(Manufacturer),
    /// Nothing to write; nothing published.
    Unchanged(Manufacturer),
    /// Not written: another state's record of this number names another business.
    Conflict {
        /// The record as stored.
        existing: Manufacturer,
        /// The identifying fields that differ.
        fields: Vec<&'static str>,
    },
}

/// The `states` entries `writer` may not act for, each as a field error (`states[1]`): a client
/// speaks only for its own states.
pub fn forbidden_states(details: &ValidManufacturer, writer: &Client) -> Vec<FieldError> {
    details
        .states
        .iter()
        .enumerate()
        .filter(|(_, s)| !writes_for(writer, s))
        .map(|(i, s)| {
            FieldError::new(
                format!("states[{i}]"),
                format!("state '{s}' is not allowed for this client"),
            )
        })
        .collect()
}

/// Decides what writing `new` over `stored` by `writer` does (see the module's rules).
pub fn plan_upsert(
    stored: Option<&Manufacturer>,
    new: ValidManufacturer,
    writer: &Client,
) -> UpsertPlan {
    let Some(stored) = stored else {
        return UpsertPlan::Create(new);
    };
    let shares = stored.details.states.iter().any(|s| writes_for(writer, s));
    let merged = if shares {
        let kept = stored
            .details
            .states
            .iter()
            .filter(|s| !writes_for(writer, s));
        let states = union(&new.states, kept);
        ValidManufacturer { states, ..new }
    } else {
        let fields = stored.details.identity_differences(&new);
        if !fields.is_empty() {
            return UpsertPlan::Conflict { fields };
        }
        let states = union(&stored.details.states, new.states.iter());
        ValidManufacturer {
            states,
            ..stored.details.clone()
        }
    };
    if stored.would_change(&merged) {
        UpsertPlan::Update(merged)
    } else {
        UpsertPlan::Unchanged
    }
}

/// Whether `writer` may act for `state` (admins for every state).
fn writes_for(writer: &Client, state: &StateCode) -> bool {
    writer.scopes.contains(&Scope::Admin) || writer.allows_state(state)
}

/// `a` and `b` together, sorted, without repeats.
fn union<'a>(a: &'a [StateCode], b: impl Iterator<Item = &'a StateCode>) -> Vec<StateCode> {
    let mut all: Vec<StateCode> = a.iter().chain(b).cloned().collect();
    all.sort();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;
    use crate::ids::ClientId;

    fn client(states: &[&str]) -> Client {
        Client::for_test(&format!("cl_{}", states.join("")), states)
    }

    fn details(states: &[&str]) -> ValidManufacturer {
        let mut input = super::super::input::tests::sample();
        input.states = states.iter().map(|s| s.to_string()).collect();
        input.validate().unwrap()
    }

    fn stored(states: &[&str]) -> Manufacturer {
        Manufacturer::new(
            details(states),
            ClientId::from_stored("cl_first"),
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    fn codes(m: &ValidManufacturer) -> Vec<&str> {
        m.states.iter().map(|s| s.as_str()).collect()
    }

    #[test]
    fn a_new_number_is_created() {
        let plan = plan_upsert(None, details(&["AP"]), &client(&["AP"]));
        assert_eq!(plan, UpsertPlan::Create(details(&["AP"])));
    }

    #[test]
    fn the_same_data_is_unchanged() {
        let plan = plan_upsert(Some(&stored(&["AP"])), details(&["AP"]), &client(&["AP"]));
        assert_eq!(plan, UpsertPlan::Unchanged);
    }

    #[test]
    fn a_sharing_writer_replaces_fields_and_keeps_other_states() {
        let mut new = details(&["AP"]);
        new.contact.phone = "+919800000000".into();
        let plan = plan_upsert(Some(&stored(&["AP", "TG"])), new, &client(&["AP"]));
        let UpsertPlan::Update(m) = plan else {
            panic!("{plan:?}")
        };
        assert_eq!(m.contact.phone, "+919800000000");
        assert_eq!(codes(&m), ["AP", "TG"]);
    }

    #[test]
    fn another_states_writer_of_the_same_business_only_joins() {
        let mut new = details(&["KA"]);
        new.contact.phone = "+919800000000".into();
        let plan = plan_upsert(Some(&stored(&["AP"])), new, &client(&["KA"]));
        let UpsertPlan::Update(m) = plan else {
            panic!("{plan:?}")
        };
        assert_eq!(
            m.contact.phone, "+919848012345",
            "not the joiner's to change"
        );
        assert_eq!(codes(&m), ["AP", "KA"]);
        let again = plan_upsert(
            Some(&stored(&["AP", "KA"])),
            details(&["KA"]),
            &client(&["KA"]),
        );
        assert_eq!(again, UpsertPlan::Unchanged);
    }

    #[test]
    fn another_states_record_of_another_business_is_a_conflict() {
        let mut new = details(&["KA"]);
        new.name = "Other Mills".into();
        let plan = plan_upsert(Some(&stored(&["AP"])), new, &client(&["KA"]));
        assert_eq!(
            plan,
            UpsertPlan::Conflict {
                fields: vec!["name"]
            }
        );
    }

    #[test]
    fn admins_share_every_record() {
        let mut admin = client(&["AP"]);
        admin.scopes = vec![Scope::Admin];
        let mut new = details(&["AP"]);
        new.name = "Renamed".into();
        let plan = plan_upsert(Some(&stored(&["TG"])), new, &admin);
        let UpsertPlan::Update(m) = plan else {
            panic!("{plan:?}")
        };
        assert_eq!((m.name.as_str(), codes(&m)), ("Renamed", vec!["AP"]));
    }

    #[test]
    fn a_writer_speaks_only_for_its_own_states() {
        let errors = forbidden_states(&details(&["AP", "TG"]), &client(&["AP"]));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "states[1]");
        assert!(forbidden_states(&details(&["AP", "TG"]), &client(&["*"])).is_empty());
    }
}
