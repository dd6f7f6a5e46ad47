//! Moment tensors of patches and the sparse-coding identity (claim T4).
//! See `proofs/T4-moment-tensor-identity.md`.
//!
//! For samples `x_1..x_n` in `R^d` (rows of `x`), the `c`-th moment tensor
//! `M_c = E[x^{(x)c}]` is never formed for large `d`; instead
//!
//! * `M_c(u, ..., u) = E <x, u>^c` and `M_c(I, u, ..., u) = E[<x, u>^{c-1} x]` cost
//!   `O(n d)` each (one pass over the samples), and a block of `B` directions
//!   costs two matrix products `X U` and `X^T f(X U)`;
//! * `||M_c||_F^2 = E_{x, x'} <x, x'>^c` (a Gram-matrix sum, `O(n^2 d)`).
//!
//! For `x = sum_i y_i a_i` with unit atoms and codes `y >= 0`:
//! `M_c = sum_i E[y_i^c] a_i^{(x)c} + R_c` with
//! `||R_c||_F <= E[||y||_1^c - ||y||_c^c]`; `R_c = 0` when at most one code is
//! ever active. On an empirical distribution both sides are exact.

use ndarray::{Array1, Array2, ArrayView1, ArrayView2, Axis};

/// `E <x, u>^c` over the rows of `x`.
pub fn moment_along(x: ArrayView2<'_, f64>, u: ArrayView1<'_, f64>, c: i32) -> f64 {
    let t = x.dot(&u);
    t.iter().map(|v| v.powi(c)).sum::<f64>() / x.nrows().max(1) as f64
}

/// `E[<x, u>^{c-1} x]`, the gradient of `E <x, u>^c / c` in `u`.
pub fn moment_gradient(x: ArrayView2<'_, f64>, u: ArrayView1<'_, f64>, c: i32) -> Array1<f64> {
    let t = x.dot(&u).mapv(|v| v.powi(c - 1));
    x.t().dot(&t) / x.nrows().max(1) as f64
}

/// For a block of directions `U` (`d x B`): `(E <x, u_b>^c, E[<x, u_b>^{c-1} x])`,
/// the latter as the columns of a `d x B` matrix.
pub fn moment_gradients(
    x: ArrayView2<'_, f64>,
    u: ArrayView2<'_, f64>,
    c: i32,
) -> (Array1<f64>, Array2<f64>) {
    let n = x.nrows().max(1) as f64;
    let t = x.dot(&u); // n x B
    let values = t.mapv(|v| v.powi(c)).sum_axis(Axis(0)) / n;
    let g = x.t().dot(&t.mapv(|v| v.powi(c - 1))) / n;
    (values, g)
}

/// The full tensor `E[x^{(x)c}]` flattened in C order (`d^c` entries), `c <= 4`.
/// Only for small `d` (tests).
pub fn moment_tensor(x: ArrayView2<'_, f64>, c: u32) -> Vec<f64> {
    let d = x.ncols();
    let size = d.pow(c);
    let mut out = vec![0.0; size];
    let mut buf = vec![0.0; size];
    for row in x.rows() {
        outer_power(row.as_slice().unwrap_or(&row.to_vec()), c, &mut buf);
        out.iter_mut().zip(&buf).for_each(|(o, b)| *o += b);
    }
    let n = x.nrows().max(1) as f64;
    out.iter_mut().for_each(|v| *v /= n);
    out
}

/// `v^{(x)c}` flattened (`d^c` entries) into `out`.
pub fn outer_power(v: &[f64], c: u32, out: &mut [f64]) {
    let d = v.len();
    out[..1].fill(1.0);
    let mut len = 1;
    for _ in 0..c {
        for i in (0..len).rev() {
            let base = out[i];
            for (j, vj) in v.iter().enumerate() {
                out[i * d + j] = base * vj;
            }
        }
        len *= d;
    }
}

/// `sum_i w_i a_i^{(x)c}` flattened, for atoms `a_i` (small `d`).
pub fn atom_tensor(atoms: &[&[f64]], weights: &[f64], c: u32) -> Vec<f64> {
    let d = atoms.first().map_or(0, |a| a.len());
    let mut out = vec![0.0; d.pow(c)];
    let mut buf = vec![0.0; d.pow(c)];
    for (a, w) in atoms.iter().zip(weights) {
        outer_power(a, c, &mut buf);
        out.iter_mut().zip(&buf).for_each(|(o, b)| *o += w * b);
    }
    out
}

/// Both sides of T4 for patches `x_i = sum_k y_ik a_k` (codes `y`: `n x m`,
/// atoms: `m` unit vectors), on the empirical distribution of the `n` samples.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Remainder {
    /// `||M_c||_F`.
    pub moment_norm: f64,
    /// `||R_c||_F = ||M_c - sum_k E[y_k^c] a_k^{(x)c}||_F`.
    pub remainder_norm: f64,
    /// The bound `E[||y||_1^c - ||y||_c^c]`.
    pub bound: f64,
}

impl Remainder {
    /// `||R_c||_F / ||M_c||_F`.
    pub fn relative(&self) -> f64 {
        self.remainder_norm / self.moment_norm
    }
}

/// T4 by implicit contractions (any `d`, cost `O(n^2 d + n m d + m^2 d)`):
/// `||R||^2 = ||M||^2 - 2 <M, S> + ||S||^2` with `||M||^2 = E <x, x'>^c`,
/// `<M, S> = sum_k w_k E <x, a_k>^c`, `||S||^2 = sum_kl w_k w_l <a_k, a_l>^c`,
/// `w_k = E[y_k^c]`.
pub fn sparse_coding_remainder(
    atoms: ArrayView2<'_, f64>,
    codes: ArrayView2<'_, f64>,
    c: i32,
) -> Remainder {
    // atoms: m x d (rows are atoms); x = codes . atoms.
    let x = codes.dot(&atoms);
    let n = x.nrows().max(1) as f64;
    let gram = x.dot(&x.t());
    let m_sq = gram.iter().map(|v| v.powi(c)).sum::<f64>() / (n * n);
    let w: Array1<f64> = codes.mapv(|v| v.powi(c)).sum_axis(Axis(0)) / n;
    let proj = x.dot(&atoms.t()); // n x m: <x_i, a_k>
    let ms: f64 = proj
        .mapv(|v| v.powi(c))
        .sum_axis(Axis(0))
        .iter()
        .zip(&w)
        .map(|(s, wk)| wk * s / n)
        .sum();
    let aa = atoms.dot(&atoms.t()).mapv(|v| v.powi(c));
    let s_sq = w.dot(&aa.dot(&w));
    let r_sq = (m_sq - 2.0 * ms + s_sq).max(0.0);
    let bound = codes
        .rows()
        .into_iter()
        .map(|y| y.iter().sum::<f64>().powi(c) - y.iter().map(|v| v.powi(c)).sum::<f64>())
        .sum::<f64>()
        / n;
    Remainder {
        moment_norm: m_sq.sqrt(),
        remainder_norm: r_sq.sqrt(),
        bound,
    }
}
