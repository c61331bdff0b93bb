//! The audit log: a tamper-evident record of everything the agent did.
//!
//! # The chain
//! Each entry is `(id, ts, kind, session_id, payload)`. Its **canonical JSON** is the
//! object `{"id":…,"kind":…,"payload":…,"session_id":…,"ts":…}` written by
//! [`canonical_json`]: object keys sorted by their UTF-8 bytes (at every depth), no
//! whitespace, strings escaped the way `serde_json` escapes them (`"`, `\` and control
//! characters; everything else literal UTF-8), integers in decimal, `null` for a missing
//! session. Its hash is
//!
//! ```text
//! hash = hex(SHA-256(prev_hash ‖ canonical_json))
//! ```
//!
//! where `prev_hash` is the previous entry's hash as 64 lower-case hex characters (the
//! first entry uses 64 zeros) and `‖` is byte concatenation. Ids count from 1 without
//! gaps. Editing an entry breaks its hash; deleting one leaves a gap and breaks the next
//! entry's link; moving one breaks its link.
//!
//! # The head checkpoint
//! Deleting the *last* entries leaves a valid, shorter chain. So every append also
//! rewrites a small file next to the database, `<db>.audit-head` (JSON: the last id, the
//! entry count and the last hash), atomically (temporary file, fsync, rename) while
//! holding a file lock that serialises appends across processes. `verify` checks the
//! table still reaches that head. The table may be *one* entry ahead after a crash
//! between the commit and the checkpoint write; the next append brings it up to date.
//! When an append finds the table behind its checkpoint (truncated) or disagreeing with
//! it, it records the anomaly in the checkpoint for good, so appending more entries
//! cannot hide it.
//!
//! This makes tampering *evident*, not impossible: someone who can rewrite both the
//! database and the checkpoint file can forge a consistent history.
//!
//! # Redaction
//! Every string in a payload passes through the log's [`Redact`] function (PII and
//! secrets) *before* it is hashed and stored: what is chained is what is kept.

use std::borrow::Cow;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::Redact;
use crate::db::Db;
use crate::error::{Error, Result};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    /// ISO 8601 UTC with milliseconds.
    pub ts: String,
    /// What happened: `model_invoked`, `tool_executed`, `file_modified`, `bash_executed`,
    /// `permission_decided`, …
    pub kind: String,
    pub session_id: Option<String>,
    pub payload: Value,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The canonical JSON that is hashed (see the module docs).
    pub fn canonical(&self) -> String {
        entry_canonical(
            self.id,
            &self.ts,
            &self.kind,
            self.session_id.as_deref(),
            &self.payload,
        )
    }

    /// The hash this entry should have after `prev_hash`.
    pub fn expected_hash(&self) -> String {
        chain_hash(&self.prev_hash, &self.canonical())
    }
}

/// Writes `value` as canonical JSON: sorted keys, no whitespace.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push('{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_canonical(&map[key.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::String(s) => write_string(s, out),
        // Null, booleans and numbers print the same whatever the map order.
        other => out.push_str(&other.to_string()),
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push_str(&Value::String(s.to_owned()).to_string());
}

/// The canonical JSON of an entry's content.
pub fn entry_canonical(
    id: i64,
    ts: &str,
    kind: &str,
    session_id: Option<&str>,
    payload: &Value,
) -> String {
    let object = serde_json::json!({
        "id": id,
        "ts": ts,
        "kind": kind,
        "session_id": session_id,
        "payload": payload,
    });
    canonical_json(&object)
}

/// `hex(SHA-256(prev_hash ‖ canonical))`.
pub fn chain_hash(prev_hash: &str, canonical: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(canonical.as_bytes());
    hex(&hasher.finalize())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Applies `redact` to every string of `value` (object keys are ours and kept).
pub fn redact_value(value: &mut Value, redact: &Redact) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(clean) = redact(s) {
                *s = clean;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, redact)),
        Value::Object(map) => map.values_mut().for_each(|v| redact_value(v, redact)),
        _ => {}
    }
}

/// An entry to append: what happened, in which session, with what details.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub kind: String,
    pub session_id: Option<String>,
    pub payload: Value,
}

/// The head checkpoint kept next to the database.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version of this file.
    pub version: u32,
    /// The id of the last entry.
    pub last_id: i64,
    /// How many entries the log had.
    pub count: u64,
    /// The hash of the last entry.
    pub hash: String,
    /// Set, for good, when an append found the log disagreeing with this checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<String>,
}

/// How an audit log failed verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreachKind {
    /// An entry's content no longer matches its hash.
    Edited,
    /// Entries are missing before the one named (a gap in the ids).
    Deleted,
    /// An entry does not link to the one before it: moved, or the one before it was
    /// replaced with a recomputed hash.
    Relinked,
    /// The log ends before its checkpoint.
    Truncated,
    /// The entry the checkpoint names has another hash: history was rewritten.
    Rewritten,
    /// The checkpoint file is missing or unreadable although the log has entries.
    CheckpointMissing,
    /// An earlier append found the log disagreeing with its checkpoint.
    Anomaly,
}

/// The first problem found, naming the entry where it shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breach {
    /// The id of the first entry that fails.
    pub entry: i64,
    pub kind: BreachKind,
    pub detail: String,
}

impl std::fmt::Display for Breach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entry {}: {}", self.entry, self.detail)
    }
}

/// The result of [`AuditLog::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Entries walked.
    pub entries: u64,
    /// The last entry's id and hash.
    pub head: Option<(i64, String)>,
    /// Whether a checkpoint was there to check the tail against.
    pub checkpointed: bool,
    /// The first problem, or `None` when the log is intact.
    pub breach: Option<Breach>,
}

impl Verification {
    pub fn is_intact(&self) -> bool {
        self.breach.is_none()
    }
}

/// The audit log of one database.
#[derive(Clone)]
pub struct AuditLog {
    db: Arc<Db>,
    checkpoint: Option<PathBuf>,
    redact: Redact,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("db", &self.db)
            .field("checkpoint", &self.checkpoint)
            .finish_non_exhaustive()
    }
}

/// Leaves text as it is (for tests, or where redaction happened before).
pub fn no_redaction() -> Redact {
    Arc::new(|text: &str| Cow::Borrowed(text))
}

impl AuditLog {
    /// The log of `db`, redacting payload strings with `redact`. A file database keeps its
    /// checkpoint at `<db>.audit-head`; an in-memory one has none.
    pub fn new(db: Arc<Db>, redact: Redact) -> Self {
        let checkpoint = db.path().map(checkpoint_path);
        Self {
            db,
            checkpoint,
            redact,
        }
    }

    pub fn checkpoint_path(&self) -> Option<&Path> {
        self.checkpoint.as_deref()
    }

    /// Redacts, chains and stores one entry; returns it as stored.
    pub fn append(
        &self,
        kind: &str,
        session_id: Option<&str>,
        payload: Value,
    ) -> Result<AuditEntry> {
        let mut entries = self.append_batch(vec![NewEntry {
            kind: kind.to_owned(),
            session_id: session_id.map(str::to_owned),
            payload,
        }])?;
        entries
            .pop()
            .ok_or_else(|| Error::Corrupt("an audit append stored nothing".into()))
    }

    /// Redacts, chains and stores several entries in one durable transaction with one
    /// checkpoint update; returns them as stored.
    pub fn append_batch(&self, batch: Vec<NewEntry>) -> Result<Vec<AuditEntry>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let batch: Vec<NewEntry> = batch
            .into_iter()
            .map(|mut e| {
                redact_value(&mut e.payload, &self.redact);
                e
            })
            .collect();
        let _lock = self.lock()?;
        let checkpoint = self.read_checkpoint();
        // The checkpoint is fsynced after the commit, so the commit must be durable too
        // (WAL + `synchronous = NORMAL` may lose the last commits on power loss, which
        // would leave the checkpoint ahead of the table).
        self.db
            .read(|c| Ok(c.pragma_update(None, "synchronous", "FULL")?))?;
        let written = self.db.write(|tx| {
            let ts: String =
                tx.query_row("SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')", [], |r| {
                    r.get(0)
                })?;
            let last: Option<(i64, String)> = tx
                .query_row(
                    "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let count: i64 = tx.query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))?;
            let sequence: i64 = tx
                .query_row(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'",
                    [],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0);
            let anomaly = match &checkpoint {
                Ok(Some(cp)) => check_against(tx, cp, last.as_ref())?,
                _ => None,
            };
            let first_id = sequence.max(last.as_ref().map_or(0, |l| l.0)) + 1;
            let mut prev_hash = last.map_or_else(|| GENESIS_HASH.to_owned(), |l| l.1);
            let mut stored = Vec::with_capacity(batch.len());
            for (id, new) in (first_id..).zip(&batch) {
                let mut entry = AuditEntry {
                    id,
                    ts: ts.clone(),
                    kind: new.kind.clone(),
                    session_id: new.session_id.clone(),
                    payload: new.payload.clone(),
                    prev_hash: prev_hash.clone(),
                    hash: String::new(),
                };
                entry.hash = entry.expected_hash();
                tx.execute(
                    "INSERT INTO audit_log (id, ts, kind, session_id, payload, prev_hash, hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        entry.id,
                        entry.ts,
                        entry.kind,
                        entry.session_id,
                        canonical_json(&entry.payload),
                        entry.prev_hash,
                        entry.hash
                    ],
                )?;
                prev_hash = entry.hash.clone();
                stored.push(entry);
            }
            let count = u64::try_from(count).unwrap_or(0) + stored.len() as u64;
            Ok((stored, count, anomaly))
        });
        let _ = self
            .db
            .read(|c| Ok(c.pragma_update(None, "synchronous", "NORMAL")?));
        let (entries, count, anomaly) = written?;
        if let (Some(path), Some(last)) = (&self.checkpoint, entries.last()) {
            let earlier = checkpoint.ok().flatten().and_then(|c| c.anomaly);
            let anomaly = earlier.or(anomaly);
            if let Some(a) = &anomaly {
                tracing::warn!("audit log disagrees with its checkpoint: {a}");
            }
            write_checkpoint(
                path,
                &Checkpoint {
                    version: 1,
                    last_id: last.id,
                    count,
                    hash: last.hash.clone(),
                    anomaly,
                },
            )?;
        }
        Ok(entries)
    }

    /// The last `n` entries, oldest first.
    pub fn tail(&self, n: usize) -> Result<Vec<AuditEntry>> {
        self.db.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, ts, kind, session_id, payload, prev_hash, hash FROM
                   (SELECT * FROM audit_log ORDER BY id DESC LIMIT ?1) ORDER BY id",
            )?;
            let rows = stmt.query_map([i64::try_from(n).unwrap_or(i64::MAX)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (id, ts, kind, session_id, payload, prev_hash, hash) = row?;
                out.push(AuditEntry {
                    id,
                    ts,
                    kind,
                    session_id,
                    payload: serde_json::from_str(&payload).unwrap_or(Value::String(payload)),
                    prev_hash,
                    hash,
                });
            }
            Ok(out)
        })
    }

    /// Walks the whole chain and checks it against the checkpoint; stops at the first
    /// entry that fails.
    pub fn verify(&self) -> Result<Verification> {
        let _lock = self.lock()?;
        // The checkpoint first: the table only grows after it, never shrinks.
        let checkpoint = self.checkpoint.as_ref().map(|_| self.read_checkpoint());
        let mut result = self.db.read_tx(walk)?;
        if result.breach.is_some() {
            return Ok(result);
        }
        let Some(checkpoint) = checkpoint else {
            return Ok(result);
        };
        result.checkpointed = true;
        let last_id = result.head.as_ref().map_or(0, |h| h.0);
        let checkpoint = match checkpoint {
            Ok(Some(cp)) => cp,
            Ok(None) if result.entries == 0 => {
                result.checkpointed = false;
                return Ok(result);
            }
            Ok(None) | Err(_) => {
                let why = match checkpoint {
                    Err(e) => format!("cannot be read ({e})"),
                    _ => "is missing".to_owned(),
                };
                result.breach = Some(Breach {
                    entry: last_id,
                    kind: BreachKind::CheckpointMissing,
                    detail: format!(
                        "the head checkpoint {} {why}, so truncation cannot be ruled out",
                        self.checkpoint_path()
                            .map(Path::display)
                            .map(|d| d.to_string())
                            .unwrap_or_default()
                    ),
                });
                return Ok(result);
            }
        };
        if last_id < checkpoint.last_id {
            result.breach = Some(Breach {
                entry: last_id + 1,
                kind: BreachKind::Truncated,
                detail: format!(
                    "missing: the log ends at entry {last_id} but its checkpoint records {} entries up to entry {} (entries {}..={} were deleted from the end)",
                    checkpoint.count,
                    checkpoint.last_id,
                    last_id + 1,
                    checkpoint.last_id
                ),
            });
            return Ok(result);
        }
        let at_checkpoint: Option<String> = self.db.read(|c| {
            Ok(c.query_row(
                "SELECT hash FROM audit_log WHERE id = ?1",
                [checkpoint.last_id],
                |r| r.get(0),
            )
            .optional()?)
        })?;
        if checkpoint.last_id > 0 && at_checkpoint.as_deref() != Some(checkpoint.hash.as_str()) {
            result.breach = Some(Breach {
                entry: checkpoint.last_id,
                kind: BreachKind::Rewritten,
                detail: format!(
                    "its hash differs from the one the checkpoint recorded ({}…): the log was rewritten up to here",
                    &checkpoint.hash.get(..12).unwrap_or(&checkpoint.hash)
                ),
            });
            return Ok(result);
        }
        if let Some(anomaly) = checkpoint.anomaly {
            result.breach = Some(Breach {
                entry: checkpoint.last_id,
                kind: BreachKind::Anomaly,
                detail: format!("an earlier append found the log tampered with: {anomaly}"),
            });
        }
        Ok(result)
    }

    fn lock(&self) -> Result<Option<File>> {
        let Some(checkpoint) = &self.checkpoint else {
            return Ok(None);
        };
        let path = checkpoint.with_extension("audit-lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        file.lock().map_err(|e| Error::io(&path, e))?;
        Ok(Some(file))
    }

    fn read_checkpoint(&self) -> std::result::Result<Option<Checkpoint>, String> {
        let Some(path) = &self.checkpoint else {
            return Ok(None);
        };
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }
}

/// `<db>.audit-head` next to the database file.
pub fn checkpoint_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".audit-head");
    db.with_file_name(name)
}

/// Whether the table (before an append) agrees with the checkpoint; a description of the
/// disagreement otherwise.
fn check_against(
    tx: &Transaction<'_>,
    checkpoint: &Checkpoint,
    last: Option<&(i64, String)>,
) -> Result<Option<String>> {
    let last_id = last.map_or(0, |l| l.0);
    if last_id < checkpoint.last_id {
        return Ok(Some(format!(
            "the log ended at entry {last_id} but its checkpoint recorded entry {} (entries deleted from the end)",
            checkpoint.last_id
        )));
    }
    if checkpoint.last_id == 0 {
        return Ok(None);
    }
    let hash: Option<String> = tx
        .query_row(
            "SELECT hash FROM audit_log WHERE id = ?1",
            [checkpoint.last_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(
        (hash.as_deref() != Some(checkpoint.hash.as_str())).then(|| {
            format!(
                "entry {} no longer has the hash its checkpoint recorded (history rewritten)",
                checkpoint.last_id
            )
        }),
    )
}

fn walk(tx: &Transaction<'_>) -> Result<Verification> {
    let mut stmt = tx.prepare(
        "SELECT id, ts, kind, session_id, payload, prev_hash, hash FROM audit_log ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let mut result = Verification {
        entries: 0,
        head: None,
        checkpointed: false,
        breach: None,
    };
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut expected_id = 1;
    while let Some(row) = rows.next()? {
        let id: i64 = row.get(0)?;
        let payload_text: String = row.get(4)?;
        let stored_prev: String = row.get(5)?;
        let stored_hash: String = row.get(6)?;
        let breach = |kind, detail: String| Breach {
            entry: id,
            kind,
            detail,
        };
        if id != expected_id {
            let mut b = breach(
                BreachKind::Deleted,
                format!(
                    "missing: the log jumps from entry {} to entry {id} (entries {expected_id}..={} were deleted)",
                    expected_id - 1,
                    id - 1
                ),
            );
            if id > expected_id {
                b.entry = expected_id;
            }
            result.breach = Some(b);
            return Ok(result);
        }
        if stored_prev != prev_hash {
            result.breach = Some(breach(
                BreachKind::Relinked,
                format!(
                    "does not link to entry {}: its prev_hash is not that entry's hash (entries were reordered, or entry {} was replaced)",
                    id - 1,
                    id - 1
                ),
            ));
            return Ok(result);
        }
        let entry = AuditEntry {
            id,
            ts: row.get(1)?,
            kind: row.get(2)?,
            session_id: row.get(3)?,
            payload: match serde_json::from_str(&payload_text) {
                Ok(v) => v,
                Err(_) => {
                    result.breach = Some(breach(
                        BreachKind::Edited,
                        "was edited: its payload is no longer valid JSON".into(),
                    ));
                    return Ok(result);
                }
            },
            prev_hash: stored_prev,
            hash: stored_hash,
        };
        if entry.expected_hash() != entry.hash {
            result.breach = Some(breach(
                BreachKind::Edited,
                format!(
                    "was edited: its content ({} at {}) no longer matches its hash",
                    entry.kind, entry.ts
                ),
            ));
            return Ok(result);
        }
        result.entries += 1;
        prev_hash = entry.hash.clone();
        result.head = Some((id, entry.hash));
        expected_id += 1;
    }
    Ok(result)
}

fn write_checkpoint(path: &Path, checkpoint: &Checkpoint) -> Result<()> {
    let tmp = path.with_extension(format!("audit-head.tmp{}", std::process::id()));
    let text = serde_json::to_string(checkpoint)?;
    let mut file = File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth_without_whitespace() {
        let v = json!({"b": 1, "a": {"z": [true, null, "x\"y"], "é": 2, "A": "ü\n"}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"A":"ü\n","z":[true,null,"x\"y"],"é":2},"b":1}"#
        );
    }

    #[test]
    fn hash_is_sha256_of_prev_then_canonical() {
        // printf '%s' "$(printf '0%.0s' $(seq 64)){}" | sha256sum
        assert_eq!(
            chain_hash(GENESIS_HASH, "{}"),
            "5508d2b710e64bc470079e1b211d9c58e21011e59d0559e422345dc19d659a75"
        );
        assert_eq!(chain_hash(GENESIS_HASH, "{}").len(), 64);
        assert_ne!(
            chain_hash(GENESIS_HASH, "{}"),
            chain_hash(GENESIS_HASH, "{ }")
        );
    }

    #[test]
    fn payload_strings_are_redacted_before_hashing() {
        let db = Arc::new(Db::open_in_memory().unwrap());
        let redact: Redact = Arc::new(|s: &str| {
            if s.contains("secret") {
                Cow::Owned(s.replace("secret", "[X]"))
            } else {
                Cow::Borrowed(s)
            }
        });
        let log = AuditLog::new(db, redact);
        let e = log
            .append(
                "bash_executed",
                Some("s"),
                json!({"command": "echo secret", "n": 1}),
            )
            .unwrap();
        assert_eq!(e.payload, json!({"command": "echo [X]", "n": 1}));
        assert_eq!(e.prev_hash, GENESIS_HASH);
        let e2 = log.append("x", None, json!({})).unwrap();
        assert_eq!(e2.prev_hash, e.hash);
        assert_eq!(log.tail(1).unwrap(), vec![e2]);
        assert!(log.verify().unwrap().is_intact());
    }
}
