//! A connection with everything its requests need ([`Resolved`]): the connection read from the
//! store every time (a cheap key lookup, and the only way to see it disabled or changed at
//! once), and the rest from short-lived caches, because a secret read is a Secrets Manager
//! call on AWS:
//!
//! - the connection's secrets by (connection id, connection version): every change of a
//!   connection moves its version, so an entry is never stale;
//! - the app version's record by (key, version), and its environment (secret values
//!   included) by (key, version, revision).
//!
//! Entries live at most [`CACHE_TTL`] and each cache holds at most [`CACHE_ENTRIES`]: a
//! deleted secret is forgotten within a minute, and memory stays bounded whatever the number
//! of connections.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hookline_domain::ConnectionId;
use hookline_domain::apps::{AppVersion, Connection, ConnectionSecrets};
use hookline_ports::{PortError, Store};

use super::Resolved;

/// How long a cached entry is used.
pub const CACHE_TTL: Duration = Duration::from_secs(60);
/// Entries each cache holds at most.
pub const CACHE_ENTRIES: usize = 1024;

/// Why a connection could not be resolved. No variant carries a secret's value.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No connection has this id.
    #[error("connection not found")]
    ConnectionNotFound,
    /// The connection names an app version that does not exist.
    #[error("app version {key} {version} not found")]
    AppVersionNotFound {
        /// The app's key.
        key: String,
        /// Its version.
        version: String,
    },
    /// A stored secret is not the JSON its reader expects (the name says which; the value is
    /// never quoted).
    #[error("the secret {0} is not readable")]
    UnreadableSecret(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] PortError),
}

impl ResolveError {
    /// Whether trying again later may succeed (the store failing), rather than the
    /// connection or its app being gone or broken.
    pub fn is_transient(&self) -> bool {
        matches!(self, ResolveError::Store(_))
    }
}

/// Loads connections with their app version, secrets and environment, through the caches of
/// the module.
pub struct Resolver {
    store: Arc<dyn Store>,
    secrets: Cache<(ConnectionId, u64), Arc<ConnectionSecrets>>,
    apps: Cache<(String, String), Arc<AppVersion>>,
    environments: Cache<(String, String, u64), Arc<BTreeMap<String, String>>>,
}

impl Resolver {
    /// A resolver reading `store`.
    pub fn new(store: Arc<dyn Store>) -> Resolver {
        Resolver {
            store,
            secrets: Cache::default(),
            apps: Cache::default(),
            environments: Cache::default(),
        }
    }

    /// The connection `id`, resolved.
    pub async fn resolve(&self, id: &ConnectionId) -> Result<Arc<Resolved>, ResolveError> {
        let connection = self
            .store
            .get_connection(id)
            .await?
            .ok_or(ResolveError::ConnectionNotFound)?;
        self.resolve_connection(connection).await
    }

    /// `connection` (just read, as a hook finds it by its token), resolved.
    pub async fn resolve_connection(
        &self,
        connection: Connection,
    ) -> Result<Arc<Resolved>, ResolveError> {
        let app = self.app(&connection.app, &connection.app_version).await?;
        let env = self.environment(&app).await?;
        let secrets = self.secrets(&connection).await?;
        Ok(Arc::new(Resolved {
            connection,
            app,
            secrets: (*secrets).clone(),
            env: (*env).clone(),
        }))
    }

    async fn app(&self, key: &str, version: &str) -> Result<Arc<AppVersion>, ResolveError> {
        let cache_key = (key.to_string(), version.to_string());
        if let Some(app) = self.apps.get(&cache_key) {
            return Ok(app);
        }
        let app = self
            .store
            .get_app_version(key, version)
            .await?
            .ok_or_else(|| ResolveError::AppVersionNotFound {
                key: key.to_string(),
                version: version.to_string(),
            })?;
        let app = Arc::new(app);
        self.apps.put(cache_key, app.clone());
        Ok(app)
    }

    /// Every environment value of `app`, the secret ones read from the secret store.
    async fn environment(
        &self,
        app: &AppVersion,
    ) -> Result<Arc<BTreeMap<String, String>>, ResolveError> {
        let cache_key = (
            app.key().to_string(),
            app.version().to_string(),
            app.revision,
        );
        if let Some(env) = self.environments.get(&cache_key) {
            return Ok(env);
        }
        let mut env = app.environment.clone();
        if !app.secret_environment.is_empty() {
            let name = AppVersion::secret_name(app.key(), app.version());
            if let Some(bytes) = self.store.get_secret(&name).await? {
                let values: BTreeMap<String, String> = serde_json::from_slice(&bytes)
                    .map_err(|_| ResolveError::UnreadableSecret(name.clone()))?;
                env.extend(values);
            }
        }
        let env = Arc::new(env);
        self.environments.put(cache_key, env.clone());
        Ok(env)
    }

    /// The connection's credentials and secret properties (none stored: none given).
    async fn secrets(
        &self,
        connection: &Connection,
    ) -> Result<Arc<ConnectionSecrets>, ResolveError> {
        let cache_key = (connection.id.clone(), connection.version);
        if let Some(secrets) = self.secrets.get(&cache_key) {
            return Ok(secrets);
        }
        let name = Connection::secret_name(&connection.id);
        let secrets = match self.store.get_secret(&name).await? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|_| ResolveError::UnreadableSecret(name.clone()))?,
            None => ConnectionSecrets::default(),
        };
        let secrets = Arc::new(secrets);
        self.secrets.put(cache_key, secrets.clone());
        Ok(secrets)
    }
}

/// A map whose entries expire after [`CACHE_TTL`], holding at most [`CACHE_ENTRIES`].
struct Cache<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K, V> Default for Cache<K, V> {
    fn default() -> Self {
        Cache {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Cache<K, V> {
    fn get(&self, key: &K) -> Option<V> {
        let map = self.entries.lock().ok()?;
        map.get(key)
            .filter(|(at, _)| at.elapsed() < CACHE_TTL)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, key: K, value: V) {
        let Ok(mut map) = self.entries.lock() else {
            return;
        };
        if map.len() >= CACHE_ENTRIES && !map.contains_key(&key) {
            map.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
        }
        if map.len() >= CACHE_ENTRIES && !map.contains_key(&key) {
            let oldest = map
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                map.remove(&oldest);
            }
        }
        map.insert(key, (Instant::now(), value));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::apps::fixtures::{app_version, connection, embedded_store};

    #[test]
    fn a_cache_holds_at_most_its_bound_and_keeps_the_latest() {
        let cache: Cache<u32, u32> = Cache::default();
        for i in 0..(CACHE_ENTRIES as u32 + 10) {
            cache.put(i, i * 2);
        }
        assert_eq!(cache.len(), CACHE_ENTRIES);
        let last = CACHE_ENTRIES as u32 + 9;
        assert_eq!(cache.get(&last), Some(last * 2));
        // Replacing a present key makes no room.
        cache.put(last, 1);
        assert_eq!(cache.len(), CACHE_ENTRIES);
        assert_eq!(cache.get(&last), Some(1));
    }

    #[tokio::test]
    async fn the_resolver_reads_secrets_and_environment_and_sees_a_changed_connection() {
        let (store, _dir) = embedded_store().await;
        let resolver = Resolver::new(store.clone());
        let app = app_version(
            json!({"properties": [{"key": "location_id"}, {"key": "api_token", "secret": true}]}),
            &[
                ("BASE_URL", "https://shop.example", false),
                ("API_SECRET", "env-secret-2468", true),
            ],
        );
        assert!(store.insert_app_version(&app).await.expect("insert app"));
        store
            .put_secret(
                &AppVersion::secret_name("shop", "1.0.0"),
                br#"{"API_SECRET": "env-secret-2468"}"#,
            )
            .await
            .expect("put env secret");
        let mut conn = connection(&app, json!({"location_id": "loc 7"}));
        store
            .insert_connection(&conn)
            .await
            .expect("insert connection");
        let secret_name = Connection::secret_name(&conn.id);
        let secrets = json!({"credentials": {"username": "u", "password": "first-pass"}, "properties": {"api_token": "tok-1111"}});
        store
            .put_secret(&secret_name, secrets.to_string().as_bytes())
            .await
            .expect("put secrets");

        let resolved = resolver.resolve(&conn.id).await.expect("resolved");
        assert_eq!(resolved.env["BASE_URL"], "https://shop.example");
        assert_eq!(resolved.env["API_SECRET"], "env-secret-2468");
        assert_eq!(resolved.secrets.credentials["password"], "first-pass");
        assert_eq!(resolved.props()["api_token"], json!("tok-1111"));
        assert_eq!(resolved.props()["location_id"], json!("loc 7"));

        // New credentials move the connection's version: the next resolution reads them.
        let secrets = json!({"credentials": {"username": "u", "password": "second-pass"}});
        store
            .put_secret(&secret_name, secrets.to_string().as_bytes())
            .await
            .expect("replace secrets");
        conn = store
            .get_connection(&conn.id)
            .await
            .expect("get")
            .expect("there");
        conn.name = "renamed".into();
        assert!(store.update_connection(&conn).await.expect("update"));
        let resolved = resolver.resolve(&conn.id).await.expect("resolved");
        assert_eq!(resolved.secrets.credentials["password"], "second-pass");
        assert_eq!(resolved.connection.name, "renamed");

        // Unreadable secrets are named, their value never quoted.
        store
            .put_secret(&secret_name, b"not json first-pass")
            .await
            .expect("corrupt");
        conn = store
            .get_connection(&conn.id)
            .await
            .expect("get")
            .expect("there");
        assert!(store.update_connection(&conn).await.expect("update"));
        let err = resolver.resolve(&conn.id).await.expect_err("unreadable");
        assert!(matches!(err, ResolveError::UnreadableSecret(_)), "{err:?}");
        assert!(!err.to_string().contains("first-pass"), "{err}");
        assert!(!err.is_transient());

        let missing =
            hookline_domain::ConnectionId::parse("con_01hzzzzzzzzzzzzzzzzzzzzzzy").expect("an id");
        let err = resolver.resolve(&missing).await.expect_err("missing");
        assert!(matches!(err, ResolveError::ConnectionNotFound), "{err:?}");
        let mut orphan = conn.clone();
        orphan.app_version = "9.9.9".into();
        let err = resolver
            .resolve_connection(orphan)
            .await
            .expect_err("no such version");
        assert_eq!(err.to_string(), "app version shop 9.9.9 not found");
    }
}
