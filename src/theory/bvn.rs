//! The bivariate normal cdf `Phi2(a, b; rho) = P(X <= a, Y <= b)` for standard
//! normals with correlation `rho`, by Genz's method (Drezner–Wesolowsky
//! lineage; A. Genz, "Numerical computation of rectangular bivariate and
//! trivariate normal and t probabilities", Statistics and Computing 14, 2004):
//!
//! * `|rho| < 0.925`: Plackett's identity
//!   `Phi2 = Phi(a) Phi(b) + int_0^rho phi2(a, b; r) dr`, with `r = sin(theta)`
//!   and Gauss–Legendre on `theta` (6, 12 or 20 points as `|rho|` grows);
//! * `|rho| >= 0.925`: the integral is rewritten around `|rho| = 1`, where the
//!   singular part has a closed form and the remainder is smooth in
//!   `sqrt(1 - r^2)`, then integrated with 20 Gauss–Legendre points.
//!
//! Accuracy: about 1e-15 absolute (checked against adaptive quadrature of
//! `int_{-inf}^a phi(x) Phi((b - rho x)/sqrt(1 - rho^2)) dx` in the tests).
//! See `proofs/T6-gaussian-relu.md`.

use std::f64::consts::PI;
use std::sync::OnceLock;

use crate::numerics::normal::Phi;
use crate::numerics::quadrature::gauss_legendre;

/// Positive Gauss–Legendre nodes and their weights for n = 6, 12, 20.
fn rules() -> &'static [(Vec<f64>, Vec<f64>); 3] {
    static RULES: OnceLock<[(Vec<f64>, Vec<f64>); 3]> = OnceLock::new();
    RULES.get_or_init(|| {
        [6, 12, 20].map(|n| {
            let (x, w) = gauss_legendre(n);
            x.iter()
                .zip(&w)
                .filter(|(x, _)| **x > 0.0)
                .map(|(x, w)| (*x, *w))
                .unzip()
        })
    })
}

/// `Phi2(a, b; rho) = P(X <= a, Y <= b)`, `corr(X, Y) = rho` in `[-1, 1]`.
/// NaN for NaN input or `|rho| > 1`.
#[allow(non_snake_case)]
pub fn Phi2(a: f64, b: f64, rho: f64) -> f64 {
    if a.is_nan() || b.is_nan() || rho.is_nan() || rho.abs() > 1.0 {
        return f64::NAN;
    }
    upper(-a, -b, rho)
}

/// `P(X > h, Y > k)` with correlation `r` (Genz's `bvnu`).
fn upper(h: f64, k: f64, r: f64) -> f64 {
    if h == f64::INFINITY || k == f64::INFINITY {
        return 0.0;
    }
    if h == f64::NEG_INFINITY {
        return if k == f64::NEG_INFINITY { 1.0 } else { Phi(-k) };
    }
    if k == f64::NEG_INFINITY {
        return Phi(-h);
    }
    if r == 0.0 {
        return Phi(-h) * Phi(-k);
    }
    let tp = 2.0 * PI;
    let (xs, ws) = &rules()[if r.abs() < 0.3 {
        0
    } else if r.abs() < 0.75 {
        1
    } else {
        2
    }];
    // Nodes mapped from (-1, 1) to (0, 2): both 1 - x and 1 + x, same weight.
    let nodes = || {
        xs.iter()
            .zip(ws)
            .flat_map(|(&x, &w)| [(1.0 - x, w), (1.0 + x, w)])
    };
    let mut hk = h * k;
    let mut bvn = 0.0;
    if r.abs() < 0.925 {
        let hs = 0.5 * (h * h + k * k);
        let asr = 0.5 * libm::asin(r);
        for (x, w) in nodes() {
            let sn = libm::sin(asr * x);
            bvn += w * libm::exp((sn * hk - hs) / (1.0 - sn * sn));
        }
        return (bvn * asr / tp + Phi(-h) * Phi(-k)).clamp(0.0, 1.0);
    }
    let mut k = k;
    if r < 0.0 {
        k = -k;
        hk = -hk;
    }
    if r.abs() < 1.0 {
        let as_ = (1.0 - r) * (1.0 + r);
        let mut a = as_.sqrt();
        let bs = (h - k) * (h - k);
        let asr = -0.5 * (bs / as_ + hk);
        let c = (4.0 - hk) / 8.0;
        let d = (12.0 - hk) / 80.0;
        if asr > -100.0 {
            bvn = a
                * libm::exp(asr)
                * (1.0 - c * (bs - as_) * (1.0 - d * bs) / 3.0 + c * d * as_ * as_);
        }
        if hk > -100.0 {
            let b = bs.sqrt();
            let sp = tp.sqrt() * Phi(-b / a);
            bvn -= libm::exp(-0.5 * hk) * sp * b * (1.0 - c * bs * (1.0 - d * bs) / 3.0);
        }
        a *= 0.5;
        let mut sum = 0.0;
        for (x, w) in nodes() {
            let xs = (a * x) * (a * x);
            let asr = -0.5 * (bs / xs + hk);
            if asr > -100.0 {
                let sp = 1.0 + c * xs * (1.0 + 5.0 * d * xs);
                let rs = (1.0 - xs).sqrt();
                let ep = libm::exp(-0.5 * hk * xs / ((1.0 + rs) * (1.0 + rs))) / rs;
                sum += w * libm::exp(asr) * (sp - ep);
            }
        }
        bvn = (a * sum - bvn) / tp;
    }
    let p = if r > 0.0 {
        bvn + Phi(-h.max(k))
    } else if h >= k {
        -bvn
    } else {
        let l = if h < 0.0 {
            Phi(k) - Phi(h)
        } else {
            Phi(-h) - Phi(-k)
        };
        l - bvn
    };
    p.clamp(0.0, 1.0)
}
