//! Divergences between distributions: KL, Jensen–Shannon, total variation,
//! Hellinger and 1-D Wasserstein-1, for discrete distributions (exact sums),
//! 1-D densities (adaptive quadrature), Gaussians (closed forms) and by Monte
//! Carlo (with standard errors). Natural logarithms (nats).
//!
//! * `KL(p||q) = sum p log(p/q)`, computed as `sum p (d - log1p(d))`,
//!   `d = q/p - 1`, plus the mass of `q` off the support of `p`, which is
//!   exact for normalised `p, q` (the added terms `sum p d` and the missing
//!   mass sum to `sum q - sum p = 0`) and keeps ~1e-16 where the naive form
//!   loses to rounding; for `|d| >= 1/2` the term is `(q - p) + p log(p/q)`;
//! * `JS(p||q) = KL(p||m)/2 + KL(q||m)/2`, `m = (p + q)/2`, `0 <= JS <= log 2`;
//! * `TV = sum |p - q| / 2`; `H^2 = sum (sqrt p - sqrt q)^2 / 2`;
//! * `W1 = int |F_p - F_q|` on the line.

use crate::numerics::montecarlo::{Estimate, mean_estimate};
use crate::numerics::quadrature::{Quad, integrate_real_line};

/// Errors of divergence computations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DivergenceError {
    /// The inputs are not probability vectors of the same length.
    #[error("not probability vectors: {0}")]
    NotProbability(String),
}

/// Checks that `p` and `q` are probability vectors of equal length (entries
/// `>= 0`, sums within `1e-12` of 1).
///
/// # Errors
/// [`DivergenceError::NotProbability`] naming what is wrong.
pub fn check_probabilities(p: &[f64], q: &[f64]) -> Result<(), DivergenceError> {
    if p.len() != q.len() || p.is_empty() {
        return Err(DivergenceError::NotProbability(format!(
            "lengths {} and {}",
            p.len(),
            q.len()
        )));
    }
    for (name, v) in [("p", p), ("q", q)] {
        if v.iter().any(|x| !(x.is_finite() && *x >= 0.0)) {
            return Err(DivergenceError::NotProbability(format!(
                "{name} has a negative or non-finite entry"
            )));
        }
        let s: f64 = v.iter().sum();
        if (s - 1.0).abs() > 1e-12 {
            return Err(DivergenceError::NotProbability(format!(
                "{name} sums to {s}"
            )));
        }
    }
    Ok(())
}

/// `KL(p||q)` for probability vectors (`inf` if `q_i = 0 < p_i`).
///
/// # Errors
/// [`DivergenceError`] if `p` or `q` is not a probability vector.
pub fn kl(p: &[f64], q: &[f64]) -> Result<f64, DivergenceError> {
    check_probabilities(p, q)?;
    Ok(kl_unchecked(p, q))
}

fn kl_unchecked(p: &[f64], q: &[f64]) -> f64 {
    // p (d - log1p d) = p log(p/q) + (q - p): summed over the support of p the
    // extra terms add up to -(mass of q off the support of p), which is added
    // back (else KL is wrong by that mass, e.g. JS of disjoint supports).
    // Where d is far from 0 (q < p/2 rounds d to -1 and log1p(-1) = -inf
    // once q/p < eps/2) the term is formed as (q - p) + p (log p - log q).
    let mut s = 0.0;
    for (&pi, &qi) in p.iter().zip(q) {
        if pi > 0.0 {
            if qi <= 0.0 {
                return f64::INFINITY;
            }
            let d = qi / pi - 1.0;
            s += if d.abs() < 0.5 {
                pi * (d - libm::log1p(d))
            } else {
                (qi - pi) + pi * (libm::log(pi) - libm::log(qi))
            };
        } else {
            s += qi;
        }
    }
    s
}

/// `JS(p||q)` in nats.
///
/// # Errors
/// [`DivergenceError`] if `p` or `q` is not a probability vector.
pub fn js(p: &[f64], q: &[f64]) -> Result<f64, DivergenceError> {
    check_probabilities(p, q)?;
    let m: Vec<f64> = p.iter().zip(q).map(|(a, b)| 0.5 * (a + b)).collect();
    Ok(0.5 * kl_unchecked(p, &m) + 0.5 * kl_unchecked(q, &m))
}

/// Total variation `sum |p - q| / 2`.
///
/// # Errors
/// [`DivergenceError`] if `p` or `q` is not a probability vector.
pub fn tv(p: &[f64], q: &[f64]) -> Result<f64, DivergenceError> {
    check_probabilities(p, q)?;
    Ok(0.5 * p.iter().zip(q).map(|(a, b)| (a - b).abs()).sum::<f64>())
}

/// Hellinger distance `sqrt(sum (sqrt p - sqrt q)^2 / 2)`.
///
/// # Errors
/// [`DivergenceError`] if `p` or `q` is not a probability vector.
pub fn hellinger(p: &[f64], q: &[f64]) -> Result<f64, DivergenceError> {
    check_probabilities(p, q)?;
    let h2: f64 = p
        .iter()
        .zip(q)
        .map(|(a, b)| (a.sqrt() - b.sqrt()).powi(2))
        .sum::<f64>()
        * 0.5;
    Ok(h2.sqrt())
}

/// `W1 = sum_i |F_p(x_i) - F_q(x_i)| (x_{i+1} - x_i)` for distributions on the
/// sorted support `xs` (strictly increasing).
///
/// # Errors
/// [`DivergenceError`] if `p`, `q` are not probability vectors on `xs`, or
/// `xs` is not strictly increasing.
pub fn w1_discrete(xs: &[f64], p: &[f64], q: &[f64]) -> Result<f64, DivergenceError> {
    check_probabilities(p, q)?;
    if xs.len() != p.len() || xs.windows(2).any(|w| w[1] <= w[0]) {
        return Err(DivergenceError::NotProbability(
            "support must be strictly increasing, one point per mass".into(),
        ));
    }
    let (mut fp, mut fq, mut s) = (0.0, 0.0, 0.0);
    for i in 0..xs.len() - 1 {
        fp += p[i];
        fq += q[i];
        s += (fp - fq).abs() * (xs[i + 1] - xs[i]);
    }
    Ok(s)
}

/// A 1-D distribution given by its log-density and cdf.
pub trait Density1d {
    /// `log p(x)`.
    fn log_pdf(&self, x: f64) -> f64;
    /// `F(x)`.
    fn cdf(&self, x: f64) -> f64;
}

/// `N(mean, sd^2)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gaussian {
    /// Mean.
    pub mean: f64,
    /// Standard deviation (> 0).
    pub sd: f64,
}

impl Density1d for Gaussian {
    fn log_pdf(&self, x: f64) -> f64 {
        let z = (x - self.mean) / self.sd;
        -0.5 * z * z - libm::log(self.sd) - 0.5 * libm::log(2.0 * std::f64::consts::PI)
    }
    fn cdf(&self, x: f64) -> f64 {
        crate::numerics::normal::Phi((x - self.mean) / self.sd)
    }
}

/// A finite mixture `sum w_i N(mu_i, s_i^2)`.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    /// `(weight, component)`; weights sum to 1.
    pub parts: Vec<(f64, Gaussian)>,
}

impl Density1d for GaussianMixture {
    fn log_pdf(&self, x: f64) -> f64 {
        let logs: Vec<f64> = self
            .parts
            .iter()
            .map(|(w, g)| libm::log(*w) + g.log_pdf(x))
            .collect();
        log_sum_exp(&logs)
    }
    fn cdf(&self, x: f64) -> f64 {
        self.parts.iter().map(|(w, g)| w * g.cdf(x)).sum()
    }
}

/// `log sum exp(v_i)`, stable.
pub fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + libm::log(v.iter().map(|x| libm::exp(x - m)).sum::<f64>())
}

const ABS: f64 = 1e-15;
const REL: f64 = 1e-13;

/// `KL(p||q) = int p log(p/q)` by adaptive quadrature.
pub fn kl_density(p: &impl Density1d, q: &impl Density1d) -> Quad {
    integrate_real_line(
        |x| {
            let lp = p.log_pdf(x);
            let v = libm::exp(lp) * (lp - q.log_pdf(x));
            if v.is_finite() { v } else { 0.0 }
        },
        ABS,
        REL,
    )
}

/// `JS(p||q)` by adaptive quadrature, from `log m = logsumexp(log p, log q) - log 2`.
pub fn js_density(p: &impl Density1d, q: &impl Density1d) -> Quad {
    integrate_real_line(
        |x| {
            let (lp, lq) = (p.log_pdf(x), q.log_pdf(x));
            let lm = log_sum_exp(&[lp, lq]) - std::f64::consts::LN_2;
            let v = 0.5 * (libm::exp(lp) * (lp - lm) + libm::exp(lq) * (lq - lm));
            if v.is_finite() { v } else { 0.0 }
        },
        ABS,
        REL,
    )
}

/// `TV = int |p - q| / 2` by adaptive quadrature.
pub fn tv_density(p: &impl Density1d, q: &impl Density1d) -> Quad {
    integrate_real_line(
        |x| 0.5 * (libm::exp(p.log_pdf(x)) - libm::exp(q.log_pdf(x))).abs(),
        ABS,
        REL,
    )
}

/// Squared Hellinger distance `int (sqrt p - sqrt q)^2 / 2` by adaptive quadrature.
pub fn hellinger2_density(p: &impl Density1d, q: &impl Density1d) -> Quad {
    integrate_real_line(
        |x| 0.5 * (libm::exp(0.5 * p.log_pdf(x)) - libm::exp(0.5 * q.log_pdf(x))).powi(2),
        ABS,
        REL,
    )
}

/// `W1 = int |F_p - F_q|` by adaptive quadrature.
pub fn w1_density(p: &impl Density1d, q: &impl Density1d) -> Quad {
    integrate_real_line(|x| (p.cdf(x) - q.cdf(x)).abs(), ABS, REL)
}

/// Closed-form `KL(N(m1, s1^2) || N(m2, s2^2)) = ((r - 1 - log r) + (m1 - m2)^2 / s2^2) / 2`,
/// `r = s1^2 / s2^2`, with `r - 1 - log r` computed as `u - log1p(u)`, `u = r - 1`
/// (no cancellation when the variances agree).
pub fn kl_gaussian(p: Gaussian, q: Gaussian) -> f64 {
    let u = (p.sd / q.sd).powi(2) - 1.0;
    let dm = (p.mean - q.mean) / q.sd;
    0.5 * ((u - libm::log1p(u)) + dm * dm)
}

/// Closed-form squared Hellinger distance of two Gaussians:
/// `1 - sqrt(2 s1 s2 / (s1^2 + s2^2)) exp(-(m1 - m2)^2 / (4 (s1^2 + s2^2)))`.
pub fn hellinger2_gaussian(p: Gaussian, q: Gaussian) -> f64 {
    let v = p.sd * p.sd + q.sd * q.sd;
    let dm = p.mean - q.mean;
    -libm::expm1(0.5 * libm::log(2.0 * p.sd * q.sd / v) - dm * dm / (4.0 * v))
}

/// Closed-form TV of two Gaussians with equal variance: `2 Phi(|m1 - m2| / (2 s)) - 1`.
pub fn tv_gaussian_equal_var(m1: f64, m2: f64, sd: f64) -> f64 {
    1.0 - 2.0 * crate::numerics::normal::q((m1 - m2).abs() / (2.0 * sd))
}

/// Monte Carlo `KL(p||q) = E_p[log p(x) - log q(x)]` from samples of `p`, with its standard error.
pub fn kl_monte_carlo(p: &impl Density1d, q: &impl Density1d, samples_of_p: &[f64]) -> Estimate {
    mean_estimate(samples_of_p.iter().map(|&x| p.log_pdf(x) - q.log_pdf(x)))
}
