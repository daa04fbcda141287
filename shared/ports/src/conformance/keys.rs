//! Conformance: the signing-key set (only the first key of an empty set is stored).

use hookline_domain::ids;

use super::{Run, now_ms};
use crate::keys::{KeyStore, SigningKey};

fn same(a: &[SigningKey], b: &[SigningKey]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.kid == y.kid && x.pkcs8_der == y.pkcs8_der && x.created_at == y.created_at
        })
}

fn kids(keys: &[SigningKey]) -> Vec<&str> {
    keys.iter().map(|k| k.kid.as_str()).collect()
}

/// `init_signing_key` stores a key only into an empty set, and every call agrees on the set.
///
/// On a store that already holds keys (a shared emulator) it checks that nothing is added.
pub async fn keys_suite(keys: &dyn KeyStore) {
    let run = Run::new();
    let before = keys.signing_keys().await.expect("signing_keys");
    let created_at = i64::try_from(now_ms() / 1000).unwrap_or(0);
    let first = SigningKey {
        kid: format!("kid-{}", run.tag),
        pkcs8_der: (0u8..=255).chain([0, 255, 1]).collect(),
        created_at,
    };
    let after_first = keys
        .init_signing_key(first.clone())
        .await
        .expect("init_signing_key");
    if before.is_empty() {
        assert!(
            same(&after_first, std::slice::from_ref(&first)),
            "init_signing_key on an empty set must store the key and return it alone, got {:?}",
            kids(&after_first)
        );
    } else {
        assert!(
            same(&after_first, &before),
            "init_signing_key on a non-empty set must change nothing, got {:?}",
            kids(&after_first)
        );
    }

    let second = SigningKey {
        kid: ids::new_id("kid-", now_ms()),
        pkcs8_der: vec![1, 2, 3],
        created_at: created_at + 10,
    };
    let after_second = keys
        .init_signing_key(second)
        .await
        .expect("init_signing_key (second)");
    assert!(
        same(&after_second, &after_first),
        "a second init_signing_key must not add a key, got {:?}",
        kids(&after_second)
    );
    let listed = keys.signing_keys().await.expect("signing_keys");
    assert!(
        same(&listed, &after_first),
        "signing_keys must return the set init_signing_key reported, got {:?}",
        kids(&listed)
    );
    assert!(
        listed
            .windows(2)
            .all(|w| w[0].created_at >= w[1].created_at),
        "signing_keys must be newest first"
    );
}
