//! Independent second implementations by adaptive quadrature, used by the
//! tests and `fsrgan verify` as the truth the closed forms are checked against.
//! They share nothing with the closed forms but `phi`, `Phi` and `Q`.

use crate::numerics::normal::{Phi, phi, q};
use crate::numerics::quadrature::{integrate_breaks, integrate_to_inf};

/// `I_k(t) = int_0^inf u^k phi(t + u) du` (positive integrand, no
/// cancellation), to relative `1e-14`. `None` if the quadrature did not converge.
pub fn relu_moment(t: f64, k: usize) -> Option<f64> {
    let r = integrate_to_inf(|u| u.powi(k as i32) * phi(t + u), 0.0, 0.0, 1e-14);
    r.converged.then_some(r.value)
}

/// `Phi2(a, b; rho) = int_{-40}^a phi(x) Phi((b - rho x) / s) dx`, `s = sqrt(1 - rho^2)`,
/// with a breakpoint at `b / rho` where the inner cdf switches; `|rho| < 1`.
#[allow(non_snake_case)]
pub fn Phi2(a: f64, b: f64, rho: f64) -> f64 {
    let s = (1.0 - rho * rho).sqrt();
    let mut pts = vec![-40.0];
    let switch = b / rho;
    if switch > -40.0 && switch < a {
        pts.push(switch);
    }
    pts.push(a);
    let mut f = |x: f64| phi(x) * Phi((b - rho * x) / s);
    integrate_breaks(&mut f, &pts, 1e-16, 1e-14).value
}

/// `F(a, b, rho) = int_a^inf (x - a) phi(x) s I_1((b - rho x) / s) dx`, using
/// `E[(Y - b)_+ | X = x] = s I_1((b - rho x)/s)` with `I_1(m) = phi(m) - m Q(m)`; `|rho| < 1`.
pub fn cross_moment(a: f64, b: f64, rho: f64) -> f64 {
    let s = (1.0 - rho * rho).sqrt();
    let inner = |x: f64| {
        let m = (b - rho * x) / s;
        s * (phi(m) - m * q(m)).max(0.0)
    };
    let mut f = |x: f64| (x - a) * phi(x) * inner(x);
    let mut pts = vec![a];
    if rho != 0.0 {
        let sw = b / rho;
        if sw > a && sw < a.max(0.0) + 40.0 {
            pts.push(sw);
        }
    }
    pts.push(a.max(0.0) + 40.0);
    integrate_breaks(&mut f, &pts, 1e-17, 1e-13).value
}
