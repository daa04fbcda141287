//! The manufacturer registry's bodies as the OpenAPI document describes them: the request
//! (`ManufacturerInput`, read as text so that every bad field is reported at once), the
//! record, and what a `PUT` did.

use hookline_domain::Manufacturer;
use hookline_domain::time_fmt::{date, format};
use serde::Serialize;
use utoipa::ToSchema;

/// A manufacturer as submitted (`POST`, `PUT`). Every field is a string (or a list of them),
/// checked all at once: a 422 lists each bad one. Absent fields read as empty.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ManufacturerBody {
    /// Registered name, 1-200 characters.
    #[schema(example = "Annapurna FRK Industries")]
    name: String,
    /// FSSAI licence number: 14 digits (blanks around them ignored). Required on `POST`; on
    /// `PUT` it may be left out (the path's), else equals it.
    #[schema(required = false, example = "10014011000123")]
    fssai_licence: String,
    /// Last day the licence is valid, a date written `YYYY-MM-DD`.
    #[schema(example = "2027-03-31")]
    licence_valid_until: String,
    /// Street address of the unit, 1-500 characters.
    address: String,
    /// District of the unit, 1-200 characters.
    district: String,
    /// State code of the unit (where it is).
    #[schema(example = "AP")]
    state: String,
    /// PIN code: 6 digits, not starting with 0.
    #[schema(example = "520001")]
    pincode: String,
    /// The person to contact.
    contact: ContactBody,
    /// `FRK`, `Premix` or `FortifiedRice` (case, blanks, `-` and `_` ignored).
    #[schema(example = "FRK")]
    commodity: String,
    /// State codes of the programmes that use the manufacturer (at most 40); empty or absent:
    /// the unit's own state. Each must be one the caller may act for.
    #[schema(required = false)]
    states: Vec<String>,
}

/// The contact person as submitted.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ContactBody {
    /// Full name, 1-200 characters.
    name: String,
    /// 10-15 digits, optionally a leading `+`, blanks or `-` between them.
    #[schema(example = "+91 98480 12345")]
    phone: String,
    /// E-mail address.
    email: String,
}

/// A registered manufacturer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManufacturerView {
    /// FSSAI licence number, 14 digits: the key.
    pub fssai_licence: String,
    /// Registered name.
    pub name: String,
    /// Last day the licence is valid.
    #[schema(format = Date)]
    pub licence_valid_until: String,
    /// Street address of the unit.
    pub address: String,
    /// District of the unit.
    pub district: String,
    /// State code of the unit.
    pub state: String,
    /// PIN code.
    pub pincode: String,
    /// The person to contact.
    pub contact: ContactView,
    /// `FRK`, `Premix` or `FortifiedRice`.
    pub commodity: String,
    /// States that use the manufacturer, sorted.
    pub states: Vec<String>,
    /// When it was registered.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// The client that registered it.
    pub created_by: String,
    /// The client that changed it last.
    pub updated_by: String,
    /// 1 when registered, one more at each change.
    pub version: u64,
}

/// A manufacturer's contact person.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactView {
    /// Full name.
    pub name: String,
    /// Digits, with the leading `+` if one was given.
    pub phone: String,
    /// E-mail address.
    pub email: String,
}

impl From<&Manufacturer> for ManufacturerView {
    fn from(m: &Manufacturer) -> Self {
        let d = &m.details;
        ManufacturerView {
            fssai_licence: d.fssai_licence.to_string(),
            name: d.name.clone(),
            licence_valid_until: date::format(d.licence_valid_until),
            address: d.address.clone(),
            district: d.district.clone(),
            state: d.state.to_string(),
            pincode: d.pincode.clone(),
            contact: ContactView {
                name: d.contact.name.clone(),
                phone: d.contact.phone.clone(),
                email: d.contact.email.clone(),
            },
            commodity: d.commodity.as_str().to_string(),
            states: d.states.iter().map(|s| s.to_string()).collect(),
            created_at: format(m.created_at),
            updated_at: format(m.updated_at),
            created_by: m.created_by.to_string(),
            updated_by: m.updated_by.to_string(),
            version: m.version,
        }
    }
}

/// What a `PUT` did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpsertResult {
    /// Registered now (`ManufacturerCreated` published).
    Created,
    /// Changed (`ManufacturerUpdated` published).
    Updated,
    /// Already so: nothing written, nothing published.
    Unchanged,
}

/// The answer to a `PUT`: what it did, and the record as it now is.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpsertView {
    /// What the write did.
    pub outcome: UpsertResult,
    /// The record.
    pub manufacturer: ManufacturerView,
}

#[cfg(test)]
mod tests {
    use hookline_domain::ClientId;
    use hookline_domain::catalog::{check_schema, compile_schema};
    use hookline_domain::manufacturer::{ContactInput, ManufacturerInput};
    use serde_json::Value;
    use time::OffsetDateTime;

    use super::*;

    fn manufacturer() -> Manufacturer {
        let input = ManufacturerInput {
            name: "Annapurna FRK Industries".into(),
            fssai_licence: "10014011000123".into(),
            licence_valid_until: "2027-03-31".into(),
            address: "Plot 12".into(),
            district: "Krishna".into(),
            state: "AP".into(),
            pincode: "520001".into(),
            contact: ContactInput {
                name: "R. Rao".into(),
                phone: "9848012345".into(),
                email: "rao@example.org".into(),
            },
            commodity: "premix".into(),
            states: vec!["TG".into(), "AP".into()],
        };
        let details = input.validate().expect("valid");
        Manufacturer::new(
            details,
            ClientId::from_stored("cl_1"),
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn the_api_shows_a_record_as_its_events_carry_it() {
        let m = manufacturer().published();
        let view = serde_json::to_value(ManufacturerView::from(&m)).expect("json");
        let data = serde_json::to_value(&m).expect("json");
        assert_eq!(view, data);
    }

    #[test]
    fn the_events_data_matches_the_catalogs_schemas() {
        let text = include_str!("../../../../infra/catalogs/fortification.json");
        let catalog: Value = serde_json::from_str(text).expect("the catalog parses");
        let data = serde_json::to_value(manufacturer().published()).expect("json");
        for name in ["ManufacturerCreated", "ManufacturerUpdated"] {
            let entry = catalog["event_types"]
                .as_array()
                .and_then(|types| types.iter().find(|t| t["name"] == name))
                .unwrap_or_else(|| panic!("{name} is in the default catalog"));
            let validator = compile_schema(&entry["schema"]).expect("the schema compiles");
            check_schema(&validator, &data).expect("the data matches");
            let mut wrong = data.clone();
            wrong["fssai_licence"] = Value::from("123");
            assert!(
                check_schema(&validator, &wrong).is_err(),
                "{name}: the schema checks"
            );
        }
    }
}
