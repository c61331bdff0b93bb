//! The database file: where it lives, how it is opened, and how writes survive company.
//!
//! One database per user (`$XDG_DATA_HOME/cuervo/cuervo.db`), shared by every `cuervo`
//! process of that user. It runs in WAL mode, so readers never wait for the writer, with
//! `synchronous = NORMAL` (a committed transaction survives a crash of the process; a power
//! cut may lose the last few, never corrupt the file) and foreign keys on.
//!
//! Every write is one `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so a
//! transaction never fails half-way when another process wrote in between (the classic
//! `SQLITE_BUSY` on upgrading a read transaction). Waiting for the lock is SQLite's busy
//! timeout; if that still runs out, the whole transaction is retried with backoff for up
//! to [`WRITE_PATIENCE`]. A user never sees "database is locked": at worst a clear
//! [`Error::Busy`] after half a minute.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

use crate::error::{Error, Result};
use crate::migrate;

/// How long SQLite itself waits for a lock before reporting busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a write keeps retrying a busy database in all.
pub const WRITE_PATIENCE: Duration = Duration::from_secs(30);

/// The database file of a user: `$XDG_DATA_HOME/cuervo/cuervo.db`, else
/// `$HOME/.local/share/cuervo/cuervo.db`. `None` when neither variable is set.
pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    data_dir(env).map(|d| d.join("cuervo.db"))
}

/// `$XDG_DATA_HOME/cuervo`, else `$HOME/.local/share/cuervo`.
pub fn data_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            env("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| Path::new(&h).join(".local").join("share"))
        })
        .map(|d| d.join("cuervo"))
}

/// An open database. Cheap to share behind an `Arc`; calls from several threads take
/// turns on the one connection.
pub struct Db {
    conn: Mutex<Connection>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

impl Db {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// A database whose schema is newer than this build knows is refused with
    /// [`Error::SchemaTooNew`] before anything is written to it.
    pub fn open(path: &Path) -> Result<Db> {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(parent) = parent
            && !parent.exists()
        {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
            // Conversations are private: a directory we create is the user's alone.
            restrict(parent, 0o700)?;
        }
        let created = !path.exists();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Reading the version writes nothing; refuse a newer schema before any pragma
        // that would touch the file.
        let found = migrate::user_version(&conn)?;
        if found > migrate::SCHEMA_VERSION {
            return Err(Error::SchemaTooNew {
                path: path.to_owned(),
                found,
                supported: migrate::SCHEMA_VERSION,
            });
        }
        if created {
            // SQLite gives the -wal and -shm files the main file's permissions.
            restrict(path, 0o600)?;
        }
        let db = Db {
            conn: Mutex::new(conn),
            path: Some(path.to_owned()),
        };
        db.retrying(|conn| {
            // `journal_mode` answers with a row; it is a no-op when already WAL.
            let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
            conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
            Ok(())
        })?;
        db.migrate()?;
        Ok(db)
    }

    /// A private in-memory database (tests, benchmarks).
    pub fn open_in_memory() -> Result<Db> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch("PRAGMA foreign_keys = ON;")?;
        let db = Db {
            conn: Mutex::new(conn),
            path: None,
        };
        db.migrate()?;
        Ok(db)
    }

    /// The file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32> {
        self.read(migrate::user_version)
    }

    /// `PRAGMA integrity_check`: `"ok"` for a healthy file.
    pub fn integrity_check(&self) -> Result<String> {
        self.read(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?))
    }

    fn migrate(&self) -> Result<()> {
        if self.read(migrate::user_version)? == migrate::SCHEMA_VERSION {
            return Ok(());
        }
        self.write(|tx| migrate::migrate(tx, migrate::SCHEMA_VERSION).map(|_| ()))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction, retrying the whole transaction while
    /// the database is busy (see the module docs).
    pub fn write<T>(&self, mut f: impl FnMut(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        self.retry_busy(|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })
    }

    /// Runs a read on the connection (a consistent snapshot for one statement; wrap
    /// several in [`Db::read_tx`] for one snapshot across them).
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.lock();
        f(&conn)
    }

    /// Runs several reads in one deferred transaction: one snapshot for all of them.
    pub fn read_tx<T>(&self, mut f: impl FnMut(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        self.retry_busy(|| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })
    }

    fn retrying<T>(&self, mut f: impl FnMut(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.lock();
        self.retry_busy(|| f(&conn))
    }

    fn retry_busy<T>(&self, mut attempt: impl FnMut() -> Result<T>) -> Result<T> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(2);
        loop {
            match attempt() {
                Err(e) if is_busy(&e) => {
                    if started.elapsed() >= WRITE_PATIENCE {
                        return Err(Error::Busy {
                            path: self.path.clone().unwrap_or_default(),
                            waited_ms: u64::try_from(started.elapsed().as_millis())
                                .unwrap_or(u64::MAX),
                        });
                    }
                    tracing::debug!("database busy; retrying in {delay:?}");
                    // A little jitter so two processes do not retry in lockstep.
                    let jitter =
                        Duration::from_micros(u64::from(started.elapsed().subsec_nanos() % 1000));
                    std::thread::sleep(delay + jitter);
                    delay = (delay * 2).min(Duration::from_millis(100));
                }
                other => return other,
            }
        }
    }
}

/// Sets a file's or directory's permission bits (Unix only).
fn restrict(path: &Path, mode: u32) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| Error::io(path, e))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Whether an error is SQLite saying "someone else holds the lock".
pub(crate) fn is_busy(error: &Error) -> bool {
    matches!(
        error,
        Error::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if matches!(e.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_data_home_wins_over_home() {
        let p = default_path(&|k| match k {
            "XDG_DATA_HOME" => Some("/xdg".into()),
            "HOME" => Some("/home/u".into()),
            _ => None,
        });
        assert_eq!(p, Some(PathBuf::from("/xdg/cuervo/cuervo.db")));
        let p = default_path(&|k| (k == "HOME").then(|| "/home/u".into()));
        assert_eq!(
            p,
            Some(PathBuf::from("/home/u/.local/share/cuervo/cuervo.db"))
        );
        assert_eq!(default_path(&|_| None), None);
    }

    #[test]
    fn opens_in_wal_mode_with_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("a/b/cuervo.db")).unwrap();
        let (mode, fk): (String, i64) = db
            .read(|c| {
                Ok((
                    c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
                    c.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?,
                ))
            })
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(fk, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let bits = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(bits(&dir.path().join("a/b/cuervo.db")), 0o600);
            assert_eq!(bits(&dir.path().join("a/b")), 0o700);
        }
        assert_eq!(db.integrity_check().unwrap(), "ok");
        assert_eq!(db.schema_version().unwrap(), migrate::SCHEMA_VERSION);
    }

    #[test]
    fn a_held_write_lock_is_waited_for_not_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cuervo.db");
        let db = Db::open(&path).unwrap();
        // Another connection (as another process would) holds the write lock for a while.
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            other.execute_batch("COMMIT").unwrap();
        });
        let started = Instant::now();
        db.write(|tx| {
            tx.execute(
                "INSERT INTO sessions (id, project_path) VALUES ('s', '/p')",
                [],
            )?;
            Ok(())
        })
        .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(250));
        releaser.join().unwrap();
    }
}
