//! GAN identities (claims T1–T3). See `proofs/T1-optimal-discriminator.md`,
//! `proofs/T2-mle-is-kl.md`, `proofs/T3-generator-losses.md`.
//!
//! * `V(G, D) = E_data log D + E_g log(1 - D)`; for fixed `G` the maximiser is
//!   `D* = p_data / (p_data + p_g)` and `V(G, D*) = -log 4 + 2 JS(p_data || p_g)`.
//!   `log D` and `log(1 - D)` are computed from log-densities or logits
//!   (`log sigma(l) = -log1p(exp(-l))`), never from a rounded probability.
//! * `E_p log q = -H(p) - KL(p || q)` (maximum likelihood is KL minimisation).
//! * Generator losses per unit logit `l` of `D = sigma(l)`: saturating
//!   `log(1 - sigma(l))` has derivative `-sigma(l)` (vanishes as `D -> 0`),
//!   non-saturating `-log sigma(l)` has derivative `sigma(l) - 1` (tends to -1).
//! * WGAN: in 1-D `W1(p, q) = int |F_p - F_q| = sup_{f 1-Lipschitz} E_p f - E_q f`,
//!   attained by `f*(x) = int_{-inf}^x sign(F_q - F_p)`.
//! * Least squares (`min_D E_data (D - 1)^2/2 + E_g D^2/2`): `D* = p/(p + q)`, value
//!   `sum pq / (2(p + q))`. Hinge (`max_D E_data min(0, D - 1) + E_g min(0, -D - 1)`):
//!   `D* = sign(p - q)`, value `2 TV - 2`.

use super::divergence::{Density1d, DivergenceError, check_probabilities, log_sum_exp};
use crate::numerics::quadrature::{Quad, integrate_real_line};

/// `log sigma(l)`, stable for all `l`.
pub fn log_sigmoid(l: f64) -> f64 {
    if l >= 0.0 {
        -libm::log1p(libm::exp(-l))
    } else {
        l - libm::log1p(libm::exp(l))
    }
}

/// `sigma(l) = 1 / (1 + exp(-l))`.
pub fn sigmoid(l: f64) -> f64 {
    libm::exp(log_sigmoid(l))
}

/// `V = sum_i p_i log D_i + q_i log(1 - D_i)` with `D_i = sigma(logit_i)`.
///
/// # Errors
/// [`DivergenceError`] if `p`, `q` are not probability vectors (or lengths differ).
pub fn value_discrete(p: &[f64], q: &[f64], logit: &[f64]) -> Result<f64, DivergenceError> {
    check_probabilities(p, q)?;
    if logit.len() != p.len() {
        return Err(DivergenceError::NotProbability(
            "one logit per point".into(),
        ));
    }
    Ok(p.iter()
        .zip(q)
        .zip(logit)
        .map(|((&pi, &qi), &l)| {
            let a = if pi > 0.0 { pi * log_sigmoid(l) } else { 0.0 };
            let b = if qi > 0.0 { qi * log_sigmoid(-l) } else { 0.0 };
            a + b
        })
        .sum())
}

/// The optimal discriminator's logit `log(p_i / q_i)` (`+-inf` where one vanishes).
pub fn d_star_logit_discrete(p: &[f64], q: &[f64]) -> Vec<f64> {
    p.iter()
        .zip(q)
        .map(|(&a, &b)| libm::log(a) - libm::log(b))
        .collect()
}

/// Both sides of T1 on a discrete space: `(V(G, D*), -log 4 + 2 JS(p || q))`.
///
/// # Errors
/// [`DivergenceError`] if `p`, `q` are not probability vectors.
pub fn jsd_identity_discrete(p: &[f64], q: &[f64]) -> Result<(f64, f64), DivergenceError> {
    let v = value_discrete(p, q, &d_star_logit_discrete(p, q))?;
    Ok((v, -libm::log(4.0) + 2.0 * super::divergence::js(p, q)?))
}

/// `V(G, D) = int p log D + q log(1 - D)` with `D(x) = sigma(logit(x))`, by quadrature.
pub fn value_density(p: &impl Density1d, q: &impl Density1d, logit: impl Fn(f64) -> f64) -> Quad {
    integrate_real_line(
        |x| {
            let l = logit(x);
            let v = libm::exp(p.log_pdf(x)) * log_sigmoid(l)
                + libm::exp(q.log_pdf(x)) * log_sigmoid(-l);
            if v.is_finite() { v } else { 0.0 }
        },
        1e-15,
        1e-13,
    )
}

/// `V(G, D*)` by quadrature, with `log D* = log p - log(p + q)` from log-densities.
pub fn value_at_d_star_density(p: &impl Density1d, q: &impl Density1d) -> Quad {
    integrate_real_line(
        |x| {
            let (lp, lq) = (p.log_pdf(x), q.log_pdf(x));
            let ls = log_sum_exp(&[lp, lq]);
            let v = libm::exp(lp) * (lp - ls) + libm::exp(lq) * (lq - ls);
            if v.is_finite() { v } else { 0.0 }
        },
        1e-15,
        1e-13,
    )
}

/// Cross-entropy `E_p[-log q] = H(p) + KL(p||q)` and entropy `H(p)` of discrete
/// distributions: returns `(E_p log q, -H(p) - KL(p||q))`, the two sides of T2.
///
/// # Errors
/// [`DivergenceError`] if `p`, `q` are not probability vectors.
pub fn mle_kl_identity_discrete(p: &[f64], q: &[f64]) -> Result<(f64, f64), DivergenceError> {
    check_probabilities(p, q)?;
    let lhs: f64 = p
        .iter()
        .zip(q)
        .filter(|(a, _)| **a > 0.0)
        .map(|(a, b)| a * libm::log(*b))
        .sum();
    let h: f64 = -p
        .iter()
        .filter(|a| **a > 0.0)
        .map(|a| a * libm::log(*a))
        .sum::<f64>();
    Ok((lhs, -h - super::divergence::kl(p, q)?))
}

/// Derivatives with respect to the logit `l` of the generator losses:
/// `(d/dl log(1 - sigma(l)), d/dl (-log sigma(l))) = (-sigma(l), sigma(l) - 1)`.
pub fn generator_loss_gradients(l: f64) -> (f64, f64) {
    let s = sigmoid(l);
    (-s, s - 1.0)
}

/// The two generator losses at logit `l`: `(log(1 - sigma(l)), -log sigma(l))`.
pub fn generator_losses(l: f64) -> (f64, f64) {
    (log_sigmoid(-l), -log_sigmoid(l))
}

/// The optimal 1-D critic on a sorted support: `f*(x_1) = 0`,
/// `f*(x_{i+1}) = f*(x_i) + sign(F_q(x_i) - F_p(x_i)) (x_{i+1} - x_i)`.
pub fn optimal_critic_discrete(xs: &[f64], p: &[f64], q: &[f64]) -> Vec<f64> {
    let mut f = vec![0.0; xs.len()];
    let (mut fp, mut fq) = (0.0, 0.0);
    for i in 0..xs.len().saturating_sub(1) {
        fp += p[i];
        fq += q[i];
        let s = if fq > fp {
            1.0
        } else if fq < fp {
            -1.0
        } else {
            0.0
        };
        // E_p f - E_q f = sum_i (F_q(x_i) - F_p(x_i)) (f_{i+1} - f_i): maximal with this sign.
        f[i + 1] = f[i] + s * (xs[i + 1] - xs[i]);
    }
    f
}

/// The Kantorovich–Rubinstein LP `max sum (p_i - q_i) f_i` subject to
/// `|f_i - f_j| <= |x_i - x_j|`, solved by enumerating its vertices: on a line
/// the constraints between neighbours imply all others, and the feasible set
/// modulo constants is the box `|f_{i+1} - f_i| <= x_{i+1} - x_i`, so the
/// maximum of a linear function is at a corner (`2^(n-1)` of them; `n <= 20`).
pub fn kantorovich_lp_by_vertices(xs: &[f64], p: &[f64], q: &[f64]) -> Option<f64> {
    let n = xs.len();
    if n == 0 || n > 20 {
        return None;
    }
    let mut best = f64::NEG_INFINITY;
    for mask in 0u32..(1u32 << (n - 1)) {
        // f_1 = 0 (the objective is invariant to constants since sum p = sum q).
        let (mut f, mut obj) = (0.0, 0.0);
        for i in 0..n - 1 {
            let step = xs[i + 1] - xs[i];
            f += if mask >> i & 1 == 1 { step } else { -step };
            obj += (p[i + 1] - q[i + 1]) * f;
        }
        best = best.max(obj);
    }
    Some(best)
}

/// `E_p f - E_q f` for a function on the support.
pub fn critic_gap(p: &[f64], q: &[f64], f: &[f64]) -> f64 {
    p.iter().zip(q).zip(f).map(|((a, b), v)| (a - b) * v).sum()
}

/// Least-squares discriminator objective `sum p (D - 1)^2 / 2 + q D^2 / 2` (to minimise).
pub fn ls_objective(p: &[f64], q: &[f64], d: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .zip(d)
        .map(|((a, b), v)| 0.5 * a * (v - 1.0).powi(2) + 0.5 * b * v * v)
        .sum()
}

/// Its minimiser `D* = p / (p + q)` (0.5 where both vanish) and minimum `sum pq / (2(p + q))`.
pub fn ls_optimum(p: &[f64], q: &[f64]) -> (Vec<f64>, f64) {
    let d = p
        .iter()
        .zip(q)
        .map(|(a, b)| if a + b > 0.0 { a / (a + b) } else { 0.5 })
        .collect();
    let v = p
        .iter()
        .zip(q)
        .filter(|(a, b)| *a + *b > 0.0)
        .map(|(a, b)| 0.5 * a * b / (a + b))
        .sum();
    (d, v)
}

/// Hinge discriminator objective `sum p min(0, D - 1) + q min(0, -D - 1)` (to maximise).
pub fn hinge_objective(p: &[f64], q: &[f64], d: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .zip(d)
        .map(|((a, b), v)| a * (v - 1.0).min(0.0) + b * (-v - 1.0).min(0.0))
        .sum()
}

/// Its maximiser `D* = sign(p - q)` and maximum `2 TV(p, q) - 2`.
///
/// # Errors
/// [`DivergenceError`] if `p`, `q` are not probability vectors.
pub fn hinge_optimum(p: &[f64], q: &[f64]) -> Result<(Vec<f64>, f64), DivergenceError> {
    let d = p
        .iter()
        .zip(q)
        .map(|(a, b)| {
            if a > b {
                1.0
            } else if a < b {
                -1.0
            } else {
                0.0
            }
        })
        .collect();
    Ok((d, 2.0 * super::divergence::tv(p, q)? - 2.0))
}
