//! The secret store on SQLite: each value encrypted with AES-256-GCM (aws-lc-rs), a random
//! 96-bit nonce per write and the secret's name as associated data (a row copied under
//! another name does not decrypt), in the `secrets` table.
//!
//! The key is kept apart from the database: `HOOKLINE_SECRETS_KEY` (base64 of 32 bytes) if
//! set, else the file `secrets.key` in the data directory, created (mode 0600, a fresh random
//! key) the first time a secret is written or read. A backup of the database alone reveals no
//! secret; one restored without its key reads none. Errors name the key's source, never the
//! key or a value.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hookline_ports::{MAX_SECRET_BYTES, PortError, SecretStore};
use rusqlite::{OptionalExtension, params};

use crate::EmbeddedBackend;
use crate::error::{EmbeddedError, sqlite};

/// The variable that holds the key (base64 of 32 bytes).
pub const SECRETS_KEY_ENV: &str = "HOOKLINE_SECRETS_KEY";
/// The key file in the data directory, when the variable is not set.
pub const SECRETS_KEY_FILE: &str = "secrets.key";

/// Bytes of an AES-256 key.
const KEY_LEN: usize = 32;

/// Where the key comes from.
#[derive(Debug)]
enum Source {
    /// The variable's value (or a key given to `with_secrets_key`).
    Given(String),
    /// The key file, created on first use.
    File(PathBuf),
}

/// The key of the secret store, loaded on first use.
pub(crate) struct SecretsKey {
    source: Source,
    key: Mutex<Option<Arc<RandomizedNonceKey>>>,
}

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl SecretsKey {
    /// The key `HOOKLINE_SECRETS_KEY` holds, checked now; else the key file of `data_dir`.
    pub(crate) fn from_env(data_dir: &Path) -> Result<SecretsKey, EmbeddedError> {
        match std::env::var(SECRETS_KEY_ENV) {
            Ok(v) if !v.trim().is_empty() => SecretsKey::given(v),
            Ok(_) | Err(std::env::VarError::NotPresent) => Ok(SecretsKey {
                source: Source::File(data_dir.join(SECRETS_KEY_FILE)),
                key: Mutex::new(None),
            }),
            Err(std::env::VarError::NotUnicode(_)) => Err(EmbeddedError::SecretsKey(format!(
                "{SECRETS_KEY_ENV} is not base64 of {KEY_LEN} bytes"
            ))),
        }
    }

    /// A key given as base64 of 32 bytes, checked now.
    pub(crate) fn given(base64: String) -> Result<SecretsKey, EmbeddedError> {
        let source = Source::Given(base64);
        let key = load(&source).map_err(EmbeddedError::SecretsKey)?;
        Ok(SecretsKey {
            source,
            key: Mutex::new(Some(key)),
        })
    }

    /// The key's source, as errors name it.
    fn describe(&self) -> String {
        describe(&self.source)
    }

    /// The key, loading (or creating) it the first time.
    fn key(&self) -> Result<Arc<RandomizedNonceKey>, PortError> {
        let mut slot = self.key.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(key) = slot.as_ref() {
            return Ok(key.clone());
        }
        let key = load(&self.source).map_err(PortError::backend)?;
        *slot = Some(key.clone());
        Ok(key)
    }
}

fn describe(source: &Source) -> String {
    match source {
        Source::Given(_) => SECRETS_KEY_ENV.to_string(),
        Source::File(path) => format!("the key file {}", path.display()),
    }
}

/// The key of `source`; an error names the source only.
fn load(source: &Source) -> Result<Arc<RandomizedNonceKey>, String> {
    let text = match source {
        Source::Given(text) => text.clone(),
        Source::File(path) => read_or_create(path)?,
    };
    let bytes = STANDARD
        .decode(text.trim())
        .ok()
        .filter(|b| b.len() == KEY_LEN)
        .ok_or_else(|| format!("{} is not base64 of {KEY_LEN} bytes", describe(source)))?;
    RandomizedNonceKey::new(&AES_256_GCM, &bytes)
        .map(Arc::new)
        .map_err(|_| format!("{} is not an AES-256 key", describe(source)))
}

/// The key file's text, after writing a fresh random key to it if there was none.
fn read_or_create(path: &Path) -> Result<String, String> {
    let failed = |what: &str, e: std::io::Error| {
        format!("cannot {what} the key file {}: {e}", path.display())
    };
    match create(path) {
        Ok(text) => {
            tracing::info!(path = %path.display(), "created the secret store's key file");
            Ok(text)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read_to_string(path).map_err(|e| failed("read", e))
        }
        Err(e) => Err(failed("create", e)),
    }
}

/// Creates the key file (only its owner may read it) holding a fresh key.
fn create(path: &Path) -> std::io::Result<String> {
    use std::io::Write;
    let mut key = [0u8; KEY_LEN];
    aws_lc_rs::rand::fill(&mut key).map_err(|_| std::io::Error::other("no random bytes"))?;
    let text = format!("{}\n", STANDARD.encode(key));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(text)
}

impl EmbeddedBackend {
    /// This backend, with the secret store's key given (base64 of 32 bytes) instead of read
    /// from `HOOKLINE_SECRETS_KEY` or the key file; errors name it as the variable.
    pub fn with_secrets_key(mut self, base64: &str) -> Result<EmbeddedBackend, EmbeddedError> {
        self.secrets = Arc::new(SecretsKey::given(base64.to_string())?);
        Ok(self)
    }
}

#[async_trait]
impl SecretStore for EmbeddedBackend {
    async fn put_secret(&self, name: &str, value: &[u8]) -> Result<(), PortError> {
        const OP: &str = "put_secret";
        if value.len() > MAX_SECRET_BYTES {
            return Err(PortError::backend(format!(
                "the secret {name} is larger than {MAX_SECRET_BYTES} bytes"
            )));
        }
        let key = self.secrets.key()?;
        let mut sealed = value.to_vec();
        let nonce = key
            .seal_in_place_append_tag(Aad::from(name.as_bytes()), &mut sealed)
            .map_err(|_| PortError::backend(format!("cannot encrypt the secret {name}")))?;
        let nonce = nonce.as_ref().to_vec();
        let name = name.to_string();
        self.db
            .write(OP, move |tx| {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO secrets (name, nonce, ciphertext) VALUES (?1, ?2, ?3)",
                )
                .and_then(|mut s| s.execute(params![name, nonce, sealed]))
                .map_err(|e| sqlite(OP, e))
                .map(|_| ())
            })
            .await
    }

    async fn get_secret(&self, name: &str) -> Result<Option<Vec<u8>>, PortError> {
        const OP: &str = "get_secret";
        let key = self.secrets.key()?;
        let owned = name.to_string();
        let row: Option<(Vec<u8>, Vec<u8>)> = self
            .db
            .lookup(OP, move |c| {
                c.prepare_cached("SELECT nonce, ciphertext FROM secrets WHERE name = ?1")
                    .and_then(|mut s| {
                        s.query_row(params![owned], |r| Ok((r.get(0)?, r.get(1)?)))
                            .optional()
                    })
                    .map_err(|e| sqlite(OP, e))
            })
            .await?;
        let Some((nonce, mut sealed)) = row else {
            return Ok(None);
        };
        let undecryptable = || {
            PortError::backend(format!(
                "cannot decrypt the secret {name} with the key from {}: not the key it was written with, or the stored value is damaged",
                self.secrets.describe()
            ))
        };
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| undecryptable())?;
        let plain = key
            .open_in_place(Nonce::from(&nonce), Aad::from(name.as_bytes()), &mut sealed)
            .map_err(|_| undecryptable())?;
        Ok(Some(plain.to_vec()))
    }

    async fn delete_secret(&self, name: &str) -> Result<(), PortError> {
        const OP: &str = "delete_secret";
        let name = name.to_string();
        self.db
            .write(OP, move |tx| {
                tx.prepare_cached("DELETE FROM secrets WHERE name = ?1")
                    .and_then(|mut s| s.execute(params![name]))
                    .map_err(|e| sqlite(OP, e))
                    .map(|_| ())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use hookline_ports::SecretStore;

    use super::*;
    use crate::QueueOptions;

    const VALUE: &[u8] = b"{\"password\":\"correct horse battery staple\"}";

    fn open(dir: &Path) -> EmbeddedBackend {
        EmbeddedBackend::open(dir, QueueOptions::default()).expect("open")
    }

    fn other_key() -> String {
        STANDARD.encode([7u8; KEY_LEN])
    }

    /// Both texts of an error.
    fn texts(e: &PortError) -> [String; 2] {
        [e.to_string(), format!("{e:?}")]
    }

    #[tokio::test]
    async fn the_key_file_is_created_for_its_owner_only_and_read_again_after_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(SECRETS_KEY_FILE);
        let backend = open(dir.path());
        assert!(!path.exists(), "created on first use, not at open");
        backend
            .put_secret("apps/a/1.0.0", VALUE)
            .await
            .expect("put");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path)
                .expect("key file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "the key file is its owner's alone");
        }
        drop(backend);
        let again = open(dir.path());
        assert_eq!(
            again
                .get_secret("apps/a/1.0.0")
                .await
                .expect("get")
                .as_deref(),
            Some(VALUE)
        );
    }

    #[tokio::test]
    async fn values_are_stored_encrypted_each_write_with_its_own_nonce() {
        let dir = tempfile::tempdir().expect("tempdir");
        let backend = open(dir.path());
        backend.put_secret("a", VALUE).await.expect("put a");
        backend.put_secret("b", VALUE).await.expect("put b");
        let conn = rusqlite::Connection::open(backend.db_path()).expect("sqlite");
        let rows: Vec<(Vec<u8>, Vec<u8>)> = conn
            .prepare("SELECT nonce, ciphertext FROM secrets ORDER BY name")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(rows.len(), 2);
        assert_ne!(rows[0].0, rows[1].0, "a fresh nonce per write");
        for (_, sealed) in &rows {
            assert!(
                !sealed.windows(8).any(|w| VALUE.windows(8).any(|v| v == w)),
                "the plaintext is not in the file"
            );
        }
        // The name is bound to the value: a row copied under another name does not decrypt.
        conn.execute(
            "UPDATE secrets SET nonce = (SELECT nonce FROM secrets WHERE name = 'a'),
                 ciphertext = (SELECT ciphertext FROM secrets WHERE name = 'a') WHERE name = 'b'",
            [],
        )
        .expect("copy");
        assert!(backend.get_secret("b").await.is_err());
    }

    #[tokio::test]
    async fn a_wrong_key_is_an_error_naming_its_source_and_never_a_value_or_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let backend = open(dir.path());
        backend
            .put_secret("connections/con_1", VALUE)
            .await
            .expect("put");
        drop(backend);
        let file_key = std::fs::read_to_string(dir.path().join(SECRETS_KEY_FILE)).expect("key");

        let wrong = open(dir.path())
            .with_secrets_key(&other_key())
            .expect("key");
        let e = wrong
            .get_secret("connections/con_1")
            .await
            .expect_err("the wrong key");
        for text in texts(&e) {
            assert!(text.contains(SECRETS_KEY_ENV), "{text}");
            assert!(text.contains("connections/con_1"), "{text}");
            assert!(!text.contains("correct horse") && !text.contains(&other_key()));
            assert!(!text.contains(file_key.trim()));
        }
        drop(wrong);

        // The same with the key file replaced.
        std::fs::write(dir.path().join(SECRETS_KEY_FILE), other_key()).expect("replace");
        let e = open(dir.path())
            .get_secret("connections/con_1")
            .await
            .expect_err("the wrong key file");
        for text in texts(&e) {
            assert!(text.contains("the key file"), "{text}");
            assert!(!text.contains("correct horse") && !text.contains(&other_key()));
        }
    }

    #[test]
    fn a_malformed_key_is_refused_naming_its_source_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        for bad in ["not base64!", "c2hvcnQ=", ""] {
            let e = open(dir.path())
                .with_secrets_key(bad)
                .expect_err("malformed");
            let text = e.to_string();
            assert!(text.contains(SECRETS_KEY_ENV), "{text}");
            assert!(bad.is_empty() || !text.contains(bad), "{text}");
        }
    }
}
