//! Conformance: subscriptions (conditional writes, the generation counter) and their listing
//! by client and in all.

use hookline_domain::subscription::new_subscription;
use hookline_domain::{Subscription, ids};
use serde_json::json;

use super::{Run, at_ms, exact_page_sizes, walk};
use crate::error::PortError;
use crate::store::Store;

fn subscription(run: &Run, client_id: &str) -> Subscription {
    let mut s = new_subscription(
        run.id(ids::SUBSCRIPTION),
        client_id.to_string(),
        format!("whsec_conformance{}", run.tag),
        at_ms(run.start_ms),
    );
    s.url = "https://example.org/hooks".to_string();
    s.description = format!("conformance {}", run.tag);
    s.event_types = vec!["LotDispatched".to_string(), "LotTest*".to_string()];
    s.states = vec![run.state.clone()];
    s.filter = Some(json!({"data": {"status": ["dispatched"]}}));
    s.headers
        .insert("X-Portal-Key".to_string(), "abc".to_string());
    s
}

async fn generation(store: &dyn Store) -> u64 {
    store
        .subscriptions_generation()
        .await
        .expect("subscriptions_generation")
}

/// Insert / get / put / delete, each write moving the generation.
pub(super) async fn subscriptions(store: &dyn Store, run: &Run) {
    let client = run.id(ids::CLIENT);
    let s = subscription(run, &client);
    let g0 = generation(store).await;
    store
        .insert_subscription(&s)
        .await
        .expect("insert_subscription of a new id");
    let g1 = generation(store).await;
    assert!(
        g1 > g0,
        "insert_subscription must bump the generation ({g0} -> {g1})"
    );
    let dup = store.insert_subscription(&s).await;
    assert!(
        matches!(dup, Err(PortError::Conflict(_))),
        "insert_subscription of an existing id must be Conflict, got {dup:?}"
    );
    let got = store
        .get_subscription(&s.id)
        .await
        .expect("get_subscription");
    assert_eq!(
        got.as_ref(),
        Some(&s),
        "get_subscription must return the subscription as inserted"
    );

    let mut changed = s.clone();
    changed.enabled = false;
    changed.disabled_reason = Some("gone".to_string());
    changed.filter = None;
    changed.rotate_secret(
        format!("whsec_rotated{}", run.tag),
        at_ms(run.start_ms + 1_000),
    );
    let g1 = generation(store).await;
    store
        .put_subscription(&changed)
        .await
        .expect("put_subscription of an existing id");
    let g2 = generation(store).await;
    assert!(
        g2 > g1,
        "put_subscription must bump the generation ({g1} -> {g2})"
    );
    let got = store
        .get_subscription(&s.id)
        .await
        .expect("get_subscription after put");
    assert_eq!(
        got.as_ref(),
        Some(&changed),
        "put_subscription must replace the subscription"
    );

    let ghost = subscription(run, &client);
    let put = store.put_subscription(&ghost).await;
    assert!(
        matches!(put, Err(PortError::NotFound)),
        "put_subscription of an unknown id must be NotFound, got {put:?}"
    );
    assert_eq!(
        store
            .get_subscription(&ghost.id)
            .await
            .expect("get_subscription"),
        None,
        "a failed put_subscription must not create it"
    );

    let g2 = generation(store).await;
    store
        .delete_subscription(&s.id)
        .await
        .expect("delete_subscription of an existing id");
    let g3 = generation(store).await;
    assert!(
        g3 > g2,
        "delete_subscription must bump the generation ({g2} -> {g3})"
    );
    assert_eq!(
        store
            .get_subscription(&s.id)
            .await
            .expect("get_subscription after delete"),
        None
    );
    let del = store.delete_subscription(&s.id).await;
    assert!(
        matches!(del, Err(PortError::NotFound)),
        "delete_subscription of an unknown id must be NotFound, got {del:?}"
    );
}

/// `list_subscriptions` of one client (exactly its own) and of all (sorted by id).
pub(super) async fn list_subscriptions(store: &dyn Store, run: &Run) {
    let (a, b) = (run.id(ids::CLIENT), run.id(ids::CLIENT));
    let mut of_a = Vec::new();
    let mut of_b = Vec::new();
    for i in 0..7 {
        let (owner, list) = if i % 3 == 2 {
            (&b, &mut of_b)
        } else {
            (&a, &mut of_a)
        };
        let s = subscription(run, owner);
        store
            .insert_subscription(&s)
            .await
            .expect("insert_subscription");
        list.push(s);
    }
    of_a.sort_by(|x, y| x.id.cmp(&y.id));
    of_b.sort_by(|x, y| x.id.cmp(&y.id));

    for (owner, expected) in [(&a, &of_a), (&b, &of_b)] {
        let pages = walk("list_subscriptions(client)", 2, |cursor| async move {
            store
                .list_subscriptions(Some(owner), cursor.as_deref(), 2)
                .await
        })
        .await;
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(
            sizes,
            exact_page_sizes(expected.len(), 2),
            "list_subscriptions(client) pages must be full until the last, which has no cursor"
        );
        let got: Vec<Subscription> = pages.into_iter().flatten().collect();
        assert_eq!(
            &got, expected,
            "list_subscriptions(client) must list exactly the client's subscriptions, sorted by id"
        );
    }
    let none = store
        .list_subscriptions(Some(&run.id(ids::CLIENT)), None, 5)
        .await
        .expect("list_subscriptions of a client without any");
    assert!(
        none.items.is_empty() && none.next_cursor.is_none(),
        "a client without subscriptions must get one empty last page"
    );

    let pages = walk("list_subscriptions(all)", 3, |cursor| async move {
        store.list_subscriptions(None, cursor.as_deref(), 3).await
    })
    .await;
    let all: Vec<Subscription> = pages.into_iter().flatten().collect();
    assert!(
        all.windows(2).all(|w| w[0].id < w[1].id),
        "list_subscriptions(all) must be sorted by id, without repeats"
    );
    let mine: Vec<&Subscription> = all
        .iter()
        .filter(|s| s.client_id == a || s.client_id == b)
        .collect();
    let mut want: Vec<&Subscription> = of_a.iter().chain(of_b.iter()).collect();
    want.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(
        mine, want,
        "list_subscriptions(all) must include every client's subscriptions"
    );

    let bad = store.list_subscriptions(Some(&a), Some("garbage"), 2).await;
    assert!(
        matches!(bad, Err(PortError::InvalidCursor)),
        "list_subscriptions with a garbage cursor must be InvalidCursor, got {bad:?}"
    );
    for s in of_a.iter().chain(of_b.iter()) {
        store
            .delete_subscription(&s.id)
            .await
            .expect("delete_subscription (cleanup)");
    }
}
