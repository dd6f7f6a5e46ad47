//! T8 — sparse decoding against the coherence of the dictionary.
//!
//! Derivation: `proofs/T8-sparse-decoding.md` ([`crate::theory::proofs::t8`]).
//! Tests: `tests/theory_decode.rs` (independent truths, and these checks at test size).

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::{Check, Options, Relation, rng};
use crate::theory::{sparse_decode, tensor_decomp};

/// The checks of T8 at `o.samples` Monte Carlo samples (`fsrgan verify --claim T8`).
pub fn checks(o: &Options) -> Vec<Check> {
    let mut r = rng(o, 8);
    let mut out = Vec::new();
    let trials = (o.samples / 1000).clamp(100, 2000);
    let mut ok = 0usize;
    let mut tried = 0usize;
    for _ in 0..trials {
        let d = r.random_range(8..40);
        let atoms: Vec<Vec<f64>> = (0..d)
            .map(|_| {
                let v: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut r)).collect();
                let nrm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
                v.iter().map(|a| a / nrm).collect()
            })
            .collect();
        let mu = sparse_decode::coherence(&atoms);
        let mut s = vec![0.0; d];
        for i in 0..r.random_range(1..4) {
            s[(i * 7) % d] = r.random_range(1.0..1.2);
        }
        let (lo, hi) = sparse_decode::tau_window(mu, &s);
        if lo >= hi {
            continue;
        }
        tried += 1;
        let tau = lo + r.random_range(0.0..1.0) * (hi - lo);
        let x: Vec<f64> = (0..d)
            .map(|k| atoms.iter().zip(&s).map(|(a, c)| a[k] * c).sum())
            .collect();
        ok += usize::from(sparse_decode::same_support(
            &sparse_decode::decode(&atoms, &x, tau),
            &s,
        ));
    }
    out.push(Check::new(
        "T8",
        format!("support recovered inside the corrected window ({tried} instances)"),
        ok as f64,
        tried as f64,
        Relation::Within,
        0.0,
    ));
    let ortho = tensor_decomp::random_orthonormal(32, 24, &mut r);
    let mut s = vec![0.0; 24];
    s[2] = 1.3;
    s[9] = 0.4;
    let x: Vec<f64> = (0..32)
        .map(|k| ortho.iter().zip(&s).map(|(a, c)| a[k] * c).sum())
        .collect();
    let dec = sparse_decode::decode(&ortho, &x, 0.0);
    let err = dec
        .iter()
        .zip(&s)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    out.push(Check::new(
        "T8",
        "orthonormal: max |M^T x - s|",
        err,
        0.0,
        Relation::Within,
        1e-14,
    ));
    for d in [256usize, 64, 24] {
        let (rate, mu) = sparse_decode::recovery_rate(d, 32, 2, 200, &mut r);
        out.push(Check::new("T8", format!("degradation (report): recovery rate at tau = mu k M, m=32, k=2, d={d}, mean mu={mu:.3}"), rate, 0.0, Relation::AtLeast, 0.0));
    }
    out
}
