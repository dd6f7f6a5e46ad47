//! Sparse decoding by thresholded correlation (claim T8). See
//! `proofs/T8-sparse-decoding.md`.
//!
//! For `x = sum_{i in S} s_i a_i` with unit atoms, `|S| = k`, `s_i > 0`, and
//! coherence `mu = max_{i != j} |<a_i, a_j>|`, let `M = max_i s_i`:
//!
//! * orthonormal atoms: `<a_i, x> = s_i` exactly, so `M^T x = s`;
//! * in general `|<a_i, x> - s_i 1{i in S}| <= mu (k - 1{i in S}) M`, so
//!   `ReLU(<a_i, x> - tau)` has exactly the support `S` whenever
//!   `mu k M < tau < min_{i in S} s_i - mu (k - 1) M`.
//!
//! theory.md states the upper end as `min s_i`; that is not enough: an
//! active atom whose correlation is pulled down by its neighbours
//! (`s_i - mu (k-1) M`) can fall below `tau`. The corrected window is non-empty
//! iff `min s_i > mu (2k - 1) M`.

use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

/// `d_i = ReLU(<a_i, x> - tau)` for every atom.
pub fn decode(atoms: &[Vec<f64>], x: &[f64], tau: f64) -> Vec<f64> {
    atoms
        .iter()
        .map(|a| (a.iter().zip(x).map(|(p, q)| p * q).sum::<f64>() - tau).max(0.0))
        .collect()
}

/// `mu = max_{i != j} |<a_i, a_j>|`.
pub fn coherence(atoms: &[Vec<f64>]) -> f64 {
    let mut mu: f64 = 0.0;
    for i in 0..atoms.len() {
        for j in 0..i {
            let c: f64 = atoms[i].iter().zip(&atoms[j]).map(|(p, q)| p * q).sum();
            mu = mu.max(c.abs());
        }
    }
    mu
}

/// The threshold window `(mu k M, min s_i - mu (k - 1) M)` that guarantees
/// support recovery (empty when the first exceeds the second).
pub fn tau_window(mu: f64, codes: &[f64]) -> (f64, f64) {
    let active: Vec<f64> = codes.iter().copied().filter(|&v| v > 0.0).collect();
    let k = active.len() as f64;
    let big = active.iter().copied().fold(0.0, f64::max);
    let small = active.iter().copied().fold(f64::INFINITY, f64::min);
    (mu * k * big, small - mu * (k - 1.0).max(0.0) * big)
}

/// Whether the decoded vector has exactly the support of `codes`.
pub fn same_support(decoded: &[f64], codes: &[f64]) -> bool {
    decoded
        .iter()
        .zip(codes)
        .all(|(d, s)| (*d > 0.0) == (*s > 0.0))
}

/// How decoding degrades with coherence: for `trials` random unit
/// dictionaries (`m` atoms in `R^d`) and random `k`-sparse codes with
/// magnitudes in `[1, 2]`, the fraction of exact support recoveries with
/// `tau = mu k M` (the lower end of the window) and the measured `mu`.
pub fn recovery_rate(
    d: usize,
    m: usize,
    k: usize,
    trials: usize,
    rng: &mut impl Rng,
) -> (f64, f64) {
    let mut ok = 0usize;
    let mut mu_sum = 0.0;
    for _ in 0..trials {
        let atoms: Vec<Vec<f64>> = (0..m)
            .map(|_| {
                let v: Vec<f64> = (0..d).map(|_| StandardNormal.sample(rng)).collect();
                let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
                v.iter().map(|a| a / n).collect()
            })
            .collect();
        let mu = coherence(&atoms);
        mu_sum += mu;
        let mut codes = vec![0.0; m];
        let mut idx: Vec<usize> = (0..m).collect();
        for i in 0..k.min(m) {
            let j = rng.random_range(i..m);
            idx.swap(i, j);
            codes[idx[i]] = rng.random_range(1.0..2.0);
        }
        let x: Vec<f64> = (0..d)
            .map(|r| atoms.iter().zip(&codes).map(|(a, s)| a[r] * s).sum())
            .collect();
        let (lo, _) = tau_window(mu, &codes);
        if same_support(&decode(&atoms, &x, lo), &codes) {
            ok += 1;
        }
    }
    (
        ok as f64 / trials.max(1) as f64,
        mu_sum / trials.max(1) as f64,
    )
}
