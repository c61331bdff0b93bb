//! API keys: in the OS keychain where one runs, else in a 0600 file.
//!
//! `credentials.json` in the config directory (`$XDG_CONFIG_HOME/cuervo/`) is the index:
//! for each provider it says where its key is, and holds the key itself only for the file
//! fallback. Reading the index first means a run never talks to the keychain (D-Bus on
//! Linux) for a provider that never logged in, which keeps start-up fast and silent.
//!
//! The keychain is the macOS Keychain, the Windows Credential Manager, or the Secret
//! Service (GNOME Keyring, KWallet) on Linux, reached through a pure-Rust D-Bus client so
//! no system library is needed. Entries are service `cuervo`, account = provider name.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The keychain service name entries are filed under.
pub const KEYCHAIN_SERVICE: &str = "cuervo";

/// Where a stored key lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLocation {
    Keychain,
    File(PathBuf),
}

impl std::fmt::Display for KeyLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyLocation::Keychain => f.write_str("the OS keychain"),
            KeyLocation::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// What a login did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub location: KeyLocation,
    /// Why the keychain was not used, when it was not.
    pub keychain_error: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    version: u32,
    providers: BTreeMap<String, IndexEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct IndexEntry {
    /// `keychain` or `file`.
    store: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api_key: Option<String>,
}

/// The user's stored API keys.
#[derive(Debug, Clone)]
pub struct Credentials {
    path: PathBuf,
    use_keychain: bool,
}

impl Credentials {
    /// Keys indexed in `config_dir/credentials.json`; the keychain is tried only when
    /// `use_keychain` (and this build has one).
    pub fn new(config_dir: &Path, use_keychain: bool) -> Self {
        Self {
            path: config_dir.join("credentials.json"),
            use_keychain: use_keychain && keychain::AVAILABLE,
        }
    }

    /// The index (and fallback) file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Stores `key` for `provider`: in the keychain if it accepts it, else in the file.
    pub fn save(&self, provider: &str, key: &str) -> Result<Saved> {
        let mut index = self.read_index()?;
        let keychain_error = if self.use_keychain {
            match keychain::set(provider, key) {
                Ok(()) => {
                    index.providers.insert(
                        provider.to_owned(),
                        IndexEntry {
                            store: "keychain".into(),
                            api_key: None,
                        },
                    );
                    self.write_index(&index)?;
                    return Ok(Saved {
                        location: KeyLocation::Keychain,
                        keychain_error: None,
                    });
                }
                Err(e) => Some(e),
            }
        } else {
            Some("the keychain is turned off (CUERVO_KEYRING=off, or this build has none)".into())
        };
        index.providers.insert(
            provider.to_owned(),
            IndexEntry {
                store: "file".into(),
                api_key: Some(key.to_owned()),
            },
        );
        self.write_index(&index)?;
        Ok(Saved {
            location: KeyLocation::File(self.path.clone()),
            keychain_error,
        })
    }

    /// The key of `provider` and where it came from; `None` when none is stored.
    pub fn get(&self, provider: &str) -> Result<Option<(String, KeyLocation)>> {
        let index = self.read_index()?;
        let Some(entry) = index.providers.get(provider) else {
            return Ok(None);
        };
        match entry.store.as_str() {
            "keychain" => keychain::get(provider)
                .map(|k| k.map(|k| (k, KeyLocation::Keychain)))
                .map_err(|e| {
                    Error::Credentials(format!(
                        "the key of `{provider}` is in the OS keychain, which cannot be read now: {e}"
                    ))
                }),
            _ => Ok(entry
                .api_key
                .clone()
                .filter(|k| !k.is_empty())
                .map(|k| (k, KeyLocation::File(self.path.clone())))),
        }
    }

    /// Which providers have a stored key, and where (without reading the keys).
    pub fn list(&self) -> Result<Vec<(String, KeyLocation)>> {
        Ok(self
            .read_index()?
            .providers
            .into_iter()
            .map(|(name, entry)| {
                let location = if entry.store == "keychain" {
                    KeyLocation::Keychain
                } else {
                    KeyLocation::File(self.path.clone())
                };
                (name, location)
            })
            .collect())
    }

    /// Forgets the key of `provider`; returns where it was.
    pub fn remove(&self, provider: &str) -> Result<Option<KeyLocation>> {
        let mut index = self.read_index()?;
        let Some(entry) = index.providers.remove(provider) else {
            return Ok(None);
        };
        let location = if entry.store == "keychain" {
            keychain::delete(provider).map_err(|e| {
                Error::Credentials(format!("cannot delete the key from the OS keychain: {e}"))
            })?;
            KeyLocation::Keychain
        } else {
            KeyLocation::File(self.path.clone())
        };
        self.write_index(&index)?;
        Ok(Some(location))
    }

    fn read_index(&self) -> Result<Index> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                Error::Credentials(format!(
                    "{} is not valid: {e}; fix or delete it and log in again",
                    self.path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Index {
                version: 1,
                providers: BTreeMap::new(),
            }),
            Err(e) => Err(Error::io(&self.path, e)),
        }
    }

    /// Writes the index with mode 0600, atomically.
    fn write_index(&self, index: &Index) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let tmp = self
            .path
            .with_extension(format!("json.tmp{}", std::process::id()));
        let text = serde_json::to_string_pretty(index)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(|e| Error::io(&tmp, e))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| Error::io(&self.path, e))
    }
}

#[cfg(all(
    feature = "keychain",
    any(target_os = "linux", target_os = "macos", target_os = "windows")
))]
mod keychain {
    use super::KEYCHAIN_SERVICE;

    pub const AVAILABLE: bool = true;

    fn entry(provider: &str) -> Result<keyring::Entry, String> {
        keyring::Entry::new(KEYCHAIN_SERVICE, provider).map_err(|e| e.to_string())
    }

    pub fn set(provider: &str, key: &str) -> Result<(), String> {
        entry(provider)?
            .set_password(key)
            .map_err(|e| e.to_string())
    }

    pub fn get(provider: &str) -> Result<Option<String>, String> {
        match entry(provider)?.get_password() {
            Ok(key) => Ok(Some(key)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    pub fn delete(provider: &str) -> Result<(), String> {
        match entry(provider)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}

#[cfg(not(all(
    feature = "keychain",
    any(target_os = "linux", target_os = "macos", target_os = "windows")
)))]
mod keychain {
    pub const AVAILABLE: bool = false;
    const NONE: &str = "this build has no keychain support";

    pub fn set(_: &str, _: &str) -> Result<(), String> {
        Err(NONE.into())
    }

    pub fn get(_: &str) -> Result<Option<String>, String> {
        Err(NONE.into())
    }

    pub fn delete(_: &str) -> Result<(), String> {
        Err(NONE.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_fallback_round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let creds = Credentials::new(dir.path(), false);
        let saved = creds.save("openai", "sk-test-123456").unwrap();
        assert_eq!(saved.location, KeyLocation::File(creds.path().to_owned()));
        assert!(saved.keychain_error.is_some());
        assert_eq!(
            creds.get("openai").unwrap(),
            Some((
                "sk-test-123456".into(),
                KeyLocation::File(creds.path().to_owned())
            ))
        );
        assert_eq!(creds.get("anthropic").unwrap(), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(creds.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(creds.list().unwrap().len(), 1);
        assert!(creds.remove("openai").unwrap().is_some());
        assert_eq!(creds.get("openai").unwrap(), None);
        assert!(creds.remove("openai").unwrap().is_none());
    }
}
