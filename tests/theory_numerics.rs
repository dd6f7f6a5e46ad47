//! The numerical building blocks: normal functions (against statrs and
//! identities), Gauss–Kronrod quadrature (exact on polynomials, known
//! integrals), Gauss–Legendre nodes.

use fsrgan::numerics::normal::*;
use fsrgan::numerics::quadrature::*;
use fsrgan::testing::{
    F64_FEW_OPS, F64_LAST_ROUNDING, F64_ROUNDOFF, F64_SUM, GK15_POLYNOMIAL, MILLS_SWITCH,
    QUAD_ABS_TOL, QUAD_REL_TOL, QUAD_ROUNDING_FLOOR, QUAD_SINGULAR_ENDPOINT, SCALE_FLOOR,
};

#[test]
fn normal_quantiles_invert_the_tails() {
    use statrs::distribution::{ContinuousCDF, Normal};
    let n = Normal::standard();
    for &p in &[
        1e-300, 1e-100, 1e-20, 1e-8, 0.001, 0.0241, 0.0243, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999999,
    ] {
        let x = Phi_inv(p);
        // Round trip through the cdf in the tail that is represented exactly.
        let back = if x < 0.0 { Phi(x) } else { 1.0 - q(x) };
        // Conditioning: d log Q / dx ~ -x, so a quantile correct to ~2 eps |x|
        // reproduces p to ~(1 + x^2) 4 eps relative.
        let tol = (1.0 + x * x) * 4.0 * f64::EPSILON * p.min(1.0 - p);
        assert!((back - p).abs() <= tol, "p = {p}: {back}");
        if (1e-20..=0.999999).contains(&p) {
            // statrs' inverse cdf is ~2e-16 accurate here (numerics.md).
            assert!(
                (x - n.inverse_cdf(p)).abs() <= F64_ROUNDOFF * x.abs().max(1.0),
                "p = {p}"
            );
        }
        assert!((q_inv(p) + x).abs() < SCALE_FLOOR + F64_FEW_OPS * x.abs());
    }
    assert!(
        Phi_inv(0.0) == f64::NEG_INFINITY && Phi_inv(1.0) == f64::INFINITY && Phi_inv(1.5).is_nan()
    );
}

#[test]
fn mills_ratio_is_continuous_and_matches_its_asymptotic_series() {
    // At the switch t = 30 both routes agree.
    let a = q(30.0 - 1e-12) / phi(30.0 - 1e-12);
    assert!((mills(30.0) - a).abs() <= MILLS_SWITCH * a);
    // R(t) ~ (1/t)(1 - 1/t^2 + 3/t^4 - 15/t^6 + 105/t^8): error < 945/t^11.
    for t in [40.0f64, 100.0, 1e4] {
        let s =
            (1.0 - 1.0 / t.powi(2) + 3.0 / t.powi(4) - 15.0 / t.powi(6) + 105.0 / t.powi(8)) / t;
        assert!(
            (mills(t) - s).abs() <= 945.0 / t.powi(11) + 4.0 * f64::EPSILON * s,
            "t = {t}"
        );
    }
    assert!(
        (log_Phi(-40.0) - (mills(40.0).ln() - 800.0 - 0.5 * (2.0 * std::f64::consts::PI).ln()))
            .abs()
            < F64_ROUNDOFF
    );
    assert!((log_Phi(1.0) - Phi(1.0).ln()).abs() < F64_LAST_ROUNDING);
}

#[test]
fn gauss_kronrod_is_exact_on_polynomials_and_accurate_on_known_integrals() {
    // G7 and K15 are both exact up to degree 13: one interval, |K - G| ~ 0.
    for deg in 0..=13 {
        let r = integrate(|x: f64| x.powi(deg), 0.0, 1.0, QUAD_ABS_TOL, 0.0);
        let want = 1.0 / (deg as f64 + 1.0);
        assert!(
            r.evals == 15 && (r.value - want).abs() <= GK15_POLYNOMIAL,
            "degree {deg}: {r:?}"
        );
    }
    // Beyond, K15 (exact to degree 22) is checked by the adaptive result.
    for deg in 14..=22 {
        let r = integrate(|x: f64| x.powi(deg), 0.0, 1.0, QUAD_ABS_TOL, 0.0);
        assert!(
            (r.value - 1.0 / (deg as f64 + 1.0)).abs() <= QUAD_ABS_TOL,
            "degree {deg}"
        );
    }
    let r = integrate_real_line(phi, QUAD_ABS_TOL, QUAD_REL_TOL);
    assert!((r.value - 1.0).abs() < QUAD_REL_TOL && r.converged);
    let r = integrate_to_inf(|x| (-x).exp(), 0.0, QUAD_ABS_TOL, QUAD_REL_TOL);
    assert!((r.value - 1.0).abs() < QUAD_REL_TOL);
    let r = integrate(|x: f64| x.sqrt(), 0.0, 1.0, 1e-14, 1e-14);
    assert!(
        (r.value - 2.0 / 3.0).abs() < QUAD_SINGULAR_ENDPOINT && r.error < QUAD_SINGULAR_ENDPOINT
    );
    // The error estimate is honest: it bounds the actual error.
    let r = integrate(|x: f64| (10.0 * x).sin(), 0.0, 3.0, 1e-6, 0.0);
    let want = (1.0 - 30f64.cos()) / 10.0;
    assert!((r.value - want).abs() <= r.error.max(QUAD_ROUNDING_FLOOR));
    // Gauss–Legendre: weights sum to 2, exact on degree 2n-1.
    for n in [1usize, 6, 12, 20] {
        let (x, w) = gauss_legendre(n);
        assert!((w.iter().sum::<f64>() - 2.0).abs() < F64_SUM);
        let deg = 2 * n as i32 - 2;
        let s: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(deg)).sum();
        assert!((s - 2.0 / (deg as f64 + 1.0)).abs() < F64_SUM, "n = {n}");
    }
}
