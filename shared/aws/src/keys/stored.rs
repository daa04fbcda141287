//! The JSON of the two key secrets: the private key set and the public JWKS document, read
//! and written without ever quoting a key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hookline_ports::{PortError, PublicKey, SigningKey};
use serde::{Deserialize, Serialize};

/// The private secret's JSON. No `Debug`: it holds the private keys.
#[derive(Serialize, Deserialize, Default)]
struct StoredKeySet {
    #[serde(default)]
    keys: Vec<StoredKey>,
}

/// One key in the private secret's JSON.
#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    pkcs8_der_b64: String,
    created_at: i64,
    #[serde(default)]
    not_before: Option<i64>,
}

/// The public secret's JSON: a JWKS document.
#[derive(Deserialize, Default)]
struct StoredJwks {
    #[serde(default)]
    keys: Vec<StoredJwk>,
}

#[derive(Deserialize)]
struct StoredJwk {
    kid: String,
    x: String,
    y: String,
}

/// A secret's JSON value; `None` for no value or a blank one. The error says `what` and where
/// the JSON went wrong, never the value (serde_json's message may quote what it choked on).
fn parse_secret<T: serde::de::DeserializeOwned>(
    secret_string: Option<&str>,
    what: &str,
) -> Result<Option<T>, PortError> {
    let text = secret_string.unwrap_or("").trim();
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text).map(Some).map_err(|e| {
        PortError::backend(format!(
            "{what} ({:?} error at line {}, column {})",
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

/// The key set in the private secret's value; no value, or a blank one, is an empty set.
pub(super) fn decode(secret_string: Option<&str>) -> Result<Vec<SigningKey>, PortError> {
    let Some(set) =
        parse_secret::<StoredKeySet>(secret_string, "the signing-key secret is not a key set")?
    else {
        return Ok(Vec::new());
    };
    let mut keys = set
        .keys
        .into_iter()
        .map(|k| {
            let pkcs8_der = BASE64.decode(k.pkcs8_der_b64.as_bytes()).map_err(|_| {
                PortError::backend(format!(
                    "signing key {}: pkcs8_der_b64 is not base64",
                    k.kid
                ))
            })?;
            Ok(SigningKey {
                not_before: k.not_before.unwrap_or(k.created_at),
                kid: k.kid,
                pkcs8_der,
                created_at: k.created_at,
            })
        })
        .collect::<Result<Vec<_>, PortError>>()?;
    // The port promises newest first, whoever wrote the secret.
    keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
    Ok(keys)
}

/// The public keys in the public secret's value (a JWKS document).
pub(super) fn decode_public(secret_string: Option<&str>) -> Result<Vec<PublicKey>, PortError> {
    let Some(set) = parse_secret::<StoredJwks>(
        secret_string,
        "the public-key secret is not a JWKS document",
    )?
    else {
        return Ok(Vec::new());
    };
    Ok(set
        .keys
        .into_iter()
        .map(|k| PublicKey {
            kid: k.kid,
            x: k.x,
            y: k.y,
        })
        .collect())
}

/// The private secret's value holding `keys`.
pub(super) fn encode(keys: &[SigningKey]) -> Result<String, PortError> {
    let set = StoredKeySet {
        keys: keys
            .iter()
            .map(|k| StoredKey {
                kid: k.kid.clone(),
                pkcs8_der_b64: BASE64.encode(&k.pkcs8_der),
                created_at: k.created_at,
                not_before: Some(k.not_before),
            })
            .collect(),
    };
    serde_json::to_string(&set)
        .map_err(|_| PortError::backend("the signing-key set does not serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, created_at: i64) -> SigningKey {
        SigningKey {
            kid: kid.into(),
            pkcs8_der: vec![0, 1, 254, 255],
            created_at,
            not_before: created_at + 5,
        }
    }

    #[test]
    fn a_key_set_survives_encoding_and_comes_back_newest_first() {
        let text = encode(&[key("old", 1), key("new", 2)]).unwrap_or_default();
        let back = decode(Some(&text)).unwrap_or_default();
        let kids: Vec<&str> = back.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, ["new", "old"]);
        assert_eq!(back[0].not_before, 7);
        assert!(decode(Some("  ")).is_ok_and(|k| k.is_empty()));
        assert!(decode(Some(r#"{"keys":[]}"#)).is_ok_and(|k| k.is_empty()));
        // A set written before keys had `not_before` signs from its creation.
        let legacy = r#"{"keys":[{"kid":"k","pkcs8_der_b64":"AAE=","created_at":9}]}"#;
        assert_eq!(decode(Some(legacy)).unwrap_or_default()[0].not_before, 9);
    }

    #[test]
    fn a_malformed_secret_is_an_error_that_does_not_quote_it() {
        let err = decode(Some(
            r#"{"keys":[{"kid":"k","pkcs8_der_b64":"TOPSECRET","created_at":"TOPSECRET"}]}"#,
        ));
        let text = err.map(|_| String::new()).unwrap_or_else(|e| e.to_string());
        assert!(text.contains("not a key set"), "{text}");
        assert!(!text.contains("TOPSECRET"), "{text}");
    }
}
