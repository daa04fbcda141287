//! Conformance: claims (`claim_delivery`). Whether a store writes a claim or holds it in
//! memory, what every caller sees is the same: one claim per version, the owner's outcome
//! over the claim's version + 1, no other write let through meanwhile, and a claim whose
//! outcome never came on record, as claimed, before the next attempt is claimed.

use std::time::Duration;

use hookline_domain::delivery::Attempt;
use hookline_domain::{Delivery, DeliveryId, DeliveryStatus, SubscriptionId};
use time::OffsetDateTime;

use super::deliveries::delivery;
use super::{Run, at_ms, both};
use crate::error::PortError;
use crate::store::{Claim, Store};

/// The lease of every claim here.
const LEASE: Duration = Duration::from_secs(10);

/// A fresh delivery, inserted as fan-out inserts them.
async fn inserted(store: &dyn Store, run: &Run) -> Delivery {
    let d = delivery(
        &run.event_id(),
        &run.subscription_id(),
        &run.client_id(),
        run.start_ms,
    );
    let created = store
        .insert_deliveries(std::slice::from_ref(&d))
        .await
        .expect("insert_deliveries");
    assert_eq!(created, vec![true]);
    d
}

/// The claim of `d`'s next attempt, made at `at`, as a worker makes it.
fn claim_of(d: &Delivery, at: OffsetDateTime) -> Delivery {
    let mut claim = d.clone();
    claim.next_attempt_at = Some(at + LEASE);
    claim.record_attempt(Attempt::under_way(d.next_attempt_number(), at));
    claim
}

/// The outcome its owner writes over a claim of `d` made at `at`: `d` as the worker holds it
/// (version + 1), with its attempt.
fn outcome_of(d: &Delivery, at: OffsetDateTime) -> Delivery {
    let mut outcome = d.clone();
    outcome.version += 1;
    outcome.record_attempt(Attempt {
        attempt: d.next_attempt_number(),
        at,
        status_code: Some(200),
        duration_ms: 3,
        error: None,
        response_excerpt: String::new(),
        request_excerpt: String::new(),
    });
    outcome.status = DeliveryStatus::Succeeded;
    outcome.next_attempt_at = None;
    outcome
}

async fn claim(store: &dyn Store, claim: &Delivery, at: OffsetDateTime) -> Claim {
    store
        .claim_delivery(claim.clone(), at)
        .await
        .expect("claim_delivery")
}

async fn stored(store: &dyn Store, id: &DeliveryId) -> Delivery {
    store
        .get_delivery(id)
        .await
        .expect("get_delivery")
        .expect("the delivery is stored")
}

/// Two claims over one version, side by side: one is the caller's; the owner's outcome ends
/// the claim, and the delivery is then as if the claim had been written.
pub(super) async fn one_claim_per_version(store: &dyn Store, run: &Run) {
    let d = inserted(store, run).await;
    let at = at_ms(run.start_ms + 10);
    let (a, b) = both(
        claim(store, &claim_of(&d, at), at),
        claim(store, &claim_of(&d, at), at),
    )
    .await;
    let claimed = [a, b].iter().filter(|c| **c == Claim::Claimed).count();
    assert_eq!(
        claimed, 1,
        "one of two claims over one version: {a:?}, {b:?}"
    );
    assert!(
        claim(store, &claim_of(&d, at), at + Duration::from_secs(1)).await != Claim::Claimed,
        "a claim over the same version while the lease lasts must not succeed"
    );

    let outcome = outcome_of(&d, at);
    assert!(
        store
            .update_delivery(&outcome)
            .await
            .expect("update_delivery"),
        "the owner writes its outcome over the claim's version + 1"
    );
    let mut want = outcome.clone();
    want.version += 1;
    assert_eq!(
        stored(store, &d.id).await,
        want,
        "the outcome is stored at the version after it, as over a written claim"
    );
    assert_eq!(
        claim(store, &claim_of(&d, at), at).await,
        Claim::Changed,
        "a claim over the version before the outcome finds it changed"
    );
    let missing = claim_of(
        &delivery(
            &run.event_id(),
            &SubscriptionId::new(run.start_ms),
            &run.client_id(),
            run.start_ms,
        ),
        at,
    );
    assert!(
        matches!(
            store.claim_delivery(missing, at).await,
            Err(PortError::NotFound)
        ),
        "a claim of an unknown delivery must be NotFound"
    );
}

/// While a claim holds, no other write over the version it was made over goes through; the
/// claim is then on record as it was made.
pub(super) async fn no_write_beside_a_claim(store: &dyn Store, run: &Run) {
    let d = inserted(store, run).await;
    let at = at_ms(run.start_ms + 10);
    let made = claim_of(&d, at);
    assert_eq!(claim(store, &made, at).await, Claim::Claimed);
    let mut abandoned = d.clone();
    abandoned.status = DeliveryStatus::Failed;
    assert!(
        !store
            .update_delivery(&abandoned)
            .await
            .expect("update_delivery"),
        "a write over the claimed version must change nothing"
    );
    let mut want = made;
    want.version += 1;
    assert_eq!(
        stored(store, &d.id).await,
        want,
        "the claim is on record, its attempt under way"
    );
    assert!(
        store
            .update_delivery(&outcome_of(&d, at))
            .await
            .expect("update_delivery"),
        "the owner still writes its outcome"
    );
}

/// A claim whose outcome never came (the request sent, the store failing): once its lease
/// has ended, a redelivered message finds it on record, under way, and claims the next
/// attempt exactly once.
pub(super) async fn a_lapsed_claim_is_on_record(store: &dyn Store, run: &Run) {
    let d = inserted(store, run).await;
    let at = at_ms(run.start_ms + 10);
    let lost = claim_of(&d, at);
    assert_eq!(claim(store, &lost, at).await, Claim::Claimed);

    let later = at + LEASE + Duration::from_secs(1);
    assert_eq!(
        claim(store, &claim_of(&d, later), later).await,
        Claim::Changed,
        "after the lease, a claim over the version before the lost one finds it changed"
    );
    let read = stored(store, &d.id).await;
    let mut want = lost;
    want.version += 1;
    assert_eq!(read, want, "the lost attempt is on record, under way");

    let retry = claim_of(&read, later);
    let (a, b) = both(claim(store, &retry, later), claim(store, &retry, later)).await;
    let claimed = [a, b].iter().filter(|c| **c == Claim::Claimed).count();
    assert_eq!(claimed, 1, "the next attempt is claimed once: {a:?}, {b:?}");
    assert!(
        store
            .update_delivery(&outcome_of(&read, later))
            .await
            .expect("update_delivery")
    );
    let done = stored(store, &d.id).await;
    assert_eq!(done.status, DeliveryStatus::Succeeded);
    assert_eq!(
        done.attempt_count(),
        2,
        "the lost attempt and the one that succeeded"
    );
    assert!(done.attempts[0].error.is_some(), "the lost one says why");
}
