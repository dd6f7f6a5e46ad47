//! `fsrgan.score`: the sample metrics of any generated set against a real
//! dataset, each with its floor — `fsrgan::metrics::score::score_against_dataset`,
//! the function `fsrgan score` calls, so both give the same numbers.

use std::path::PathBuf;

use ndarray::Array4;
use numpy::{PyReadonlyArray4, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use fsrgan::io::Dataset;
use fsrgan::io::writer::Dtype;
use fsrgan::metrics::score::{ScoreOptions, score_against_dataset, score_against_mixture};
use fsrgan::model::{Labelled, Params};
use std::sync::Arc;

use crate::args::{self, Int};
use crate::dataset::json_to_py;
use crate::errors;
use crate::sample::{PySamples, with_threads};

/// Level `l`'s images `x{l}` from a mapping, as float64 `(N, c, r, r)`.
fn level_array(set: &str, map: &Bound<'_, PyAny>, l: usize) -> PyResult<Array4<f64>> {
    let key = format!("x{l}");
    let item = map.get_item(&key).map_err(|_| {
        errors::invalid(format!(
            "{set}: no array `{key}` (a mapping with x1..xL is expected)"
        ))
    })?;
    if let Ok(a) = item.extract::<PyReadonlyArray4<'_, f32>>() {
        return to_f64(set, &key, a.as_array(), f64::from);
    }
    if let Ok(a) = item.extract::<PyReadonlyArray4<'_, f64>>() {
        return to_f64(set, &key, a.as_array(), |v| v);
    }
    let what = match item.cast::<numpy::PyUntypedArray>() {
        Ok(u) => format!(
            "an array of dtype {} and {} dimensions",
            u.dtype(),
            u.ndim()
        ),
        Err(_) => format!("a {}", item.get_type().name()?),
    };
    Err(errors::invalid(format!(
        "{set}: `{key}` must be a float32 or float64 NumPy array of shape (N, c, r, r), got {what}"
    )))
}

/// `a` as an owned float64 array, its memory reserved first: a huge array
/// (e.g. a zero-stride view of 10^9 images) is a `MemoryError` naming it.
fn to_f64<T: Copy>(
    set: &str,
    key: &str,
    a: ndarray::ArrayView4<'_, T>,
    f: impl Fn(T) -> f64,
) -> PyResult<Array4<f64>> {
    let mut v: Vec<f64> = Vec::new();
    if v.try_reserve_exact(a.len()).is_err() {
        return Err(pyo3::exceptions::PyMemoryError::new_err(format!(
            "{set}: `{key}` of shape {:?} needs {} bytes as float64, which cannot be allocated; score fewer samples",
            a.shape(),
            (a.len() as u64).saturating_mul(8)
        )));
    }
    v.extend(a.iter().map(|&x| f(x)));
    Array4::from_shape_vec(a.raw_dim(), v)
        .map_err(|e| errors::invalid(format!("internal error: `{key}`: {e}")))
}

/// The real side: `(images, truth, dataset seed, stored as float32)`.
/// The real images, the truth (class 0 of a mixture), the dataset seed,
/// whether stored as float32, and a labelled mixture's class truths (empty
/// otherwise: the floor is then a draw of the mixture).
type RealSide = (Vec<Array4<f64>>, Arc<Params>, u64, bool, Vec<Params>);

fn real_side(py: Python<'_>, real: &Bound<'_, PyAny>) -> PyResult<RealSide> {
    if let Ok(s) = real.cast::<PySamples>() {
        let s = s.get();
        let params = s.params.bind(py).get().params.clone();
        let xs = (1..=params.config.levels)
            .map(|l| level_array("real", real, l))
            .collect::<PyResult<Vec<_>>>()?;
        let f32 = real
            .get_item("x1")
            .and_then(|a| a.extract::<PyReadonlyArray4<'_, f32>>())
            .is_ok();
        let classes = s
            .classes
            .iter()
            .map(|p| p.bind(py).get().params.as_ref().clone())
            .collect();
        return Ok((xs, params, s.seed, f32, classes));
    }
    let path: PathBuf = real.extract().map_err(|_| {
        errors::invalid(
            "real must be a dataset directory (str or path) or a `Samples` (fsrgan.sample, fsrgan.read_dataset), or a mapping of x1..xL with config= (a real set without a truth)",
        )
    })?;
    py.detach(|| {
        errors::guard(|| {
            let ds = Dataset::open(&path).map_err(errors::io)?;
            // The floor set is drawn from the truth: it must be the data's.
            ds.check_truth().map_err(errors::io)?;
            let xs = (1..=ds.params.config.levels)
                .map(|l| ds.x(l))
                .collect::<Result<Vec<_>, _>>()
                .map_err(errors::io)?;
            let f32 = ds
                .manifest
                .arrays
                .get("x1")
                .is_some_and(|a| a.dtype == Dtype::F32);
            Ok((xs, Arc::new(ds.params), ds.manifest.seed, f32, ds.classes))
        })
    })
}

/// Scores generated samples against a real dataset, as `fsrgan score REAL FAKE
/// --json` does (the same function, the same numbers): per level, the patch
/// sliced Wasserstein distance, ProGAN's Laplacian-pyramid SWD per band,
/// MS-SSIM of generated pairs (beside real pairs), the moment gaps
/// `||E x^{(x)c}_real - E x^{(x)c}_fake||_F / ||E x^{(x)c}_real||_F`, `c = 1..4`,
/// and atom / atom-pair coverage with the true dictionary — each beside its
/// **floor**: the same metric for `N = len(fake)` fresh samples of the truth
/// (an independent real set, drawn from streams derived from the dataset's
/// seed and `seed`; rounded to float32 when the real data are float32).
///
/// * `real`: a dataset directory written by `fsrgan sample` / `write_dataset`,
///   or a `Samples` (from `sample` or `read_dataset`): its `params` is the truth.
///   For a labelled mixture (`classes=K`) the floor set is a fresh draw of the
///   mixture, as `fsrgan score` draws it (the per-class scores are the
///   command line's).
/// * `fake`: any mapping with arrays `x1..xL` of shape `(N, c, r_l, r_l)`,
///   float32 or float64 — a dict, `np.load("fake.npz")`, a `Samples`.
/// * `config`: only for a `real` without a truth — a mapping with `x1..xL`
///   (a dict, `np.load("real.npz")`) of the model `config` names (a preset
///   name, TOML, dict, path or `Config`), as `fsrgan score REAL FAKE
///   --preset NAME`: the floor set is then `N` samples of `real` drawn at
///   random (`seed`), the reference its other samples (`real` needs `N + 2`),
///   and the atom coverage, which decodes with the true dictionary, is
///   reported as not computable (`coverage.not_computable`). The dict then
///   holds `floor_rows`, the indices of `real` that form the floor set.
///
/// Returns a dict: `n_real`, `n_fake`, `seed`, `options`, `levels` (per level
/// `patch_swd`, `pyramid_swd`, `msssim`, `moment_gaps`, `coverage`, ...; each
/// metric as `{"value", "floor", ...}`), and `floor_seed`. Raises
/// `FsrganError` for missing arrays, wrong shapes or dtypes, non-finite values
/// or values beyond 1e15 in magnitude, fewer than 2 samples, sizes of 0 (or
/// beyond their limits: `patch_dirs <= 4096`, `patch_dirs * max_rows <= 2^31`,
/// `max_gram_rows <= 32768`), or a metric that comes out NaN (it cannot be
/// computed for these sets); `DatasetError` for an unreadable `real`, or
/// one whose `params.safetensors` is not the truth its manifest's config
/// and seed generate. The GIL is released while scoring.
#[pyfunction]
#[pyo3(signature = (real, fake, *, seed = Int::of(0), patch_dirs = Int::of(128), max_rows = Int::of(65536), max_gram_rows = Int::of(4096), max_pairs = Int::of(1024), threads = None, config = None))]
#[allow(clippy::too_many_arguments)]
pub fn score<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    fake: &Bound<'py, PyAny>,
    seed: Int,
    patch_dirs: Int,
    max_rows: Int,
    max_gram_rows: Int,
    max_pairs: Int,
    threads: Option<Int>,
    config: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let seed = args::seed("seed", seed)?;
    let threads = args::threads(threads)?;
    let size = |name: &str, v: Int| args::usize_in(name, v, 1, usize::MAX);
    let opts = ScoreOptions {
        patch_dirs: size("patch_dirs", patch_dirs)?,
        max_rows: size("max_rows", max_rows)?,
        max_gram_rows: size("max_gram_rows", max_gram_rows)?,
        max_pairs: size("max_pairs", max_pairs)?,
    };
    opts.validated()
        .map_err(|e| errors::invalid(e.to_string()))?;
    let plain = real.cast::<PySamples>().is_err() && real.extract::<PathBuf>().is_err();
    match (plain, config.filter(|c| !c.is_none())) {
        (true, Some(config)) => return score_plain(py, real, fake, config, seed, &opts, threads),
        (true, None) if real.hasattr("keys")? => {
            return Err(errors::invalid(
                "real is a mapping of arrays without a truth: give its model with config= (a preset name, TOML, dict, path or Config)",
            ));
        }
        (false, Some(_)) => {
            return Err(errors::invalid(
                "config= gives the model of a real set without a truth; a dataset directory or a Samples carries its own",
            ));
        }
        _ => {}
    }
    let (real_x, truth, dataset_seed, real_f32, classes) = real_side(py, real)?;
    // The command line's rule on array names (x{l} beyond the real levels).
    if let Ok(keys) = fake.call_method0("keys") {
        let names: Vec<String> = keys
            .try_iter()?
            .map(|k| k.and_then(|k| k.extract::<String>()))
            .filter_map(Result::ok)
            .collect();
        fsrgan::metrics::score::check_level_names(
            "fake",
            names.iter().map(String::as_str),
            truth.config.levels,
        )
        .map_err(|e| errors::invalid(e.to_string()))?;
    }
    let fake_x = (1..=truth.config.levels)
        .map(|l| level_array("fake", fake, l))
        .collect::<PyResult<Vec<_>>>()?;
    let (score, floor_seed) = py.detach(|| {
        errors::guard(|| {
            with_threads(threads, || {
                if classes.is_empty() {
                    score_against_dataset(
                        &real_x,
                        &truth,
                        dataset_seed,
                        real_f32,
                        &fake_x,
                        &opts,
                        seed,
                    )
                } else {
                    score_against_mixture(
                        &real_x,
                        &Labelled { classes },
                        dataset_seed,
                        real_f32,
                        &fake_x,
                        &opts,
                        seed,
                    )
                }
                .map_err(|e| errors::invalid(e.to_string()))
            })
        })
    })?;
    let out = json_to_py(py, &score)?.cast_into::<PyDict>()?;
    out.set_item("floor_seed", floor_seed)?;
    Ok(out)
}

/// The arrays `x1..xL` of `map`, the rule on names checked as for FAKE.
fn levels_of(set: &str, map: &Bound<'_, PyAny>, levels: usize) -> PyResult<Vec<Array4<f64>>> {
    if let Ok(keys) = map.call_method0("keys") {
        let names: Vec<String> = keys
            .try_iter()?
            .map(|k| k.and_then(|k| k.extract::<String>()))
            .filter_map(Result::ok)
            .collect();
        fsrgan::metrics::score::check_level_names(set, names.iter().map(String::as_str), levels)
            .map_err(|e| errors::invalid(e.to_string()))?;
    }
    (1..=levels).map(|l| level_array(set, map, l)).collect()
}

/// `score` of a real set without a truth (`config=`): the floor split from
/// `real` ([`fsrgan::metrics::score::score_without_truth`]).
fn score_plain<'py>(
    py: Python<'py>,
    real: &Bound<'py, PyAny>,
    fake: &Bound<'py, PyAny>,
    config: &Bound<'py, PyAny>,
    seed: u64,
    opts: &ScoreOptions,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let cfg = crate::config::to_config(config)?;
    let real_x = levels_of("real", real, cfg.levels)?;
    let fake_x = levels_of("fake", fake, cfg.levels)?;
    let (score, rows) = py.detach(|| {
        errors::guard(|| {
            with_threads(threads, || {
                fsrgan::metrics::score::score_without_truth(&real_x, &cfg, &fake_x, opts, seed)
                    .map_err(|e| errors::invalid(e.to_string()))
            })
        })
    })?;
    let out = json_to_py(py, &score)?.cast_into::<PyDict>()?;
    out.set_item("floor_seed", seed)?;
    out.set_item("floor_rows", rows)?;
    Ok(out)
}
