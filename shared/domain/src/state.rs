//! State codes: which state an event belongs to ([`StateCode`]), and which states a client or a
//! subscription covers ([`StatePattern`]: a code, or `*` for every state).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ValidationError;
use crate::text::text_newtype;

text_newtype!(
    /// One state's code: 2–8 upper-case letters or digits (`AP`, `TG`, `GRP1`).
    StateCode
);

impl StateCode {
    /// Parses a state code a request names.
    pub fn parse(text: &str) -> Option<Self> {
        let ok = (2..=8).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        ok.then(|| Self(text.to_owned()))
    }
}

/// What a client's or a subscription's state list holds: one state, or `*` for all of them.
/// Written as the code or `*`, as a plain string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatePattern {
    /// Every state (`*`).
    Any,
    /// One state.
    Code(StateCode),
}

impl StatePattern {
    /// How every state is written.
    pub const ANY: &'static str = "*";

    /// Parses `*` or a state code.
    pub fn parse(text: &str) -> Option<Self> {
        if text == Self::ANY {
            Some(StatePattern::Any)
        } else {
            StateCode::parse(text).map(StatePattern::Code)
        }
    }

    /// A pattern read back from Hookline's own records, unchecked (as deserialising is): never
    /// for text a request carries.
    pub fn from_stored(text: impl Into<String>) -> Self {
        let text = text.into();
        if text == Self::ANY {
            StatePattern::Any
        } else {
            StatePattern::Code(StateCode::from_stored(text))
        }
    }

    /// Parses the entry `field` of a request, as [`StatePattern::parse`], with the error a
    /// caller answers.
    pub fn parse_field(field: &str, text: &str) -> Result<Self, ValidationError> {
        Self::parse(text).ok_or_else(|| {
            ValidationError::invalid(
                field,
                "a state code is 2-8 upper-case letters or digits (e.g. AP), or *",
            )
        })
    }

    /// `patterns` as a list says them: `AP,TG`.
    pub fn join(patterns: &[StatePattern]) -> String {
        let texts: Vec<&str> = patterns.iter().map(StatePattern::as_str).collect();
        texts.join(",")
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        match self {
            StatePattern::Any => Self::ANY,
            StatePattern::Code(code) => code.as_str(),
        }
    }

    /// Whether the pattern covers `state` (`*` covers every state; a code, only itself).
    pub fn covers(&self, state: &str) -> bool {
        match self {
            StatePattern::Any => true,
            StatePattern::Code(code) => code.as_str() == state,
        }
    }
}

impl std::ops::Deref for StatePattern {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for StatePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for StatePattern {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for StatePattern {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<StateCode> for StatePattern {
    fn from(code: StateCode) -> Self {
        StatePattern::Code(code)
    }
}

impl Serialize for StatePattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Trusts its source, as the ids do: `*` is every state, anything else a stored code.
impl<'de> Deserialize<'de> for StatePattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Self::from_stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_codes_are_two_to_eight_upper_case_letters_or_digits() {
        for ok in ["AP", "TG", "GRP1", "ABCDEFGH"] {
            assert_eq!(
                StateCode::parse(ok).map(|c| c.into_string()),
                Some(ok.into())
            );
        }
        for bad in ["", "A", "ap", "ABCDEFGHI", "A-P", "*", "AP "] {
            assert!(StateCode::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn a_pattern_is_a_code_or_every_state() {
        assert_eq!(StatePattern::parse("*"), Some(StatePattern::Any));
        let ap = StatePattern::parse("AP").unwrap();
        assert!(ap.covers("AP") && !ap.covers("TG"));
        assert!(StatePattern::Any.covers("TG"));
        assert!(StatePattern::parse("**").is_none());
        let err = StatePattern::parse_field("states[1]", "ap").unwrap_err();
        assert_eq!(err.errors[0].field, "states[1]");
    }

    #[test]
    fn patterns_are_written_as_plain_strings() {
        let list = vec![StatePattern::Any, StatePattern::parse("AP").unwrap()];
        let json = serde_json::to_string(&list).unwrap();
        assert_eq!(json, r#"["*","AP"]"#);
        assert_eq!(
            serde_json::from_str::<Vec<StatePattern>>(&json).unwrap(),
            list
        );
    }
}
