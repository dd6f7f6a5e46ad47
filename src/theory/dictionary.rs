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
//!    shrinks from 0.5 to `r_min` so that a biased start still finds its rays.
//!    From the 4th iteration on: a patch also needs `<x, a_j> >= 0.9 ||x||`
//!    (an atom between two rays, which would collect the 1-active patches of
//!    both and stay there, collects none); each atom snaps to the *densest*
//!    of its dominant patches (most patches within `cos > 0.999`: the
//!    1-active patches of an atom all lie exactly on its ray, mixtures spread
//!    out) and becomes the mean of the patches on that ray; an atom with too
//!    few dominant patches, no dense direction among them, or a near-duplicate
//!    (`|cos| > 0.9`) of another is re-seeded at the densest patch that the
//!    others explain less than half of, or parked at zero until such a ray
//!    exists. No re-seeding after the last iteration.

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
    /// Least cosine of a unit patch with its atom, from the 4th iteration on.
    pub gate: f64,
    /// Largest `|cos|` between two atoms (above it the later one is a
    /// duplicate and is re-seeded).
    pub duplicate: f64,
}

impl Default for Refine {
    fn default() -> Self {
        Refine {
            iters: 20,
            ratio: 0.1,
            min_count: 10,
            gate: 0.9,
            duplicate: 0.9,
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
    // Density of a direction: how many of (at most) 20,000 evenly spaced unit
    // patches lie within `cos > 0.999` of it. The 1-active patches of an atom
    // all lie exactly on its ray, so a ray is dense; mixtures spread out.
    let probe = u.select(
        Axis(0),
        &(0..u.nrows())
            .step_by(u.nrows().div_ceil(20_000).max(1))
            .collect::<Vec<_>>(),
    );
    let densities = |rows: &[usize]| -> Vec<usize> {
        let cos = u.select(Axis(0), rows).dot(&probe.t());
        cos.rows()
            .into_iter()
            .map(|r| r.iter().filter(|v| **v > 0.999).count())
            .collect()
    };
    let mut reseeded = 0;
    for it in 0..opt.iters {
        let r = opt.ratio.max(0.5 * 0.7f64.powi(it as i32));
        // From the 4th iteration on a patch must also lie within the gate
        // of its atom: an atom that sits between two rays (and would collect
        // the 1-active patches of both, a stable mixture) then collects
        // none and is re-seeded.
        let gate = if it >= 3 { opt.gate } else { 0.0 };
        let a = Array2::from_shape_fn((m, d), |(j, k)| atoms[j][k]);
        let c = u.dot(&a.t()); // n x m
        let mut sums = vec![vec![0.0; d]; m];
        let mut counts = vec![0usize; m];
        let mut members = vec![Vec::new(); m];
        for (i, (row, cu)) in c.rows().into_iter().zip(u.rows()).enumerate() {
            let (mut j1, mut v1, mut v2) = (0, f64::NEG_INFINITY, f64::NEG_INFINITY);
            for (j, &v) in row.iter().enumerate() {
                if v > v1 {
                    v2 = v1;
                    (j1, v1) = (j, v);
                } else if v > v2 {
                    v2 = v;
                }
            }
            if v1 > gate && v2.max(0.0) <= r * v1 {
                counts[j1] += 1;
                members[j1].push(i);
                sums[j1]
                    .iter_mut()
                    .zip(cu.iter())
                    .for_each(|(s, x)| *s += x);
            }
        }
        let mut starved = Vec::new();
        let mut ray_density = Vec::new();
        for j in 0..m {
            if counts[j] < opt.min_count {
                starved.push(j);
                continue;
            }
            atoms[j] = std::mem::take(&mut sums[j]);
            unit(&mut atoms[j]);
            if it < 3 {
                continue;
            }
            // Snap to the ray: the densest of (at most) 64 evenly spaced
            // dominant patches, then the mean of the dominant patches on it.
            // An atom whose patches hold no ray (a stable mixture of two
            // atoms) is re-seeded.
            let mem = &members[j];
            let cand: Vec<usize> = mem
                .iter()
                .step_by(mem.len().div_ceil(64))
                .copied()
                .collect();
            let dens = densities(&cand);
            let best = (0..cand.len()).max_by_key(|&k| dens[k]).unwrap_or(0);
            if dens[best] < opt.min_count {
                starved.push(j);
                continue;
            }
            ray_density.push(dens[best]);
            let ray = u.row(cand[best]);
            let mut mean = vec![0.0; d];
            for &i in mem {
                let ui = u.row(i);
                if ui.dot(&ray) > 0.999 {
                    mean.iter_mut().zip(ui.iter()).for_each(|(s, x)| *s += x);
                }
            }
            unit(&mut mean);
            atoms[j] = mean;
        }
        // Re-seed from the 4th iteration on, never after the last one (so
        // every returned atom is the mean of its dominant patches).
        if it < 3 || it + 1 == opt.iters {
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
                        > opt.duplicate
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
        // Seed at the densest of (at most) 1024 evenly spaced patches that
        // the other atoms explain less than half of (residual >= 0.5): the
        // 1-active patches of a missing atom all lie on its ray, while the
        // directions of mixtures spread out. A seed must be a tenth as dense
        // as the median found ray (in low dimension the arc of 2-active
        // mixtures is dense too, but far less than a ray).
        ray_density.sort_unstable();
        let least = opt
            .min_count
            .max(ray_density.get(ray_density.len() / 2).map_or(0, |v| v / 10));
        let pool_all: Vec<usize> = (0..u.nrows())
            .step_by(u.nrows().div_ceil(1024).max(1))
            .filter(|&i| resid[i] >= 0.5)
            .collect();
        let dens_all = densities(&pool_all);
        let mut chosen: Vec<Vec<f64>> = Vec::new();
        for &j in &starved {
            // The densest candidate not close (cos > 0.5) to a seed already
            // chosen in this iteration.
            let best = (0..pool_all.len())
                .filter(|&c| {
                    let row = u.row(pool_all[c]);
                    !chosen
                        .iter()
                        .any(|s| s.iter().zip(row).map(|(p, q)| p * q).sum::<f64>() > 0.5)
                })
                .max_by_key(|&c| dens_all[c]);
            let Some(best) = best.filter(|&c| dens_all[c] >= least) else {
                // No ray left among the candidates: park the atom at zero (it
                // neither collects nor blocks patches) and try again later.
                atoms[j] = vec![0.0; d];
                continue;
            };
            let row = u.row(pool_all[best]).to_vec();
            chosen.push(row.clone());
            atoms[j] = row;
            reseeded += 1;
        }
    }
    // An atom still parked at zero takes the worst-explained patch.
    if atoms.iter().any(|a| a.iter().all(|v| *v == 0.0)) {
        let c = u.dot(&Array2::from_shape_fn((m, d), |(j, k)| atoms[j][k]).t());
        let worst = (0..u.nrows())
            .min_by(|&p, &q| {
                let best = |i: usize| c.row(i).iter().fold(0.0f64, |a, v| a.max(*v));
                best(p).total_cmp(&best(q))
            })
            .unwrap_or(0);
        for a in atoms.iter_mut().filter(|a| a.iter().all(|v| *v == 0.0)) {
            *a = u.row(worst).to_vec();
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
