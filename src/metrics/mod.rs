//! Metrics of a learned FSR generator against the known truth (pure Rust, no
//! libtorch: they score any checkpoint). training.md, "Metrics".
//!
//! * [`moment_gaps`]: `||E x^{(x)c}_real - E x^{(x)c}_fake||_F / ||E x^{(x)c}_real||_F`
//!   for patches, by Gram sums (`||E x^c - E y^c||^2 = E<x,x'>^c - 2 E<x,y>^c + E<y,y'>^c`),
//!   exact for the two empirical distributions, any dimension;
//! * dictionary recovery: [`crate::theory::hungarian::match_atoms`] on `|cos|`;
//! * [`level1_recovery`]: `alpha`, `beta` relative errors and `||C' - C||_F / ||C||_F`
//!   after matching channels;
//! * learner sparsity: [`crate::model::diagnostics::activity_of_codes`];
//! * [`alignment`]: the `|cos|` matrix between a discriminator's filters and a dictionary;
//! * super-resolution residual: [`crate::model::diagnostics::a5_residual`] with
//!   the learner's parameters on real data;
//! * [`sliced_wasserstein`]: mean over random unit directions of the 1-D `W1`
//!   between projected real and fake patches.

use ndarray::{Array2, ArrayView2, ArrayView4, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::model::Params;
use crate::theory::hungarian::{Matching, match_atoms};

/// Patches `(B n^2, c q q)` of images `(B, c, n q, n q)`, rows in `(b, py, px)`
/// order, columns in `(c, qy, qx)` order (the atoms' order).
pub fn patches(x: ArrayView4<'_, f64>, q: usize) -> Array2<f64> {
    let (b, c, r, _) = x.dim();
    let n = r / q;
    let mut out = Array2::zeros((b * n * n, c * q * q));
    for bi in 0..b {
        for py in 0..n {
            for px in 0..n {
                let mut row = out.row_mut((bi * n + py) * n + px);
                for ch in 0..c {
                    for dy in 0..q {
                        for dx in 0..q {
                            row[(ch * q + dy) * q + dx] = x[[bi, ch, py * q + dy, px * q + dx]];
                        }
                    }
                }
            }
        }
    }
    out
}

/// `sum_{i,j} <a_i, b_j>^c / (n_a n_b)` for `c = 1..=C`, the Gram sums of
/// `||E a^{(x)c} - E b^{(x)c}||_F^2`, in blocks of 512 rows (memory `O(512 n_b)`).
fn gram_power_sums<const C: usize>(a: ArrayView2<'_, f64>, b: ArrayView2<'_, f64>) -> [f64; C] {
    let mut out = [0.0; C];
    let mut start = 0;
    while start < a.nrows() {
        let end = (start + 512).min(a.nrows());
        let g = a.slice(ndarray::s![start..end, ..]).dot(&b.t());
        for &v in &g {
            let mut p = 1.0;
            for o in out.iter_mut() {
                p *= v;
                *o += p;
            }
        }
        start = end;
    }
    let n = (a.nrows().max(1) * b.nrows().max(1)) as f64;
    out.iter_mut().for_each(|o| *o /= n);
    out
}

/// Relative moment gaps `||E x^{(x)c}_real - E x^{(x)c}_fake||_F / ||E x^{(x)c}_real||_F`
/// for `c = 1..=4` between two sets of patches (rows), exact for the two
/// empirical distributions: `||E x^c - E y^c||^2 = E<x,x'>^c - 2 E<x,y>^c + E<y,y'>^c`.
pub fn moment_gaps(real: ArrayView2<'_, f64>, fake: ArrayView2<'_, f64>) -> [f64; 4] {
    let rr = gram_power_sums::<4>(real, real);
    let rf = gram_power_sums::<4>(real, fake);
    let ff = gram_power_sums::<4>(fake, fake);
    std::array::from_fn(|c| {
        let gap2 = (rr[c] - 2.0 * rf[c] + ff[c]).max(0.0);
        if rr[c] > 0.0 {
            (gap2 / rr[c]).sqrt()
        } else {
            gap2.sqrt()
        }
    })
}

/// Patch dimension up to which [`MomentTensors`] are formed explicitly.
pub const EXPLICIT_MAX_D: usize = 16;

/// The moment tensors `E x^{(x)c}`, `c = 1..=4`, of patches (rows), flattened
/// (`D^c` entries), with the number of rows they average. Built by BLAS:
/// with `X2` the rows `x (x) x`, `E x^{(x)4} = X2^T X2 / n` and
/// `E x^{(x)3} = X2^T X / n`, in chunks of 4096 rows. Cost `O(n D^4)`: for `D <= 16`.
#[derive(Debug, Clone, PartialEq)]
pub struct MomentTensors {
    /// Rows averaged.
    pub n: usize,
    /// Sums (not yet divided by `n`) of `x^{(x)c}` for `c = 1..=4`.
    sums: [Vec<f64>; 4],
}

impl MomentTensors {
    /// Empty sums for dimension `d`.
    pub fn new(d: usize) -> MomentTensors {
        MomentTensors {
            n: 0,
            sums: std::array::from_fn(|c| vec![0.0; d.pow(c as u32 + 1)]),
        }
    }

    /// Adds the rows of `x`.
    pub fn add(&mut self, x: ArrayView2<'_, f64>) {
        let d = x.ncols();
        let mut start = 0;
        while start < x.nrows() {
            let end = (start + 4096).min(x.nrows());
            let xb = x.slice(ndarray::s![start..end, ..]);
            let x2 = Array2::from_shape_fn((end - start, d * d), |(i, k)| {
                xb[[i, k / d]] * xb[[i, k % d]]
            });
            let parts = [
                xb.sum_axis(Axis(0)).to_vec(),
                x2.sum_axis(Axis(0)).to_vec(),
                x2.t().dot(&xb).iter().copied().collect::<Vec<f64>>(),
                x2.t().dot(&x2).iter().copied().collect::<Vec<f64>>(),
            ];
            for (s, p) in self.sums.iter_mut().zip(parts) {
                s.iter_mut().zip(p).for_each(|(a, b)| *a += b);
            }
            start = end;
        }
        self.n += x.nrows();
    }

    /// `||E_self x^c - E_other x^c||_F / ||E_self x^c||_F` for `c = 1..=4`.
    pub fn relative_gaps(&self, other: &MomentTensors) -> [f64; 4] {
        let (a, b) = (self.n.max(1) as f64, other.n.max(1) as f64);
        std::array::from_fn(|c| {
            let (mut num, mut den) = (0.0, 0.0);
            for (x, y) in self.sums[c].iter().zip(&other.sums[c]) {
                let (x, y) = (x / a, y / b);
                num += (x - y) * (x - y);
                den += x * x;
            }
            if den > 0.0 {
                (num / den).sqrt()
            } else {
                num.sqrt()
            }
        })
    }
}

/// The `c`-th entry (`1..=4`) of [`moment_gaps`].
pub fn moment_gap(real: ArrayView2<'_, f64>, fake: ArrayView2<'_, f64>, c: i32) -> f64 {
    moment_gaps(real, fake)[(c.clamp(1, 4) - 1) as usize]
}

/// Errors of the metrics.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// The learner has fewer atoms than the truth at a level: no one-to-one
    /// matching of the true atoms exists.
    #[error(
        "level {level}: the learner has {learner} atoms, fewer than the truth's {truth}; every true atom needs its own learner atom"
    )]
    TooFewAtoms {
        /// Level (1-based).
        level: usize,
        /// The truth's atoms.
        truth: usize,
        /// The learner's atoms.
        learner: usize,
    },
    /// The two dictionaries have different atom dimensions.
    #[error(
        "level {level}: atoms of dimension {learner} cannot be matched to atoms of dimension {truth}"
    )]
    Dimension {
        /// Level (1-based).
        level: usize,
        /// The truth's atom dimension.
        truth: usize,
        /// The learner's atom dimension.
        learner: usize,
    },
    /// A level the parameters do not have.
    #[error("level {level} does not exist (the model has {levels} levels)")]
    NoLevel {
        /// Level (1-based).
        level: usize,
        /// Levels of the model.
        levels: usize,
    },
}

/// Rows of `a` as slices (a standard-layout copy is made if needed).
pub fn rows(a: &Array2<f64>) -> Vec<Vec<f64>> {
    a.outer_iter().map(|r| r.to_vec()).collect()
}

/// The atoms of level `l` (0-based) as rows `(m_l, D)`.
///
/// # Errors
/// [`MetricsError::NoLevel`] if `p` has no level `l`.
pub fn atoms(p: &Params, l: usize) -> Result<Array2<f64>, MetricsError> {
    let o = p.out.get(l).ok_or(MetricsError::NoLevel {
        level: l + 1,
        levels: p.out.len(),
    })?;
    let m = o.dim().0;
    let d = o.len() / m.max(1);
    // `o` is `(m, c, k, k)`, so its `m d` values in C order are the rows.
    let flat: Vec<f64> = o.iter().copied().collect();
    Ok(Array2::from_shape_fn((m, d), |(i, k)| flat[i * d + k]))
}

/// Matches the truth's `m` atoms of level `l` (0-based) one-to-one to the
/// learner's `m' >= m` atoms (Hungarian on `|cos|`, rectangular when
/// `m' > m`: the learner's unmatched atoms are ignored).
///
/// # Errors
/// [`MetricsError::TooFewAtoms`] if `m' < m`, [`MetricsError::Dimension`]
/// if the atoms differ in dimension, [`MetricsError::NoLevel`].
pub fn dictionary_recovery(
    truth: &Params,
    learner: &Params,
    l: usize,
) -> Result<Matching, MetricsError> {
    let (t, g) = (atoms(truth, l)?, atoms(learner, l)?);
    if g.nrows() < t.nrows() {
        return Err(MetricsError::TooFewAtoms {
            level: l + 1,
            truth: t.nrows(),
            learner: g.nrows(),
        });
    }
    if g.ncols() != t.ncols() {
        return Err(MetricsError::Dimension {
            level: l + 1,
            truth: t.ncols(),
            learner: g.ncols(),
        });
    }
    let (tr, gr) = (rows(&t), rows(&g));
    let ts: Vec<&[f64]> = tr.iter().map(Vec::as_slice).collect();
    let gs: Vec<&[f64]> = gr.iter().map(Vec::as_slice).collect();
    Ok(match_atoms(&ts, &gs))
}

/// Level-1 recovery after matching channels (`perm[j]` = learner channel of true channel `j`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Level1Recovery {
    /// `max_j |alpha'_{perm j} - alpha_j| / alpha_j`.
    pub alpha_err: f64,
    /// `max_j |beta'_{perm j} - beta_j| / |beta_j|`.
    pub beta_err: f64,
    /// `||C' - C||_F / ||C||_F`, `C` the Gram matrix of the level-1 unit vectors.
    pub c_err: f64,
}

/// `alpha`, `beta` and correlation recovery of level 1.
pub fn level1_recovery(truth: &Params, learner: &Params, perm: &[usize]) -> Level1Recovery {
    let (a, b) = (&truth.level1.alpha, &truth.level1.beta);
    let (a2, b2) = (&learner.level1.alpha, &learner.level1.beta);
    let mut alpha_err: f64 = 0.0;
    let mut beta_err: f64 = 0.0;
    for (j, &pj) in perm.iter().enumerate() {
        alpha_err = alpha_err.max((a2[pj] - a[j]).abs() / a[j]);
        beta_err = beta_err.max((b2[pj] - b[j]).abs() / b[j].abs().max(1e-12));
    }
    let cfg = &truth.config;
    let (n1, d0) = (cfg.n1, cfg.d0);
    let np = n1 * n1;
    let units = |p: &Params, map: &dyn Fn(usize) -> usize| -> Array2<f64> {
        let m = perm.len();
        Array2::from_shape_fn((m * np, d0), |(u, i)| {
            let (j, pp) = (u / np, u % np);
            p.level1.w[[map(j), pp / n1, pp % n1, i]]
        })
    };
    let wt = units(truth, &|j| j);
    let wl = units(learner, &|j| perm[j]);
    let (ct, cl) = (wt.dot(&wt.t()), wl.dot(&wl.t()));
    let num: f64 = (&cl - &ct).iter().map(|v| v * v).sum();
    let den: f64 = ct.iter().map(|v| v * v).sum();
    Level1Recovery {
        alpha_err,
        beta_err,
        c_err: (num / den).sqrt(),
    }
}

/// `|cos|` between each filter (row of `filters`) and each atom (row of `atoms`).
pub fn alignment(filters: &Array2<f64>, atoms: &Array2<f64>) -> Array2<f64> {
    let (f, a) = (rows(filters), rows(atoms));
    Array2::from_shape_fn((filters.nrows(), atoms.nrows()), |(i, j)| {
        crate::theory::hungarian::abs_cos(&f[i], &a[j])
    })
}

/// Mean over filters of the largest `|cos|` with any atom.
pub fn mean_best_alignment(m: &Array2<f64>) -> f64 {
    if m.nrows() == 0 {
        return 0.0;
    }
    m.axis_iter(Axis(0))
        .map(|r| r.iter().copied().fold(0.0, f64::max))
        .sum::<f64>()
        / m.nrows() as f64
}

/// Sliced Wasserstein distance: mean over `k` random unit directions (seeded)
/// of `W1` between the projections of equally many real and fake patches.
pub fn sliced_wasserstein(
    real: ArrayView2<'_, f64>,
    fake: ArrayView2<'_, f64>,
    k: usize,
    seed: u64,
) -> f64 {
    let d = real.ncols();
    let n = real.nrows().min(fake.nrows());
    if n == 0 || d == 0 {
        return 0.0;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut total = 0.0;
    for _ in 0..k {
        let mut u: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
        let nrm = u.iter().map(|x| x * x).sum::<f64>().sqrt();
        u.iter_mut().for_each(|x| *x /= nrm);
        let proj = |a: ArrayView2<'_, f64>| -> Vec<f64> {
            let mut v: Vec<f64> = a
                .rows()
                .into_iter()
                .take(n)
                .map(|r| r.iter().zip(&u).map(|(x, y)| x * y).sum())
                .collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let (pr, pf) = (proj(real), proj(fake));
        total += pr.iter().zip(&pf).map(|(a, b)| (a - b).abs()).sum::<f64>() / n as f64;
    }
    total / k as f64
}
