//! Conformance: the secret store — put (create, then replace), get, delete (at once, a missing
//! one being no error), any bytes round-tripping, and a refused value never quoted by the
//! error.

use super::Run;
use crate::secrets::MAX_SECRET_BYTES;
use crate::store::Store;

async fn get(store: &dyn Store, name: &str) -> Option<Vec<u8>> {
    store.get_secret(name).await.expect("get_secret")
}

/// Put, replace, get, delete.
pub(super) async fn secrets(store: &dyn Store, run: &Run) {
    let name = format!("conformance/{}/connection", run.tag);
    let other = format!("conformance/{}/app", run.tag);
    assert_eq!(get(store, &name).await, None, "no secret before a put");
    store
        .put_secret(&name, br#"{"password":"first"}"#)
        .await
        .expect("put_secret (create)");
    store
        .put_secret(&other, b"other")
        .await
        .expect("put_secret (another)");
    assert_eq!(
        get(store, &name).await.as_deref(),
        Some(&br#"{"password":"first"}"#[..])
    );
    let bytes: Vec<u8> = (0..=255).collect();
    store
        .put_secret(&name, &bytes)
        .await
        .expect("put_secret (replace)");
    assert_eq!(get(store, &name).await, Some(bytes), "any bytes, replaced");

    store.delete_secret(&name).await.expect("delete_secret");
    assert_eq!(get(store, &name).await, None, "deleted at once");
    store
        .delete_secret(&name)
        .await
        .expect("deleting a missing secret is no error");
    assert_eq!(get(store, &other).await.as_deref(), Some(&b"other"[..]));
    store
        .put_secret(&name, b"again")
        .await
        .expect("a deleted name is free again");
    assert_eq!(get(store, &name).await.as_deref(), Some(&b"again"[..]));
    for n in [&name, &other] {
        store.delete_secret(n).await.expect("clean up");
    }
}

/// A value over [`MAX_SECRET_BYTES`] is refused, stores nothing, and the error does not
/// quote it.
pub(super) async fn oversized(store: &dyn Store, run: &Run) {
    let name = format!("conformance/{}/oversized", run.tag);
    let marker = format!("hunter2-{}", run.tag);
    let value = marker.repeat(MAX_SECRET_BYTES / marker.len() + 1);
    let Err(e) = store.put_secret(&name, value.as_bytes()).await else {
        panic!("a value over MAX_SECRET_BYTES was stored");
    };
    for text in [e.to_string(), format!("{e:?}")] {
        assert!(!text.contains(&marker), "the error quotes the secret value");
    }
    assert_eq!(
        get(store, &name).await,
        None,
        "a refused value stores nothing"
    );
}
