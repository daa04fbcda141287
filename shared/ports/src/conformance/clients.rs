//! Conformance: clients (conditional writes, list by id with cursors) and event types.

use hookline_domain::{Client, EventType, Scope};

use super::{Run, at_ms, walk};
use crate::error::PortError;
use crate::store::Store;

fn client(run: &Run, name: &str) -> Client {
    Client {
        id: run.client_id(),
        name: format!("{name} {}", run.tag),
        scopes: vec![Scope::EventsWrite, Scope::SubscriptionsRead],
        states: vec![run.state.clone()],
        secret_hash: "sha256:conformance".to_string(),
        created_at: at_ms(run.start_ms),
        disabled: false,
        limits: Default::default(),
    }
}

/// Insert / get / put / delete of one client, and the listing of several.
pub(super) async fn clients(store: &dyn Store, run: &Run) {
    let c = client(run, "conformance client");
    store
        .insert_client(&c)
        .await
        .expect("insert_client of a new id must succeed");
    let again = store.insert_client(&c).await;
    assert!(
        matches!(again, Err(PortError::Conflict(_))),
        "insert_client of an existing id must be Conflict, got {again:?}"
    );
    let got = store.get_client(&c.id).await.expect("get_client");
    assert_eq!(
        got.as_ref(),
        Some(&c),
        "get_client must return the client as inserted"
    );
    let missing = store
        .get_client(&run.client_id())
        .await
        .expect("get_client of an unknown id");
    assert_eq!(missing, None, "get_client of an unknown id must be None");

    let mut changed = c.clone();
    changed.name = format!("renamed {}", run.tag);
    changed.disabled = true;
    store
        .put_client(&changed)
        .await
        .expect("put_client of an existing client");
    let got = store.get_client(&c.id).await.expect("get_client after put");
    assert_eq!(
        got.as_ref(),
        Some(&changed),
        "put_client must replace the client"
    );
    let ghost = client(run, "never inserted");
    let put = store.put_client(&ghost).await;
    assert!(
        matches!(put, Err(PortError::NotFound)),
        "put_client of an unknown id must be NotFound, got {put:?}"
    );
    assert_eq!(
        store.get_client(&ghost.id).await.expect("get_client"),
        None,
        "a failed put_client must not create the client"
    );

    store
        .delete_client(&c.id)
        .await
        .expect("delete_client of an existing client");
    assert_eq!(
        store
            .get_client(&c.id)
            .await
            .expect("get_client after delete"),
        None,
        "delete_client must remove the client"
    );
    let del = store.delete_client(&c.id).await;
    assert!(
        matches!(del, Err(PortError::NotFound)),
        "delete_client of an unknown id must be NotFound, got {del:?}"
    );

    // Listing: every client, sorted by id, across pages; ours appear in order.
    let mut mine: Vec<Client> = Vec::new();
    for i in 0..5 {
        let c = client(run, &format!("listed {i}"));
        store.insert_client(&c).await.expect("insert_client");
        mine.push(c);
    }
    mine.sort_by(|a, b| a.id.cmp(&b.id));
    let pages = walk("list_clients", 2, |cursor| async move {
        store.list_clients(cursor.as_deref(), 2).await
    })
    .await;
    let all: Vec<Client> = pages.into_iter().flatten().collect();
    assert!(
        all.windows(2).all(|w| w[0].id < w[1].id),
        "list_clients must be sorted by id, without repeats"
    );
    let listed: Vec<&Client> = all.iter().filter(|c| c.name.ends_with(&run.tag)).collect();
    assert_eq!(
        listed,
        mine.iter().collect::<Vec<_>>(),
        "list_clients must return every client, whole"
    );

    let bad = store
        .list_clients(Some("not a cursor this backend issued"), 2)
        .await;
    assert!(
        matches!(bad, Err(PortError::InvalidCursor)),
        "list_clients with a garbage cursor must be InvalidCursor, got {bad:?}"
    );
    for c in &mine {
        store
            .delete_client(&c.id)
            .await
            .expect("delete_client (cleanup)");
    }
}

/// Event types: created, replaced in place, listed by name, with their examples.
pub(super) async fn event_types(store: &dyn Store, run: &Run) {
    let mut b = EventType {
        name: format!("conformance.{}.b", run.tag),
        description: "second".to_string(),
        schema: None,
        example: None,
    };
    let a = EventType {
        name: format!("conformance.{}.a", run.tag),
        description: "first".to_string(),
        schema: Some(serde_json::json!({"type": "object"})),
        example: Some(serde_json::json!({"lotNo": "L-1", "quantity_kg": 12.5})),
    };
    store.put_event_type(&b).await.expect("put_event_type");
    store.put_event_type(&a).await.expect("put_event_type");
    b.description = "second, replaced".to_string();
    store
        .put_event_type(&b)
        .await
        .expect("put_event_type of an existing name must replace it");
    let all = store.list_event_types().await.expect("list_event_types");
    assert!(
        all.windows(2).all(|w| w[0].name < w[1].name),
        "list_event_types must be sorted by name, without repeats"
    );
    let mine: Vec<&EventType> = all.iter().filter(|t| t.name.contains(&run.tag)).collect();
    assert_eq!(
        mine,
        vec![&a, &b],
        "list_event_types must hold each type once, as last put"
    );
}

/// The bootstrap admin is created once in a store's life: deleted, it stays deleted.
pub(super) async fn bootstrap_admin(store: &dyn Store, run: &Run) {
    let mut admin = client(run, "bootstrap admin");
    admin.scopes = vec![Scope::Admin];
    let created = store
        .insert_bootstrap_admin(&admin)
        .await
        .expect("insert_bootstrap_admin");
    let stored = store.get_client(&admin.id).await.expect("get_client");
    if created {
        assert_eq!(stored.as_ref(), Some(&admin), "created as given");
        store.delete_client(&admin.id).await.expect("delete_client");
    } else {
        // A store an earlier run of the suite marked: nothing is written.
        assert_eq!(stored, None, "a second bootstrap admin must not be created");
    }
    let again = store
        .insert_bootstrap_admin(&admin)
        .await
        .expect("insert_bootstrap_admin, again");
    assert!(!again, "the bootstrap admin is created once");
    assert_eq!(
        store.get_client(&admin.id).await.expect("get_client"),
        None,
        "a deleted bootstrap admin stays deleted"
    );
    let mut other = client(run, "another bootstrap admin");
    other.scopes = vec![Scope::Admin];
    assert!(
        !store
            .insert_bootstrap_admin(&other)
            .await
            .expect("insert_bootstrap_admin of another id"),
        "nor under another id"
    );
    assert_eq!(store.get_client(&other.id).await.expect("get_client"), None);
}
