//! The index's write lock: one writer per index, across processes.
//!
//! An advisory lock on `index.lock` (`flock` on Unix, `LockFileEx` on Windows, through
//! `std::fs::File::try_lock`). The kernel drops it when the holder exits, however it
//! exits, so a lock file left by a killed process is simply locked again by the next
//! writer: a stale lock cannot block anyone. The holder's pid is written into the file
//! only to name it in the error another writer gets.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::Path;

use crate::error::{IndexError, Result};

/// Held while writing; released on drop.
#[derive(Debug)]
pub struct WriteLock {
    file: File,
}

impl WriteLock {
    /// Takes the lock at `path` or fails at once with [`IndexError::Locked`].
    pub fn acquire(path: &Path) -> Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| IndexError::io(path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(IndexError::Locked {
                    path: path.to_path_buf(),
                    pid: if pid.is_empty() {
                        "unknown".into()
                    } else {
                        pid.to_owned()
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(IndexError::io(path, e)),
        }
        let write_pid = |f: &mut File| -> std::io::Result<()> {
            f.set_len(0)?;
            f.seek(SeekFrom::Start(0))?;
            write!(f, "{}", std::process::id())
        };
        write_pid(&mut file).map_err(|e| IndexError::io(path, e))?;
        Ok(Self { file })
    }
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}
