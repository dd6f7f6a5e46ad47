//! `fsrgan.Params`: the ground truth of one `(config, seed)` as read-only
//! NumPy float64 arrays under the interchange names of model.md section 6.

use std::path::PathBuf;
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};
use numpy::{PyArray, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyKeyError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use fsrgan::io::Dtype;
use fsrgan::io::params::{named_tensors, read_params_verified, write_params};
use fsrgan::model::Params;

use crate::args::{self, Int};
use crate::config::{PyConfig, to_config};
use crate::errors;

/// The ground-truth parameters of the FSR generator for one `(config, seed)`.
///
/// `Params(config, seed=0)` draws and calibrates them exactly as `fsrgan sample --seed SEED` does
/// (`Params::generate`). A read-only mapping from the interchange names of
/// model.md section 6 to float64 NumPy arrays (the exact values; the
/// `params.safetensors` file stores them rounded to float32 unless written
/// with `--params-dtype f64` or `save(path, dtype="f64")`):
///
/// | name | shape | meaning |
/// |---|---|---|
/// | `level1.w` | `(m_1, n_1, n_1, d0)` | unit vectors `w[j,p]`: level-1 pre-activation `alpha_j <w[j,p], z> - beta_j` |
/// | `level1.alpha`, `level1.beta` | `(m_1,)` | scales and thresholds: `S_1[j,p] = ReLU(alpha_j <w[j,p], z> - beta_j)` |
/// | `level{l}.weight` (l >= 2) | `(m_{l-1}, m_l, k, k)` | ConvTranspose2d weight, stride 2, padding `(k-2)/2` |
/// | `level{l}.bias` (l >= 2) | `(m_l,)` | thresholds `b_l`: `S_l = ReLU(convT(S_{l-1}) - b_l + sigma_l xi)` |
/// | `level{l}.out` | `(m_l, c, q, q)` | output ConvTranspose2d, stride `q`: `X_l = convT(S_l, out)`; column `i` of `M_l` is `out[i]` flattened |
///
/// `torch.nn.functional.conv_transpose2d` with these tensors rebuilds the
/// generator (see `benches/peer/rebuild_torch.py`).
#[pyclass(name = "Params", module = "fsrgan", frozen)]
pub struct PyParams {
    pub params: Arc<Params>,
    /// The seed it was generated with (None when read from a file without one).
    seed: Option<u64>,
    arrays: Vec<(String, Py<PyAny>)>,
}

impl PyParams {
    /// The seed the parameters were drawn with (None when read from a file).
    pub fn drawn_seed(&self) -> Option<u64> {
        self.seed
    }

    /// Wraps `params` with read-only NumPy copies of its tensors.
    pub fn create(py: Python<'_>, params: Params, seed: Option<u64>) -> PyResult<PyParams> {
        let mut arrays = Vec::new();
        for (name, shape, values) in named_tensors(&params) {
            let a = ArrayD::from_shape_vec(IxDyn(&shape), values)
                .map_err(|e| errors::invalid(format!("internal error: `{name}`: {e}")))?;
            let arr = PyArray::from_owned_array(py, a);
            arr.readwrite().make_nonwriteable();
            arrays.push((name, arr.into_any().unbind()));
        }
        Ok(PyParams {
            params: Arc::new(params),
            seed,
            arrays,
        })
    }
}

#[pymethods]
impl PyParams {
    #[new]
    #[pyo3(signature = (config, seed = Int::of(0)))]
    fn new(py: Python<'_>, config: &Bound<'_, PyAny>, seed: Int) -> PyResult<Self> {
        let seed = args::seed("seed", seed)?;
        let config = to_config(config)?;
        let params =
            py.detach(|| errors::guard(|| Params::generate(&config, seed).map_err(errors::model)))?;
        PyParams::create(py, params, Some(seed))
    }

    /// Params.load(path) -> Params: reads a `params.safetensors` file (ground
    /// truth or a learner's checkpoint), checking every tensor's presence,
    /// shape and values against the config stored in the file's metadata,
    /// and the values themselves: a file with its own checksum (`save`, a
    /// run directory's) against it, one without (a dataset's truth, as
    /// `fsrgan sample` writes it) against the truth its recorded config and
    /// seed generate (`DatasetError` naming the first differing tensor).
    #[staticmethod]
    fn load(py: Python<'_>, path: &Bound<'_, PyAny>) -> PyResult<Self> {
        let path = args::path("path", path)?;
        let params =
            py.detach(|| errors::guard(|| read_params_verified(&path).map_err(errors::io)))?;
        PyParams::create(py, params, None)
    }

    /// save(path, dtype="f32"): writes `params.safetensors` atomically (temporary
    /// file, then rename) in float32 (`"f32"`) or float64 (`"f64"`), with the
    /// config and seed in its metadata — the file `fsrgan sample` writes.
    #[pyo3(signature = (path, dtype = None))]
    fn save(
        &self,
        py: Python<'_>,
        path: &Bound<'_, PyAny>,
        dtype: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let path: PathBuf = args::path("path", path)?;
        let dtype = match dtype {
            Some(d) => parse_dtype(&args::text("dtype", d)?)?,
            None => Dtype::F32,
        };
        let params = self.params.clone();
        let seed = self.seed.unwrap_or(0);
        py.detach(|| {
            errors::guard(|| {
                write_params(&path, &params, seed, dtype)
                    .map(|_| ())
                    .map_err(errors::io)
            })
        })
    }

    /// The model configuration.
    #[getter]
    fn config(&self) -> PyConfig {
        PyConfig {
            inner: self.params.config.clone(),
        }
    }

    /// The seed the parameters were drawn with (None if loaded from a file).
    #[getter]
    fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// The tensor names in file order.
    fn keys(&self) -> Vec<String> {
        self.arrays.iter().map(|(n, _)| n.clone()).collect()
    }

    /// The arrays in file order.
    fn values<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.arrays.iter().map(|(_, a)| a.bind(py)))
    }

    /// `(name, array)` pairs in file order.
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(
            py,
            self.arrays
                .iter()
                .map(|(n, a)| (n.clone(), a.bind(py).clone())),
        )
    }

    /// A dict `{name: array}` (the same read-only arrays).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (n, a) in &self.arrays {
            d.set_item(n, a.bind(py))?;
        }
        Ok(d)
    }

    fn __getitem__<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        self.arrays
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| a.bind(py).clone())
            .ok_or_else(|| {
                PyKeyError::new_err(format!(
                    "no tensor `{name}`; the tensors are {}",
                    self.keys().join(", ")
                ))
            })
    }

    fn __contains__(&self, name: &str) -> bool {
        self.arrays.iter().any(|(n, _)| n == name)
    }

    fn __len__(&self) -> usize {
        self.arrays.len()
    }

    fn __iter__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(PyList::new(py, self.keys())?
            .as_any()
            .try_iter()?
            .into_any())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let shapes: Vec<String> = self
            .arrays
            .iter()
            .map(|(n, a)| {
                let shape = a
                    .bind(py)
                    .cast::<numpy::PyUntypedArray>()
                    .map(|a| format!("{:?}", a.shape()))
                    .unwrap_or_default();
                format!("{n}: {shape}")
            })
            .collect();
        format!(
            "Params(config={:?}, seed={}, {})",
            self.params.config.name,
            self.seed.map_or("None".to_string(), |s| s.to_string()),
            shapes.join(", ")
        )
    }
}

/// `"f32"`/`"float32"` or `"f64"`/`"float64"`.
pub fn parse_dtype(s: &str) -> PyResult<Dtype> {
    match s {
        "f32" | "float32" => Ok(Dtype::F32),
        "f64" | "float64" => Ok(Dtype::F64),
        _ => Err(errors::invalid(format!(
            "dtype must be \"f32\" or \"f64\", got {s:?}"
        ))),
    }
}
