//! The profiles file: one named profile (API URL, client id and secret) per stack, in
//! `$HOOKLINE_CONFIG`, else `$XDG_CONFIG_HOME/hookline/profiles.toml`, else
//! `~/.config/hookline/profiles.toml`. It holds client secrets, so it is written owner-only
//! (0600) from its first byte: a new file is created with that mode beside the old one and
//! renamed over it, never created first and narrowed after.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::CliError;

/// The profile used when none is named and the file names no default.
pub const DEFAULT_PROFILE: &str = "default";

/// One stack's credentials.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Profile {
    /// The API's base URL (`https://hooks.example.org`).
    pub api: String,
    /// The client id (`cl_…`).
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
}

/// The whole file.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ProfilesFile {
    /// The profile used when none is named (`--profile`, `HOOKLINE_PROFILE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_profile: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

impl ProfilesFile {
    /// Reads the file at `path` (none yet: an empty file).
    pub fn load(path: &Path) -> Result<ProfilesFile, CliError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(CliError::usage(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        toml::from_str(&text)
            .map_err(|e| CliError::usage(format!("{} is not a profiles file: {e}", path.display())))
    }

    /// Writes the file to `path`, owner-only, replacing it in one rename.
    pub fn save(&self, path: &Path) -> Result<(), CliError> {
        let text = toml::to_string(self)
            .map_err(|e| CliError::usage(format!("cannot write the profiles: {e}")))?;
        let fail =
            |e: std::io::Error| CliError::usage(format!("cannot write {}: {e}", path.display()));
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        if let Some(dir) = dir {
            create_private_dir(dir).map_err(fail)?;
        }
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let mut file = private_file(&tmp).map_err(fail)?;
        let written = file
            .write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .and_then(|()| std::fs::rename(&tmp, path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(fail(e));
        }
        Ok(())
    }

    /// The name of the profile to use: `named` (from `--profile` or `HOOKLINE_PROFILE`), else
    /// the file's default, else `default`.
    pub fn chosen(&self, named: Option<&str>) -> String {
        named
            .map(str::to_string)
            .or_else(|| self.default_profile.clone())
            .unwrap_or_else(|| DEFAULT_PROFILE.to_string())
    }
}

/// Where the profiles file is.
pub fn path() -> Result<PathBuf, CliError> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(p) = var("HOOKLINE_CONFIG") {
        return Ok(p);
    }
    let base = var("XDG_CONFIG_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".config")))
        .ok_or_else(|| {
            CliError::usage("cannot find the profiles file: set HOOKLINE_CONFIG or HOME")
        })?;
    Ok(base.join("hookline").join("profiles.toml"))
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}
