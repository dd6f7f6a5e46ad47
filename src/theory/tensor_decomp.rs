//! Recovering a dictionary from moments (claim T5). See
//! `proofs/T5-dictionary-recovery.md`.
//!
//! * **Tensor power method with deflation** on the 4th moment: for each
//!   component, `R` random unit starts are iterated by
//!   `u <- P(E[<x, u>^3 x]) / ||.||`, where `P` projects out the components
//!   already found (orthogonal deflation, exact for orthonormal atoms), until
//!   the direction stops changing; the start with the largest `E <x, u>^4` is kept.
//!   Each iteration is two matrix products over the samples, `O(n d R)`.
//! * **Projected gradient ascent** of `v -> E <x, v>^4` on the unit sphere
//!   (`v <- normalize(v + eta E[<x, v>^3 x])`): what a degree-4 discriminator's
//!   first layer does; it converges to an atom.
//! * **Jennrich's algorithm** (Leurgans–Ross–Abel 1993) on the 3rd moment: with
//!   `M_w = E[<x, w> x x^T] = A diag(lambda_i <a_i, w>) A^T` for two random `w`,
//!   the eigenvectors of `M_1 M_2^+` with non-zero eigenvalues are the atoms.
//!
//! For noiseless orthogonally decomposable tensors `T = sum_i lambda_i a_i^{(x)4}`,
//! one power step maps the coefficients `c_i = <a_i, u>` to
//! `c_i' ∝ lambda_i c_i^3` exactly ([`Odeco`]).

use ndarray::{Array1, Array2, ArrayView2, Axis};
use ndarray_linalg::{Eig, SVD};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use super::moments::moment_gradients;

/// Errors of the decompositions.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecompError {
    /// A LAPACK routine failed.
    #[error("linear algebra failed: {0}")]
    Lapack(String),
    /// Asked for more components than dimensions.
    #[error("cannot find {m} components in dimension {d}")]
    TooMany {
        /// Requested components.
        m: usize,
        /// Dimension.
        d: usize,
    },
}

/// Components found by a decomposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Components {
    /// Unit vectors, one per component.
    pub vectors: Vec<Vec<f64>>,
    /// Their weights (`E <x, u>^4` for the power method, eigenvalue moduli for Jennrich).
    pub weights: Vec<f64>,
    /// Power iterations used (summed over components and starts).
    pub iterations: usize,
}

fn random_unit_block(rng: &mut impl Rng, d: usize, b: usize) -> Array2<f64> {
    let mut u = Array2::from_shape_fn((d, b), |_| StandardNormal.sample(rng));
    normalize_columns(&mut u);
    u
}

fn normalize_columns(u: &mut Array2<f64>) {
    for mut col in u.columns_mut() {
        let n = col.dot(&col).sqrt();
        if n > 0.0 {
            col /= n;
        }
    }
}

/// `u <- u - F F^T u` for the found components `F` (columns).
fn project_out(u: &mut Array2<f64>, found: &[Vec<f64>]) {
    for f in found {
        let f = ndarray::ArrayView1::from(f.as_slice());
        for mut col in u.columns_mut() {
            let c = col.dot(&f);
            col.scaled_add(-c, &f);
        }
    }
}

/// Tensor power method with orthogonal deflation on `E[x^{(x)4}]`, for `m`
/// components from the samples `x` (`n x d`), `restarts` random starts per
/// component and at most `max_iter` iterations each.
///
/// # Errors
/// [`DecompError::TooMany`] if `m > d`.
pub fn power_method(
    x: ArrayView2<'_, f64>,
    m: usize,
    restarts: usize,
    max_iter: usize,
    rng: &mut impl Rng,
) -> Result<Components, DecompError> {
    let d = x.ncols();
    if m > d {
        return Err(DecompError::TooMany { m, d });
    }
    let mut found: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut weights = Vec::with_capacity(m);
    let mut iterations = 0;
    for _ in 0..m {
        let mut u = random_unit_block(rng, d, restarts.max(1));
        project_out(&mut u, &found);
        normalize_columns(&mut u);
        for _ in 0..max_iter {
            let (_, mut g) = moment_gradients(x, u.view(), 4);
            project_out(&mut g, &found);
            normalize_columns(&mut g);
            iterations += u.ncols();
            let change = g
                .columns()
                .into_iter()
                .zip(u.columns())
                .map(|(a, b)| 1.0 - a.dot(&b).abs())
                .fold(0.0, f64::max);
            u = g;
            if change < 1e-13 {
                break;
            }
        }
        let (values, _) = moment_gradients(x, u.view(), 4);
        let best = values
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        found.push(u.column(best).to_vec());
        weights.push(values[best]);
    }
    Ok(Components {
        vectors: found,
        weights,
        iterations,
    })
}

/// Projected gradient ascent of `v -> E <x, v>^4` on the unit sphere:
/// `v <- (v + eta E[<x, v>^3 x]) / ||.||`, `iters` steps from `v0`.
pub fn ascent_degree4(x: ArrayView2<'_, f64>, v0: &[f64], eta: f64, iters: usize) -> Vec<f64> {
    let mut v = Array2::from_shape_vec((v0.len(), 1), v0.to_vec())
        .unwrap_or_else(|_| Array2::zeros((v0.len(), 1)));
    normalize_columns(&mut v);
    for _ in 0..iters {
        let (_, g) = moment_gradients(x, v.view(), 4);
        v = &v + &(g * (4.0 * eta));
        normalize_columns(&mut v);
    }
    v.column(0).to_vec()
}

/// Jennrich's algorithm on the 3rd moment of `x` for `m` components.
///
/// # Errors
/// [`DecompError::Lapack`] if the SVD or eigen-decomposition fails,
/// [`DecompError::TooMany`] if `m > d`.
pub fn jennrich(
    x: ArrayView2<'_, f64>,
    m: usize,
    rng: &mut impl Rng,
) -> Result<Components, DecompError> {
    let (n, d) = x.dim();
    if m > d {
        return Err(DecompError::TooMany { m, d });
    }
    let slice = |w: &Array1<f64>| -> Array2<f64> {
        let t = x.dot(w); // <x_i, w>
        let xt = &x * &t.insert_axis(Axis(1));
        x.t().dot(&xt) / n.max(1) as f64
    };
    let w1: Array1<f64> = Array1::from_shape_fn(d, |_| StandardNormal.sample(rng));
    let w2: Array1<f64> = Array1::from_shape_fn(d, |_| StandardNormal.sample(rng));
    let (m1, m2) = (slice(&w1), slice(&w2));
    let pinv = truncated_pinv(&m2, m)?;
    let prod = m1.dot(&pinv);
    let (vals, vecs) = prod.eig().map_err(|e| DecompError::Lapack(e.to_string()))?;
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| vals[b].norm().total_cmp(&vals[a].norm()));
    let mut vectors = Vec::with_capacity(m);
    let mut weights = Vec::with_capacity(m);
    for &i in order.iter().take(m) {
        let mut v: Vec<f64> = vecs.column(i).iter().map(|c| c.re).collect();
        let nrm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        v.iter_mut().for_each(|a| *a /= nrm.max(1e-300));
        vectors.push(v);
        weights.push(vals[i].norm());
    }
    Ok(Components {
        vectors,
        weights,
        iterations: 0,
    })
}

/// Rank-`r` pseudo-inverse `V_r S_r^{-1} U_r^T` by the SVD.
///
/// # Errors
/// [`DecompError::Lapack`] if the SVD fails.
pub fn truncated_pinv(a: &Array2<f64>, r: usize) -> Result<Array2<f64>, DecompError> {
    let (u, s, vt) = a
        .svd(true, true)
        .map_err(|e| DecompError::Lapack(e.to_string()))?;
    let (u, vt) = (
        u.ok_or_else(|| DecompError::Lapack("no U".into()))?,
        vt.ok_or_else(|| DecompError::Lapack("no V^T".into()))?,
    );
    let r = r.min(s.len());
    let mut out = Array2::zeros((a.ncols(), a.nrows()));
    for k in 0..r {
        if s[k] > 0.0 {
            let vk = vt.row(k);
            let uk = u.column(k);
            for i in 0..out.nrows() {
                for j in 0..out.ncols() {
                    out[[i, j]] += vk[i] * uk[j] / s[k];
                }
            }
        }
    }
    Ok(out)
}

/// A noiseless orthogonally decomposable 4th-order tensor `T = sum_i lambda_i a_i^{(x)4}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Odeco {
    /// Orthonormal atoms.
    pub atoms: Vec<Vec<f64>>,
    /// Weights `lambda_i > 0`.
    pub lambdas: Vec<f64>,
}

impl Odeco {
    /// `T(I, u, u, u) = sum_i lambda_i <a_i, u>^3 a_i`.
    pub fn contract(&self, u: &[f64]) -> Vec<f64> {
        let mut out = vec![0.0; u.len()];
        for (a, l) in self.atoms.iter().zip(&self.lambdas) {
            let c: f64 = a.iter().zip(u).map(|(x, y)| x * y).sum();
            let f = l * c * c * c;
            out.iter_mut().zip(a).for_each(|(o, ai)| *o += f * ai);
        }
        out
    }
}

/// `m` random orthonormal vectors in `R^d` (Gaussian, then Gram–Schmidt twice).
pub fn random_orthonormal(d: usize, m: usize, rng: &mut impl Rng) -> Vec<Vec<f64>> {
    let mut cols: Vec<f64> = (0..d * m).map(|_| StandardNormal.sample(rng)).collect();
    crate::numerics::linalg::orthonormalize(&mut cols, d);
    cols.chunks_exact(d).map(<[f64]>::to_vec).collect()
}

/// Sparse codes: each row has `k in active` non-zero entries (uniformly chosen
/// count and positions), with magnitudes `0.5 + |N(0, 1)|`.
pub fn sparse_codes(
    n: usize,
    m: usize,
    active: std::ops::RangeInclusive<usize>,
    rng: &mut impl Rng,
) -> Array2<f64> {
    let mut y = Array2::zeros((n, m));
    let mut idx: Vec<usize> = (0..m).collect();
    for mut row in y.rows_mut() {
        let k = rng.random_range(active.clone()).min(m);
        for i in 0..k {
            let j = rng.random_range(i..m);
            idx.swap(i, j);
            let g: f64 = StandardNormal.sample(rng);
            row[idx[i]] = 0.5 + g.abs();
        }
    }
    y
}
