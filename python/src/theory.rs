//! `fsrgan.theory`: the functions of `fsrgan::theory` a reader checks by hand —
//! normal functions, the bivariate normal cdf, Gaussian-ReLU moments and
//! their inversions (claim T6), divergences and the T1 identity. Each calls
//! the Rust function itself; docstrings state the formula.

use numpy::{AllowTypeChange, PyArrayLike1};
use pyo3::prelude::*;

use fsrgan::numerics::normal;
use fsrgan::theory::divergence::{self, Gaussian};
use fsrgan::theory::{bvn, gan, gauss_relu};

use crate::errors;

type Vector<'py> = PyArrayLike1<'py, f64, AllowTypeChange>;

fn slice<'a>(v: &'a Vector<'_>, name: &str) -> PyResult<&'a [f64]> {
    v.as_slice()
        .map_err(|_| errors::TheoryError::new_err(format!("`{name}` must be a contiguous vector")))
}

fn gaussian(mean: f64, sd: f64, which: &str) -> PyResult<Gaussian> {
    if !(mean.is_finite() && sd.is_finite() && sd > 0.0) {
        return Err(errors::TheoryError::new_err(format!(
            "{which}: need a finite mean and a finite sd > 0, got mean {mean}, sd {sd}"
        )));
    }
    Ok(Gaussian { mean, sd })
}

/// The standard normal density `phi(t) = exp(-t^2/2) / sqrt(2 pi)`.
#[pyfunction]
fn phi(t: f64) -> f64 {
    normal::phi(t)
}

/// The standard normal cdf `Phi(t) = erfc(-t / sqrt 2) / 2`.
#[pyfunction]
#[pyo3(name = "Phi")]
fn big_phi(t: f64) -> f64 {
    normal::Phi(t)
}

/// The upper tail `Q(t) = 1 - Phi(t) = erfc(t / sqrt 2) / 2`, without cancellation for large `t`.
#[pyfunction]
fn q(t: f64) -> f64 {
    normal::q(t)
}

/// The Mills ratio `R(t) = Q(t) / phi(t)`, finite for every `t`
/// (by `erfc` for `t < 30`, by the continued fraction `1/(t + 1/(t + 2/(t + ...)))` beyond).
#[pyfunction]
fn mills(t: f64) -> f64 {
    normal::mills(t)
}

/// The quantile `Phi^{-1}(p)`, `0 < p < 1` (`-inf`/`inf` at 0/1, NaN outside).
/// Acklam's rational approximation refined by two Halley steps.
#[pyfunction]
#[pyo3(name = "Phi_inv")]
fn big_phi_inv(p: f64) -> f64 {
    normal::Phi_inv(p)
}

/// The upper-tail quantile `Q^{-1}(p) = -Phi^{-1}(p)`, so `Q(Q^{-1}(p)) = p`.
#[pyfunction]
fn q_inv(p: f64) -> f64 {
    normal::q_inv(p)
}

/// `log Phi(t)`, accurate where `Phi(t)` underflows
/// (`log R(-t) - t^2/2 - log(2 pi)/2` for `t <= -30`).
#[pyfunction]
#[pyo3(name = "log_Phi")]
fn log_big_phi(t: f64) -> f64 {
    normal::log_Phi(t)
}

/// The bivariate normal cdf `P(X <= a, Y <= b)` for standard
/// normals with correlation `rho` in [-1, 1] (`TheoryError` outside, and for a
/// NaN limit), by Genz's method:
/// Plackett's identity `Phi2 = Phi(a) Phi(b) + int_0^rho phi2(a, b; r) dr` with
/// Gauss-Legendre in `asin r` for `|rho| < 0.925`, the singular part in closed form near
/// `|rho| = 1`. About 1e-15 absolute.
#[pyfunction]
#[pyo3(name = "Phi2")]
fn big_phi2(a: f64, b: f64, rho: f64) -> PyResult<f64> {
    if !(-1.0..=1.0).contains(&rho) {
        return Err(errors::TheoryError::new_err(format!(
            "`rho` must be a correlation in [-1, 1], got {rho}"
        )));
    }
    for (name, v) in [("a", a), ("b", b)] {
        if v.is_nan() {
            return Err(errors::TheoryError::new_err(format!(
                "`{name}` is NaN; the limits are numbers or +-inf"
            )));
        }
    }
    Ok(bvn::Phi2(a, b, rho))
}

/// `[I_0(t), ..., I_k(t)]` with
/// `I_j(t) = E[(g - t)_+^j]`, `g ~ N(0, 1)`:
/// `I_0 = Q(t)`, `I_1 = phi(t) - t Q(t)`, `I_j = (j - 1) I_{j-2} - t I_{j-1}` (Stein's identity),
/// run forward for `t <= 2` and backward (Miller's algorithm on `I_j / phi(t)`) beyond.
/// `0 <= k <= 1000`.
#[pyfunction]
fn relu_moments(t: f64, k: usize) -> PyResult<Vec<f64>> {
    if k > 1000 {
        return Err(errors::TheoryError::new_err(format!(
            "k must be at most 1000, got {k}"
        )));
    }
    errors::guard(|| Ok(gauss_relu::relu_moments(t, k)))
}

/// `E[y^c]` for `y = ReLU(alpha g - beta)`,
/// `g ~ N(0, 1)`, `alpha > 0`: `alpha^c I_c(beta / alpha)` (see `relu_moments`).
#[pyfunction]
fn relu_moment(alpha: f64, beta: f64, c: usize) -> PyResult<f64> {
    if !(alpha.is_finite() && alpha > 0.0) || c > 1000 {
        return Err(errors::TheoryError::new_err(format!(
            "need a finite alpha > 0 and c <= 1000, got alpha {alpha}, c {c}"
        )));
    }
    errors::guard(|| Ok(gauss_relu::relu_moment(alpha, beta, c)))
}

/// `F(a, b, rho) = E[(X - a)_+ (Y - b)_+]` for standard
/// normals `X, Y` with correlation `rho`:
/// `F = EXY1 - b EX1 - a EY1 + a b L`, `L = Phi2(-a, -b; rho)`, `s = sqrt(1 - rho^2)`,
/// `EX1 = phi(a) Q((b - rho a)/s) + rho phi(b) Q((a - rho b)/s)` (`EY1` symmetric),
/// `EXY1 = rho L + rho a phi(a) Q((b - rho a)/s) + rho b phi(b) Q((a - rho b)/s) + s phi(a) phi((b - rho a)/s)`;
/// the limits at `|rho| = 1`. `dF/drho = Phi2(-a, -b; rho) > 0`. Level 1 of the FSR model:
/// `E[S_i S_j] = alpha_i alpha_j F(t_i, t_j, rho_ij)` with `t = beta / alpha`.
#[pyfunction]
fn cross_moment(a: f64, b: f64, rho: f64) -> PyResult<f64> {
    if !(-1.0..=1.0).contains(&rho) {
        return Err(errors::TheoryError::new_err(format!(
            "rho must be in [-1, 1], got {rho}"
        )));
    }
    errors::guard(|| Ok(gauss_relu::cross_moment(a, b, rho)))
}

/// `r(t) = I_2(t) / I_1(t)^2 = E[y^2] / E[y]^2`, strictly increasing
/// from 1 to infinity; the inversion `alpha_beta_from_moments` solves `r(t) = m2 / m1^2`.
#[pyfunction]
fn moment_ratio(t: f64) -> f64 {
    gauss_relu::moment_ratio(t)
}

/// `(alpha, beta)`, the inverse of `(E[y], E[y^2])` for `y = ReLU(alpha g - beta)`: bisection of `r(t) = m2 / m1^2` on
/// `t` in [-30, 30], then `alpha = m1 / I_1(t)`, `beta = alpha t`.
/// Raises `TheoryError` ("moments not attainable: ...") unless `m1 > 0` and
/// `r(-30) < m2 / m1^2 < r(30)`.
#[pyfunction]
fn alpha_beta_from_moments(m1: f64, m2: f64) -> PyResult<(f64, f64)> {
    errors::guard(|| gauss_relu::alpha_beta_from_moments(m1, m2).map_err(errors::theory))
}

/// The `rho` with `alpha_i alpha_j F(t_i, t_j, rho) = m12`, by bisection on [-1, 1];
/// `i = (alpha_i, t_i)`, `j = (alpha_j, t_j)`, `t = beta / alpha`.
/// Raises `TheoryError` if `m12` is outside the attainable range.
#[pyfunction]
fn rho_from_cross_moment(m12: f64, i: (f64, f64), j: (f64, f64)) -> PyResult<f64> {
    errors::guard(|| gauss_relu::rho_from_cross_moment(m12, i, j).map_err(errors::theory))
}

/// `((alpha, se), (beta, se))` of `y = ReLU(alpha g - beta)` from i.i.d. samples by inverting the sample moments
/// `(mean y, mean y^2)`, with delta-method standard errors.
#[pyfunction]
fn estimate_alpha_beta(py: Python<'_>, y: Vector<'_>) -> PyResult<((f64, f64), (f64, f64))> {
    let y = slice(&y, "y")?.to_vec();
    py.detach(|| {
        errors::guard(|| {
            let (a, b) = gauss_relu::estimate_alpha_beta(&y).map_err(errors::theory)?;
            Ok(((a.value, a.se), (b.value, b.se)))
        })
    })
}

/// `(rho, se)`: `rho = corr(g_i, g_j)` from i.i.d. pairs of Gaussian-ReLU variables `y_i = alpha_i (g_i - t_i)_+`: `(alpha, t)` of each from its two
/// moments, then `rho` from `mean y_i y_j`, with a delta-method standard error over the
/// five moments.
#[pyfunction]
fn estimate_rho(py: Python<'_>, yi: Vector<'_>, yj: Vector<'_>) -> PyResult<(f64, f64)> {
    let (yi, yj) = (slice(&yi, "yi")?.to_vec(), slice(&yj, "yj")?.to_vec());
    if yi.len() != yj.len() {
        return Err(errors::TheoryError::new_err(format!(
            "yi and yj must have the same length, got {} and {}",
            yi.len(),
            yj.len()
        )));
    }
    py.detach(|| {
        errors::guard(|| {
            let e = gauss_relu::estimate_rho(&yi, &yj).map_err(errors::theory)?;
            Ok((e.value, e.se))
        })
    })
}

/// `KL(p || q) = sum_i p_i log(p_i / q_i)` in nats (`inf` if
/// `q_i = 0 < p_i`), computed as `sum p_i (d_i - log1p(d_i))`, `d_i = q_i / p_i - 1`.
/// `p`, `q`: probability vectors (entries >= 0, sums within 1e-12 of 1), else `TheoryError`.
#[pyfunction]
fn kl(p: Vector<'_>, q: Vector<'_>) -> PyResult<f64> {
    let (p, q) = (slice(&p, "p")?, slice(&q, "q")?);
    errors::guard(|| divergence::kl(p, q).map_err(errors::theory))
}

/// `JS(p || q) = KL(p || m)/2 + KL(q || m)/2`, `m = (p + q)/2`, in nats; `0 <= JS <= log 2`.
#[pyfunction]
fn js(p: Vector<'_>, q: Vector<'_>) -> PyResult<f64> {
    let (p, q) = (slice(&p, "p")?, slice(&q, "q")?);
    errors::guard(|| divergence::js(p, q).map_err(errors::theory))
}

/// Total variation `sum_i |p_i - q_i| / 2`.
#[pyfunction]
fn tv(p: Vector<'_>, q: Vector<'_>) -> PyResult<f64> {
    let (p, q) = (slice(&p, "p")?, slice(&q, "q")?);
    errors::guard(|| divergence::tv(p, q).map_err(errors::theory))
}

/// The Hellinger distance `sqrt(sum_i (sqrt p_i - sqrt q_i)^2 / 2)`.
#[pyfunction]
fn hellinger(p: Vector<'_>, q: Vector<'_>) -> PyResult<f64> {
    let (p, q) = (slice(&p, "p")?, slice(&q, "q")?);
    errors::guard(|| divergence::hellinger(p, q).map_err(errors::theory))
}

/// Wasserstein-1 on the line,
/// `W1 = sum_i |F_p(x_i) - F_q(x_i)| (x_{i+1} - x_i)` for masses `p`, `q` on the strictly
/// increasing support `xs`.
#[pyfunction]
fn w1_discrete(xs: Vector<'_>, p: Vector<'_>, q: Vector<'_>) -> PyResult<f64> {
    let (xs, p, q) = (slice(&xs, "xs")?, slice(&p, "p")?, slice(&q, "q")?);
    errors::guard(|| divergence::w1_discrete(xs, p, q).map_err(errors::theory))
}

/// `KL(N(m1, s1^2) || N(m2, s2^2)) =
/// ((r - 1 - log r) + (m1 - m2)^2 / s2^2) / 2`, `r = s1^2 / s2^2` (with `r - 1 - log r` as
/// `u - log1p(u)`, `u = r - 1`).
#[pyfunction]
fn kl_gaussian(m1: f64, s1: f64, m2: f64, s2: f64) -> PyResult<f64> {
    Ok(divergence::kl_gaussian(
        gaussian(m1, s1, "p")?,
        gaussian(m2, s2, "q")?,
    ))
}

/// The squared Hellinger distance of two Gaussians,
/// `1 - sqrt(2 s1 s2 / (s1^2 + s2^2)) exp(-(m1 - m2)^2 / (4 (s1^2 + s2^2)))`.
#[pyfunction]
fn hellinger2_gaussian(m1: f64, s1: f64, m2: f64, s2: f64) -> PyResult<f64> {
    Ok(divergence::hellinger2_gaussian(
        gaussian(m1, s1, "p")?,
        gaussian(m2, s2, "q")?,
    ))
}

/// TV of `N(m1, sd^2)` and `N(m2, sd^2)`,
/// `2 Phi(|m1 - m2| / (2 sd)) - 1`.
#[pyfunction]
fn tv_gaussian_equal_var(m1: f64, m2: f64, sd: f64) -> PyResult<f64> {
    gaussian(m1, sd, "p")?;
    gaussian(m2, sd, "q")?;
    Ok(divergence::tv_gaussian_equal_var(m1, m2, sd))
}

/// The GAN value
/// `V(G, D) = sum_i p_i log D_i + q_i log(1 - D_i)` with `D_i = sigma(logit_i)`, from logits
/// (`log sigma(l) = -log1p(exp(-l))`), never from a rounded probability.
#[pyfunction]
fn value_discrete(p: Vector<'_>, q: Vector<'_>, logit: Vector<'_>) -> PyResult<f64> {
    let (p, q, l) = (slice(&p, "p")?, slice(&q, "q")?, slice(&logit, "logit")?);
    errors::guard(|| gan::value_discrete(p, q, l).map_err(errors::theory))
}

/// The optimal discriminator
/// `D* = p / (p + q)` as its logit `log(p_i / q_i)` (`+-inf` where one vanishes).
#[pyfunction]
fn d_star_logit_discrete(p: Vector<'_>, q: Vector<'_>) -> PyResult<Vec<f64>> {
    let (p, q) = (slice(&p, "p")?, slice(&q, "q")?);
    if p.len() != q.len() {
        return Err(errors::TheoryError::new_err(format!(
            "p and q must have the same length, got {} and {}",
            p.len(),
            q.len()
        )));
    }
    Ok(gan::d_star_logit_discrete(p, q))
}

/// Both sides of claim T1 on a discrete
/// space, `(V(G, D*), -log 4 + 2 JS(p || q))`.
#[pyfunction]
fn jsd_identity_discrete(p: Vector<'_>, q: Vector<'_>) -> PyResult<(f64, f64)> {
    let (p, q) = (slice(&p, "p")?, slice(&q, "q")?);
    errors::guard(|| gan::jsd_identity_discrete(p, q).map_err(errors::theory))
}

/// Adds the theory functions to `m`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(phi, m)?)?;
    m.add_function(wrap_pyfunction!(big_phi, m)?)?;
    m.add_function(wrap_pyfunction!(q, m)?)?;
    m.add_function(wrap_pyfunction!(mills, m)?)?;
    m.add_function(wrap_pyfunction!(big_phi_inv, m)?)?;
    m.add_function(wrap_pyfunction!(q_inv, m)?)?;
    m.add_function(wrap_pyfunction!(log_big_phi, m)?)?;
    m.add_function(wrap_pyfunction!(big_phi2, m)?)?;
    m.add_function(wrap_pyfunction!(relu_moments, m)?)?;
    m.add_function(wrap_pyfunction!(relu_moment, m)?)?;
    m.add_function(wrap_pyfunction!(cross_moment, m)?)?;
    m.add_function(wrap_pyfunction!(moment_ratio, m)?)?;
    m.add_function(wrap_pyfunction!(alpha_beta_from_moments, m)?)?;
    m.add_function(wrap_pyfunction!(rho_from_cross_moment, m)?)?;
    m.add_function(wrap_pyfunction!(estimate_alpha_beta, m)?)?;
    m.add_function(wrap_pyfunction!(estimate_rho, m)?)?;
    m.add_function(wrap_pyfunction!(kl, m)?)?;
    m.add_function(wrap_pyfunction!(js, m)?)?;
    m.add_function(wrap_pyfunction!(tv, m)?)?;
    m.add_function(wrap_pyfunction!(hellinger, m)?)?;
    m.add_function(wrap_pyfunction!(w1_discrete, m)?)?;
    m.add_function(wrap_pyfunction!(kl_gaussian, m)?)?;
    m.add_function(wrap_pyfunction!(hellinger2_gaussian, m)?)?;
    m.add_function(wrap_pyfunction!(tv_gaussian_equal_var, m)?)?;
    m.add_function(wrap_pyfunction!(value_discrete, m)?)?;
    m.add_function(wrap_pyfunction!(d_star_logit_discrete, m)?)?;
    m.add_function(wrap_pyfunction!(jsd_identity_discrete, m)?)?;
    Ok(())
}
