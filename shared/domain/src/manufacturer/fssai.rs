//! The FSSAI licence number: the one key that makes a manufacturer unique across every platform
//! in India (seed 000), so it is checked once here and trusted everywhere after.

use crate::ids::RequestId;
use crate::text::text_newtype;

text_newtype!(
    /// An FSSAI licence number: exactly 14 ASCII digits (`10014011000123`).
    FssaiLicence
);

impl FssaiLicence {
    /// How many digits a licence number has.
    pub const LEN: usize = 14;

    /// Parses a licence number a request or a spreadsheet names (surrounding blanks ignored).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let ok = text.len() == Self::LEN && text.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| Self(text.to_owned()))
    }
}

/// A licence number in a path (`/v1/manufacturers/{id}`): exactly 14 digits, nothing around
/// them; anything else names no manufacturer.
impl RequestId for FssaiLicence {
    const NAME: &'static str = "an FSSAI licence number";
    const RESOURCE: &'static str = "manufacturer";
    const SHAPE: &'static str = "the FSSAI licence number, 14 digits";
    const PATTERN: &'static str = "^[0-9]{14}$";
    fn parse_request(text: &str) -> Option<Self> {
        (text.trim() == text).then(|| Self::parse(text)).flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_licence_number_is_exactly_fourteen_digits() {
        assert_eq!(
            FssaiLicence::parse(" 10014011000123 ").map(FssaiLicence::into_string),
            Some("10014011000123".into())
        );
        for bad in [
            "",
            "1001401100012",
            "100140110001234",
            "1001401100012a",
            "10014 11000123",
            "١٠٠١٤٠١١٠٠٠١٢٣",
        ] {
            assert!(FssaiLicence::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_licence_number_is_written_as_a_plain_string() {
        let l = FssaiLicence::parse("10014011000123").unwrap();
        assert_eq!(serde_json::to_string(&l).unwrap(), r#""10014011000123""#);
    }
}
