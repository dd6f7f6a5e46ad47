//! Recovery of the truth's parameters by a learner (training.md "Metrics"):
//!
//! * dictionary recovery: Hungarian matching on `|cos|` between the truth's
//!   atoms `M_l` and the learner's `M'_l` ([`dictionary_recovery`]);
//! * level-1 recovery: `alpha`, `beta` relative errors and `||C' - C||_F / ||C||_F`
//!   after matching channels ([`level1_recovery`]);
//! * feature alignment: the `|cos|` matrix between a discriminator's filters
//!   and a dictionary ([`alignment`], [`mean_best_alignment`]).

use ndarray::{Array2, Axis};

use super::{MetricsError, rows};
use crate::model::Params;
use crate::theory::hungarian::{Matching, match_atoms};

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
