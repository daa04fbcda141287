//! The sync port: external sources, allocations, sync requests and their one-way ending.

use hookline_domain::sync::SyncTransition;
use hookline_domain::{
    ClientId, EventId, ExternalSource, StateCode, SyncRequest, SyncRequestId, SyncStatus,
};

use super::{Run, at_ms, both, now_ms};
use crate::error::PortError;
use crate::store::Store;
use crate::sync::{ResourceKey, SyncEnd};

fn resource(run: &Run, owner: &ClientId, name: &str) -> ResourceKey {
    ResourceKey {
        owner: owner.clone(),
        resource_id: format!("{name}-{}", run.tag),
    }
}

fn source(resource: &ResourceKey, reference: &str) -> ExternalSource {
    ExternalSource {
        owner: resource.owner.clone(),
        resource_id: resource.resource_id.clone(),
        resource_code: "FLOW 1".into(),
        state: StateCode::from_stored("AP"),
        reference: reference.into(),
        integration: resource.owner.clone(),
        created_at: at_ms(now_ms()),
    }
}

fn request(resource: &ResourceKey, references: &[&str], at_unix_ms: i128) -> SyncRequest {
    SyncRequest {
        id: SyncRequestId::new(at_unix_ms),
        owner: resource.owner.clone(),
        resource_id: resource.resource_id.clone(),
        resource_code: "FLOW 1".into(),
        state: StateCode::from_stored("AP"),
        references: references.iter().map(|r| r.to_string()).collect(),
        integration: resource.owner.clone(),
        status: SyncStatus::Requested,
        history: vec![SyncTransition {
            status: SyncStatus::Requested,
            at: at_ms(at_unix_ms),
            by: resource.owner.clone(),
            reason: None,
            event_id: EventId::new(at_unix_ms),
        }],
    }
}

/// `req` ended as `status` by its owner, `ms` milliseconds after the run's start.
fn ending(
    req: &SyncRequest,
    run: &Run,
    status: SyncStatus,
    reason: Option<&str>,
    ms: i128,
) -> SyncRequest {
    let at = run.start_ms + ms;
    req.ended(
        status,
        reason.map(str::to_string),
        req.owner.clone(),
        at_ms(at),
        EventId::new(at),
    )
}

/// Sources: insert once per reference, list by reference, only the owner's, delete with
/// their allocations.
pub(super) async fn external_sources(store: &dyn Store, run: &Run) {
    let owner = run.client_id();
    let flow = resource(run, &owner, "flow");
    let other_owner = resource(run, &run.client_id(), "flow");
    let sources: Vec<ExternalSource> = ["class_B", "class_A", "x|y:z"]
        .iter()
        .map(|r| source(&flow, r))
        .collect();
    for s in &sources {
        store
            .insert_external_source(s)
            .await
            .expect("insert_external_source");
    }
    let dup = store
        .insert_external_source(&source(&flow, "class_A"))
        .await;
    assert!(
        matches!(dup, Err(PortError::Conflict(_))),
        "a second source with one reference is a Conflict: {dup:?}"
    );
    let listed = store.list_external_sources(&flow).await.expect("list");
    let by_reference = [&sources[1], &sources[0], &sources[2]].map(Clone::clone);
    assert_eq!(listed, by_reference, "the sources as stored, by reference");
    assert!(
        store
            .list_external_sources(&other_owner)
            .await
            .expect("list")
            .is_empty(),
        "another owner's resource of the same id has none of them"
    );

    store
        .add_allocations(&flow, "class_A", &["m1".into(), "m2".into()])
        .await
        .expect("allocate");
    store
        .delete_external_source(&flow, "class_A")
        .await
        .expect("delete_external_source");
    let gone = store.delete_external_source(&flow, "class_A").await;
    assert!(
        matches!(gone, Err(PortError::NotFound)),
        "deleting it again is NotFound: {gone:?}"
    );
    assert!(
        store
            .list_allocations(&flow, "class_A")
            .await
            .expect("allocations")
            .is_empty(),
        "a deleted source's allocations go with it"
    );
    store
        .insert_external_source(&source(&flow, "class_A"))
        .await
        .expect("a removed reference can be attached again");
}

/// Allocations: adding is idempotent, removing one or all.
pub(super) async fn allocations(store: &dyn Store, run: &Run) {
    let owner = run.client_id();
    let flow = resource(run, &owner, "alloc");
    store
        .insert_external_source(&source(&flow, "A"))
        .await
        .expect("insert source");
    let add = |members: &[&str]| {
        let members: Vec<String> = members.iter().map(|m| m.to_string()).collect();
        let flow = flow.clone();
        async move { store.add_allocations(&flow, "A", &members).await }
    };
    add(&["p3", "p1", "p2"]).await.expect("add");
    add(&["p2", "p1", "p4"]).await.expect("adding again");
    let listed = store.list_allocations(&flow, "A").await.expect("list");
    assert_eq!(listed, ["p1", "p2", "p3", "p4"], "each member once, sorted");

    store
        .remove_allocation(&flow, "A", "p2")
        .await
        .expect("remove one");
    let again = store.remove_allocation(&flow, "A", "p2").await;
    assert!(
        matches!(again, Err(PortError::NotFound)),
        "removing a member not allocated is NotFound: {again:?}"
    );
    assert_eq!(
        store.list_allocations(&flow, "A").await.expect("list"),
        ["p1", "p3", "p4"]
    );
    assert_eq!(
        store.clear_allocations(&flow, "A").await.expect("clear"),
        3,
        "clearing counts what it removed"
    );
    assert!(
        store
            .list_allocations(&flow, "A")
            .await
            .expect("list")
            .is_empty()
    );
    assert_eq!(store.clear_allocations(&flow, "A").await.expect("clear"), 0);
}

/// Sync requests: insert once, read back, end exactly once (even concurrently), list newest
/// first.
pub(super) async fn sync_requests(store: &dyn Store, run: &Run) {
    let owner = run.client_id();
    let flow = resource(run, &owner, "sync");
    let first = request(&flow, &["A", "B"], run.start_ms);
    store
        .insert_sync_request(&first)
        .await
        .expect("insert_sync_request");
    let dup = store.insert_sync_request(&first).await;
    assert!(
        matches!(dup, Err(PortError::Conflict(_))),
        "an id stored twice is a Conflict: {dup:?}"
    );
    assert_eq!(
        store.get_sync_request(&first.id).await.expect("get"),
        Some(first.clone())
    );
    assert_eq!(
        store
            .get_sync_request(&SyncRequestId::new(now_ms()))
            .await
            .expect("get"),
        None
    );

    let complete = ending(&first, run, SyncStatus::Complete, None, 5);
    let failed = ending(&first, run, SyncStatus::Failed, Some("no such exam"), 6);
    let (a, b) = both(
        store.end_sync_request(&complete),
        store.end_sync_request(&failed),
    )
    .await;
    let (a, b) = (a.expect("end"), b.expect("end"));
    let winner = match (a, b) {
        (SyncEnd::Ended, SyncEnd::AlreadyEnded) => complete.clone(),
        (SyncEnd::AlreadyEnded, SyncEnd::Ended) => failed.clone(),
        other => panic!("exactly one of two concurrent endings wins: {other:?}"),
    };
    assert_eq!(
        store.get_sync_request(&first.id).await.expect("get"),
        Some(winner.clone()),
        "the winner's ending is stored"
    );
    assert_eq!(
        store.end_sync_request(&winner).await.expect("end again"),
        SyncEnd::Ended,
        "the winning call retried is still the one that ended it"
    );
    let later = ending(&first, run, SyncStatus::Complete, None, 7);
    assert_eq!(
        store.end_sync_request(&later).await.expect("end again"),
        SyncEnd::AlreadyEnded,
        "an ended request does not end again"
    );
    let missing = ending(
        &request(&flow, &["A"], now_ms()),
        run,
        SyncStatus::Complete,
        None,
        30,
    );
    let nf = store.end_sync_request(&missing).await;
    assert!(
        matches!(nf, Err(PortError::NotFound)),
        "ending a request never stored is NotFound: {nf:?}"
    );

    let second = request(&flow, &["A"], run.start_ms + 10);
    let third = request(&flow, &["B"], run.start_ms + 20);
    for r in [&third, &second] {
        store.insert_sync_request(r).await.expect("insert");
    }
    let ids = |list: Vec<SyncRequest>| list.into_iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_sync_requests(&flow, 10).await.expect("list")),
        [third.id.clone(), second.id.clone(), first.id.clone()],
        "newest first"
    );
    assert_eq!(
        ids(store.list_sync_requests(&flow, 2).await.expect("list")),
        [third.id.clone(), second.id.clone()],
        "at most the limit"
    );
    let elsewhere = resource(run, &run.client_id(), "sync");
    assert!(
        store
            .list_sync_requests(&elsewhere, 10)
            .await
            .expect("list")
            .is_empty(),
        "another owner's resource of the same id has none"
    );
}
