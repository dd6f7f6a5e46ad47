//! `fsrgan.read_dataset` / `fsrgan.write_dataset`: dataset directories
//! (`params.safetensors`, `samples.{npz,safetensors}`, `manifest.json`) through
//! `fsrgan::io::dataset`, the code `fsrgan sample` and `fsrgan inspect` use.

use std::path::PathBuf;

use ndarray::ArrayD;
use numpy::PyArray;
use pyo3::prelude::*;

use fsrgan::io::dataset::{self, Dataset, WriteOptions, kind_array_specs};
use fsrgan::io::manifest::Kind;
use fsrgan::io::{Format, Tensor};
use fsrgan::model::{Labelled, Params};

use crate::args::{self, Int};
use crate::config::to_config;
use crate::errors;
use crate::params::{PyParams, parse_dtype};
use crate::sample::{
    Provenance, PySamples, TruthOwned, parse_kind, parse_shard, sample_range, with_threads,
};

pub fn json_to_py<'py>(py: Python<'py>, v: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(v).map_err(|e| errors::invalid(e.to_string()))?;
    py.import("json")?.call_method1("loads", (text,))
}

/// Opens a dataset directory written by `fsrgan sample` (or `write_dataset`),
/// labelled (`--classes K`: also the int64 labels `y`, and `.classes`, the
/// class truths) and domain pairs (`--domains 2`: also `x1_b..xL_b`, and
/// `.domain_b`) included:
/// checks the size and CRC-32 of every file against `manifest.json`, then
/// every shape against the config, exactly as `fsrgan inspect` does. Returns
/// the stored arrays as NumPy arrays in their stored dtype (float32), moved
/// from Rust without a copy, with `.params` (the ground truth as stored: float32
/// values unless written with `params_dtype="f64"`), `.manifest` (a dict) and
/// the provenance (`seed`, `n`, `start`, `end`, `shard`, `hidden`).
///
/// Errors: `DatasetError` with the library's message for a missing, truncated,
/// corrupted or mismatched file.
#[pyfunction]
pub fn read_dataset<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Bound<'py, PySamples>> {
    let ds = py.detach(|| errors::guard(|| Dataset::open(&path).map_err(errors::io)))?;
    let Dataset {
        manifest,
        params,
        mut arrays,
        kind,
        classes,
        domain_b,
        ..
    } = ds;
    let count = usize::try_from(manifest.len()).map_err(|_| errors::invalid("too many samples"))?;
    let mut out = Vec::new();
    for spec in kind_array_specs(&params.config, count, manifest.hidden, kind) {
        let t = arrays.remove(&spec.name).ok_or_else(|| {
            errors::DatasetError::new_err(format!("{}: no array `{}`", path.display(), spec.name))
        })?;
        let a = match t {
            Tensor::F32(a) => PyArray::from_owned_array(py, a).into_any(),
            Tensor::F64(a) => PyArray::from_owned_array(py, a as ArrayD<f64>).into_any(),
            Tensor::I64(a) => PyArray::from_owned_array(py, a as ArrayD<i64>).into_any(),
        };
        out.push((spec.name, a));
    }
    let manifest_py = json_to_py(py, &manifest.to_json_kind(kind).map_err(errors::io)?)?.unbind();
    let params = Py::new(py, PyParams::create(py, params, Some(manifest.seed))?)?;
    let classes = classes
        .into_iter()
        .enumerate()
        .map(|(k, p)| {
            Py::new(
                py,
                PyParams::create(py, p, Some(Labelled::class_seed(manifest.seed, k)))?,
            )
        })
        .collect::<PyResult<Vec<_>>>()?;
    let domain_b = domain_b
        .map(|b| Py::new(py, PyParams::create(py, b, None)?))
        .transpose()?;
    PySamples::create(
        py,
        out,
        Provenance {
            params,
            seed: manifest.seed,
            n: manifest.n_total,
            start: manifest.start,
            end: manifest.end,
            shard: manifest.shard,
            hidden: manifest.hidden,
            manifest: Some(manifest_py),
            classes,
            domain_b,
        },
    )
}

/// Writes the dataset directory `fsrgan sample --out PATH` writes, with the
/// same code: `params.safetensors` (the ground truth), `samples.npz` or
/// `samples.safetensors` (`x{l}`, and with `hidden` also `s{l}`, `z`;
/// float32) and, last, `manifest.json`. Every file is written under a
/// temporary name and renamed when complete. The same arguments give the
/// same bytes as the command line. Returns the manifest as a dict.
///
/// `config` is a preset name, TOML text, dict, path, `Config` or `Params`
/// (whose ground truth is then used; the command line draws
/// `Params(config, seed)`; a `Params` must be one drawn with this `seed`,
/// as the manifest records it). Errors: `DatasetError` if `path` already holds
/// a dataset and `force` is false, or on I/O failure; `ConfigError` for a bad
/// config; `FsrganError` for bad `n`/`shard`/`classes`/`domains`.
///
/// `classes = K >= 2` writes a labelled mixture and `domains = 2` a domain
/// pair, as `fsrgan sample --classes K` / `--domains 2` (same bytes); both
/// draw their truths from `(config, seed)`, so `config` may not be a `Params`.
#[pyfunction]
#[pyo3(signature = (path, config, n, seed = Int::of(0), *, hidden = false, shard = None, format = "npz", params_dtype = "f32", force = false, chunk = Int::of(1024), threads = None, classes = Int::of(1), domains = Int::of(1)))]
#[allow(clippy::too_many_arguments)]
pub fn write_dataset<'py>(
    py: Python<'py>,
    path: PathBuf,
    config: &Bound<'py, PyAny>,
    n: Int,
    seed: Int,
    hidden: bool,
    shard: Option<&Bound<'py, PyAny>>,
    format: &str,
    params_dtype: &str,
    force: bool,
    chunk: Int,
    threads: Option<Int>,
    classes: Int,
    domains: Int,
) -> PyResult<Bound<'py, PyAny>> {
    let n = args::count_cli_zero("n", n, u64::MAX)?;
    let seed = args::seed("seed", seed)?;
    let chunk = args::usize_in("chunk", chunk, 1, usize::MAX)?;
    let threads = args::threads(threads)?;
    let shard = parse_shard(shard)?;
    sample_range(n, shard)?;
    let kind = parse_kind(classes, domains)?;
    let format = match format {
        "npz" => Format::Npz,
        "safetensors" => Format::Safetensors,
        other => {
            return Err(errors::invalid(format!(
                "format must be \"npz\" or \"safetensors\", got {other:?}"
            )));
        }
    };
    let opts = WriteOptions {
        n,
        seed,
        shard,
        format,
        hidden,
        params_dtype: parse_dtype(params_dtype)?,
        force,
        chunk,
        ..WriteOptions::default()
    };
    if kind != Kind::ORDINARY {
        let truth = TruthOwned::draw(py, config, seed, kind, threads)?;
        let manifest = py.detach(|| {
            errors::guard(|| {
                with_threads(threads, || {
                    dataset::write_truth(&path, truth.truth(), &opts, |_| {}).map_err(errors::io)
                })
            })
        })?;
        return json_to_py(py, &manifest.to_json_kind(kind).map_err(errors::io)?);
    }
    // The manifest records one seed for the truth and the samples, and
    // `inspect` (and `score`) regenerate the truth from it.
    if let Ok(p) = config.cast::<PyParams>() {
        match p.get().drawn_seed() {
            Some(s) if s == seed => {}
            Some(s) => {
                return Err(errors::invalid(format!(
                    "config is a Params drawn with seed {s}, but seed={seed}: a dataset's manifest records one seed for its truth and its samples, from which `fsrgan inspect` regenerates the truth; pass seed={s}, or the config"
                )));
            }
            None => {
                return Err(errors::invalid(
                    "config is a Params read from a file, which records no seed the manifest could regenerate it from; pass the config (and the seed) it was drawn with",
                ));
            }
        }
    }
    let given = config
        .cast::<PyParams>()
        .ok()
        .map(|p| p.get().params.clone());
    let cfg = match given {
        Some(_) => None,
        None => Some(to_config(config)?),
    };
    let manifest = py.detach(|| {
        errors::guard(|| {
            with_threads(threads, || {
                let owned;
                let params: &Params = match (&given, &cfg) {
                    (Some(p), _) => p,
                    (None, Some(c)) => {
                        owned = Params::generate(c, seed).map_err(errors::model)?;
                        &owned
                    }
                    (None, None) => return Err(errors::invalid("internal error: no config")),
                };
                dataset::write(&path, params, &opts, |_| {}).map_err(errors::io)
            })
        })
    })?;
    json_to_py(py, &manifest)
}
