//! The JWT keys in Secrets Manager (moto): the key ports' conformance suite, and Secrets
//! Manager's rotation carried out step by step as the service drives the `keys` function — the
//! first key at deploy time, then a new key published an hour before it signs, the old one
//! verifying until its tokens expire, every step safe to run twice. moto cannot invoke a
//! rotation Lambda itself, so the test plays the service.

mod support;

use std::sync::Arc;

use hookline_aws::SecretsKeys;
use hookline_aws::keys::{RotationStep, rotation_step};
use hookline_handlers::auth::keys::{JwtKeys, KeySource};
use hookline_handlers::auth::rotation::RotationPolicy;
use hookline_ports::{PublicKeys, SigningKeys};
use support::moto::{Moto, unique};

/// The two key secrets as the template creates them: existing, holding empty sets.
async fn fresh_keys(moto: &Moto) -> (aws_sdk_secretsmanager::Client, SecretsKeys) {
    let client = aws_sdk_secretsmanager::Client::new(&moto.sdk_config().await);
    let signing = unique("hookline/signing-keys");
    let public = unique("hookline/public-keys");
    for name in [&signing, &public] {
        client
            .create_secret()
            .name(name)
            .secret_string(r#"{"keys":[]}"#)
            .send()
            .await
            .expect("create the secret");
    }
    let keys = SecretsKeys::new(client.clone(), signing, public);
    (client, keys)
}

/// One rotation as Secrets Manager runs it: the four steps for a new version, each twice.
async fn rotate(keys: &SecretsKeys, secret: &str, token: &str, now: i64) {
    let policy = RotationPolicy::default();
    for step in [
        RotationStep::CreateSecret,
        RotationStep::SetSecret,
        RotationStep::TestSecret,
        RotationStep::FinishSecret,
    ] {
        for _ in 0..2 {
            rotation_step(keys, secret, token, step, now, &policy)
                .await
                .unwrap_or_else(|e| panic!("{step:?}: {e}"));
        }
    }
}

#[tokio::test]
async fn key_ports_pass_the_conformance_suite_on_secrets_manager() {
    let moto = Moto::start();
    let (_, keys) = fresh_keys(&moto).await;
    hookline_ports::conformance::keys_suite(&keys).await;
}

#[tokio::test]
async fn a_rotation_publishes_the_new_key_before_it_signs_and_keeps_the_old_one_verifying() {
    let moto = Moto::start();
    let (client, keys) = fresh_keys(&moto).await;
    let secret =
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:".to_string() + &signing_name(&keys);
    let now = 1_800_000_000;

    // At deploy time: the first key, signing at once.
    rotate(&keys, &secret, "00000000-0000-4000-8000-000000000001", now).await;
    let first = keys.signing_keys().await.expect("keys");
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].not_before, now);
    assert_eq!(
        kids_of(&keys.public_keys().await.expect("public keys")),
        vec![first[0].kid.clone()]
    );

    // A day later: a second key, published now, signing an hour later.
    let later = now + 86_400;
    rotate(
        &keys,
        &secret,
        "00000000-0000-4000-8000-000000000002",
        later,
    )
    .await;
    let set = keys.signing_keys().await.expect("keys");
    assert_eq!(set.len(), 2, "the old key stays");
    let (new, old) = (&set[0], &set[1]);
    assert_eq!(old.kid, first[0].kid);
    assert_eq!(new.not_before, later + 3600);
    let mut published = kids_of(&keys.public_keys().await.expect("public keys"));
    published.sort();
    let mut both = vec![new.kid.clone(), old.kid.clone()];
    both.sort();
    assert_eq!(published, both, "both keys are published");

    let signer = JwtKeys::load(KeySource::Signing(Arc::new(keys.clone())))
        .await
        .expect("signing keys");
    assert_eq!(
        signer.signer(later).await.map(|s| s.kid),
        Some(old.kid.clone())
    );
    assert_eq!(
        signer.signer(later + 3600).await.map(|s| s.kid),
        Some(new.kid.clone())
    );
    let verifier = JwtKeys::load(KeySource::Published(Arc::new(keys.clone())))
        .await
        .expect("public keys");
    assert!(verifier.decoding_key(&old.kid).await.is_some());
    assert!(verifier.decoding_key(&new.kid).await.is_some());

    // Long after the new key took over, the next rotation drops the old one.
    rotate(
        &keys,
        &secret,
        "00000000-0000-4000-8000-000000000003",
        later + 86_400,
    )
    .await;
    let kids = kids_of_private(&keys.signing_keys().await.expect("keys"));
    assert_eq!(kids.len(), 2);
    assert!(!kids.contains(&old.kid), "retired: {kids:?}");
    assert!(kids.contains(&new.kid));
    assert!(!kids_of(&keys.public_keys().await.expect("public keys")).contains(&old.kid));

    // The private secret's versions: the last rotation is current.
    let described = client
        .describe_secret()
        .secret_id(signing_name(&keys))
        .send()
        .await
        .expect("describe");
    let stages = described
        .version_ids_to_stages()
        .cloned()
        .unwrap_or_default();
    let current: Vec<&String> = stages
        .iter()
        .filter(|(_, s)| s.iter().any(|x| x == "AWSCURRENT"))
        .map(|(id, _)| id)
        .collect();
    assert_eq!(current, vec!["00000000-0000-4000-8000-000000000003"]);
}

#[tokio::test]
async fn a_rotation_refuses_another_stacks_secret() {
    let moto = Moto::start();
    let (_, keys) = fresh_keys(&moto).await;
    let err = rotation_step(
        &keys,
        "arn:aws:secretsmanager:us-east-1:1:secret:someone-else",
        "00000000-0000-4000-8000-000000000009",
        RotationStep::CreateSecret,
        1,
        &RotationPolicy::default(),
    )
    .await
    .expect_err("not ours");
    assert!(err.to_string().contains("not this stack's"), "{err}");
}

fn signing_name(keys: &SecretsKeys) -> String {
    keys.signing_secret().to_string()
}

fn kids_of(keys: &[hookline_ports::PublicKey]) -> Vec<String> {
    keys.iter().map(|k| k.kid.clone()).collect()
}

fn kids_of_private(keys: &[hookline_ports::SigningKey]) -> Vec<String> {
    keys.iter().map(|k| k.kid.clone()).collect()
}
