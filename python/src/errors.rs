//! Rust errors as Python exceptions, with the Rust message unchanged, and a
//! guard that turns a panic (a bug) into an exception instead of letting it
//! cross the FFI boundary.
//!
//! ```text
//! ValueError
//!  └── FsrganError          every error of this package
//!       ├── ConfigError     invalid config or preset (fsrgan::model::ModelError)
//!       ├── DatasetError    unreadable, corrupted or mismatched files (fsrgan::io::IoError)
//!       └── TheoryError     moments not attainable, not probability vectors (fsrgan::theory)
//! ```

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::exceptions::{PyMemoryError, PyValueError};
use pyo3::prelude::*;

use fsrgan::io::IoError;
use fsrgan::model::ModelError;

pyo3::create_exception!(
    fsrgan,
    FsrganError,
    PyValueError,
    "Base class of every fsrgan error; the message is the Rust library's, word for word."
);
pyo3::create_exception!(
    fsrgan,
    ConfigError,
    FsrganError,
    "An invalid config (the message names the field and the rule) or an unknown preset."
);
pyo3::create_exception!(
    fsrgan,
    DatasetError,
    FsrganError,
    "A dataset or parameter file that cannot be read or written: missing, truncated, \
     corrupted (size/CRC-32 against the manifest), mismatched shapes, or an existing \
     dataset without force=True."
);
pyo3::create_exception!(
    fsrgan,
    TheoryError,
    FsrganError,
    "A theory function's input is outside its domain (moments not attainable, not \
     probability vectors, ...)."
);

/// A [`ModelError`] as [`ConfigError`], or `MemoryError` when the memory a
/// computation needs cannot be had ([`ModelError::OutOfMemory`]).
pub fn model(e: ModelError) -> PyErr {
    match e {
        ModelError::OutOfMemory { .. } => PyMemoryError::new_err(e.to_string()),
        other => ConfigError::new_err(other.to_string()),
    }
}

/// An [`IoError`] as [`DatasetError`] ([`ConfigError`] when the model rejected
/// the config, `MemoryError` when the model's memory cannot be had).
pub fn io(e: IoError) -> PyErr {
    match e {
        IoError::Model(m) => model(m),
        other => DatasetError::new_err(other.to_string()),
    }
}

/// Any theory error (its `Display` is the message) as [`TheoryError`].
pub fn theory(e: impl std::fmt::Display) -> PyErr {
    TheoryError::new_err(e.to_string())
}

/// A bad argument that the Rust library would reject the same way (the message is the CLI's).
pub fn invalid(msg: impl Into<String>) -> PyErr {
    FsrganError::new_err(msg.into())
}

/// An allocation of `bytes` bytes that failed.
pub fn memory(what: &str, bytes: usize) -> PyErr {
    PyMemoryError::new_err(format!(
        "cannot allocate {bytes} bytes for `{what}`; ask for fewer samples or use a shard"
    ))
}

/// Runs `f`, turning a panic into [`FsrganError`] ("internal error ...").
///
/// Safe to call without the GIL (inside `Python::detach`): the error is created lazily.
pub fn guard<T>(f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            Err(FsrganError::new_err(format!(
                "internal error (a bug in fsrgan; please report it): {msg}"
            )))
        }
    }
}

/// Registers the exception classes in the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("FsrganError", py.get_type::<FsrganError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("DatasetError", py.get_type::<DatasetError>())?;
    m.add("TheoryError", py.get_type::<TheoryError>())?;
    Ok(())
}
