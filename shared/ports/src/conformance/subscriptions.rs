//! Conformance: subscriptions (conditional writes, the generation counter) and their listing
//! by client and in all.

use hookline_domain::subscription::{
    ExponentialBackoff, OutboundAuth, PayloadFormat, RetryPolicy, new_subscription,
};
use hookline_domain::{ClientId, DisabledReason, Subscription};
use serde_json::json;

use super::{Run, at_ms, exact_page_sizes, walk};
use crate::error::PortError;
use crate::store::Store;

fn subscription(run: &Run, client_id: &ClientId) -> Subscription {
    let mut s = new_subscription(
        run.subscription_id(),
        client_id.clone(),
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
    // The delivery settings are stored with it, and read back as written.
    s.format = PayloadFormat::Template;
    s.template = Some(r#"{"event": {{ type }}, "payload": {{ data }}}"#.to_string());
    s.retry = Some(RetryPolicy::Exponential(ExponentialBackoff {
        initial_delay_s: 10,
        multiplier: 2,
        max_delay_s: Some(600),
    }));
    s.auth = Some(OutboundAuth::ApiKey {
        header: "X-Api-Key".to_string(),
        value: format!("key-conformance{}", run.tag),
    });
    s
}

async fn generation(store: &dyn Store) -> u64 {
    store
        .subscriptions_generation()
        .await
        .expect("subscriptions_generation")
}

/// Insert / get / conditional update / delete, each write moving the generation.
pub(super) async fn subscriptions(store: &dyn Store, run: &Run) {
    let client = run.client_id();
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
    changed.disable(DisabledReason::Gone, at_ms(run.start_ms + 500));
    changed.failing_since = Some(at_ms(run.start_ms + 100));
    changed.filter = None;
    changed.format = PayloadFormat::Cloudevents;
    changed.template = None;
    changed.retry = Some(RetryPolicy::Explicit {
        delays_s: vec![1, 30, 600],
    });
    changed.auth = Some(OutboundAuth::Bearer {
        token: format!("token-conformance{}", run.tag),
    });
    changed.rotate_secret(
        format!("whsec_rotated{}", run.tag),
        at_ms(run.start_ms + 1_000),
    );
    let g1 = generation(store).await;
    let written = store
        .update_subscription(&changed)
        .await
        .expect("update_subscription of an existing id");
    assert!(
        written,
        "update_subscription over the stored version must write"
    );
    let g2 = generation(store).await;
    assert!(
        g2 > g1,
        "update_subscription must bump the generation ({g1} -> {g2})"
    );
    let got = store
        .get_subscription(&s.id)
        .await
        .expect("get_subscription after update");
    changed.version = s.version + 1;
    assert_eq!(
        got.as_ref(),
        Some(&changed),
        "update_subscription must replace the subscription and store the next version"
    );

    // A writer that read before that update must not overwrite it.
    let mut stale = s.clone();
    stale.description = "a concurrent edit".to_string();
    let written = store
        .update_subscription(&stale)
        .await
        .expect("update_subscription over a stale version");
    assert!(
        !written,
        "update_subscription over a version that moved must write nothing"
    );
    let got = store
        .get_subscription(&s.id)
        .await
        .expect("get_subscription after a refused update");
    assert_eq!(
        got.as_ref(),
        Some(&changed),
        "a refused update_subscription must leave the stored subscription as it was"
    );
    assert_eq!(
        generation(store).await,
        g2,
        "a refused update_subscription must not bump the generation"
    );
    // Re-applied on a fresh read, it goes through, and both changes survive.
    let mut fresh = got.expect("still stored");
    fresh.description = "a concurrent edit".to_string();
    assert!(
        store
            .update_subscription(&fresh)
            .await
            .expect("update_subscription over the fresh version"),
        "update_subscription re-applied on a fresh read must write"
    );
    let got = store
        .get_subscription(&s.id)
        .await
        .expect("get_subscription after the re-applied update")
        .expect("still stored");
    assert_eq!(got.version, s.version + 2);
    assert_eq!(got.description, "a concurrent edit");
    assert_eq!(got.current_secret(), changed.current_secret());
    assert_eq!(got.disabled_reason, Some(DisabledReason::Gone));

    let ghost = subscription(run, &client);
    let put = store.update_subscription(&ghost).await;
    assert!(
        matches!(put, Err(PortError::NotFound)),
        "update_subscription of an unknown id must be NotFound, got {put:?}"
    );
    assert_eq!(
        store
            .get_subscription(&ghost.id)
            .await
            .expect("get_subscription"),
        None,
        "a failed update_subscription must not create it"
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
    let (a, b) = (run.client_id(), run.client_id());
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
        .list_subscriptions(Some(&run.client_id()), None, 5)
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
