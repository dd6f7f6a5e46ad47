//! `fsrgan.verify`: the table of `fsrgan verify` as records, from the same
//! registry of claims (`fsrgan::theory::claims`).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use fsrgan::theory::claims::{self, Check, Options, Relation};

use crate::args::{self, Int};
use crate::errors;
use crate::sample::with_threads;

/// The most samples `fsrgan verify --samples` takes (its `MAX_SAMPLES`).
const MAX_SAMPLES: usize = 1_000_000_000;

fn relation(r: Relation) -> &'static str {
    match r {
        Relation::Within => "within",
        Relation::AtMost => "at_most",
        Relation::AtLeast => "at_least",
    }
}

/// Runs the theory's claims T1-T8 (`../shared/spec/theory.md`) at `samples`
/// Monte Carlo samples, as `fsrgan verify [--claim ID ...] --samples N --seed S`
/// does, and returns its table as records, one per check, with the keys of
/// `fsrgan verify --json`:
///
/// * `claim` (`"T1"`..`"T8"`), `name` (what is compared);
/// * `lhs` (the computed quantity), `rhs` (the truth or the other side),
///   `diff = |lhs - rhs|`, `bound` (the tolerance: a closed-form error bound or
///   `z = 5` Monte Carlo standard errors);
/// * `relation`: `"within"` (`|lhs - rhs| <= bound`), `"at_most"` (`lhs <= rhs`)
///   or `"at_least"` (`lhs >= rhs`); `pass` (whether it holds);
/// * `secs`: seconds spent on the claim.
///
/// `claims`: None (all), one id (`"T6"`) or a list of ids (any case).
/// Raises `FsrganError` for an unknown claim, `samples` outside
/// `1..=1_000_000_000` or a bool/negative `seed`/`threads` (the messages
/// of the command line). The GIL is released while the checks run.
#[pyfunction]
#[pyo3(signature = (claims = None, samples = Int::of(1_000_000), seed = Int::of(1), threads = None))]
pub fn verify<'py>(
    py: Python<'py>,
    claims: Option<&Bound<'py, PyAny>>,
    samples: Int,
    seed: Int,
    threads: Option<Int>,
) -> PyResult<Bound<'py, PyList>> {
    // `samples = 0` keeps the command line's message (below).
    let samples = args::count_cli_zero("samples", samples, MAX_SAMPLES as u64)? as usize;
    let seed = args::seed("seed", seed)?;
    let threads = args::threads(threads)?;
    let wanted: Vec<String> = match claims.filter(|c| !c.is_none()) {
        None => Vec::new(),
        Some(c) if c.cast::<PyString>().is_ok() => vec![c.extract()?],
        Some(c) => c.extract().map_err(|_| {
            pyo3::exceptions::PyTypeError::new_err(format!(
                "`claims` must be None, a claim id (\"T6\") or a list of them, got {}",
                c.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        })?,
    };
    let all = claims::claims();
    let ids: Vec<&str> = all.iter().map(|c| c.id).collect();
    for want in &wanted {
        if !ids.iter().any(|id| id.eq_ignore_ascii_case(want)) {
            return Err(errors::invalid(format!(
                "unknown claim `{want}`; valid claims: {}",
                ids.join(", ")
            )));
        }
    }
    // The command line's message for 0 (`fsrgan verify --samples 0`).
    if samples == 0 {
        return Err(errors::invalid("--samples must be at least 1"));
    }

    let opts = Options { samples, seed };
    let checks: Vec<Check> = py.detach(|| {
        errors::guard(|| {
            with_threads(threads, || {
                Ok(all
                    .iter()
                    .filter(|c| {
                        wanted.is_empty() || wanted.iter().any(|w| w.eq_ignore_ascii_case(c.id))
                    })
                    .flat_map(|c| claims::run_claim(c, &opts))
                    .collect())
            })
        })
    })?;
    let out = PyList::empty(py);
    for c in checks {
        let d = PyDict::new(py);
        d.set_item("claim", &c.claim)?;
        d.set_item("name", &c.name)?;
        d.set_item("lhs", c.lhs)?;
        d.set_item("rhs", c.rhs)?;
        d.set_item("diff", c.diff)?;
        d.set_item("bound", c.bound)?;
        d.set_item("relation", relation(c.relation))?;
        d.set_item("pass", c.pass)?;
        d.set_item("secs", c.secs)?;
        out.append(d)?;
    }
    Ok(out)
}
