//! Conformance: the integration apps' app versions (insert once, semver order, conditional
//! updates) and connections (unique id and hook token, lookup by hook token, conditional
//! updates, listing by client and in all, deletion freeing the token).

use std::collections::BTreeMap;

use hookline_domain::apps::{AppDefinition, AppStatus, AppVersion, AuthScheme, Connection};
use hookline_domain::state::StateCode;
use hookline_domain::{ClientId, ConnectionId};
use serde_json::json;

use super::{Run, at_ms, exact_page_sizes, now_ms, walk};
use crate::error::PortError;
use crate::store::Store;

/// Versions in the order they are inserted, and in the order they must list.
const INSERTED: [&str; 5] = ["1.10.0", "2.0.0", "1.9.0-rc.1", "2.0.0-beta.1", "1.9.0"];
const LISTED: [&str; 5] = ["1.9.0-rc.1", "1.9.0", "1.10.0", "2.0.0-beta.1", "2.0.0"];

/// An app key of this run (`[a-z][a-z0-9_-]*`).
fn app_key(run: &Run, suffix: &str) -> String {
    format!("app-{}{suffix}", run.tag.to_ascii_lowercase())
}

fn app_version(run: &Run, key: &str, version: &str) -> AppVersion {
    AppVersion {
        definition: AppDefinition {
            key: key.to_string(),
            name: format!("Conformance {}", run.tag),
            description: "an app of the conformance suite".to_string(),
            version: version.to_string(),
            auth: AuthScheme::Basic,
            properties: Vec::new(),
            environment: Vec::new(),
            test: None,
            actions: BTreeMap::new(),
            triggers: BTreeMap::new(),
        },
        status: AppStatus::Published,
        environment: BTreeMap::from([("BASE_URL".to_string(), "https://tool.example".into())]),
        secret_environment: vec!["API_SECRET".to_string()],
        published_by: ClientId::from_stored(format!("cl_{}", run.tag)),
        published_at: at_ms(run.start_ms),
        deprecated_at: None,
        revision: 0,
    }
}

async fn versions_of(store: &dyn Store, key: Option<&str>, limit: usize) -> Vec<Vec<AppVersion>> {
    walk("list_app_versions", limit, |cursor| async move {
        store.list_app_versions(key, cursor.as_deref(), limit).await
    })
    .await
}

fn names(pages: &[Vec<AppVersion>], keys: &[&str]) -> Vec<(String, String)> {
    pages
        .iter()
        .flatten()
        .filter(|v| keys.contains(&v.key()))
        .map(|v| (v.key().to_string(), v.version().to_string()))
        .collect()
}

/// Insert once, get, list in semver order by key, conditional updates.
pub(super) async fn app_versions(store: &dyn Store, run: &Run) {
    let (key, other) = (app_key(run, ""), app_key(run, "-b"));
    for v in INSERTED {
        let app = app_version(run, &key, v);
        assert!(
            store.insert_app_version(&app).await.expect("insert"),
            "a new version {v} is inserted"
        );
    }
    let mut twin = app_version(run, &key, "1.9.0");
    twin.definition.name = "another".to_string();
    assert!(
        !store.insert_app_version(&twin).await.expect("insert again"),
        "an existing (key, version) is not inserted again"
    );
    let got = store
        .get_app_version(&key, "1.9.0")
        .await
        .expect("get_app_version");
    assert_eq!(
        got,
        Some(app_version(run, &key, "1.9.0")),
        "stored as first written"
    );
    assert_eq!(
        store.get_app_version(&key, "3.0.0").await.expect("get"),
        None
    );
    assert_eq!(
        store.get_app_version(&other, "1.9.0").await.expect("get"),
        None
    );
    assert!(
        store
            .insert_app_version(&app_version(run, &other, "0.1.0"))
            .await
            .expect("insert")
    );

    let pages = versions_of(store, Some(&key), 2).await;
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        exact_page_sizes(LISTED.len(), 2),
        "list_app_versions pages of one key"
    );
    let listed: Vec<(String, String)> = names(&pages, &[&key]);
    let want: Vec<(String, String)> = LISTED
        .iter()
        .map(|v| (key.clone(), v.to_string()))
        .collect();
    assert_eq!(listed, want, "one key's versions in semver order");
    let all = names(&versions_of(store, None, 100).await, &[&key, &other]);
    let mut want_all = want.clone();
    want_all.push((other.clone(), "0.1.0".to_string()));
    assert_eq!(all, want_all, "every app's versions by key, then semver");

    let mut v = store
        .get_app_version(&key, "2.0.0")
        .await
        .expect("get")
        .expect("stored");
    let stale = v.clone();
    v.status = AppStatus::Deprecated;
    v.deprecated_at = Some(at_ms(now_ms()));
    assert!(store.update_app_version(&v).await.expect("update"));
    let got = store
        .get_app_version(&key, "2.0.0")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(got.revision, 1, "an update stores the next revision");
    assert_eq!(got.status, AppStatus::Deprecated);
    assert!(
        !store
            .update_app_version(&stale)
            .await
            .expect("stale update"),
        "an update over a moved revision writes nothing"
    );
    let gone = app_version(run, &key, "9.9.9");
    assert!(
        matches!(
            store.update_app_version(&gone).await,
            Err(PortError::NotFound)
        ),
        "updating a version that does not exist"
    );
}

fn connection(run: &Run, client: &ClientId) -> Connection {
    let id = ConnectionId::new(now_ms());
    Connection {
        hook_token: format!("hk{}{}", run.tag, &id.as_str()[4..]),
        id,
        client_id: client.clone(),
        app: app_key(run, ""),
        app_version: "1.9.0".to_string(),
        name: "conformance".to_string(),
        state: StateCode::from_stored(run.state.as_str()),
        properties: BTreeMap::from([("party".to_string(), json!("Depot 4"))]),
        secrets_set: vec!["password".to_string()],
        polling: BTreeMap::new(),
        enabled: true,
        created_at: at_ms(run.start_ms),
        updated_at: at_ms(run.start_ms),
        version: 0,
    }
}

async fn connections_of(
    store: &dyn Store,
    client: Option<&ClientId>,
    limit: usize,
) -> Vec<Vec<Connection>> {
    walk("list_connections", limit, |cursor| async move {
        store
            .list_connections(client, cursor.as_deref(), limit)
            .await
    })
    .await
}

/// Unique ids and hook tokens, lookups, conditional updates, lists, deletion.
pub(super) async fn connections(store: &dyn Store, run: &Run) {
    let (owner, stranger) = (run.client_id(), run.client_id());
    let mut mine = vec![connection(run, &owner), connection(run, &owner)];
    mine.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    let theirs = connection(run, &stranger);
    for c in mine.iter().chain([&theirs]) {
        store.insert_connection(c).await.expect("insert_connection");
    }
    let first = &mine[0];
    assert!(
        matches!(
            store.insert_connection(first).await,
            Err(PortError::Conflict(_))
        ),
        "an existing id is a conflict"
    );
    let mut same_token = connection(run, &owner);
    same_token.hook_token = first.hook_token.clone();
    assert!(
        matches!(
            store.insert_connection(&same_token).await,
            Err(PortError::Conflict(_))
        ),
        "an existing hook token is a conflict"
    );
    assert_eq!(
        store.get_connection(&same_token.id).await.expect("get"),
        None,
        "a refused insert writes nothing"
    );
    assert_eq!(
        store.get_connection(&first.id).await.expect("get").as_ref(),
        Some(first)
    );
    assert_eq!(
        store
            .connection_by_hook(&first.hook_token)
            .await
            .expect("by hook")
            .as_ref(),
        Some(first)
    );
    assert_eq!(
        store
            .connection_by_hook(&format!("none{}", run.tag))
            .await
            .expect("by hook"),
        None
    );

    let listed: Vec<Connection> = connections_of(store, Some(&owner), 1).await.concat();
    assert_eq!(listed, mine, "one client's connections by id");
    let ids: Vec<&ConnectionId> = mine.iter().chain([&theirs]).map(|c| &c.id).collect();
    let all: Vec<ConnectionId> = connections_of(store, None, 100)
        .await
        .concat()
        .into_iter()
        .map(|c| c.id)
        .filter(|id| ids.contains(&id))
        .collect();
    let mut want: Vec<ConnectionId> = ids.into_iter().cloned().collect();
    want.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    assert_eq!(all, want, "every connection by id");

    updates(store, first).await;

    store
        .delete_connection(&first.id)
        .await
        .expect("delete_connection");
    assert_eq!(store.get_connection(&first.id).await.expect("get"), None);
    assert_eq!(
        store
            .connection_by_hook(&first.hook_token)
            .await
            .expect("by hook"),
        None,
        "its hook token goes with it"
    );
    assert!(matches!(
        store.delete_connection(&first.id).await,
        Err(PortError::NotFound)
    ));
    store
        .insert_connection(&same_token)
        .await
        .expect("a deleted connection's hook token is free again");
    for c in [&same_token, &mine[1], &theirs] {
        store.delete_connection(&c.id).await.expect("clean up");
    }
}

/// Conditional updates of a stored connection: the next version, stale writes refused, the
/// hook token kept.
async fn updates(store: &dyn Store, stored: &Connection) {
    let mut c = stored.clone();
    c.name = "renamed".to_string();
    c.enabled = false;
    assert!(store.update_connection(&c).await.expect("update"));
    let got = store
        .get_connection(&c.id)
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(
        (got.version, got.name.as_str(), got.enabled),
        (1, "renamed", false)
    );
    assert!(
        !store.update_connection(stored).await.expect("stale update"),
        "an update over a moved version writes nothing"
    );
    let mut retokened = got.clone();
    retokened.hook_token = format!("{}x", got.hook_token);
    assert!(
        matches!(
            store.update_connection(&retokened).await,
            Err(PortError::Conflict(_))
        ),
        "a hook token never changes"
    );
    let mut gone = got.clone();
    gone.id = ConnectionId::new(now_ms());
    assert!(matches!(
        store.update_connection(&gone).await,
        Err(PortError::NotFound)
    ));
    assert_eq!(
        store.get_connection(&c.id).await.expect("get"),
        Some(got),
        "refused updates write nothing"
    );
}
