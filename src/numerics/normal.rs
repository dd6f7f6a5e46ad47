//! The standard normal distribution, accurate in both tails.
//!
//! * `phi(t) = exp(-t^2/2) / sqrt(2 pi)`,
//! * `Phi(t) = erfc(-t / sqrt 2) / 2`, `Q(t) = 1 - Phi(t) = erfc(t / sqrt 2) / 2`,
//! * the Mills ratio `R(t) = Q(t) / phi(t)`, by `erfc` for `t < 30` and by its
//!   continued fraction `R(t) = 1/(t + 1/(t + 2/(t + 3/(t + ...))))` beyond,
//!   where `Q` underflows;
//! * the quantiles `Phi^{-1}`, `Q^{-1}`: Acklam's rational approximation
//!   refined by two Halley steps.
//!
//! `libm` (pure Rust, ~1 ulp) is used throughout: statrs' `erfc` carries ~1e-10
//! relative error (numerics.md), which the Gaussian-ReLU closed forms amplify.

use std::f64::consts::{PI, SQRT_2};

/// `1 / sqrt(2 pi)`.
pub const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Standard normal density `phi(t)`.
pub fn phi(t: f64) -> f64 {
    INV_SQRT_2PI * libm::exp(-0.5 * t * t)
}

/// Standard normal cdf `Phi(t)`.
#[allow(non_snake_case)]
pub fn Phi(t: f64) -> f64 {
    0.5 * libm::erfc(-t / SQRT_2)
}

/// Upper tail `Q(t) = 1 - Phi(t)`, accurate for large `t` (no cancellation).
pub fn q(t: f64) -> f64 {
    0.5 * libm::erfc(t / SQRT_2)
}

/// Mills ratio `R(t) = Q(t) / phi(t)`, finite and accurate for every `t`
/// (`R(t) ~ 1/t` as `t -> inf`).
pub fn mills(t: f64) -> f64 {
    if t < 30.0 {
        return q(t) / phi(t);
    }
    // Continued fraction, evaluated bottom-up with 60 terms: at t >= 30 the
    // tail changes the result by far less than 1e-16.
    let mut f = t;
    for k in (1..=60).rev() {
        f = t + k as f64 / f;
    }
    1.0 / f
}

/// `Phi^{-1}(p)` for `0 < p < 1` (`-inf`/`inf` at 0/1, NaN outside).
#[allow(non_snake_case)]
pub fn Phi_inv(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    // Work in the tail that is represented exactly: x = -Q^{-1}(p) for p < 1/2.
    if p > 0.5 {
        return q_inv_tail(1.0 - p);
    }
    -q_inv_tail(p)
}

/// `Q^{-1}(p)`, the upper-tail quantile: `Q(Q^{-1}(p)) = p`.
pub fn q_inv(p: f64) -> f64 {
    -Phi_inv(p)
}

/// The `t >= 0` with `Q(t) = p_small`, for `0 < p_small <= 1/2`.
fn q_inv_tail(p_small: f64) -> f64 {
    // Acklam's approximation of Phi^{-1}(p) for p <= 1/2 (relative error 1.15e-9).
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p_small;
    let x = if p < 0.024_25 {
        let r = libm::sqrt(-2.0 * libm::log(p));
        (((((C[0] * r + C[1]) * r + C[2]) * r + C[3]) * r + C[4]) * r + C[5])
            / ((((D[0] * r + D[1]) * r + D[2]) * r + D[3]) * r + 1.0)
    } else {
        let u = p - 0.5;
        let r = u * u;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * u
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    // x approximates Phi^{-1}(p) <= 0, i.e. t = -x solves Q(t) = p. Halley
    // steps on f(x) = Phi(x) - p, computed as p - Q(-x) relative to phi(x).
    let mut x = x;
    for _ in 0..2 {
        let e = q(-x) - p;
        let u = e / phi(x);
        x -= u / (1.0 + 0.5 * x * u);
    }
    -x
}

/// `log Phi(t)`, accurate also where `Phi(t)` underflows (via the Mills ratio).
#[allow(non_snake_case)]
pub fn log_Phi(t: f64) -> f64 {
    if t > -30.0 {
        libm::log(Phi(t))
    } else {
        libm::log(mills(-t)) - 0.5 * t * t - 0.5 * libm::log(2.0 * PI)
    }
}
