//! A dictionary from samples of sparse non-negative codes (T5 followed by T8):
//! the warm start of a discriminator's first layer and of a learner's output
//! dictionary. See `proofs/T5-dictionary-recovery.md`.
//!
//! 1. **Power method** ([`super::tensor_decomp::power_method`]) on the 4th
//!    moment: the maximisers of `E <x, u>^4`. With co-active codes they are
//!    biased by the remainder `R_4` of T4 (measured: min matched `|cos|` 0.95 at
//!    `tiny` level 1, 0.6–0.85 at levels >= 2 of `tiny`/`small`).
//! 2. **Sign**: `a <- sign(E <x, a>) a`; for unit atoms and codes `y >= 0`,
//!    `E <x, a_i> = E y_i + sum_{j != i} <a_i, a_j> E y_j`, positive at an
//!    incoherent dictionary.
//! 3. **Refinement by sparse decoding** ([`refine_atoms`]): a patch whose
//!    decoded code has one dominant entry (`<x, a_j> > 0` and every other
//!    `<x, a_k> <= r <x, a_j>`) lies on the ray of atom `j` when it has exactly one
//!    active channel (exactly, for an orthonormal dictionary); each atom becomes
//!    the mean direction `mean(x / ||x||)` of its dominant patches. The ratio `r`
//!    shrinks from 0.5 to `r_min` so that a biased start still finds its rays;
//!    an atom with too few dominant patches, or a near-duplicate (`|cos| > 0.95`)
//!    of another, is re-seeded at the patch worst explained by the others.

use ndarray::{Array2, ArrayView2, Axis};
use rand::Rng;

use super::tensor_decomp::{DecompError, power_method};

/// Settings of [`refine_atoms`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Refine {
    /// Iterations.
    pub iters: usize,
    /// Final dominance ratio `r_min`.
    pub ratio: f64,
    /// Fewest dominant patches that define an atom.
    pub min_count: usize,
}

impl Default for Refine {
    fn default() -> Self {
        Refine {
            iters: 12,
            ratio: 0.1,
            min_count: 10,
        }
    }
}

fn unit(v: &mut [f64]) {
    let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|a| *a /= n);
    }
}

/// Flips each atom so that `E <x, a> >= 0`.
pub fn fix_signs(x: ArrayView2<'_, f64>, atoms: &mut [Vec<f64>]) {
    let mean = x.mean_axis(Axis(0));
    if let Some(mean) = mean {
        for a in atoms.iter_mut() {
            let s: f64 = a.iter().zip(mean.iter()).map(|(p, q)| p * q).sum();
            if s < 0.0 {
                a.iter_mut().for_each(|v| *v = -*v);
            }
        }
    }
}

/// Refines unit `atoms` (rows, any sign) on the samples `x` (rows) by
/// dominant-ray averaging (module docs). Rows of `x` that are zero are ignored.
/// Returns the number of re-seeded atoms over all iterations.
pub fn refine_atoms(x: ArrayView2<'_, f64>, atoms: &mut [Vec<f64>], opt: Refine) -> usize {
    let m = atoms.len();
    let d = x.ncols();
    if m == 0 || d == 0 {
        return 0;
    }
    // Unit rows of the non-zero samples.
    let keep: Vec<usize> = (0..x.nrows())
        .filter(|&i| x.row(i).iter().any(|v| *v != 0.0))
        .collect();
    let mut u = Array2::zeros((keep.len(), d));
    for (r, &i) in keep.iter().enumerate() {
        let mut row = x.row(i).to_vec();
        unit(&mut row);
        u.row_mut(r)
            .assign(&ndarray::ArrayView1::from(row.as_slice()));
    }
    let mut reseeded = 0;
    for it in 0..opt.iters {
        let r = opt.ratio.max(0.5 * 0.7f64.powi(it as i32));
        let a = Array2::from_shape_fn((m, d), |(j, k)| atoms[j][k]);
        let c = u.dot(&a.t()); // n x m
        let mut sums = vec![vec![0.0; d]; m];
        let mut counts = vec![0usize; m];
        for (row, cu) in c.rows().into_iter().zip(u.rows()) {
            let (mut j1, mut v1, mut v2) = (0, f64::NEG_INFINITY, f64::NEG_INFINITY);
            for (j, &v) in row.iter().enumerate() {
                if v > v1 {
                    v2 = v1;
                    (j1, v1) = (j, v);
                } else if v > v2 {
                    v2 = v;
                }
            }
            if v1 > 0.0 && v2.max(0.0) <= r * v1 {
                counts[j1] += 1;
                sums[j1]
                    .iter_mut()
                    .zip(cu.iter())
                    .for_each(|(s, x)| *s += x);
            }
        }
        let mut starved = Vec::new();
        for j in 0..m {
            if counts[j] >= opt.min_count {
                atoms[j] = std::mem::take(&mut sums[j]);
                unit(&mut atoms[j]);
            } else {
                starved.push(j);
            }
        }
        if it < 3 {
            continue;
        }
        for j in 0..m {
            let dup = (0..j).any(|k| {
                !starved.contains(&k)
                    && atoms[j]
                        .iter()
                        .zip(&atoms[k])
                        .map(|(p, q)| p * q)
                        .sum::<f64>()
                        .abs()
                        > 0.95
            });
            if dup && !starved.contains(&j) {
                starved.push(j);
            }
        }
        if starved.is_empty() {
            continue;
        }
        // Re-seed at the patches worst explained by the other atoms:
        // residual || u - sum_k max(<u, a_k>, 0) a_k ||.
        let good: Vec<usize> = (0..m).filter(|j| !starved.contains(j)).collect();
        let resid: Vec<f64> = u
            .rows()
            .into_iter()
            .map(|row| {
                let mut e = row.to_vec();
                for &k in &good {
                    let p: f64 = row.iter().zip(&atoms[k]).map(|(x, y)| x * y).sum();
                    if p > 0.0 {
                        e.iter_mut().zip(&atoms[k]).for_each(|(v, a)| *v -= p * a);
                    }
                }
                e.iter().map(|v| v * v).sum::<f64>()
            })
            .collect();
        let mut order: Vec<usize> = (0..resid.len()).collect();
        order.sort_by(|&p, &q| resid[q].total_cmp(&resid[p]).then(p.cmp(&q)));
        let mut chosen: Vec<Vec<f64>> = Vec::new();
        let mut candidates = order.into_iter();
        for &j in &starved {
            // The worst-explained patch not close to an already chosen seed.
            for i in candidates.by_ref() {
                let row = u.row(i).to_vec();
                let close = chosen
                    .iter()
                    .any(|s| s.iter().zip(&row).map(|(p, q)| p * q).sum::<f64>() > 0.9);
                if !close {
                    chosen.push(row.clone());
                    atoms[j] = row;
                    reseeded += 1;
                    break;
                }
            }
        }
    }
    reseeded
}

/// Atoms of a dictionary with non-negative sparse codes from the samples `x`
/// (rows): power method (T5, `restarts` starts and at most `max_iter`
/// iterations per atom, on at most `power_rows` evenly spaced non-zero rows),
/// sign fix, then [`refine_atoms`] on all rows. Rows of the result are unit.
///
/// # Errors
/// [`DecompError::TooMany`] if `m > d`.
pub fn learn_dictionary(
    x: ArrayView2<'_, f64>,
    m: usize,
    power_rows: usize,
    rng: &mut impl Rng,
) -> Result<Vec<Vec<f64>>, DecompError> {
    let nz: Vec<usize> = (0..x.nrows())
        .filter(|&i| x.row(i).iter().any(|v| *v != 0.0))
        .collect();
    let stride = nz.len().div_ceil(power_rows.max(1)).max(1);
    let pick: Vec<usize> = nz.iter().step_by(stride).copied().collect();
    let sub = x.select(Axis(0), &pick);
    let mut atoms = power_method(sub.view(), m, 3, 60, rng)?.vectors;
    fix_signs(x, &mut atoms);
    refine_atoms(x, &mut atoms, Refine::default());
    fix_signs(x, &mut atoms);
    Ok(atoms)
}
