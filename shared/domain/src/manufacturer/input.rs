//! What a client (the API's body) or a spreadsheet row (the bulk import) says about one
//! manufacturer, as text, and the rules that turn it into a [`ValidManufacturer`]. Every field
//! is read as text so that one pass reports every bad field at once, each under its JSON name
//! (`contact.phone`, `states[2]`), which the import maps to its spreadsheet columns.

use serde::{Deserialize, Serialize};

use super::{Commodity, Contact, FssaiLicence, ValidManufacturer};
use crate::error::FieldError;
use crate::state::StateCode;
use crate::time_fmt;

/// A manufacturer as submitted; absent fields read as empty and are reported as required.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ManufacturerInput {
    /// Registered name of the business.
    pub name: String,
    /// FSSAI licence number, 14 digits.
    pub fssai_licence: String,
    /// Last day the licence is valid, `YYYY-MM-DD`.
    pub licence_valid_until: String,
    /// Street address of the unit.
    pub address: String,
    /// District of the unit.
    pub district: String,
    /// State code of the unit (where it is, not who uses it).
    pub state: String,
    /// Indian PIN code, 6 digits.
    pub pincode: String,
    /// Person to contact.
    pub contact: ContactInput,
    /// `FRK`, `Premix` or `FortifiedRice` (case and blanks ignored).
    pub commodity: String,
    /// State codes of the programmes that use this manufacturer; empty: the unit's own state.
    pub states: Vec<String>,
}

/// The contact person as submitted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContactInput {
    /// Full name.
    pub name: String,
    /// Phone number: 10-15 digits, optionally `+`, blanks and `-` between them.
    pub phone: String,
    /// E-mail address.
    pub email: String,
}

/// Longest name, contact name or district, in characters.
const MAX_NAME: usize = 200;
/// Longest address, in characters.
const MAX_ADDRESS: usize = 500;
/// Most states one manufacturer lists (India has 36 states and union territories; on DynamoDB
/// an update rewrites one entry per state and deletes those left, within a transaction of 100).
const MAX_STATES: usize = 40;

impl ManufacturerInput {
    /// Checks every field and returns the normalised manufacturer (text trimmed, states sorted
    /// and without repeats), or every field that is wrong, in field order.
    pub fn validate(&self) -> Result<ValidManufacturer, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut check = |field: &str, ok: Option<()>, why: &str| {
            if ok.is_none() {
                errors.push(FieldError::new(field, why));
            }
        };
        let name = text(&self.name, MAX_NAME);
        check(
            "name",
            name.map(drop),
            "is required, at most 200 characters",
        );
        let fssai = FssaiLicence::parse(&self.fssai_licence);
        check(
            "fssai_licence",
            fssai.as_ref().map(drop),
            "must be exactly 14 digits",
        );
        let valid_until = time_fmt::date::parse(self.licence_valid_until.trim());
        check(
            "licence_valid_until",
            valid_until.map(drop),
            "must be a date written YYYY-MM-DD",
        );
        let address = text(&self.address, MAX_ADDRESS);
        check(
            "address",
            address.map(drop),
            "is required, at most 500 characters",
        );
        let district = text(&self.district, MAX_NAME);
        check(
            "district",
            district.map(drop),
            "is required, at most 200 characters",
        );
        let state = StateCode::parse(self.state.trim());
        check("state", state.as_ref().map(drop), STATE_RULE);
        let pincode = pincode(&self.pincode);
        check(
            "pincode",
            pincode.as_ref().map(drop),
            "must be 6 digits, not starting with 0",
        );
        let contact_name = text(&self.contact.name, MAX_NAME);
        check(
            "contact.name",
            contact_name.map(drop),
            "is required, at most 200 characters",
        );
        let phone = phone(&self.contact.phone);
        check(
            "contact.phone",
            phone.as_ref().map(drop),
            "must be 10-15 digits, optionally with a leading + and blanks or - between them",
        );
        let email = email(&self.contact.email);
        check(
            "contact.email",
            email.map(drop),
            "must be an e-mail address",
        );
        let commodity = Commodity::parse(&self.commodity);
        check(
            "commodity",
            commodity.map(drop),
            "must be one of FRK, Premix, FortifiedRice",
        );
        if self.states.len() > MAX_STATES {
            check("states", None, "at most 40 states");
        }
        let mut states = Vec::new();
        for (i, s) in self.states.iter().enumerate() {
            let code = StateCode::parse(s.trim());
            check(&format!("states[{i}]"), code.as_ref().map(drop), STATE_RULE);
            states.extend(code);
        }
        let (
            Some(name),
            Some(fssai_licence),
            Some(licence_valid_until),
            Some(address),
            Some(district),
            Some(state),
            Some(pincode),
            Some(contact_name),
            Some(phone),
            Some(email),
            Some(commodity),
        ) = (
            name,
            fssai,
            valid_until,
            address,
            district,
            state,
            pincode,
            contact_name,
            phone,
            email,
            commodity,
        )
        else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        if states.is_empty() {
            states.push(state.clone());
        }
        states.sort();
        states.dedup();
        Ok(ValidManufacturer {
            fssai_licence,
            name: name.to_owned(),
            licence_valid_until,
            address: address.to_owned(),
            district: district.to_owned(),
            state,
            pincode,
            contact: Contact {
                name: contact_name.to_owned(),
                phone,
                email: email.to_owned(),
            },
            commodity,
            states,
        })
    }
}

impl From<&ValidManufacturer> for ManufacturerInput {
    fn from(m: &ValidManufacturer) -> Self {
        ManufacturerInput {
            name: m.name.clone(),
            fssai_licence: m.fssai_licence.to_string(),
            licence_valid_until: time_fmt::date::format(m.licence_valid_until),
            address: m.address.clone(),
            district: m.district.clone(),
            state: m.state.to_string(),
            pincode: m.pincode.clone(),
            contact: ContactInput {
                name: m.contact.name.clone(),
                phone: m.contact.phone.clone(),
                email: m.contact.email.clone(),
            },
            commodity: m.commodity.as_str().to_owned(),
            states: m.states.iter().map(|s| s.to_string()).collect(),
        }
    }
}

const STATE_RULE: &str = "a state code is 2-8 upper-case letters or digits (e.g. AP)";

/// `s` trimmed, if it is 1..=`max` characters without control characters.
fn text(s: &str, max: usize) -> Option<&str> {
    let s = s.trim();
    let n = s.chars().count();
    ((1..=max).contains(&n) && !s.chars().any(char::is_control)).then_some(s)
}

/// A PIN code: 6 digits, the first not 0.
fn pincode(s: &str) -> Option<String> {
    let s = s.trim();
    let ok = s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0');
    ok.then(|| s.to_owned())
}

/// A phone number, normalised to its digits with the leading `+` kept.
fn phone(s: &str) -> Option<String> {
    let s = s.trim();
    let (plus, rest) = match s.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", s),
    };
    if !rest
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
    {
        return None;
    }
    let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
    (10..=15)
        .contains(&digits.len())
        .then(|| format!("{plus}{digits}"))
}

/// An e-mail address: one `@`, a local part, a dotted domain, no blanks, at most 254 bytes.
fn email(s: &str) -> Option<&str> {
    let s = s.trim();
    let (local, domain) = s.split_once('@')?;
    let ok = s.len() <= 254
        && !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(|c| c.is_whitespace() || c.is_control());
    ok.then_some(s)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid input, as the tests start from.
    pub(crate) fn sample() -> ManufacturerInput {
        ManufacturerInput {
            name: " Annapurna FRK Industries ".into(),
            fssai_licence: "10014011000123".into(),
            licence_valid_until: "2027-03-31".into(),
            address: "Plot 12, Industrial Estate".into(),
            district: "Krishna".into(),
            state: "AP".into(),
            pincode: "520001".into(),
            contact: ContactInput {
                name: "R. Rao".into(),
                phone: "+91 98480-12345".into(),
                email: "rao@annapurna.example".into(),
            },
            commodity: "frk".into(),
            states: vec!["TG".into(), "AP".into(), "TG".into()],
        }
    }

    #[test]
    fn a_valid_input_is_normalised() {
        let m = sample().validate().unwrap();
        assert_eq!(m.name, "Annapurna FRK Industries");
        assert_eq!(m.contact.phone, "+919848012345");
        assert_eq!(m.commodity, Commodity::Frk);
        assert_eq!(m.states, ["AP", "TG"]);
        assert_eq!(time_fmt::date::format(m.licence_valid_until), "2027-03-31");
    }

    #[test]
    fn no_states_means_the_units_own_state() {
        let input = ManufacturerInput {
            states: vec![],
            ..sample()
        };
        assert_eq!(input.validate().unwrap().states, ["AP"]);
    }

    #[test]
    fn every_bad_field_is_reported_under_its_json_name() {
        let input = ManufacturerInput {
            name: "  ".into(),
            fssai_licence: "1234".into(),
            licence_valid_until: "2027-02-30".into(),
            address: String::new(),
            district: "x".repeat(201),
            state: "ap".into(),
            pincode: "012345".into(),
            contact: ContactInput {
                name: String::new(),
                phone: "12345".into(),
                email: "not-an-address".into(),
            },
            commodity: "rice".into(),
            states: vec!["AP".into(), "t g".into()],
        };
        let fields: Vec<String> = input
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            [
                "name",
                "fssai_licence",
                "licence_valid_until",
                "address",
                "district",
                "state",
                "pincode",
                "contact.name",
                "contact.phone",
                "contact.email",
                "commodity",
                "states[1]",
            ]
        );
    }

    #[test]
    fn a_missing_field_reads_as_empty_and_is_required() {
        let input: ManufacturerInput =
            serde_json::from_str(r#"{"name": "A", "contact": {"name": "B"}}"#).unwrap();
        let errors = input.validate().unwrap_err();
        assert!(errors.iter().any(|e| e.field == "fssai_licence"));
        assert!(errors.iter().any(|e| e.field == "contact.email"));
        assert!(!errors.iter().any(|e| e.field == "name"));
    }

    #[test]
    fn a_validated_manufacturer_reads_back_as_the_same_input() {
        let m = sample().validate().unwrap();
        assert_eq!(ManufacturerInput::from(&m).validate().unwrap(), m);
    }
}
