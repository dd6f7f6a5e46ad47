//! One process per directory: an advisory lock (`flock`) on a lock file,
//! held for as long as the [`DirLock`] lives.
//!
//! The operating system releases the lock when its holder exits, however it
//! exits (`kill -9` included), so a lock file left by a killed process is
//! stale by construction: the next process takes it at once. The file holds
//! the holder's process id, only to name it in the error of a second process.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use super::IoError;

/// Name of the lock file inside a run directory.
pub const RUN_LOCK: &str = ".fsrgan.lock";

/// A held advisory lock; dropping it releases the lock (the file stays).
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl DirLock {
    /// Takes the lock of `path` (creating the file), for the work on `what`.
    ///
    /// # Errors
    /// [`IoError::Locked`] if another live process holds it;
    /// [`IoError::Os`] if the lock file cannot be created or locked.
    pub fn acquire(path: &Path, what: &Path) -> Result<DirLock, IoError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(IoError::os(path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                return Err(IoError::Locked {
                    dir: what.to_path_buf(),
                    lock: path.to_path_buf(),
                    holder: if holder.is_empty() {
                        "another process".into()
                    } else {
                        format!("process {holder}")
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(IoError::os(path)(e)),
        }
        // Ours now: record who holds it (for the message of a second process).
        let pid = std::process::id().to_string();
        let record = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(pid.as_bytes()));
        record.map_err(IoError::writing(path, pid.len() as u64))?;
        Ok(DirLock {
            _file: file,
            path: path.to_path_buf(),
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// [`DirLock::acquire`], shared within this process: while one part of
    /// the process holds the lock of `path` (the CLI clearing a directory
    /// for `--force`, say), another part asking for it gets the same lock
    /// instead of being refused by its own process; other processes are
    /// refused as before.
    ///
    /// # Errors
    /// As [`DirLock::acquire`].
    pub fn acquire_shared(path: &Path, what: &Path) -> Result<Arc<DirLock>, IoError> {
        static HELD: Mutex<Vec<(PathBuf, Weak<DirLock>)>> = Mutex::new(Vec::new());
        let mut held = HELD
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        held.retain(|(_, w)| w.strong_count() > 0);
        let key = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(lock) = held
            .iter()
            .find(|(p, _)| *p == key)
            .and_then(|(_, w)| w.upgrade())
        {
            return Ok(lock);
        }
        let lock = Arc::new(DirLock::acquire(path, what)?);
        held.push((key, Arc::downgrade(&lock)));
        Ok(lock)
    }
}

/// Removes the temporary files ([`super::atomic::AtomicFile`]'s
/// `.NAME.tmp-PID-N`) directly in `dir`. Call it only while holding the lock
/// of `dir`: no live process then writes there, so every such file is left
/// by a process that was killed. Returns the files removed.
///
/// # Errors
/// [`IoError::Os`] if `dir` cannot be listed or a file cannot be removed.
pub fn remove_stale_temporaries(dir: &Path) -> Result<Vec<PathBuf>, IoError> {
    let mut removed = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(IoError::os(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(IoError::os(dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if super::atomic::is_temporary_name(&name) && entry.path().is_file() {
            std::fs::remove_file(entry.path()).map_err(IoError::os(entry.path()))?;
            removed.push(entry.path());
        }
    }
    Ok(removed)
}
