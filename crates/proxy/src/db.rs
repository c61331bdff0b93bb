//! The proxy's state in SQLite: virtual keys, and spend (raw records plus a daily rollup).
//!
//! A single replica needs nothing else: the database file is created on first start.
//! Usage queries read the rollup (`usage_daily`, one row per key, model and day), which
//! the writer updates in the same transaction as it appends raw records, so a query's
//! cost does not grow with the number of requests ever served.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, params};
use sha2::{Digest, Sha256};

/// A database error, with what was being done.
#[derive(Debug, thiserror::Error)]
#[error("the proxy database: {0}")]
pub struct DbError(#[from] rusqlite::Error);

pub type Result<T> = std::result::Result<T, DbError>;

/// A shared connection. Calls are short (indexed lookups, batched writes) and run on
/// blocking threads by the callers that may wait.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    user TEXT,
    team TEXT,
    models TEXT NOT NULL DEFAULT '[]',
    rpm INTEGER,
    tpm INTEGER,
    budget_usd REAL,
    budget_period TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE IF NOT EXISTS usage (
    id INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL UNIQUE,
    key_id TEXT NOT NULL,
    model TEXT NOT NULL,
    day TEXT NOT NULL,
    at INTEGER NOT NULL,
    status INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    micro_usd INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS usage_daily (
    key_id TEXT NOT NULL,
    model TEXT NOT NULL,
    day TEXT NOT NULL,
    requests INTEGER NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    micro_usd INTEGER NOT NULL,
    PRIMARY KEY (key_id, day, model)
);
";

impl Db {
    /// Opens (creating) the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            // The open below reports the failure if this one mattered.
            let _ = std::fs::create_dir_all(dir);
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The connection, for this crate's modules.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        // SQLite rolls back what a panicking holder left open.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the database answers (`/readyz`).
    pub fn ping(&self) -> bool {
        self.lock()
            .query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
            .is_ok()
    }
}

/// A virtual key as stored (never the key itself: its SHA-256).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct KeyRecord {
    pub id: String,
    /// The key's first characters, to recognise it in a list.
    pub prefix: String,
    pub name: String,
    pub user: Option<String>,
    pub team: Option<String>,
    /// Public model names the key may use; empty: all.
    pub models: Vec<String>,
    pub rpm: Option<u64>,
    pub tpm: Option<u64>,
    pub budget_usd: Option<f64>,
    /// `daily`, `monthly`, or none (the budget never resets).
    pub budget_period: Option<String>,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// What a new key may do.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
    #[serde(default)]
    pub models: Vec<String>,
    #[serde(default)]
    pub rpm: Option<u64>,
    #[serde(default)]
    pub tpm: Option<u64>,
    #[serde(default)]
    pub budget_usd: Option<f64>,
    #[serde(default)]
    pub budget_period: Option<String>,
}

impl KeySpec {
    /// Checks the budget period's name.
    pub fn validate(&self) -> std::result::Result<(), String> {
        match self.budget_period.as_deref() {
            None | Some("daily" | "monthly") => {}
            Some(other) => {
                return Err(format!(
                    "budget_period `{other}` is not `daily` or `monthly`"
                ));
            }
        }
        if self.budget_usd.is_some_and(|b| b.is_nan() || b < 0.0) {
            return Err("budget_usd must be zero or more".into());
        }
        Ok(())
    }
}

/// The prefix every virtual key starts with.
pub const KEY_PREFIX: &str = "sk-cuervo-";

/// SHA-256 of a key, hex: what the database keeps.
pub fn key_hash(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::fill(buf.as_mut_slice());
    hex(&buf)
}

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

const KEY_COLUMNS: &str = "id, prefix, name, user, team, models, rpm, tpm, budget_usd, budget_period, \
                           created_at, revoked_at";

fn read_key(r: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRecord> {
    let models: String = r.get(5)?;
    Ok(KeyRecord {
        id: r.get(0)?,
        prefix: r.get(1)?,
        name: r.get(2)?,
        user: r.get(3)?,
        team: r.get(4)?,
        models: serde_json::from_str(&models).unwrap_or_default(),
        rpm: r.get::<_, Option<i64>>(6)?.map(|v| v.max(0) as u64),
        tpm: r.get::<_, Option<i64>>(7)?.map(|v| v.max(0) as u64),
        budget_usd: r.get(8)?,
        budget_period: r.get(9)?,
        created_at: r.get(10)?,
        revoked_at: r.get(11)?,
    })
}

impl Db {
    /// Creates a key: returns its record and the key itself, which is shown once and
    /// never stored.
    pub fn create_key(&self, spec: &KeySpec) -> Result<(KeyRecord, String)> {
        let key = format!("{KEY_PREFIX}{}", random_hex(24));
        let id = format!("key_{}", random_hex(6));
        let prefix: String = key.chars().take(KEY_PREFIX.len() + 6).collect();
        let models = serde_json::to_string(&spec.models).unwrap_or_else(|_| "[]".into());
        let conn = self.lock();
        conn.execute(
            "INSERT INTO keys (id, hash, prefix, name, user, team, models, rpm, tpm, budget_usd,
                               budget_period, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                id,
                key_hash(&key),
                prefix,
                spec.name,
                spec.user,
                spec.team,
                models,
                spec.rpm.map(|v| v as i64),
                spec.tpm.map(|v| v as i64),
                spec.budget_usd,
                spec.budget_period,
                now()
            ],
        )?;
        let record = conn.query_row(
            &format!("SELECT {KEY_COLUMNS} FROM keys WHERE id = ?1"),
            [&id],
            read_key,
        )?;
        Ok((record, key))
    }

    /// Every key, newest first.
    pub fn list_keys(&self) -> Result<Vec<KeyRecord>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {KEY_COLUMNS} FROM keys ORDER BY created_at DESC, id"
        ))?;
        let rows = stmt.query_map([], read_key)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The key with this id.
    pub fn key(&self, id: &str) -> Result<Option<KeyRecord>> {
        Ok(self
            .lock()
            .query_row(
                &format!("SELECT {KEY_COLUMNS} FROM keys WHERE id = ?1"),
                [id],
                read_key,
            )
            .optional()?)
    }

    /// The key a client presented, by its hash (revoked keys included: the caller says
    /// why it refuses).
    pub fn key_by_hash(&self, hash: &str) -> Result<Option<KeyRecord>> {
        Ok(self
            .lock()
            .prepare_cached(&format!("SELECT {KEY_COLUMNS} FROM keys WHERE hash = ?1"))?
            .query_row([hash], read_key)
            .optional()?)
    }

    /// Revokes a key; `false` when there is no such key or it was already revoked.
    pub fn revoke_key(&self, id: &str) -> Result<bool> {
        let n = self.lock().execute(
            "UPDATE keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now()],
        )?;
        Ok(n == 1)
    }

    /// Replaces a key's secret (same id, limits and spend): the old key stops working at
    /// once. Returns the new key, or `None` for an unknown or revoked id.
    pub fn rotate_key(&self, id: &str) -> Result<Option<String>> {
        let key = format!("{KEY_PREFIX}{}", random_hex(24));
        let prefix: String = key.chars().take(KEY_PREFIX.len() + 6).collect();
        let n = self.lock().execute(
            "UPDATE keys SET hash = ?2, prefix = ?3 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, key_hash(&key), prefix],
        )?;
        Ok((n == 1).then_some(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stored_as_hashes_and_revoked_and_rotated() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("p.db")).unwrap();
        let (rec, key) = db
            .create_key(&KeySpec {
                name: "ci".into(),
                models: vec!["smart".into()],
                rpm: Some(60),
                ..KeySpec::default()
            })
            .unwrap();
        assert!(key.starts_with(KEY_PREFIX));
        assert!(key.starts_with(&rec.prefix));
        let bytes = std::fs::read(dir.path().join("p.db")).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&key), "the key itself is never stored");
        let found = db.key_by_hash(&key_hash(&key)).unwrap().unwrap();
        assert_eq!(
            (found.rpm, found.models.clone()),
            (Some(60), vec!["smart".to_owned()])
        );
        let new = db.rotate_key(&rec.id).unwrap().unwrap();
        assert!(db.key_by_hash(&key_hash(&key)).unwrap().is_none());
        assert!(db.key_by_hash(&key_hash(&new)).unwrap().is_some());
        assert!(db.revoke_key(&rec.id).unwrap());
        assert!(!db.revoke_key(&rec.id).unwrap());
        assert!(db.key(&rec.id).unwrap().unwrap().revoked_at.is_some());
        assert!(db.rotate_key(&rec.id).unwrap().is_none());
    }
}
