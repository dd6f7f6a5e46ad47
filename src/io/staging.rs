//! A dataset directory written whole or not at all, also over an existing one.
//!
//! The files of a new dataset `P/NAME` are written into a sibling staging
//! directory `P/.NAME.new-PID-N`; [`Staging::commit`] then swaps it in by
//! two renames, `P/NAME -> P/.NAME.old-PID-N` and `P/.NAME.new-PID-N ->
//! P/NAME`, and removes the old one last. The whole exchange runs under the
//! advisory lock `P/.NAME.lock` ([`DirLock`]), so one process at a time
//! writes `NAME`, and any staging or old directory found while holding the
//! lock was left by a killed process. [`recover`] repairs what such a kill
//! left, whichever step it interrupted:
//!
//! | killed after | `P/NAME` | repair |
//! |---|---|---|
//! | staging created, files written | the old dataset | remove `.NAME.new-*` |
//! | old moved aside | absent | rename `.NAME.old-*` back to `NAME`, remove `.NAME.new-*` |
//! | new in place | the new dataset | remove `.NAME.old-*` |
//!
//! So `P/NAME` holds the old dataset or the new one, each whole, never a mix.
//! Readers ([`super::dataset::open_samples`]) run the repair when they find
//! no manifest and no writer holds the lock.
//!
//! Files in `P/NAME` that are not a dataset's (a figure, notes) are
//! hard-linked into the staging directory before the swap, so they survive
//! it; a kill at any moment leaves them in place.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::IoError;
use super::fault;
use super::lock::{DirLock, remove_stale_temporaries};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The files a dataset directory consists of (all optional).
pub const DATASET_FILES: &[&str] = &[
    "manifest.json",
    "params.safetensors",
    "samples.npz",
    "samples.safetensors",
];

/// The parent directory and the name of `dest`.
fn split(dest: &Path) -> Result<(PathBuf, String), IoError> {
    let abs = std::path::absolute(dest).map_err(IoError::os(dest))?;
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            IoError::Invalid(format!(
                "{}: name the dataset directory itself (a path that does not end in `..`)",
                dest.display()
            ))
        })?;
    let parent = abs
        .parent()
        .map(Path::to_path_buf)
        .ok_or_else(|| IoError::Invalid(format!("{}: not a directory path", dest.display())))?;
    Ok((parent, name))
}

/// The lock file of the dataset directory `dest`: `P/.NAME.lock`.
///
/// # Errors
/// [`IoError::Invalid`] if `dest` names no directory.
pub fn lock_path(dest: &Path) -> Result<PathBuf, IoError> {
    let (parent, name) = split(dest)?;
    Ok(parent.join(format!(".{name}.lock")))
}

/// Siblings of `P/NAME` called `.NAME.KIND-PID-N` (`KIND` is `new` or `old`).
fn siblings(parent: &Path, name: &str, kind: &str) -> Result<Vec<PathBuf>, IoError> {
    let prefix = format!(".{name}.{kind}-");
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(parent) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(IoError::os(parent)(e)),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    for entry in entries {
        let entry = entry.map_err(IoError::os(parent))?;
        let n = entry.file_name();
        // Exactly `.NAME.KIND-PID-N`: the staging directory of a dataset
        // called `NAME.KIND-x` is not this one's.
        let ours = n
            .to_string_lossy()
            .strip_prefix(&prefix)
            .and_then(|rest| rest.split_once('-'))
            .is_some_and(|(pid, k)| digits(pid) && digits(k));
        if ours {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// Repairs what a killed writer of `dest` left (module docs). The caller
/// holds the lock of `dest`. Returns the paths removed or restored.
///
/// # Errors
/// [`IoError::Os`] if a leftover cannot be removed or restored.
fn recover_locked(dest: &Path) -> Result<Vec<PathBuf>, IoError> {
    let (parent, name) = split(dest)?;
    let mut touched = Vec::new();
    for new in siblings(&parent, &name, "new")? {
        remove_all(&new)?;
        touched.push(new);
    }
    let mut old = siblings(&parent, &name, "old")?;
    if !dest.exists()
        && let Some(last) = old.pop()
    {
        std::fs::rename(&last, dest).map_err(IoError::os(dest))?;
        touched.push(last);
    }
    for o in old {
        remove_all(&o)?;
        touched.push(o);
    }
    if dest.is_dir() {
        touched.extend(remove_stale_temporaries(dest)?);
    }
    Ok(touched)
}

/// Repairs what a killed writer of `dest` left, if no live process writes it
/// now (else does nothing: that writer completes the exchange). Returns the
/// paths removed or restored.
///
/// # Errors
/// [`IoError::Os`] if the lock file cannot be opened or a leftover cannot be
/// removed or restored.
pub fn recover(dest: &Path) -> Result<Vec<PathBuf>, IoError> {
    let (parent, name) = split(dest)?;
    // Nothing left by a writer: no lock needed (a reader may not be able to
    // create one, e.g. on a read-only filesystem).
    if siblings(&parent, &name, "new")?.is_empty() && siblings(&parent, &name, "old")?.is_empty() {
        return Ok(Vec::new());
    }
    let lock = lock_path(dest)?;
    match DirLock::acquire(&lock, dest) {
        Ok(_held) => recover_locked(dest),
        Err(IoError::Locked { .. }) => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

fn remove_all(p: &Path) -> Result<(), IoError> {
    match std::fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(IoError::os(p)(e)),
    }
}

/// A dataset directory being written (module docs).
#[derive(Debug)]
pub struct Staging {
    dest: PathBuf,
    dir: PathBuf,
    /// Files of `dest` that are not a dataset's, carried over by hard links.
    keep: Vec<std::ffi::OsString>,
    lock: DirLock,
    done: bool,
}

impl Staging {
    /// Locks `dest`, repairs what a killed writer left, and creates the
    /// staging directory.
    ///
    /// # Errors
    /// [`IoError::Locked`] if another process writes `dest`;
    /// [`IoError::Exists`] if `dest` holds a dataset and `force` is false;
    /// [`IoError::Invalid`] if `dest` is a file or holds a directory of its own;
    /// [`IoError::Os`] if the parent or the staging directory cannot be created.
    pub fn begin(dest: &Path, force: bool) -> Result<Staging, IoError> {
        let (parent, name) = split(dest)?;
        std::fs::create_dir_all(&parent).map_err(IoError::os(&parent))?;
        let lock = DirLock::acquire(&parent.join(format!(".{name}.lock")), dest)?;
        recover_locked(dest)?;
        let mut keep = Vec::new();
        if dest.exists() {
            if !dest.is_dir() {
                return Err(IoError::Invalid(format!(
                    "{} exists and is not a directory",
                    dest.display()
                )));
            }
            if super::dataset::existing_dataset(dest) && !force {
                return Err(IoError::Exists(dest.to_path_buf()));
            }
            for entry in std::fs::read_dir(dest).map_err(IoError::os(dest))? {
                let entry = entry.map_err(IoError::os(dest))?;
                let n = entry.file_name();
                if DATASET_FILES.iter().any(|f| n == *f) {
                    continue;
                }
                if entry
                    .file_type()
                    .map_err(IoError::os(entry.path()))?
                    .is_dir()
                {
                    return Err(IoError::Invalid(format!(
                        "{} holds the directory {}, which is not part of a dataset: writing a dataset replaces the whole directory, so move it away or choose another --out",
                        dest.display(),
                        n.to_string_lossy()
                    )));
                }
                keep.push(n);
            }
        }
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = parent.join(format!(".{name}.new-{}-{n}", std::process::id()));
        std::fs::create_dir(&dir).map_err(IoError::os(&dir))?;
        fault::point("staging-created");
        Ok(Staging {
            dest: dest.to_path_buf(),
            dir,
            keep,
            lock,
            done: false,
        })
    }

    /// Where the new dataset's files are written.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The lock held while writing.
    pub fn lock(&self) -> &DirLock {
        &self.lock
    }

    /// Puts the staging directory in place of `dest` (module docs).
    ///
    /// # Errors
    /// [`IoError::Os`] if a rename fails; `dest` then holds the old dataset
    /// (or the new one, if only the removal of the old one failed).
    pub fn commit(mut self) -> Result<(), IoError> {
        for n in &self.keep {
            let (from, to) = (self.dest.join(n), self.dir.join(n));
            std::fs::hard_link(&from, &to).map_err(IoError::os(&from))?;
        }
        sync_dir(&self.dir)?;
        let (parent, name) = split(&self.dest)?;
        let old = if self.dest.exists() {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let old = parent.join(format!(".{name}.old-{}-{n}", std::process::id()));
            std::fs::rename(&self.dest, &old).map_err(IoError::os(&self.dest))?;
            fault::point("old-moved-aside");
            Some(old)
        } else {
            None
        };
        if let Err(e) = std::fs::rename(&self.dir, &self.dest) {
            // Put the old one back; the staging directory is removed on drop.
            if let Some(old) = &old
                && let Err(back) = std::fs::rename(old, &self.dest)
            {
                return Err(IoError::Invalid(format!(
                    "{}: the new dataset could not be put in place ({e}) nor the old one back ({back}); the old one is whole at {}, and the next fsrgan command on {} puts it back",
                    self.dest.display(),
                    old.display(),
                    self.dest.display()
                )));
            }
            return Err(IoError::os(&self.dest)(e));
        }
        self.done = true;
        fault::point("new-in-place");
        if let Some(old) = old {
            remove_all(&old)?;
        }
        fault::point("old-removed");
        sync_dir(&parent)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `fsync` of a directory, so the renames in it are durable.
fn sync_dir(dir: &Path) -> Result<(), IoError> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(IoError::os(dir))
}

/// Bytes free for an unprivileged writer on the filesystem that would hold
/// `dest` (its nearest existing ancestor's), or `None` where this cannot be
/// asked (not Linux on a 64-bit target, or the call fails).
pub fn available_bytes(dest: &Path) -> Option<u64> {
    let abs = std::path::absolute(dest).ok()?;
    let existing = abs.ancestors().find(|p| p.exists())?;
    statvfs_available(existing)
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn statvfs_available(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    unsafe extern "C" {
        // int statvfs(const char *path, struct statvfs *buf);
        fn statvfs(path: *const std::ffi::c_char, buf: *mut u64) -> std::ffi::c_int;
    }
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // `struct statvfs` on 64-bit Linux (glibc and musl): eleven 8-byte fields
    // (f_bsize, f_frsize, f_blocks, f_bfree, f_bavail, ...) then 24 bytes of
    // spare room, 112 bytes in all; the buffer is larger than that.
    let mut buf = [0u64; 32];
    // SAFETY: `c` is a NUL-terminated path and `buf` is writable memory
    // larger than `struct statvfs`, which the call fills and nothing else.
    let rc = unsafe { statvfs(c.as_ptr(), buf.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    let (frsize, bavail) = (buf[1], buf[4]);
    frsize.checked_mul(bavail)
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn statvfs_available(_path: &Path) -> Option<u64> {
    None
}
