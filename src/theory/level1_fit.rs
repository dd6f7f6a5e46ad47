//! Level-1 parameters from level-1 codes by the method of moments (T6, made
//! constructive): the warm start of the learner's level 1.
//! See `proofs/T6-gaussian-relu.md`.
//!
//! For codes `s[b, j, p] = ReLU(alpha_j <w[j,p], z_b> - beta_j)`:
//!
//! * per channel `j`, pooled over patches `p`: `(alpha_j, beta_j)` from
//!   `(E s, E s^2)` ([`alpha_beta_from_moments`]);
//! * per pair of units `u = (j, p) != v = (k, p')`: `rho_uv = <w_u, w_v>` from
//!   `E[s_u s_v] = alpha_j alpha_k F(t_j, t_k, rho)` ([`rho_from_cross_moment`]),
//!   clamped to `[-1, 1]` when the sample moment is outside the attainable range;
//! * unit vectors `w_u` with Gram matrix close to `C = [rho_uv]`: the top `d0`
//!   eigenpairs `C ~= V diag(lambda) V^T` (negative eigenvalues dropped),
//!   `w_u = row_u(V diag(sqrt lambda))`, normalised. Exact when the sample `C` is
//!   a correlation matrix of rank `<= d0`; the latent basis is arbitrary (the law
//!   of `S_1` depends on `w` only through `C`).

use ndarray::{Array2, Array4, ArrayView4, Axis};
use ndarray_linalg::{Eigh, UPLO};

use super::gauss_relu::{InversionError, alpha_beta_from_moments, rho_from_cross_moment};

/// The fitted level 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Level1Fit {
    /// `alpha_j`.
    pub alpha: Vec<f64>,
    /// `beta_j`.
    pub beta: Vec<f64>,
    /// The correlation matrix `C` estimated from the codes, units in `(j, py, px)` order.
    pub c: Array2<f64>,
    /// Unit vectors `w[j, py, px, :]`, shape `(m, n, n, d0)`.
    pub w: Array4<f64>,
}

/// Fits level 1 to codes `s` of shape `(B, m, n, n)` with latent dimension `d0`.
///
/// # Errors
/// [`InversionError`] if a channel's moments cannot be inverted (e.g. a channel
/// that is never active), or the eigen-decomposition fails.
pub fn fit_level1(s: ArrayView4<'_, f64>, d0: usize) -> Result<Level1Fit, InversionError> {
    let (b, m, n, _) = s.dim();
    let np = n * n;
    let units = m * np;
    // Units as columns: (B, U), U in (j, py, px) order.
    let y = s
        .to_shape((b, units))
        .map_err(|e| InversionError::Unattainable(e.to_string()))?
        .to_owned();
    let bf = b.max(1) as f64;
    let mut alpha = Vec::with_capacity(m);
    let mut beta = Vec::with_capacity(m);
    for j in 0..m {
        let block = y.slice(ndarray::s![.., j * np..(j + 1) * np]);
        let cnt = (b * np).max(1) as f64;
        let m1 = block.sum() / cnt;
        let m2 = block.iter().map(|v| v * v).sum::<f64>() / cnt;
        let (a, be) = alpha_beta_from_moments(m1, m2)?;
        alpha.push(a);
        beta.push(be);
    }
    let second = y.t().dot(&y) / bf; // E[s_u s_v]
    let mut c = Array2::eye(units);
    for u in 0..units {
        let (j, tj) = (u / np, beta[u / np] / alpha[u / np]);
        for v in u + 1..units {
            let (k, tk) = (v / np, beta[v / np] / alpha[v / np]);
            let rho = match rho_from_cross_moment(second[[u, v]], (alpha[j], tj), (alpha[k], tk)) {
                Ok(r) => r,
                Err(_) => {
                    // Outside the attainable range: the nearer end.
                    let lo = alpha[j] * alpha[k] * super::gauss_relu::cross_moment(tj, tk, -1.0);
                    if second[[u, v]] <= lo { -1.0 } else { 1.0 }
                }
            };
            c[[u, v]] = rho;
            c[[v, u]] = rho;
        }
    }
    let (vals, vecs) = c
        .eigh(UPLO::Upper)
        .map_err(|e| InversionError::Unattainable(format!("eigen-decomposition of C: {e}")))?;
    // Eigenvalues ascending: take the top min(d0, U).
    let r = d0.min(units);
    let mut w = Array2::zeros((units, d0));
    for (col, idx) in (units - r..units).rev().enumerate() {
        let lam = vals[idx].max(0.0).sqrt();
        for u in 0..units {
            w[[u, col]] = vecs[[u, idx]] * lam;
        }
    }
    for mut row in w.axis_iter_mut(Axis(0)) {
        let nrm = row.dot(&row).sqrt();
        if nrm > 0.0 {
            row /= nrm;
        } else {
            row[0] = 1.0;
        }
    }
    let w = w
        .into_shape_with_order((m, n, n, d0))
        .map_err(|e| InversionError::Unattainable(e.to_string()))?;
    Ok(Level1Fit { alpha, beta, c, w })
}
