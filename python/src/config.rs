//! `fsrgan.Config`: a validated FSR model configuration (`fsrgan::model::Config`),
//! made from a preset name, TOML text, a dict or a file, with the library's
//! validation and error messages.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use fsrgan::model::{Config, PRESETS};

use crate::errors;
use crate::params::PyParams;

/// A validated configuration of the FSR model (`../shared/spec/model.md`).
///
/// `Config(spec)`: `spec` is a preset name (`"tiny"`, `"small"`, `"paper"`), TOML text (as
/// `fsrgan sample --config FILE` reads it; `preset = "NAME"` starts from a
/// preset and every other key overrides it), a dict with the same keys, an
/// `os.PathLike` naming a TOML file, or another `Config`. Invalid configs
/// raise `ConfigError` with the message of the Rust library (the field and
/// the rule), e.g. ``invalid config: field `k`: ...``.
///
/// Symbols (model.md): `L = levels`, `c = channels`, `q = patch`,
/// `n_l = n1 2^(l-1)` patches per side, `r_l = q n_l` pixels per side,
/// `D = c q^2` the patch dimension, `m_l` hidden channels and `k_l` the mean
/// active channels per patch at level `l`, `d0` the latent dimension of
/// `z ~ N(0, I_d0)`.
#[pyclass(name = "Config", module = "fsrgan", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyConfig {
    pub inner: Config,
}

/// The config that `spec` names (see [`PyConfig`]); a `Params` gives its own config.
pub fn to_config(spec: &Bound<'_, PyAny>) -> PyResult<Config> {
    if let Ok(c) = spec.cast::<PyConfig>() {
        return Ok(c.get().inner.clone());
    }
    if let Ok(p) = spec.cast::<PyParams>() {
        return Ok(p.get().params.config.clone());
    }
    if let Ok(s) = spec.cast::<PyString>() {
        let text = s.to_str()?;
        return from_text(text);
    }
    if let Ok(d) = spec.cast::<PyDict>() {
        return from_dict(d);
    }
    if spec.hasattr("__fspath__")? {
        let path: std::path::PathBuf = spec.extract()?;
        let text = std::fs::read_to_string(&path).map_err(|e| os_error(&path, &e))?;
        return Config::from_toml(&text).map_err(errors::model);
    }
    Err(PyTypeError::new_err(format!(
        "a config is a preset name ({}), TOML text, a dict, a path or a Config; got {}",
        PRESETS.join(", "),
        spec.get_type().name()?
    )))
}

/// `e` (reading the config file `path`) as Python's `OSError` subclass for
/// its kind (`FileNotFoundError`, `PermissionError`, ...) with the path as
/// its `filename`: `[Errno 2] No such file or directory: '/nonexistent'`.
fn os_error(path: &std::path::Path, e: &std::io::Error) -> PyErr {
    use pyo3::exceptions::{
        PyFileNotFoundError, PyIsADirectoryError, PyOSError, PyPermissionError,
    };
    let text = e.to_string();
    // The system's words without Rust's ` (os error N)`.
    let words = text.split(" (os error").next().unwrap_or(&text);
    let args = (
        e.raw_os_error().unwrap_or(0),
        format!("cannot read the config file: {words}"),
        path.display().to_string(),
    );
    match e.kind() {
        std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(args),
        std::io::ErrorKind::PermissionDenied => PyPermissionError::new_err(args),
        std::io::ErrorKind::IsADirectory => PyIsADirectoryError::new_err(args),
        _ => PyOSError::new_err(args),
    }
}

/// A preset name when `text` has no `=`, TOML otherwise.
fn from_text(text: &str) -> PyResult<Config> {
    if text.contains('=') {
        Config::from_toml(text).map_err(errors::model)
    } else {
        Config::preset(text.trim()).map_err(errors::model)
    }
}

fn from_dict(d: &Bound<'_, PyDict>) -> PyResult<Config> {
    let table = match py_to_toml(d.as_any(), "config")? {
        Some(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    };
    let text = toml::to_string(&table).map_err(|e| errors::ConfigError::new_err(e.to_string()))?;
    Config::from_toml(&text).map_err(errors::model)
}

/// A Python value as TOML. `None` is refused (naming the field): it is not a
/// value, and reading it as "keep the preset's" would silently ignore it.
fn py_to_toml(v: &Bound<'_, PyAny>, field: &str) -> PyResult<Option<toml::Value>> {
    if v.is_none() {
        return Err(errors::ConfigError::new_err(format!(
            "config field `{field}`: None is not a value; leave the key out to keep the preset's (or the default) value"
        )));
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Err(errors::ConfigError::new_err(format!(
            "config field `{field}`: {} is a bool; no config field is one (they are numbers, strings and lists of them)",
            if b.is_true() { "True" } else { "False" }
        )));
    }
    if v.cast::<PyInt>().is_ok() {
        let i: i64 = v.extract().map_err(|_| {
            errors::ConfigError::new_err(format!(
                "config field `{field}`: {} does not fit in a 64-bit integer",
                v.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        })?;
        return Ok(Some(toml::Value::Integer(i)));
    }
    if v.cast::<PyFloat>().is_ok() {
        return Ok(Some(toml::Value::Float(v.extract()?)));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Some(toml::Value::String(s.to_str()?.to_string())));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        let mut t = toml::Table::new();
        for (k, val) in d.iter() {
            let key: String = k.extract().map_err(|_| {
                PyTypeError::new_err(format!("{field}: keys must be strings, got {k}"))
            })?;
            if let Some(x) = py_to_toml(&val, &key)? {
                t.insert(key, x);
            }
        }
        return Ok(Some(toml::Value::Table(t)));
    }
    if v.cast::<PyList>().is_ok() || v.cast::<PyTuple>().is_ok() {
        let mut out = Vec::new();
        for item in v.try_iter()? {
            if let Some(x) = py_to_toml(&item?, field)? {
                out.push(x);
            }
        }
        return Ok(Some(toml::Value::Array(out)));
    }
    if v.hasattr("tolist")? {
        // NumPy arrays and scalars: as the equivalent Python lists and numbers.
        let plain = v.call_method0("tolist")?;
        if !plain.hasattr("tolist")? {
            return py_to_toml(&plain, field);
        }
    }
    // Other numbers: integers through `__index__`.
    if v.hasattr("__index__")? {
        let i: i64 = v.extract().map_err(|_| {
            errors::ConfigError::new_err(format!(
                "config field `{field}`: {} does not fit in a 64-bit integer",
                v.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        })?;
        return Ok(Some(toml::Value::Integer(i)));
    }
    if let Ok(f) = v.extract::<f64>() {
        return Ok(Some(toml::Value::Float(f)));
    }
    Err(PyTypeError::new_err(format!(
        "config field `{field}`: unsupported value {} of type {}",
        v.repr()?,
        v.get_type().name()?
    )))
}

/// A TOML value as a Python object.
pub fn toml_to_py<'py>(py: Python<'py>, v: &toml::Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        toml::Value::String(s) => s.into_pyobject(py)?.into_any(),
        toml::Value::Integer(i) => i.into_pyobject(py)?.into_any(),
        toml::Value::Float(f) => f.into_pyobject(py)?.into_any(),
        toml::Value::Boolean(b) => PyBool::new(py, *b).to_owned().into_any(),
        toml::Value::Datetime(d) => d.to_string().into_pyobject(py)?.into_any(),
        toml::Value::Array(a) => {
            let items = a
                .iter()
                .map(|x| toml_to_py(py, x))
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, items)?.into_any()
        }
        toml::Value::Table(t) => {
            let d = PyDict::new(py);
            for (k, x) in t {
                d.set_item(k, toml_to_py(py, x)?)?;
            }
            d.into_any()
        }
    })
}

fn snake(v: impl serde::Serialize) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[pymethods]
impl PyConfig {
    #[new]
    fn new(spec: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyConfig {
            inner: to_config(spec)?,
        })
    }

    /// Config.preset(name) -> Config: the preset `tiny`, `small` or `paper` (model.md section 5).
    #[staticmethod]
    fn preset(name: &Bound<'_, PyAny>) -> PyResult<Self> {
        let name = crate::args::text("name", name)?;
        Ok(PyConfig {
            inner: Config::preset(&name).map_err(errors::model)?,
        })
    }

    /// Config.from_toml(text) -> Config: parses and validates TOML text (`preset = "NAME"` starts from a preset).
    #[staticmethod]
    fn from_toml(text: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = crate::args::text("text", text)?;
        Ok(PyConfig {
            inner: Config::from_toml(&text).map_err(errors::model)?,
        })
    }

    /// The config as TOML text, the form `Config.from_toml` and `fsrgan sample --config` read.
    fn to_toml(&self) -> String {
        self.inner.to_toml()
    }

    /// The config as a dict of its TOML fields (per-level fields as lists of `L` values).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = toml::Value::try_from(&self.inner)
            .map_err(|e| errors::ConfigError::new_err(e.to_string()))?;
        toml_to_py(py, &v)
    }

    /// Preset name or user label.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }
    /// Number of levels `L` (coarsest first).
    #[getter]
    fn levels(&self) -> usize {
        self.inner.levels
    }
    /// Image channels `c`.
    #[getter]
    fn channels(&self) -> usize {
        self.inner.channels
    }
    /// Patch side `q` in pixels.
    #[getter]
    fn patch(&self) -> usize {
        self.inner.patch
    }
    /// Patches per side at level 1, `n_1`.
    #[getter]
    fn n1(&self) -> usize {
        self.inner.n1
    }
    /// Latent dimension `d0` of `z ~ N(0, I_d0)`.
    #[getter]
    fn d0(&self) -> usize {
        self.inner.d0
    }
    /// Hidden channels per patch `m_l`, one per level.
    #[getter]
    fn m(&self) -> Vec<usize> {
        self.inner.m.clone()
    }
    /// Target mean active channels per patch `k_l`, one per level.
    #[getter]
    fn k(&self) -> Vec<f64> {
        self.inner.k.clone()
    }
    /// Noise scale `sigma_l` inside the ReLU of level `l >= 2`, one per level.
    #[getter]
    fn sigma(&self) -> Vec<f64> {
        self.inner.sigma.clone()
    }
    /// Kernel of the super-resolution ConvTranspose2d (stride 2, padding `(kernel - 2) / 2`).
    #[getter]
    fn kernel(&self) -> usize {
        self.inner.kernel
    }
    /// `alpha_j ~ U[alpha_min, alpha_max]`: lower end.
    #[getter]
    fn alpha_min(&self) -> f64 {
        self.inner.alpha_min
    }
    /// `alpha_j ~ U[alpha_min, alpha_max]`: upper end.
    #[getter]
    fn alpha_max(&self) -> f64 {
        self.inner.alpha_max
    }
    /// How the dictionaries `M_l` are drawn: `"orthonormal"` or `"unit"`.
    #[getter]
    fn dictionary(&self) -> String {
        snake(self.inner.dictionary)
    }
    /// The output deconvolution: `"patch"` (kernel = stride = q) or `"overlap"` (kernel 2q).
    #[getter]
    fn output(&self) -> String {
        snake(self.inner.output)
    }
    /// Threshold `tau` of the decoder `ReLU(M^T x - tau)` used by the A5 diagnostic.
    #[getter]
    fn decode_tau(&self) -> f64 {
        self.inner.decode_tau
    }
    /// Samples used to scale the ConvT weights and calibrate the thresholds `b_l`.
    #[getter]
    fn calibration_samples(&self) -> usize {
        self.inner.calibration_samples
    }
    /// Image side per level, `r_l = q n_1 2^(l-1)`.
    #[getter]
    fn resolutions(&self) -> Vec<usize> {
        (0..self.inner.levels)
            .map(|l| self.inner.resolution(l))
            .collect()
    }
    /// Patches per side per level, `n_l = n_1 2^(l-1)`.
    #[getter]
    fn patches(&self) -> Vec<usize> {
        (0..self.inner.levels).map(|l| self.inner.n(l)).collect()
    }
    /// Patch dimension `D = c q^2`.
    #[getter]
    fn patch_dim(&self) -> usize {
        self.inner.d()
    }

    fn __repr__(&self) -> String {
        let c = &self.inner;
        format!(
            "Config(name={:?}, levels={}, channels={}, patch={}, n1={}, d0={}, m={:?}, k={:?}, sigma={:?}, kernel={}, dictionary={:?}, output={:?}, resolutions={:?})",
            c.name,
            c.levels,
            c.channels,
            c.patch,
            c.n1,
            c.d0,
            c.m,
            c.k,
            c.sigma,
            c.kernel,
            snake(c.dictionary),
            snake(c.output),
            self.resolutions()
        )
    }
}
