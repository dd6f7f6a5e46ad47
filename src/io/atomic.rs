//! Atomic file creation: write to `.NAME.tmp-PID-N` beside the destination,
//! `fsync`, then `rename` over `NAME`. An interrupted write leaves at most a
//! temporary file (removed on drop when possible), never a half-written `NAME`.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::IoError;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A file being written under a temporary name.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<File>,
    tmp: PathBuf,
    dest: PathBuf,
    /// Nothing was written since the last [`AtomicFile::sync`].
    synced: bool,
}

impl AtomicFile {
    /// Creates the temporary file for `dest` (whose directory must exist).
    ///
    /// # Errors
    /// [`IoError::Os`] if the temporary file cannot be created.
    pub fn create(dest: &Path) -> Result<AtomicFile, IoError> {
        let name = dest
            .file_name()
            .ok_or_else(|| IoError::Invalid(format!("{} is not a file path", dest.display())))?;
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dest.with_file_name(format!(
            ".{}.tmp-{}-{n}",
            name.to_string_lossy(),
            std::process::id()
        ));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(IoError::os(&tmp))?;
        Ok(AtomicFile {
            file: Some(file),
            tmp,
            dest: dest.to_path_buf(),
            synced: false,
        })
    }

    /// The open temporary file.
    pub fn file(&self) -> &File {
        // `file` is only taken by `commit`, which consumes `self`.
        self.file
            .as_ref()
            .unwrap_or_else(|| unreachable!("file taken before commit"))
    }

    /// The temporary path (for error messages).
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Flushes the file to disk; no more writes may follow before
    /// [`AtomicFile::commit`] (which then does not sync again).
    ///
    /// # Errors
    /// [`IoError::Os`] if syncing fails.
    pub fn sync(&mut self) -> Result<(), IoError> {
        let len = self.file().metadata().map_or(0, |m| m.len());
        self.file()
            .sync_all()
            .map_err(IoError::writing(&self.tmp, len))?;
        self.synced = true;
        Ok(())
    }

    /// Flushes to disk (unless [`AtomicFile::sync`] did) and renames the
    /// temporary file to its destination.
    ///
    /// # Errors
    /// [`IoError::Os`] if syncing or renaming fails (the temporary file is removed).
    pub fn commit(mut self) -> Result<(), IoError> {
        if let Some(file) = self.file.take()
            && !self.synced
        {
            let len = file.metadata().map_or(0, |m| m.len());
            file.sync_all().map_err(IoError::writing(&self.tmp, len))?;
        }
        std::fs::rename(&self.tmp, &self.dest).map_err(IoError::os(&self.dest))?;
        self.tmp.clear();
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Whether `name` is one of [`AtomicFile`]'s temporary names,
/// `.NAME.tmp-PID-N` (PID and N decimal).
pub fn is_temporary_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some((_, tail)) = rest.rsplit_once(".tmp-") else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    tail.split_once('-')
        .is_some_and(|(pid, n)| digits(pid) && digits(n))
}

/// Writes `bytes` to `dest` atomically.
///
/// # Errors
/// [`IoError::Os`] on any failure; `dest` is then untouched.
pub fn write_bytes(dest: &Path, bytes: &[u8]) -> Result<(), IoError> {
    use std::io::Write;
    let f = AtomicFile::create(dest)?;
    let mut handle = f.file();
    handle
        .write_all(bytes)
        .map_err(IoError::writing(f.tmp_path(), bytes.len() as u64))?;
    f.commit()
}
