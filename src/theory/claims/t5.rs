//! T5 — dictionary recovery from moments (power method, degree-4 ascent, Jennrich).
//!
//! Derivation: `proofs/T5-dictionary-recovery.md` ([`crate::theory::proofs::t5`]).
//! Tests: `tests/theory_tensors.rs` (independent truths, and these checks at test size).

use ndarray::Array2;
use rand_distr::{Distribution, StandardNormal};

use super::{Check, Options, Relation, rng};
use crate::theory::{hungarian, tensor_decomp};

/// The checks of T5 at `o.samples` Monte Carlo samples (`fsrgan verify --claim T5`).
pub fn checks(o: &Options) -> Vec<Check> {
    let mut r = rng(o, 5);
    let (d, m) = (48, 32);
    let n = o.samples.clamp(1000, 100_000);
    let atoms = tensor_decomp::random_orthonormal(d, m, &mut r);
    let a = Array2::from_shape_fn((m, d), |(i, j)| atoms[i][j]);
    let codes = tensor_decomp::sparse_codes(n, m, 1..=2, &mut r);
    let x = codes.dot(&a);
    let truth: Vec<&[f64]> = atoms.iter().map(Vec::as_slice).collect();
    let mut out = Vec::new();
    match tensor_decomp::power_method(x.view(), m, 3, 60, &mut r) {
        Ok(found) => {
            let got: Vec<&[f64]> = found.vectors.iter().map(Vec::as_slice).collect();
            let mt = hungarian::match_atoms(&truth, &got);
            out.push(Check::new(
                "T5",
                format!("power method, d=48 m=32 n={n}, 1-2 active: min matched |cos| >= 0.99"),
                mt.min,
                0.99,
                Relation::AtLeast,
                0.0,
            ));
        }
        Err(e) => out.push(Check::error("T5", "the tensor power method", e)),
    }
    let v0: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut r)).collect();
    let v = tensor_decomp::ascent_degree4(x.view(), &v0, 1.0, 200);
    let best = atoms
        .iter()
        .map(|a| hungarian::abs_cos(a, &v))
        .fold(0.0, f64::max);
    out.push(Check::new(
        "T5",
        "degree-4 ascent from a random start: max |cos| with an atom >= 0.99",
        best,
        0.99,
        Relation::AtLeast,
        0.0,
    ));
    let codes1 = tensor_decomp::sparse_codes(n, m, 1..=1, &mut r);
    let x1 = codes1.dot(&a);
    match tensor_decomp::jennrich(x1.view(), m, &mut r) {
        Ok(found) => {
            let got: Vec<&[f64]> = found.vectors.iter().map(Vec::as_slice).collect();
            let mt = hungarian::match_atoms(&truth, &got);
            out.push(Check::new(
                "T5",
                "Jennrich (3rd moment, one active): min matched |cos| vs 1",
                mt.min,
                1.0,
                Relation::Within,
                1e-8,
            ));
        }
        Err(e) => out.push(Check::error("T5", "Jennrich's algorithm", e)),
    }
    out
}
