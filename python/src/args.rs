//! Integer arguments checked with messages that name the argument and the
//! rule: `n`, `seed`, `threads`, `classes`, `domains`, `chunk`, `samples`,
//! the score's sizes. A Python `bool` is an `int` to Python, but `True` is
//! not a number of classes: booleans are refused, as are negative and
//! too-large values (a `ValueError`, [`crate::errors::FsrganError`], instead
//! of pyo3's `OverflowError: can't convert negative int to unsigned`).
//! Values that are not integers at all (a `str`, a `float`) are a
//! `TypeError` naming the argument.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt};

use crate::errors;

/// A Python integer argument before its range is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Int {
    /// An integer that fits in `i128`.
    Value(i128),
    /// An integer beyond `i128` (its sign: `true` if negative).
    Huge(bool),
    /// `True` or `False`.
    Bool(bool),
    /// Not an integer: its `repr` and type name.
    Other(String, String),
}

impl Int {
    /// The default of an argument.
    pub const fn of(v: u64) -> Int {
        Int::Value(v as i128)
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for Int {
    type Error = PyErr;

    fn extract(ob: Borrowed<'a, 'py, PyAny>) -> PyResult<Int> {
        if let Ok(b) = ob.cast::<PyBool>() {
            return Ok(Int::Bool(b.is_true()));
        }
        let int = if ob.cast::<PyInt>().is_ok() {
            ob.to_owned()
        } else if ob.hasattr("__index__")? {
            // NumPy integers and other integer-like objects.
            ob.call_method0("__index__")?
        } else {
            return Ok(Int::Other(
                ob.repr()?.to_string(),
                ob.get_type().name()?.to_string(),
            ));
        };
        match int.extract::<i128>() {
            Ok(v) => Ok(Int::Value(v)),
            Err(_) => {
                let negative = int.lt(0i64)?;
                Ok(Int::Huge(negative))
            }
        }
    }
}

/// `v` as an integer in `min..=max`.
///
/// # Errors
/// `FsrganError` (a `ValueError`) naming `name`, the range and the value
/// (a bool, a negative, a too-large value).
pub fn int_in(name: &str, v: Int, min: u64, max: u64) -> PyResult<u64> {
    let rule = if max == u64::MAX {
        format!("`{name}` must be an integer >= {min}")
    } else {
        format!("`{name}` must be an integer in {min}..={max}")
    };
    match v {
        Int::Value(x) if x >= min as i128 && x <= max as i128 => Ok(x as u64),
        Int::Value(x) => Err(errors::invalid(format!("{rule}, got {x}"))),
        Int::Huge(neg) => Err(errors::invalid(format!(
            "{rule}, got a {} integer beyond 2^127",
            if neg { "negative" } else { "positive" }
        ))),
        Int::Bool(b) => Err(errors::invalid(format!(
            "{rule}, got {} (a bool; booleans are not numbers here)",
            if b { "True" } else { "False" }
        ))),
        Int::Other(repr, ty) => Err(PyTypeError::new_err(format!(
            "{rule}, got {repr} of type {ty}"
        ))),
    }
}

/// [`int_in`] as a `usize`.
///
/// # Errors
/// As [`int_in`].
pub fn usize_in(name: &str, v: Int, min: usize, max: usize) -> PyResult<usize> {
    let max = u64::try_from(max).unwrap_or(u64::MAX);
    int_in(name, v, min as u64, max).map(|x| usize::try_from(x).unwrap_or(usize::MAX))
}

/// A seed: any integer in `0..=2^64 - 1`.
///
/// # Errors
/// As [`int_in`].
pub fn seed(name: &str, v: Int) -> PyResult<u64> {
    int_in(name, v, 0, u64::MAX)
}

/// A thread count: None or 0 for all cores, else a positive integer.
///
/// # Errors
/// As [`int_in`].
pub fn threads(v: Option<Int>) -> PyResult<Option<usize>> {
    v.map(|t| usize_in("threads", t, 0, usize::MAX)).transpose()
}

/// A count that must be `>= 1` whose `0` is left to the library, so that it
/// gets the command line's message (`--n must be at least 1`): `0` passes
/// through, anything else below 1 (or a bool) is refused as [`int_in`] does.
///
/// # Errors
/// As [`int_in`].
pub fn count_cli_zero(name: &str, v: Int, max: u64) -> PyResult<u64> {
    match v {
        Int::Value(0) => Ok(0),
        other => int_in(name, other, 1, max),
    }
}

/// `v` as a string argument.
///
/// # Errors
/// `TypeError` naming `name` for anything but a `str`.
pub fn text(name: &str, v: &Bound<'_, PyAny>) -> PyResult<String> {
    v.extract::<String>().map_err(|_| {
        PyTypeError::new_err(format!(
            "`{name}` must be a str, got {} of type {}",
            v.repr().map(|r| r.to_string()).unwrap_or_default(),
            v.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })
}

/// `v` as a path argument (`str` or `os.PathLike`).
///
/// # Errors
/// `TypeError` naming `name` for anything else.
pub fn path(name: &str, v: &Bound<'_, PyAny>) -> PyResult<std::path::PathBuf> {
    v.extract::<std::path::PathBuf>().map_err(|_| {
        PyTypeError::new_err(format!(
            "`{name}` must be a path (str or os.PathLike), got {} of type {}",
            v.repr().map(|r| r.to_string()).unwrap_or_default(),
            v.get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })
}
