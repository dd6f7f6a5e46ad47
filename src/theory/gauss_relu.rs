//! Gaussian-ReLU moments (claim T6) and the inversions that identify level 1
//! of the FSR model from its moments. See `proofs/T6-gaussian-relu.md`.
//!
//! For `y = ReLU(alpha g - beta) = alpha (g - t)_+`, `g ~ N(0, 1)`, `t = beta / alpha`:
//!
//! * `I_k(t) = E[(g - t)_+^k]` satisfies `I_0 = Q(t)`, `I_1 = phi(t) - t Q(t)`,
//!   `I_k = (k - 1) I_{k-2} - t I_{k-1}` (Stein's identity), so `E[y^c] = alpha^c I_c(t)`.
//!   For `t <= 2` the recursion is run forward (for `t <= 0` every term is
//!   positive; up to `t = 2` the cancellation costs < 1e-12). For `t > 2` it cancels, so `K_k = I_k / phi(t)` — the same
//!   recursion, with `K_0` the Mills ratio — is run *backward* from `k = N`
//!   (Miller's algorithm: `K` is the recursion's minimal solution for `t > 0`)
//!   and normalised by `K_0`. Relative accuracy within `(8 + 4k + 2 t^2) eps`
//!   (the rounding of `t^2 / 2` inside `phi` and of `t / sqrt 2` inside `erfc`
//!   is amplified by `t^2`: ~4e-13 at `t = 30`) while `phi(t)` is a normal
//!   number (`t < 37.5`); beyond, the values are subnormal (absolute `2^-1074`).
//! * `F(a, b, rho) = E[(X - a)_+ (Y - b)_+]` for standard normals with
//!   correlation `rho`, in closed form through `Phi2`; `dF/drho = Phi2(-a, -b; rho) > 0`.
//! * `r(t) = I_2(t) / I_1(t)^2` is strictly increasing, so `t` is found by
//!   bisection from `E[y^2] / E[y]^2`, then `alpha = E[y] / I_1(t)`, `beta = alpha t`;
//!   `rho` is found by bisection from `E[y_i y_j] = alpha_i alpha_j F(t_i, t_j, rho)`.

use super::bvn::Phi2;
use crate::numerics::montecarlo::{Estimate, MeanCov};
use crate::numerics::normal::{mills, phi, q};

/// Errors of the moment inversions.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InversionError {
    /// The moments are not those of a Gaussian-ReLU variable.
    #[error("moments not attainable: {0}")]
    Unattainable(String),
}

/// `[I_0(t), ..., I_k(t)]`, `I_j(t) = E[(g - t)_+^j]`.
pub fn relu_moments(t: f64, k: usize) -> Vec<f64> {
    if t.is_nan() {
        return vec![f64::NAN; k + 1];
    }
    if t <= 2.0 {
        let mut out = Vec::with_capacity(k + 1);
        out.push(q(t));
        if k >= 1 {
            out.push(phi(t) - t * q(t));
        }
        for j in 2..=k {
            let v = (j - 1) as f64 * out[j - 2] - t * out[j - 1];
            out.push(v);
        }
        return out;
    }
    // Miller's backward recursion for K_j = I_j / phi(t).
    let n = k + if t < 3.0 { 120 } else { 60 };
    let mut hi = 0.0f64; // y_{j+1}
    let mut lo = 1.0f64; // y_j, starting at j = n
    let mut ys = vec![0.0; k + 1];
    for j in (1..=n).rev() {
        // y_{j-1} = (y_{j+1} + t y_j) / j   (the recursion at index j + 1).
        let prev = (hi + t * lo) / j as f64;
        hi = lo;
        lo = prev;
        if j - 1 <= k {
            ys[j - 1] = lo;
        }
        if j <= k {
            ys[j] = hi;
        }
        // Keep the (arbitrarily scaled) solution in range.
        if lo.abs() > 1e200 || lo.abs() < 1e-200 {
            let f = if lo.abs() > 1e200 { 1e-200 } else { 1e200 };
            hi *= f;
            lo *= f;
            ys.iter_mut().for_each(|y| *y *= f);
        }
    }
    let scale = mills(t) / ys[0];
    let ph = phi(t);
    ys.iter().map(|y| y * scale * ph).collect()
}

/// `E[y^c]` for `y = ReLU(alpha g - beta)`, `alpha > 0`: `alpha^c I_c(beta / alpha)`.
pub fn relu_moment(alpha: f64, beta: f64, c: usize) -> f64 {
    relu_moments(beta / alpha, c)[c] * alpha.powi(c as i32)
}

/// `F(a, b, rho) = E[(X - a)_+ (Y - b)_+]` for standard normals `X, Y` with
/// correlation `rho`, `|rho| < 1`:
/// `F = EXY1 - b EX1 - a EY1 + a b L` with `L = Phi2(-a, -b; rho)`,
/// `EX1 = phi(a) Q((b - rho a)/s) + rho phi(b) Q((a - rho b)/s)`, `s = sqrt(1 - rho^2)`,
/// `EY1` symmetric, and
/// `EXY1 = rho L + rho a phi(a) Q((b - rho a)/s) + rho b phi(b) Q((a - rho b)/s) + s phi(a) phi((b - rho a)/s)`.
/// At `|rho| = 1` the limits `E[(X - max(a,b))_+ (X - min(a,b))_+]` (rho = 1) and
/// `E[(X - a)_+ (-X - b)_+]` (rho = -1) are returned.
#[allow(non_snake_case)]
pub fn cross_moment(a: f64, b: f64, rho: f64) -> f64 {
    if rho >= 1.0 {
        let (hi, lo) = (a.max(b), a.min(b));
        // E[(X - hi)(X - lo) 1{X > hi}] = I_2(hi) + (hi - lo) I_1(hi).
        let m = relu_moments(hi, 2);
        return m[2] + (hi - lo) * m[1];
    }
    if rho <= -1.0 {
        // (X - a)_+ (-X - b)_+ is non-zero only when a < X < -b.
        if a >= -b {
            return 0.0;
        }
        // E[(X - a)(-b - X) 1{a < X < -b}]: integrate the quadratic against phi.
        let (lo, hi) = (a, -b);
        let m0 = q(lo) - q(hi);
        let m1 = phi(lo) - phi(hi);
        let m2 = m0 + lo * phi(lo) - hi * phi(hi);
        // (x - lo)(hi - x) = -x^2 + (lo + hi) x - lo hi
        return -m2 + (lo + hi) * m1 - lo * hi * m0;
    }
    let s = ((1.0 - rho) * (1.0 + rho)).sqrt();
    let l = Phi2(-a, -b, rho);
    let qa = q((b - rho * a) / s);
    let qb = q((a - rho * b) / s);
    let ex1 = phi(a) * qa + rho * phi(b) * qb;
    let ey1 = phi(b) * qb + rho * phi(a) * qa;
    let exy1 = rho * l
        + rho * a * phi(a) * qa
        + rho * b * phi(b) * qb
        + s * phi(a) * phi((b - rho * a) / s);
    // F >= 0 (an expectation of a non-negative variable); in the far tails
    // with rho near -1 the cancelling terms can round below 0, which would put
    // an attainable moment outside the range of the inversion.
    (exy1 - b * ex1 - a * ey1 + a * b * l).max(0.0)
}

/// `r(t) = I_2(t) / I_1(t)^2`, strictly increasing in `t` from 1 to infinity.
/// Divided twice by `I_1` (not by `I_1^2`, which is subnormal beyond `t ~ 26.2`
/// and zero beyond `t ~ 27.3`, while `r(30) ~ 1e197` is representable).
pub fn moment_ratio(t: f64) -> f64 {
    let m = relu_moments(t, 2);
    m[2] / m[1] / m[1]
}

/// `(alpha, beta)` from `m1 = E[y]` and `m2 = E[y^2]` of `y = ReLU(alpha g - beta)`:
/// bisection of `r(t) = m2 / m1^2` on `t` in `[-30, 30]`, then
/// `alpha = m1 / I_1(t)`, `beta = alpha t`.
///
/// # Errors
/// [`InversionError::Unattainable`] unless `m1 > 0` and `r(-30) < m2 / m1^2 < r(30)`.
pub fn alpha_beta_from_moments(m1: f64, m2: f64) -> Result<(f64, f64), InversionError> {
    if !(m1.is_finite() && m2.is_finite() && m1 > 0.0 && m2 > 0.0) {
        return Err(InversionError::Unattainable(format!(
            "need E[y] > 0 and E[y^2] > 0, got {m1}, {m2}"
        )));
    }
    // Divided twice by m1: m1 * m1 underflows in the right tail (see moment_ratio).
    let target = m2 / m1 / m1;
    let t = bisect(moment_ratio, target, -30.0, 30.0).ok_or_else(|| {
        InversionError::Unattainable(format!("E[y^2]/E[y]^2 = {target} outside (r(-30), r(30))"))
    })?;
    let alpha = m1 / relu_moments(t, 1)[1];
    Ok((alpha, alpha * t))
}

/// `rho` from `m12 = E[y_i y_j]` with `y_i = alpha_i (g_i - t_i)_+`: bisection of
/// `alpha_i alpha_j F(t_i, t_j, rho) = m12` on `rho` in `[-1, 1]`.
///
/// # Errors
/// [`InversionError::Unattainable`] if `m12` is outside the attainable range.
pub fn rho_from_cross_moment(
    m12: f64,
    (alpha_i, t_i): (f64, f64),
    (alpha_j, t_j): (f64, f64),
) -> Result<f64, InversionError> {
    let target = m12 / (alpha_i * alpha_j);
    bisect(|rho| cross_moment(t_i, t_j, rho), target, -1.0, 1.0).ok_or_else(|| {
        InversionError::Unattainable(format!(
            "E[y_i y_j] = {m12} outside the range of rho in [-1, 1]"
        ))
    })
}

/// The `x` in `[lo, hi]` with `f(x) = target` for increasing `f`, by bisection
/// to the last representable bit; `None` if `target` is outside `[f(lo), f(hi)]`.
pub fn bisect(f: impl Fn(f64) -> f64, target: f64, lo: f64, hi: f64) -> Option<f64> {
    let (mut lo, mut hi) = (lo, hi);
    if !(f(lo) <= target && target <= f(hi)) {
        return None;
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if f(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

/// Estimates `(alpha, beta)` of `y = ReLU(alpha g - beta)` from i.i.d. samples
/// by inverting the sample moments `(E[y], E[y^2])`, with delta-method standard errors.
///
/// # Errors
/// [`InversionError::Unattainable`] if the sample moments cannot be inverted.
pub fn estimate_alpha_beta(y: &[f64]) -> Result<(Estimate, Estimate), InversionError> {
    let mc = MeanCov::from_rows(y.len(), 2, |i, b| {
        b[0] = y[i];
        b[1] = y[i] * y[i];
    });
    let alpha = mc.delta(|m| alpha_beta_from_moments(m[0], m[1]).map(|p| p.0))?;
    let beta = mc.delta(|m| alpha_beta_from_moments(m[0], m[1]).map(|p| p.1))?;
    Ok((alpha, beta))
}

/// Estimates `rho = corr(g_i, g_j)` from i.i.d. pairs `(y_i, y_j)` of
/// Gaussian-ReLU variables: `(alpha, t)` of each from its two moments, then
/// `rho` from `E[y_i y_j]`, with a delta-method standard error over the five moments.
///
/// # Errors
/// [`InversionError::Unattainable`] if the sample moments cannot be inverted.
pub fn estimate_rho(yi: &[f64], yj: &[f64]) -> Result<Estimate, InversionError> {
    let n = yi.len().min(yj.len());
    let mc = MeanCov::from_rows(n, 5, |k, b| {
        b[0] = yi[k];
        b[1] = yi[k] * yi[k];
        b[2] = yj[k];
        b[3] = yj[k] * yj[k];
        b[4] = yi[k] * yj[k];
    });
    mc.delta(|m| {
        let (ai, bi) = alpha_beta_from_moments(m[0], m[1])?;
        let (aj, bj) = alpha_beta_from_moments(m[2], m[3])?;
        rho_from_cross_moment(m[4], (ai, bi / ai), (aj, bj / aj))
    })
}
