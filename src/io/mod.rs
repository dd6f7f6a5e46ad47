//! The interchange format of model.md section 6, so PyTorch and NumPy users
//! can rebuild everything:
//!
//! * samples: `samples.npz` (NumPy's `np.load`) or `samples.safetensors`, with
//!   `x{l}` `(N, c, r_l, r_l)` and optionally `s{l}` `(N, m_l, n_l, n_l)`, `z` `(N, d0)`;
//! * ground truth: `params.safetensors` ([`params`]);
//! * `manifest.json` ([`manifest`]): config, seed, crate version, measured
//!   statistics, and the size and CRC-32 of every file.
//!
//! Writers stream into a temporary file in the destination directory and
//! rename it into place only when complete ([`atomic`]); a dataset directory
//! is written whole into a sibling staging directory and swapped in, under
//! a lock, repairing what a killed writer left ([`staging`], [`lock`]).
//! Readers validate structure, sizes, checksums and shapes and return
//! [`IoError`], never panic. [`fault`] names the points the kill tests
//! abort at.

pub mod atomic;
pub mod dataset;
pub mod fault;
pub mod lock;
pub mod manifest;
pub mod npy;
pub mod params;
pub mod reader;
pub mod rundir;
pub mod staging;
pub mod writer;

pub use dataset::{Dataset, WriteOptions};
pub use manifest::Manifest;
pub use reader::Tensor;
pub use writer::{Dtype, Format, TensorSpec, TensorWriter};

use std::path::PathBuf;

/// Errors of reading and writing the interchange format.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IoError {
    /// An operating-system error on a path.
    #[error("{path}: {source}")]
    Os {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is truncated, corrupted or not in the expected format.
    #[error("{path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Files are individually valid but disagree with each other or the config.
    #[error("{path}: mismatch: {reason}")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// What disagrees.
        reason: String,
    },
    /// Another live process works on the directory.
    #[error(
        "{dir} is in use by {holder} (it holds the lock {lock}); wait for it to finish or stop it. A lock left by a killed process is released by the system and never blocks"
    )]
    Locked {
        /// The directory.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
        /// Who holds it.
        holder: String,
    },
    /// The filesystem is full.
    #[error(
        "{path}: no space left on the device; this write needs {needed} bytes ({mib:.1} MiB) in all. Nothing was put in place: free space and run the command again",
        mib = *needed as f64 / 1048576.0
    )]
    NoSpace {
        /// The file being written.
        path: PathBuf,
        /// Bytes the whole write needs.
        needed: u64,
    },
    /// Refused to overwrite an existing dataset.
    #[error("{0} already holds a dataset; pass --force to overwrite it")]
    Exists(PathBuf),
    /// A request the writer cannot honour (e.g. a bad shard).
    #[error("{0}")]
    Invalid(String),
    /// The model rejected a config or parameters.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
}

impl IoError {
    pub(crate) fn os(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> IoError {
        let path = path.into();
        move |source| IoError::Os { path, source }
    }
    /// The error of writing `path` (a file of `needed` bytes in all):
    /// [`IoError::NoSpace`] when the filesystem is full, else [`IoError::Os`].
    pub(crate) fn writing(
        path: &std::path::Path,
        needed: u64,
    ) -> impl FnOnce(std::io::Error) -> IoError {
        let path = path.to_path_buf();
        move |source| IoError::Os { path, source }.needing(needed)
    }
    /// An out-of-space [`IoError::Os`] as [`IoError::NoSpace`] with the
    /// bytes the whole write needs (an [`IoError::NoSpace`] of a part of
    /// it gets the larger count); any other error unchanged.
    pub fn needing(self, needed: u64) -> IoError {
        match self {
            IoError::Os { path, source }
                if source.kind() == std::io::ErrorKind::StorageFull
                    || source.kind() == std::io::ErrorKind::QuotaExceeded =>
            {
                IoError::NoSpace { path, needed }
            }
            IoError::NoSpace { path, needed: n } => IoError::NoSpace {
                path,
                needed: n.max(needed),
            },
            other => other,
        }
    }
    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> IoError {
        IoError::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
    pub(crate) fn mismatch(path: impl Into<PathBuf>, reason: impl Into<String>) -> IoError {
        IoError::Mismatch {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
