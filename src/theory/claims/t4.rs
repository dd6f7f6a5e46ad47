//! T4 — the moment-tensor identity for sparse coding and its remainder bound.
//!
//! Derivation: `proofs/T4-moment-tensor-identity.md` ([`crate::theory::proofs::t4`]).
//! Tests: `tests/theory_tensors.rs` (independent truths, and these checks at test size).

use ndarray::Array2;

use super::{Check, Options, Relation, rng};
use crate::theory::{moments, tensor_decomp};

/// The checks of T4 at `o.samples` Monte Carlo samples (`fsrgan verify --claim T4`).
pub fn checks(o: &Options) -> Vec<Check> {
    let mut r = rng(o, 4);
    let mut out = Vec::new();
    let (d, m) = (48, 32);
    let n = o.samples.clamp(100, 4000); // O(n^2 d) Gram sums
    let atoms: Array2<f64> = {
        let a = tensor_decomp::random_orthonormal(d, m, &mut r);
        Array2::from_shape_fn((m, d), |(i, j)| a[i][j])
    };
    for (label, range) in [
        ("one active", 1..=1),
        ("1-2 active", 1..=2),
        ("1-4 active", 1..=4),
    ] {
        let codes = tensor_decomp::sparse_codes(n, m, range, &mut r);
        let rem = moments::sparse_coding_remainder(atoms.view(), codes.view(), 4);
        if label == "one active" {
            // Implicit form: accurate to n sqrt(eps) ||M|| (cancellation).
            out.push(Check::new(
                "T4",
                format!("c=4, d=48, m=32, n={n}, {label}: ||R||_F vs 0"),
                rem.remainder_norm,
                0.0,
                Relation::Within,
                n as f64 * f64::EPSILON.sqrt() * rem.moment_norm,
            ));
        } else {
            out.push(Check::new(
                "T4",
                format!("c=4, {label}: ||R||_F <= E[||y||_1^4 - ||y||_4^4]"),
                rem.remainder_norm,
                rem.bound,
                Relation::AtMost,
                0.0,
            ));
        }
    }
    out
}
