//! Conformance: the key sets (rotation replaces them only over the set it expected; the
//! public keys are published with the private set; lists are newest first).

use super::{Run, now_ms};
use crate::keys::{KeyRotation, PublicKey, PublicKeys, SigningKey, SigningKeys};

fn same(a: &[SigningKey], b: &[SigningKey]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.kid == y.kid
                && x.pkcs8_der == y.pkcs8_der
                && x.created_at == y.created_at
                && x.not_before == y.not_before
        })
}

fn kids(keys: &[SigningKey]) -> Vec<String> {
    keys.iter().map(|k| k.kid.clone()).collect()
}

fn public(kid: &str) -> PublicKey {
    PublicKey {
        kid: kid.to_string(),
        x: format!("x-of-{kid}"),
        y: format!("y-of-{kid}"),
    }
}

/// Two rotations over a key store that starts empty (a fresh one: the suite needs to own it).
pub async fn keys_suite<K>(keys: &K)
where
    K: SigningKeys + PublicKeys + KeyRotation,
{
    let run = Run::new();
    assert!(
        keys.signing_keys().await.expect("signing_keys").is_empty(),
        "the suite needs an empty key store"
    );
    assert!(keys.public_keys().await.expect("public_keys").is_empty());
    let at = i64::try_from(now_ms() / 1000).unwrap_or(0);
    let first = SigningKey {
        kid: format!("kid-a-{}", run.tag),
        pkcs8_der: (0u8..=255).chain([0, 255, 1]).collect(),
        created_at: at,
        not_before: at,
    };
    assert!(
        keys.replace_keys(&[], std::slice::from_ref(&first), &[public(&first.kid)])
            .await
            .expect("the first rotation"),
        "the first key goes into an empty set"
    );
    let listed = keys.signing_keys().await.expect("signing_keys");
    assert!(
        same(&listed, std::slice::from_ref(&first)),
        "{:?}",
        kids(&listed)
    );
    assert_eq!(
        keys.public_keys().await.expect("public_keys"),
        vec![public(&first.kid)]
    );

    // A rotation that read the set before the first one landed changes nothing.
    let stale = SigningKey {
        kid: format!("kid-stale-{}", run.tag),
        pkcs8_der: vec![9],
        created_at: at + 1,
        not_before: at + 1,
    };
    assert!(
        !keys
            .replace_keys(&[], std::slice::from_ref(&stale), &[public(&stale.kid)])
            .await
            .expect("a stale rotation"),
        "a rotation over a set that changed must be refused"
    );

    let second = SigningKey {
        kid: format!("kid-b-{}", run.tag),
        pkcs8_der: vec![1, 2, 3],
        created_at: at + 10,
        not_before: at + 3600,
    };
    let set = [second.clone(), first.clone()];
    assert!(
        keys.replace_keys(
            std::slice::from_ref(&first.kid),
            &set,
            &[public(&second.kid), public(&first.kid)]
        )
        .await
        .expect("the second rotation")
    );
    let listed = keys.signing_keys().await.expect("signing_keys");
    assert!(same(&listed, &set), "newest first: {:?}", kids(&listed));
    let mut published: Vec<String> = keys
        .public_keys()
        .await
        .expect("public_keys")
        .into_iter()
        .map(|k| k.kid)
        .collect();
    published.sort();
    let mut expected = vec![first.kid.clone(), second.kid.clone()];
    expected.sort();
    assert_eq!(published, expected);
}
