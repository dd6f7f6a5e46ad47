//! Atom coverage: which of the true dictionary's atoms (and atom pairs) a
//! generator uses, against the real data — mode collapse made visible.
//!
//! * **Codes.** Each `q x q` patch (the output kernel's footprint) of level
//!   `l` is decoded with the TRUE dictionary: `s_i = ReLU(<M_l[:, i], x_p>)`
//!   ([`crate::model::diagnostics::decode_codes`] with `tau = 0`). With
//!   orthonormal atoms and the patch kernel this is `M_l^T x`, the exact code
//!   of a real patch (up to the float32 rounding of the stored data). With an
//!   over-complete (`unit`) dictionary it is the matched filter
//!   `s_i + sum_{j != i} <M_i, M_j> s_j`: off by at most `mu ||s||_1`
//!   (coherence `mu`), so it finds the support exactly when
//!   `mu k max s < threshold` (`crate::theory::sparse_decode`, T8); in any
//!   case the same decoder is applied to real and generated patches, so their
//!   rates compare like with like.
//! * **Typical active coefficient** `c_typ`: the median of the real
//!   coefficients that are active, i.e. above `10^-4` times the largest real
//!   coefficient (which leaves out the float32 round-off, ~`10^-7` relative,
//!   of exact zeros; a genuine coefficient that small is far below the
//!   threshold anyway).
//! * **Active**: atom `i` is active in a patch when `s_i > c_typ / 5`, for
//!   real and generated patches alike.
//! * **Rates**: `rate_i` = fraction of patches in which atom `i` is active;
//!   pair rate `rate_ij` = fraction in which `i` and `j` both are.
//! * **Covered**: an atom (pair) is covered when its generated rate is at
//!   least a fifth of its real rate. Only atoms (pairs) active in at least
//!   [`MIN_REAL_COUNT`] = 10 real patches count: a set of the same law then
//!   misses the fifth with probability at most `P(Poisson(10 f) < 2)` with `f`
//!   the size ratio of the two sets (`5e-4` for equal sizes), so the floor —
//!   an independent real set — covers essentially all of them, while an
//!   atom seen in one or two real patches would make coverage a coin toss.
//!
//! Reported per level: the covered fraction of atoms, of pairs, and the mean
//! number of co-active pairs per patch, beside the real ones.

use ndarray::{Array4, ArrayView4, Axis};
use rayon::prelude::*;
use serde::Serialize;

use crate::model::Params;
use crate::model::diagnostics::decode_codes;

/// An atom is active when its coefficient exceeds this fraction of the typical active real one.
pub const ACTIVE_FRACTION: f64 = 0.2;
/// An atom is covered when its generated rate is at least this fraction of its real rate.
pub const RATE_FRACTION: f64 = 0.2;
/// Real patches an atom (pair) must be active in to count.
pub const MIN_REAL_COUNT: u64 = 10;
/// Coefficients below this fraction of the largest real one are round-off.
pub const ROUNDOFF: f64 = 1e-4;

/// Codes of level `l` (0-based) decoded from images `x` `(B, c, r_l, r_l)`
/// with the true dictionary, `(B, m_l, n_l, n_l)`: `ReLU(<M_l[:, i], window_p(x)>)`.
pub fn true_codes(truth: &Params, l: usize, x: ArrayView4<'_, f64>) -> Array4<f64> {
    let b = x.len_of(Axis(0));
    let chunk = 512;
    let parts: Vec<Array4<f64>> = (0..b.div_ceil(chunk))
        .into_par_iter()
        .map(|i| {
            let part = x.slice(ndarray::s![i * chunk..((i + 1) * chunk).min(b), .., .., ..]);
            decode_codes(truth, l, part, 0.0)
        })
        .collect();
    let views: Vec<ArrayView4<'_, f64>> = parts.iter().map(|p| p.view()).collect();
    if views.is_empty() {
        let n = truth.config.n(l);
        return Array4::zeros((0, truth.config.m[l], n, n));
    }
    ndarray::concatenate(Axis(0), &views).unwrap_or_else(|_| unreachable!("same trailing shapes"))
}

/// The typical active coefficient: the median of the coefficients above
/// `ROUNDOFF` times the largest (0 if there is none).
pub fn typical_active(codes: ArrayView4<'_, f64>) -> f64 {
    let max = codes.iter().copied().fold(0.0, f64::max);
    let mut active: Vec<f64> = codes
        .iter()
        .copied()
        .filter(|&v| v > ROUNDOFF * max)
        .collect();
    if active.is_empty() {
        return 0.0;
    }
    let len = active.len();
    let mid = len / 2;
    let (lo, m, _) = active.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *m;
    if len % 2 == 1 {
        upper
    } else {
        let lower = lo.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lower + upper)
    }
}

/// Index of the pair `i < j` of `m` atoms in the upper triangle, row by row.
pub fn pair_index(i: usize, j: usize, m: usize) -> usize {
    i * (2 * m - i - 1) / 2 + (j - i - 1)
}

/// How often each atom and each pair of atoms is active (coefficient `> threshold`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AtomActivity {
    /// Atoms `m`.
    pub m: usize,
    /// Patches counted.
    pub patches: u64,
    /// Per atom: patches in which it is active.
    pub atoms: Vec<u64>,
    /// Per pair `i < j` ([`pair_index`]): patches in which both are active.
    pub pairs: Vec<u64>,
}

/// The [`AtomActivity`] of codes `(B, m, n, n)` at `threshold`.
pub fn activity(codes: ArrayView4<'_, f64>, threshold: f64) -> AtomActivity {
    let (_, m, n, _) = codes.dim();
    let npairs = m * m.saturating_sub(1) / 2;
    let b = codes.len_of(Axis(0));
    let per: Vec<(Vec<u64>, Vec<u64>, u64)> = (0..b.div_ceil(256))
        .into_par_iter()
        .map(|ci| {
            let chunk = codes.slice(ndarray::s![ci * 256..((ci + 1) * 256).min(b), .., .., ..]);
            let (mut atoms, mut pairs) = (vec![0u64; m], vec![0u64; npairs]);
            let mut on = Vec::with_capacity(m);
            let mut patches = 0u64;
            for s in chunk.axis_iter(Axis(0)) {
                for py in 0..n {
                    for px in 0..n {
                        on.clear();
                        on.extend((0..m).filter(|&i| s[[i, py, px]] > threshold));
                        for (a, &i) in on.iter().enumerate() {
                            atoms[i] += 1;
                            for &j in &on[a + 1..] {
                                pairs[pair_index(i, j, m)] += 1;
                            }
                        }
                        patches += 1;
                    }
                }
            }
            (atoms, pairs, patches)
        })
        .collect();
    let mut out = AtomActivity {
        m,
        patches: 0,
        atoms: vec![0; m],
        pairs: vec![0; npairs],
    };
    for (a, p, n) in per {
        out.atoms.iter_mut().zip(a).for_each(|(x, y)| *x += y);
        out.pairs.iter_mut().zip(p).for_each(|(x, y)| *x += y);
        out.patches += n;
    }
    out
}

/// Coverage of one set's activity against the real activity (module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// Atoms active in at least [`MIN_REAL_COUNT`] real patches.
    pub atoms_real: usize,
    /// Of those, the atoms whose rate here is at least a fifth of the real rate.
    pub atoms_covered: usize,
    /// `atoms_covered / atoms_real` (NaN when no atom counts).
    pub atom_coverage: f64,
    /// Pairs co-active in at least [`MIN_REAL_COUNT`] real patches.
    pub pairs_real: usize,
    /// Of those, the pairs whose rate here is at least a fifth of the real rate.
    pub pairs_covered: usize,
    /// `pairs_covered / pairs_real` (NaN when no pair counts).
    pub pair_coverage: f64,
    /// Per atom: real activity rate (fraction of patches).
    pub real_rate: Vec<f64>,
    /// Per atom: activity rate of this set.
    pub rate: Vec<f64>,
    /// Mean number of co-active pairs per real patch.
    pub real_pairs_per_patch: f64,
    /// Mean number of co-active pairs per patch of this set.
    pub pairs_per_patch: f64,
}

fn covered(real: &[u64], other: &[u64], real_n: u64, other_n: u64) -> (usize, usize) {
    let (rn, on) = (real_n.max(1) as f64, other_n.max(1) as f64);
    let mut counted = 0;
    let mut ok = 0;
    for (&r, &o) in real.iter().zip(other) {
        if r >= MIN_REAL_COUNT {
            counted += 1;
            if o as f64 / on >= RATE_FRACTION * (r as f64 / rn) {
                ok += 1;
            }
        }
    }
    (counted, ok)
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

/// Coverage of `other` against `real` (same atoms).
pub fn coverage(real: &AtomActivity, other: &AtomActivity) -> Coverage {
    let (rn, on) = (real.patches, other.patches);
    let (atoms_real, atoms_covered) = covered(&real.atoms, &other.atoms, rn, on);
    let (pairs_real, pairs_covered) = covered(&real.pairs, &other.pairs, rn, on);
    let rate =
        |c: &[u64], n: u64| -> Vec<f64> { c.iter().map(|&v| v as f64 / n.max(1) as f64).collect() };
    let per_patch = |c: &[u64], n: u64| c.iter().sum::<u64>() as f64 / n.max(1) as f64;
    Coverage {
        atoms_real,
        atoms_covered,
        atom_coverage: ratio(atoms_covered, atoms_real),
        pairs_real,
        pairs_covered,
        pair_coverage: ratio(pairs_covered, pairs_real),
        real_rate: rate(&real.atoms, rn),
        rate: rate(&other.atoms, on),
        real_pairs_per_patch: per_patch(&real.pairs, rn),
        pairs_per_patch: per_patch(&other.pairs, on),
    }
}
