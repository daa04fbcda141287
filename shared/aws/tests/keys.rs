//! The Secrets Manager key store against moto: the port's conformance suite on a secret that
//! does not exist yet and on secrets the template pre-created empty, and concurrent first
//! starts converging on one key.

mod support;

use std::time::Duration;

use hookline_aws::SecretsKeyStore;
use hookline_ports::{KeyStore, SigningKey};
use support::moto::{Moto, unique};

/// How the template may leave the secret before the first start.
#[derive(Debug, Clone, Copy)]
enum Before {
    /// No secret at all.
    Missing,
    /// A secret without a value.
    NoValue,
    /// A secret holding an empty key set.
    EmptySet,
}

const EVERY_START: [Before; 3] = [Before::Missing, Before::NoValue, Before::EmptySet];

async fn client(moto: &Moto) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await)
}

/// A fresh secret id, prepared as `before`.
async fn secret(client: &aws_sdk_secretsmanager::Client, before: Before) -> String {
    let id = unique("hookline/signing-keys");
    let create = client.create_secret().name(&id);
    match before {
        Before::Missing => return id,
        Before::NoValue => create.send().await,
        Before::EmptySet => create.secret_string(r#"{"keys":[]}"#).send().await,
    }
    .expect("pre-create the secret");
    id
}

fn key(kid: &str, created_at: i64) -> SigningKey {
    SigningKey {
        kid: kid.into(),
        pkcs8_der: kid.bytes().collect(),
        created_at,
    }
}

fn kids(keys: &[SigningKey]) -> Vec<&str> {
    keys.iter().map(|k| k.kid.as_str()).collect()
}

#[tokio::test]
async fn keys_pass_the_conformance_suite_on_secrets_manager() {
    let moto = Moto::start();
    let client = client(&moto).await;
    for before in EVERY_START {
        let id = secret(&client, before).await;
        let store = SecretsKeyStore::new(client.clone(), &id);
        hookline_ports::conformance::keys_suite(&store).await;
        // Again, on the now non-empty set, through a store with a cold cache.
        let cold = SecretsKeyStore::new(client.clone(), &id).with_cache_ttl(Duration::ZERO);
        hookline_ports::conformance::keys_suite(&cold).await;
    }
}

#[tokio::test]
async fn concurrent_first_starts_agree_on_one_key() {
    let moto = Moto::start();
    let client = client(&moto).await;
    for before in EVERY_START {
        let id = secret(&client, before).await;
        let a = SecretsKeyStore::new(client.clone(), &id);
        let b = SecretsKeyStore::new(client.clone(), &id);
        let (from_a, from_b) = tokio::join!(
            a.init_signing_key(key("kid-a", 1)),
            b.init_signing_key(key("kid-b", 2)),
        );
        let (from_a, from_b) = (from_a.expect("init a"), from_b.expect("init b"));
        assert_eq!(kids(&from_a).len(), 1, "{before:?}: {:?}", kids(&from_a));
        assert_eq!(kids(&from_a), kids(&from_b), "{before:?}");
        let stored = SecretsKeyStore::new(client.clone(), &id)
            .signing_keys()
            .await
            .expect("signing_keys");
        assert_eq!(
            kids(&stored),
            kids(&from_a),
            "{before:?}: the stored set won"
        );
        assert_eq!(stored[0].pkcs8_der, from_a[0].pkcs8_der);
    }
}

#[tokio::test]
async fn a_missing_secret_has_no_keys() {
    let moto = Moto::start();
    let store = SecretsKeyStore::new(client(&moto).await, unique("hookline/none"));
    let keys = store.signing_keys().await.expect("signing_keys");
    assert!(keys.is_empty());
}

#[tokio::test]
async fn the_key_set_is_cached_for_its_lifetime() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let id = secret(&client, Before::Missing).await;
    let cached = SecretsKeyStore::new(client.clone(), &id);
    let uncached = SecretsKeyStore::new(client.clone(), &id).with_cache_ttl(Duration::ZERO);
    cached
        .init_signing_key(key("kid-first", 1))
        .await
        .expect("init");
    // A rotation elsewhere adds a newer key.
    let rotated = r#"{"keys":[{"kid":"kid-second","pkcs8_der_b64":"AQID","created_at":2},{"kid":"kid-first","pkcs8_der_b64":"AQID","created_at":1}]}"#;
    client
        .put_secret_value()
        .secret_id(&id)
        .secret_string(rotated)
        .send()
        .await
        .expect("rotate");
    let from_cache = cached.signing_keys().await.expect("signing_keys");
    assert_eq!(kids(&from_cache), ["kid-first"]);
    let fresh = uncached.signing_keys().await.expect("signing_keys");
    assert_eq!(kids(&fresh), ["kid-second", "kid-first"]);
}

#[tokio::test]
async fn a_secret_that_is_not_a_key_set_is_an_error_that_does_not_quote_it() {
    let moto = Moto::start();
    let client = client(&moto).await;
    let id = unique("hookline/garbled");
    client
        .create_secret()
        .name(&id)
        .secret_string("TOPSECRET-not-json")
        .send()
        .await
        .expect("create");
    let store = SecretsKeyStore::new(client, &id);
    let err = store.signing_keys().await.expect_err("not a key set");
    let text = err.to_string();
    assert!(text.contains("not a key set"), "{text}");
    assert!(!text.contains("TOPSECRET"), "{text}");
}
