//! `fsrgan._native`: the extension module behind the `fsrgan` Python package
//! (python/python/fsrgan re-exports it). Built by maturin (`scripts/setup.sh`)
//! from the fsrgan library without its `torch` feature, so importing the
//! package never loads libtorch.
//!
//! * [`config`] — `Config` (presets, TOML, dicts; the library's validation);
//! * [`params`] — `Params`, the ground truth as NumPy arrays under the interchange names;
//! * [`sample`] — `sample` and the `Samples` dict (float32 arrays, no copy, GIL released);
//! * [`dataset`] — `read_dataset`, `write_dataset`;
//! * [`theory`] — the submodule `theory` (normal functions, `Phi2`, Gaussian-ReLU moments and inversions, divergences);
//! * [`verify`] — `verify`, the table of `fsrgan verify` as records;
//! * [`score`] — `score`, the sample metrics of any generated set with their floors (`fsrgan score`);
//! * [`args`] — integer arguments checked with their names (no bools, no negatives);
//! * [`errors`] — `FsrganError(ValueError)` and its subclasses, the panic guard.

use pyo3::prelude::*;

mod args;
mod config;
mod dataset;
mod errors;
mod params;
mod sample;
mod score;
mod theory;
mod verify;

/// fsrgan: the FSR model's sampler and ground truth, and the GAN theory's
/// checks, from fsrgan's Rust core.
#[pymodule(name = "_native")]
fn native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("PRESETS", fsrgan::model::PRESETS.to_vec())?;
    errors::register(m)?;
    m.add_class::<config::PyConfig>()?;
    m.add_class::<params::PyParams>()?;
    m.add_class::<sample::PySamples>()?;
    m.add_function(wrap_pyfunction!(sample::sample, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::read_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(dataset::write_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(verify::verify, m)?)?;
    m.add_function(wrap_pyfunction!(score::score, m)?)?;
    let th = PyModule::new(py, "theory")?;
    th.add(
        "__doc__",
        "The functions of fsrgan::theory a reader checks by hand; each docstring states its formula.",
    )?;
    theory::register(&th)?;
    m.add_submodule(&th)?;
    Ok(())
}
