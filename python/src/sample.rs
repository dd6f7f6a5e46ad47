//! `fsrgan.sample`: the FSR sampler into float32 NumPy arrays that own Rust
//! memory (no copy), bit-identical to the arrays `fsrgan sample` writes.
//!
//! The sampler computes in float64 and rounds each value once to float32
//! (`v as f32`) in cache-sized blocks, [`Sampler::fill_f32`], the very path
//! `fsrgan sample` writes its files with, so the arrays are the files'
//! arrays bit for bit.

use ndarray::{ArrayD, IxDyn};
use numpy::PyArray;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use fsrgan::io::dataset::{Truth, array_specs, kind_array_specs};
use fsrgan::io::manifest::{Kind, Shard};
use fsrgan::model::{Labelled, Paired, Params, Sampler};

use crate::args::{self, Int};
use crate::config::to_config;
use crate::errors;
use crate::params::PyParams;

/// Arrays of `count` samples, in the files' order: `x1..xL`, then (domain
/// pair) `x1_b..xL_b`, then (hidden) `s1..sL`, `z`, all float32, then
/// (labelled) the int64 labels `y`.
pub struct Arrays {
    pub names: Vec<String>,
    pub shapes: Vec<Vec<usize>>,
    pub data: Vec<Vec<f32>>,
    /// A labelled set's labels `y` (the last array), int64.
    pub labels: Option<Vec<i64>>,
}

/// Samples `start..start+count` of `(params, seed)` as float32 arrays.
///
/// # Errors
/// `MemoryError` if the arrays cannot be allocated.
pub fn sample_f32(
    params: &Params,
    seed: u64,
    start: u64,
    count: usize,
    hidden: bool,
) -> PyResult<Arrays> {
    sample_truth(Truth::One(params), seed, start, count, hidden)
}

/// Samples `start..start+count` of `truth` under `seed`, the arrays of
/// [`kind_array_specs`], through the `fill_f32` that `fsrgan sample` writes with.
///
/// # Errors
/// `MemoryError` if the arrays cannot be allocated.
pub fn sample_truth(
    truth: Truth<'_>,
    seed: u64,
    start: u64,
    count: usize,
    hidden: bool,
) -> PyResult<Arrays> {
    let kind = truth.kind();
    let specs = kind_array_specs(&truth.first().config, count, hidden, kind);
    let per: Vec<usize> = specs
        .iter()
        .map(|s| s.shape[1..].iter().product())
        .collect();
    let mut data = Vec::with_capacity(specs.len());
    for (spec, &p) in specs.iter().zip(&per) {
        let len = count
            .checked_mul(p)
            .ok_or_else(|| errors::memory(&spec.name, usize::MAX))?;
        let v = zeroed_f32(len).ok_or_else(|| errors::memory(&spec.name, len.saturating_mul(4)))?;
        data.push(v);
    }
    {
        let mut outs: Vec<&mut [f32]> = data.iter_mut().map(Vec::as_mut_slice).collect();
        match truth {
            Truth::One(p) => {
                Sampler::new(p, seed).fill_f32(start, count, hidden, &mut outs);
            }
            Truth::Labelled(m) => {
                m.fill_f32(seed, start, count, hidden, &mut outs);
            }
            Truth::Paired(p) => {
                p.fill_f32(seed, start, count, hidden, &mut outs);
            }
        }
    }
    let labels = if kind.is_labelled() {
        data.pop()
            .map(|y| y.into_iter().map(|v| v as i64).collect())
    } else {
        None
    };
    Ok(Arrays {
        names: specs.iter().map(|s| s.name.clone()).collect(),
        shapes: specs.into_iter().map(|s| s.shape).collect(),
        data,
        labels,
    })
}

/// `len` zeros, or `None` if they cannot be allocated. Allocated zeroed
/// (`calloc`): a large block is fresh pages the kernel zeroes on first
/// touch, which is then the sampling task that fills them, in parallel;
/// `Vec::resize` would zero it all first, on one thread.
fn zeroed_f32(len: usize) -> Option<Vec<f32>> {
    if len == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<f32>(len).ok()?;
    // SAFETY: `layout` has a non-zero size; a non-null result is a block of
    // `len` f32 zeros (all-zero bits are 0.0f32) allocated by the global
    // allocator with exactly this layout, which is what `Vec::from_raw_parts`
    // needs for a vector of length and capacity `len`.
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout).cast::<f32>();
        if ptr.is_null() {
            return None;
        }
        Some(Vec::from_raw_parts(ptr, len, len))
    }
}

/// Runs `f` with the pools sized to `threads` (None or 0: all cores) by the
/// crate's one pool sizer, [`fsrgan::threads::with_threads`].
pub fn with_threads<T: Send>(
    threads: Option<usize>,
    f: impl FnOnce() -> PyResult<T> + Send,
) -> PyResult<T> {
    fsrgan::threads::with_threads(threads, f).map_err(|e| errors::invalid(e.to_string()))?
}

/// `shard` as `(i, n)`, `[i, n]` or `"i/n"`, validated as `--shard` is.
pub fn parse_shard(shard: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Shard>> {
    let Some(s) = shard.filter(|s| !s.is_none()) else {
        return Ok(None);
    };
    let text = if let Ok(t) = s.cast::<PyString>() {
        t.to_str()?.to_string()
    } else {
        let bad = || {
            errors::invalid(format!(
                "shard must be (i, n) or \"i/n\" with 0 <= i < n, got {}",
                s.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        };
        // Integers only: `True` is not a shard index.
        let (i, n): (Int, Int) = s.extract().map_err(|_| bad())?;
        match (i, n) {
            (Int::Value(i), Int::Value(n)) => format!("{i}/{n}"),
            _ => return Err(bad()),
        }
    };
    Shard::parse(&text).map(Some).map_err(errors::io)
}

/// The sample range of `n` samples and `shard`, validated as `fsrgan sample`
/// does ([`fsrgan::io::dataset::sample_range`]: `n >= 1`, a shard that
/// holds at least one sample).
pub fn sample_range(n: u64, shard: Option<Shard>) -> PyResult<(u64, u64)> {
    fsrgan::io::dataset::sample_range(n, shard).map_err(|e| errors::invalid(e.to_string()))
}

/// Samples of the FSR model: a dict `{name: array}` of float32 NumPy arrays
/// (`x1..xL` of shape `(N, c, r_l, r_l)`; with hidden codes also `s1..sL` of
/// shape `(N, m_l, n_l, n_l)` and `z` of shape `(N, d0)`), in the files' order,
/// with the ground truth and the provenance as attributes:
///
/// * `params` — the ground truth (`fsrgan.Params`), `config` — its config;
/// * `seed`, `n` (samples in the whole dataset), `start`, `end` (this
///   object holds samples `start..end`), `shard` (`(i, n)` or None), `hidden`;
/// * `manifest` — the dataset's `manifest.json` as a dict (None for `sample`).
#[pyclass(name = "Samples", module = "fsrgan", extends = PyDict, frozen)]
pub struct PySamples {
    pub(crate) params: Py<PyParams>,
    pub(crate) seed: u64,
    n: u64,
    start: u64,
    end: u64,
    shard: Option<(u64, u64)>,
    hidden: bool,
    manifest: Option<Py<PyAny>>,
    pub(crate) classes: Vec<Py<PyParams>>,
    domain_b: Option<Py<PyParams>>,
}

/// What a [`PySamples`] records besides its arrays.
pub struct Provenance {
    pub params: Py<PyParams>,
    pub seed: u64,
    pub n: u64,
    pub start: u64,
    pub end: u64,
    pub shard: Option<Shard>,
    pub hidden: bool,
    pub manifest: Option<Py<PyAny>>,
    /// A labelled set's class truths (`params` is class 0); empty otherwise.
    pub classes: Vec<Py<PyParams>>,
    /// A domain pair's domain B (`params` is domain A).
    pub domain_b: Option<Py<PyParams>>,
}

impl PySamples {
    /// A `Samples` dict holding `arrays` (each moved into NumPy without a copy).
    pub fn create<'py>(
        py: Python<'py>,
        arrays: Vec<(String, Bound<'py, PyAny>)>,
        p: Provenance,
    ) -> PyResult<Bound<'py, PySamples>> {
        let obj = Bound::new(
            py,
            PySamples {
                params: p.params,
                seed: p.seed,
                n: p.n,
                start: p.start,
                end: p.end,
                shard: p.shard.map(|s| (s.index, s.count)),
                hidden: p.hidden,
                manifest: p.manifest,
                classes: p.classes,
                domain_b: p.domain_b,
            },
        )?;
        let dict = obj.cast::<PyDict>()?;
        for (name, a) in arrays {
            dict.set_item(name, a)?;
        }
        Ok(obj)
    }
}

/// Moves `arrays` into NumPy: each array's memory becomes the NumPy array's
/// buffer (its `.base` is the capsule that frees it), no copy.
pub fn into_numpy<'py>(
    py: Python<'py>,
    arrays: Arrays,
) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    let mut out = Vec::with_capacity(arrays.names.len());
    let mut names = arrays.names.into_iter();
    let mut shapes = arrays.shapes.into_iter();
    for v in arrays.data {
        let (Some(name), Some(shape)) = (names.next(), shapes.next()) else {
            return Err(errors::invalid("internal error: more arrays than names"));
        };
        let a = ArrayD::from_shape_vec(IxDyn(&shape), v)
            .map_err(|e| errors::invalid(format!("internal error: `{name}`: {e}")))?;
        out.push((name, PyArray::from_owned_array(py, a).into_any()));
    }
    if let (Some(y), Some(name), Some(shape)) = (arrays.labels, names.next(), shapes.next()) {
        let a = ArrayD::from_shape_vec(IxDyn(&shape), y)
            .map_err(|e| errors::invalid(format!("internal error: `{name}`: {e}")))?;
        out.push((name, PyArray::from_owned_array(py, a).into_any()));
    }
    Ok(out)
}

#[pymethods]
impl PySamples {
    /// The ground truth that generated the samples.
    #[getter]
    fn params(&self, py: Python<'_>) -> Py<PyParams> {
        self.params.clone_ref(py)
    }
    /// The model configuration.
    #[getter]
    fn config(&self) -> crate::config::PyConfig {
        crate::config::PyConfig {
            inner: self.params.get().params.config.clone(),
        }
    }
    /// The seed of the samples' random streams.
    #[getter]
    fn seed(&self) -> u64 {
        self.seed
    }
    /// Samples in the whole (unsharded) dataset.
    #[getter]
    fn n(&self) -> u64 {
        self.n
    }
    /// Index of the first sample held.
    #[getter]
    fn start(&self) -> u64 {
        self.start
    }
    /// One past the index of the last sample held.
    #[getter]
    fn end(&self) -> u64 {
        self.end
    }
    /// `(i, count)` if these are shard `i` of `count`, else None.
    #[getter]
    fn shard(&self) -> Option<(u64, u64)> {
        self.shard
    }
    /// Whether the hidden codes `s1..sL` and the latent `z` are held.
    #[getter]
    fn hidden(&self) -> bool {
        self.hidden
    }
    /// A labelled mixture's class truths, `[Params of class 0, ...]`
    /// (`params` is class 0); an empty list otherwise.
    #[getter]
    fn classes(&self, py: Python<'_>) -> Vec<Py<PyParams>> {
        self.classes.iter().map(|p| p.clone_ref(py)).collect()
    }
    /// A domain pair's domain-B truth (`params` is domain A); None otherwise.
    #[getter]
    fn domain_b(&self, py: Python<'_>) -> Option<Py<PyParams>> {
        self.domain_b.as_ref().map(|p| p.clone_ref(py))
    }
    /// The dataset's manifest as a dict (None for samples drawn by `sample`).
    #[getter]
    fn manifest(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.manifest.as_ref().map(|m| m.clone_ref(py))
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        let me = slf.get();
        let dict = slf.cast::<PyDict>()?;
        let mut parts = Vec::new();
        for (k, v) in dict.iter() {
            let shape = v.getattr("shape")?.repr()?.to_string();
            let dtype = v.getattr("dtype")?.str()?.to_string();
            parts.push(format!("{k}: {shape} {dtype}"));
        }
        Ok(format!(
            "Samples({}; config={:?}, seed={}, samples {}..{} of {})",
            parts.join(", "),
            me.params.get().params.config.name,
            me.seed,
            me.start,
            me.end,
            me.n
        ))
    }
}

/// Draws `n` samples of the FSR model (`../shared/spec/model.md` section 2):
/// `z ~ N(0, I_d0)`, `S_1[j,p] = ReLU(alpha_j <w[j,p], z> - beta_j)`,
/// `S_l = ReLU(convT_2(S_{l-1}; W_l) - b_l + sigma_l xi_l)` (l >= 2),
/// `X_l = convT_q(S_l; M_l)`. Sample `i` comes from its own ChaCha8 stream
/// keyed by `(seed, i)` and a fixed-order float64 forward pass, so the result
/// does not depend on `threads` or `shard`, and it equals, bit for bit, the
/// arrays `fsrgan sample --n N --seed SEED [--hidden] [--shard i/n]` writes:
/// float32, each value rounded once from the float64 computation.
///
/// * `config`: preset name, TOML text, dict, path, `Config`, or a `Params`
///   (reused as the ground truth; `fsrgan sample --seed SEED` uses
///   `Params(config, SEED)`).
/// * `n`: samples in the whole dataset (>= 1).
/// * `seed`: seed of the ground truth (when drawn here) and of the samples.
/// * `hidden`: also return `s1..sL` and `z`.
/// * `shard`: `(i, count)` or `"i/count"`: only samples
///   `floor(i n / count) .. floor((i + 1) n / count)`; the shards' arrays
///   concatenated in order are the unsharded arrays.
/// * `threads`: worker threads (None or 0: all cores).
/// * `classes`: `K >= 2` draws a labelled mixture of `K` models of the
///   config, as `fsrgan sample --classes K`: the dict also holds the int64
///   labels `y` (shape `(N,)`), `params` is class 0 and `classes` lists
///   every class's truth. Needs a config, not a `Params`.
/// * `domains`: 2 draws a domain pair, as `fsrgan sample --domains 2`: the
///   dict also holds `x1_b..xL_b`, the domain-B images of the same codes;
///   `params` is domain A and `domain_b` domain B. Not with `classes`.
///
/// The arrays own memory allocated by Rust and handed to NumPy without a copy
/// (`array.base` is the capsule that frees it). The GIL is released while
/// sampling. Errors: `ConfigError` for a bad config, `FsrganError` for a bad
/// `n` or `shard`, `MemoryError` if the arrays do not fit.
///
/// * `out`: a mapping of preallocated arrays to fill instead of allocating
///   (e.g. the `Samples` of an earlier call with the same shapes): float32,
///   C-contiguous, writeable, of exactly the shapes above. Reusing arrays
///   saves the page faults of fresh memory; the returned `Samples` holds the
///   same array objects.
#[pyfunction]
#[pyo3(signature = (config, n, seed = Int::of(0), hidden = false, shard = None, threads = None, out = None, classes = Int::of(1), domains = Int::of(1)))]
#[allow(clippy::too_many_arguments)]
pub fn sample<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyAny>,
    n: Int,
    seed: Int,
    hidden: bool,
    shard: Option<&Bound<'py, PyAny>>,
    threads: Option<Int>,
    out: Option<&Bound<'py, PyAny>>,
    classes: Int,
    domains: Int,
) -> PyResult<Bound<'py, PySamples>> {
    let n = args::count_cli_zero("n", n, u64::MAX)?;
    let seed = args::seed("seed", seed)?;
    let threads = args::threads(threads)?;
    let shard = parse_shard(shard)?;
    let (start, end) = sample_range(n, shard)?;
    let count = usize::try_from(end - start).map_err(|_| errors::invalid("too many samples"))?;
    let kind = parse_kind(classes, domains)?;
    if kind != Kind::ORDINARY {
        if out.is_some_and(|o| !o.is_none()) {
            return Err(errors::invalid(
                "out= fills the arrays of one model; it cannot be combined with classes or domains",
            ));
        }
        let truth = TruthOwned::draw(py, config, seed, kind, threads)?;
        let arrays = py.detach(|| {
            errors::guard(|| {
                with_threads(threads, || {
                    sample_truth(truth.truth(), seed, start, count, hidden)
                })
            })
        })?;
        let arrays = into_numpy(py, arrays)?;
        let (params, classes, domain_b) = truth.to_py(py, seed)?;
        return PySamples::create(
            py,
            arrays,
            Provenance {
                params,
                seed,
                n,
                start,
                end,
                shard,
                hidden,
                manifest: None,
                classes,
                domain_b,
            },
        );
    }
    let (params_obj, params) = match config.cast::<PyParams>() {
        Ok(p) => (p.clone().unbind(), p.get().params.clone()),
        Err(_) => {
            let cfg = to_config(config)?;
            let params = py.detach(|| {
                errors::guard(|| {
                    with_threads(threads, || {
                        Params::generate(&cfg, seed).map_err(errors::model)
                    })
                })
            })?;
            let obj = Py::new(py, PyParams::create(py, params, Some(seed))?)?;
            let params = obj.get().params.clone();
            (obj, params)
        }
    };
    let arrays = match out.filter(|o| !o.is_none()) {
        Some(out) => fill_out(py, out, &params, (seed, start, count, hidden), threads)?,
        None => {
            let arrays = py.detach(|| {
                errors::guard(|| {
                    with_threads(threads, || sample_f32(&params, seed, start, count, hidden))
                })
            })?;
            into_numpy(py, arrays)?
        }
    };
    PySamples::create(
        py,
        arrays,
        Provenance {
            params: params_obj,
            seed,
            n,
            start,
            end,
            shard,
            hidden,
            manifest: None,
            classes: Vec::new(),
            domain_b: None,
        },
    )
}

/// `classes` and `domains` as a dataset [`Kind`], validated as `fsrgan sample`
/// does (booleans and negative values refused, naming the argument).
pub fn parse_kind(classes: Int, domains: Int) -> PyResult<Kind> {
    let classes = args::usize_in("classes", classes, 1, usize::MAX)?;
    let domains = args::usize_in("domains", domains, 1, 2)?;
    Kind { classes, domains }
        .validated()
        .map_err(|e| errors::invalid(e.to_string().replace("--", "")))
}

/// The drawn truth of a labelled or paired set.
pub enum TruthOwned {
    Labelled(Labelled),
    Paired(Box<Paired>),
}

impl TruthOwned {
    /// Draws the `kind` (labelled or paired) truth of `(config, seed)`;
    /// `config` must be a config, not a `Params`.
    pub fn draw(
        py: Python<'_>,
        config: &Bound<'_, PyAny>,
        seed: u64,
        kind: Kind,
        threads: Option<usize>,
    ) -> PyResult<TruthOwned> {
        if config.cast::<PyParams>().is_ok() {
            return Err(errors::invalid(
                "classes and domains draw their truths from (config, seed): pass a config, not a Params",
            ));
        }
        let cfg = to_config(config)?;
        py.detach(|| {
            errors::guard(|| {
                with_threads(threads, || {
                    if kind.is_labelled() {
                        Labelled::new(&cfg, seed, kind.classes)
                            .map(TruthOwned::Labelled)
                            .map_err(errors::model)
                    } else {
                        Paired::new(&cfg, seed)
                            .map(|p| TruthOwned::Paired(Box::new(p)))
                            .map_err(errors::model)
                    }
                })
            })
        })
    }

    /// The borrowed form the library writes and samples.
    pub fn truth(&self) -> Truth<'_> {
        match self {
            TruthOwned::Labelled(m) => Truth::Labelled(m),
            TruthOwned::Paired(p) => Truth::Paired(p),
        }
    }

    /// `(params, classes, domain_b)` as Python objects.
    #[allow(clippy::type_complexity)]
    pub fn to_py(
        &self,
        py: Python<'_>,
        seed: u64,
    ) -> PyResult<(Py<PyParams>, Vec<Py<PyParams>>, Option<Py<PyParams>>)> {
        match self {
            TruthOwned::Labelled(m) => {
                let classes = m
                    .classes
                    .iter()
                    .enumerate()
                    .map(|(k, p)| {
                        Py::new(
                            py,
                            PyParams::create(py, p.clone(), Some(Labelled::class_seed(seed, k)))?,
                        )
                    })
                    .collect::<PyResult<Vec<_>>>()?;
                Ok((classes[0].clone_ref(py), classes, None))
            }
            TruthOwned::Paired(p) => Ok((
                Py::new(py, PyParams::create(py, p.a.clone(), Some(seed))?)?,
                Vec::new(),
                Some(Py::new(py, PyParams::create(py, p.b.clone(), None)?)?),
            )),
        }
    }
}

/// Fills the caller's arrays `out[name]` (checked: float32, C-contiguous,
/// writeable, the spec's shape, no array given twice) with samples
/// `(seed, start, count, hidden)`, the GIL released; returns them by name.
fn fill_out<'py>(
    py: Python<'py>,
    out: &Bound<'py, PyAny>,
    params: &Params,
    (seed, start, count, hidden): (u64, u64, usize, bool),
    threads: Option<usize>,
) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
    use numpy::{PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
    let specs = array_specs(params, count, hidden);
    let mut arrays = Vec::with_capacity(specs.len());
    for spec in &specs {
        let name = &spec.name;
        let item = out
            .get_item(name)
            .map_err(|_| errors::invalid(format!("out has no array `{name}`")))?;
        let a = item
            .cast::<PyArrayDyn<f32>>()
            .map_err(|_| errors::invalid(format!("out[{name:?}] must be a float32 NumPy array")))?;
        if a.shape() != spec.shape.as_slice() {
            return Err(errors::invalid(format!(
                "out[{name:?}] has shape {:?}; these samples need {:?}",
                a.shape(),
                spec.shape
            )));
        }
        if !a.is_c_contiguous() {
            return Err(errors::invalid(format!(
                "out[{name:?}] must be C-contiguous"
            )));
        }
        arrays.push((name.clone(), a.clone()));
    }
    let mut guards = Vec::with_capacity(arrays.len());
    for (name, a) in &arrays {
        guards.push(a.try_readwrite().map_err(|_| {
            errors::invalid(format!(
                "out[{name:?}] is not writeable, or the same array is given twice"
            ))
        })?);
    }
    let mut outs: Vec<&mut [f32]> = Vec::with_capacity(guards.len());
    for g in guards.iter_mut() {
        outs.push(
            g.as_slice_mut()
                .map_err(|e| errors::invalid(format!("out: {e}")))?,
        );
    }
    py.detach(|| {
        errors::guard(|| {
            with_threads(threads, || {
                Sampler::new(params, seed).fill_f32(start, count, hidden, &mut outs);
                Ok(())
            })
        })
    })?;
    drop(guards);
    Ok(arrays.into_iter().map(|(n, a)| (n, a.into_any())).collect())
}
