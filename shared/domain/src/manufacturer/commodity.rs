//! What a manufacturer of the fortified-rice programme makes: fortified rice kernels (FRK), the
//! vitamin-mineral premix FRK is made of, or fortified rice itself (millers, blending FRK in).

use serde::{Deserialize, Serialize};

/// A manufacturer's commodity, written `FRK`, `Premix` or `FortifiedRice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Commodity {
    /// Fortified rice kernels.
    #[serde(rename = "FRK")]
    Frk,
    /// Vitamin-mineral premix for FRK.
    Premix,
    /// Fortified rice (a miller blending FRK into rice).
    FortifiedRice,
}

impl Commodity {
    /// Every commodity, in a stable order.
    pub const ALL: [Commodity; 3] = [Commodity::Frk, Commodity::Premix, Commodity::FortifiedRice];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Commodity::Frk => "FRK",
            Commodity::Premix => "Premix",
            Commodity::FortifiedRice => "FortifiedRice",
        }
    }

    /// Parses a commodity as people write it: the wire name in any case, blanks, `-` and `_`
    /// ignored (`frk`, `PREMIX`, `Fortified Rice`, `fortified_rice`).
    pub fn parse(text: &str) -> Option<Commodity> {
        let key: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '_')
            .flat_map(char::to_lowercase)
            .collect();
        Commodity::ALL
            .into_iter()
            .find(|c| c.as_str().to_lowercase() == key)
    }
}

impl std::fmt::Display for Commodity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commodities_are_read_as_people_write_them() {
        assert_eq!(Commodity::parse("frk"), Some(Commodity::Frk));
        assert_eq!(Commodity::parse(" PREMIX "), Some(Commodity::Premix));
        assert_eq!(
            Commodity::parse("Fortified Rice"),
            Some(Commodity::FortifiedRice)
        );
        assert_eq!(Commodity::parse("rice"), None);
        assert_eq!(Commodity::parse(""), None);
    }

    #[test]
    fn commodities_are_written_by_their_wire_names() {
        for c in Commodity::ALL {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{}\"", c.as_str()));
            assert_eq!(serde_json::from_str::<Commodity>(&json).unwrap(), c);
        }
    }
}
