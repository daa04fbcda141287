//! Claims held in memory (`EmbeddedBackend::holding_claims_in_memory`, the local runner's
//! store): the claim of a delivery this process inserted is not written, yet every caller
//! sees what a written claim gives, and a restart, which forgets the held claims, still lets
//! the redelivered message claim exactly once. (The contract itself is the conformance
//! suite's, which runs on such a store too.)

use std::path::Path;
use std::time::Duration;

use hookline_domain::delivery::Attempt;
use hookline_domain::{ClientId, Delivery, DeliveryId, DeliveryStatus, EventId, SubscriptionId};
use hookline_embedded::{EmbeddedBackend, QueueOptions};
use hookline_ports::{Claim, DeliveryStore};
use time::OffsetDateTime;

fn open(dir: &Path, in_memory: bool) -> EmbeddedBackend {
    let backend = EmbeddedBackend::open(dir, QueueOptions::default()).expect("open");
    if in_memory {
        backend.holding_claims_in_memory()
    } else {
        backend
    }
}

fn new_delivery() -> Delivery {
    let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("a time");
    let event = EventId::new(1_800_000_000_000);
    let sub = SubscriptionId::new(1_800_000_000_000);
    let client = ClientId::new(1_800_000_000_000);
    Delivery::new(
        DeliveryId::for_event(&event, &sub),
        &event,
        &sub,
        &client,
        now,
    )
}

/// A worker's claim of `d`'s next attempt at `at`.
fn claim_of(d: &Delivery, at: OffsetDateTime) -> Delivery {
    let mut claim = d.clone();
    claim.next_attempt_at = Some(at + Duration::from_secs(10));
    claim.record_attempt(Attempt::under_way(d.next_attempt_number(), at));
    claim
}

async fn claim(backend: &EmbeddedBackend, d: &Delivery, at: OffsetDateTime) -> Claim {
    backend
        .claim_delivery(claim_of(d, at), at)
        .await
        .expect("claim_delivery")
}

async fn stored(backend: &EmbeddedBackend, id: &DeliveryId) -> Delivery {
    backend
        .get_delivery(id)
        .await
        .expect("get_delivery")
        .expect("the delivery is stored")
}

/// Inserts, claims and records one delivery's first attempt; the stored delivery after the
/// claim and at the end.
async fn first_attempt(backend: &EmbeddedBackend, d: &Delivery) -> (Delivery, Delivery) {
    let at = d.created_at + Duration::from_secs(1);
    assert_eq!(
        backend
            .insert_deliveries(std::slice::from_ref(d))
            .await
            .expect("insert"),
        vec![true]
    );
    assert_eq!(claim(backend, d, at).await, Claim::Claimed);
    let after_claim = stored(backend, &d.id).await;
    let mut outcome = d.clone();
    outcome.version += 1;
    outcome.record_attempt(Attempt {
        attempt: 1,
        at,
        status_code: Some(200),
        duration_ms: 2,
        error: None,
        response_excerpt: String::new(),
        request_excerpt: String::new(),
    });
    outcome.status = DeliveryStatus::Succeeded;
    assert!(backend.update_delivery(&outcome).await.expect("outcome"));
    let end = stored(backend, &d.id).await;
    (after_claim, end)
}

#[tokio::test]
async fn the_first_claim_of_a_delivery_it_inserted_is_not_written_and_ends_as_a_written_one() {
    let (a, b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let held = open(a.path(), true);
    let d = new_delivery();
    let (after_claim, end) = first_attempt(&held, &d).await;
    assert_eq!(after_claim.version, 0, "nothing written for the claim");
    assert!(after_claim.attempts.is_empty());
    assert_eq!(
        held.claims_in_memory(),
        0,
        "the outcome ended the held claim"
    );

    let written = open(b.path(), false);
    let (after_claim, written_end) = first_attempt(&written, &d).await;
    assert_eq!(
        after_claim.version, 1,
        "without memory, the claim is written"
    );
    assert_eq!(end, written_end, "both ways end in the same record");
}

#[tokio::test]
async fn a_delivery_not_inserted_by_a_batch_is_claimed_by_a_write() {
    let dir = tempfile::tempdir().expect("dir");
    let backend = open(dir.path(), true);
    let d = new_delivery();
    assert!(backend.insert_delivery(&d).await.expect("insert"));
    let at = d.created_at;
    assert_eq!(claim(&backend, &d, at).await, Claim::Claimed);
    let after = stored(&backend, &d.id).await;
    assert_eq!(
        after.version, 1,
        "written: only fan-out's inserts are remembered"
    );
}

#[tokio::test]
async fn after_a_restart_the_redelivered_message_claims_exactly_once() {
    let dir = tempfile::tempdir().expect("dir");
    let d = new_delivery();
    let at = d.created_at + Duration::from_secs(1);
    {
        let backend = open(dir.path(), true);
        backend
            .insert_deliveries(std::slice::from_ref(&d))
            .await
            .expect("insert");
        assert_eq!(claim(&backend, &d, at).await, Claim::Claimed);
        // The process ends here, its held claim with it (the request may have gone out).
    }
    let backend = open(dir.path(), true);
    assert_eq!(backend.claims_in_memory(), 0);
    let again = at + Duration::from_secs(30);
    let claim = claim_of(&d, again);
    let (x, y) = tokio::join!(
        backend.claim_delivery(claim.clone(), again),
        backend.claim_delivery(claim.clone(), again)
    );
    let answers = [x.expect("claim"), y.expect("claim")];
    assert_eq!(
        answers.iter().filter(|c| **c == Claim::Claimed).count(),
        1,
        "one of the two copies of the message claims: {answers:?}"
    );
    let after = stored(&backend, &d.id).await;
    assert_eq!(
        after.version, 1,
        "written: the memory of the claim died with the process"
    );
}
