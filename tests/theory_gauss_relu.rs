//! T6: Gaussian-ReLU moments, the bivariate normal cdf, F(a, b, rho) and the
//! inversions, against adaptive quadrature (an independent computation) and
//! Monte Carlo with confidence bounds.

#![allow(clippy::needless_range_loop)] // index loops mirror the math

use fsrgan::numerics::normal::{Phi, phi, q};
use fsrgan::testing::{
    BISECTION_ROUNDTRIP, CENTRAL_DIFF, CROSS_MOMENT_SCALE_FLOOR, CROSS_MOMENT_VS_QUAD, F64_FEW_OPS,
    F64_LAST_ROUNDING, F64_ROUNDOFF, F64_SUM, FAULT_GAP, PHI2_ACCURACY, PHI2_VS_QUAD,
    RELU_MOMENTS_VS_QUAD, RELU_TAIL_VS_QUAD, RHO_LIMIT_CONTINUITY, SCALE_FLOOR,
};
use fsrgan::theory::bvn::Phi2;
use fsrgan::theory::gauss_relu::*;

fn i_k_quad(t: f64, k: usize) -> f64 {
    fsrgan::theory::reference::relu_moment(t, k).expect("quadrature converges")
}

#[test]
fn closed_forms_match_quadrature_to_1e10_on_t_in_minus8_8_orders_0_to_6() {
    // Tolerance 1e-10 (issue): the quadrature is accurate to ~1e-14 relative.
    let mut worst: f64 = 0.0;
    for i in 0..=160 {
        let t = -8.0 + 0.1 * i as f64;
        let ms = relu_moments(t, 6);
        for k in 0..=6 {
            let want = i_k_quad(t, k);
            let rel = (ms[k] - want).abs() / want;
            worst = worst.max(rel);
            assert!(
                rel <= RELU_MOMENTS_VS_QUAD,
                "t = {t}, k = {k}: {} vs {want} (rel {rel:e})",
                ms[k]
            );
        }
    }
    eprintln!("worst relative error over t in [-8, 8], k = 0..6: {worst:e}");
    // Beyond the grid: the backward recursion stays accurate far in the tail.
    for t in [10.0, 20.0, 37.0] {
        let ms = relu_moments(t, 6);
        for k in 0..=6 {
            let want = i_k_quad(t, k);
            assert!(
                (ms[k] - want).abs() <= RELU_TAIL_VS_QUAD * want,
                "t = {t}, k = {k}"
            );
        }
    }
}

#[test]
fn table_of_theory_md_and_the_reflection_law() {
    // The closed forms of theory.md's table, where they do not cancel (t <= 0).
    for t in [-3.0f64, -1.0, -0.2, 0.0] {
        let (p, qq) = (phi(t), q(t));
        let table = [
            qq,
            p - t * qq,
            (1.0 + t * t) * qq - t * p,
            (t * t + 2.0) * p - t * (t * t + 3.0) * qq,
            (t.powi(4) + 6.0 * t * t + 3.0) * qq - t * (t * t + 5.0) * p,
        ];
        let ms = relu_moments(t, 4);
        for k in 0..=4 {
            assert!(
                (ms[k] - table[k]).abs() <= F64_SUM * table[k].abs().max(SCALE_FLOOR),
                "t = {t}, k = {k}"
            );
        }
    }
    // I_k(-t) + (-1)^k I_k(t) = E[(g + t)^k] (numerics.md): no reference needed.
    let gauss_moment = |j: usize| {
        if j % 2 == 1 {
            0.0
        } else {
            (1..j).step_by(2).map(|x| x as f64).product::<f64>()
        }
    };
    let binom =
        |n: usize, k: usize| (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64);
    for t in [0.3f64, 1.5, 2.5, 4.0, 6.0] {
        let (m_neg, m_pos) = (relu_moments(-t, 6), relu_moments(t, 6));
        for k in 0..=6usize {
            let sign = if k % 2 == 0 { 1.0 } else { -1.0 };
            let lhs = m_neg[k] + sign * m_pos[k];
            let rhs: f64 = (0..=k)
                .map(|j| binom(k, j) * gauss_moment(j) * t.powi((k - j) as i32))
                .sum();
            assert!(
                (lhs - rhs).abs() <= F64_ROUNDOFF * rhs.abs().max(1.0),
                "t = {t}, k = {k}: {lhs} vs {rhs}"
            );
        }
    }
    // A wrong closed form fails: I_2 with (1 + t) instead of (1 + t^2).
    let t = 0.5;
    let wrong = (1.0 + t) * q(t) - t * phi(t);
    assert!((wrong - i_k_quad(t, 2)).abs() > FAULT_GAP);
}

use fsrgan::theory::reference::{Phi2 as phi2_quad, cross_moment as f_quad};

#[test]
fn bivariate_normal_cdf_within_1e12_of_quadrature_up_to_rho_0999() {
    let mut worst: f64 = 0.0;
    let grid = [-5.0, -2.5, -1.0, -0.3, 0.0, 0.4, 1.2, 2.0, 3.5, 6.0];
    let rhos = [
        -0.999, -0.99, -0.95, -0.925, -0.9, -0.75, -0.5, -0.3, -0.1, 0.0, 0.1, 0.3, 0.5, 0.75, 0.9,
        0.925, 0.95, 0.99, 0.999,
    ];
    for &a in &grid {
        for &b in &grid {
            for &rho in &rhos {
                let (got, want) = (Phi2(a, b, rho), phi2_quad(a, b, rho));
                worst = worst.max((got - want).abs());
                assert!(
                    (got - want).abs() <= PHI2_VS_QUAD,
                    "Phi2({a}, {b}; {rho}) = {got}, quadrature {want}"
                );
            }
        }
    }
    eprintln!("worst absolute error of Phi2 on the grid: {worst:e}");
    // Closed forms at rho = 0 and the arcsine law at a = b = 0 (numerics.md).
    assert!(
        (Phi2(0.0, 0.0, 0.6) - (0.25 + 0.6f64.asin() / (2.0 * std::f64::consts::PI))).abs()
            < PHI2_ACCURACY
    );
    assert!((Phi2(0.7, -0.2, 0.0) - Phi(0.7) * Phi(-0.2)).abs() < F64_LAST_ROUNDING);
    assert!((Phi2(0.7, -0.2, 1.0) - Phi(-0.2)).abs() < F64_LAST_ROUNDING);
    // A wrong rho is detected at this tolerance.
    assert!((Phi2(0.5, 0.5, 0.9) - phi2_quad(0.5, 0.5, 0.9 + 1e-6)).abs() > PHI2_VS_QUAD);
}

#[test]
fn cross_moment_matches_quadrature_and_its_rho_derivative_is_phi2() {
    for &a in &[-1.5, -0.2, 0.0, 0.8, 2.0] {
        for &b in &[-1.0, 0.3, 1.1, 2.5] {
            for &rho in &[-0.95, -0.6, -0.2, 0.0, 0.35, 0.7, 0.97] {
                let (got, want) = (cross_moment(a, b, rho), f_quad(a, b, rho));
                assert!(
                    (got - want).abs()
                        <= CROSS_MOMENT_VS_QUAD * want.abs().max(CROSS_MOMENT_SCALE_FLOOR),
                    "F({a}, {b}, {rho}) = {got} vs {want}"
                );
                // Price's theorem: dF/drho = Phi2(-a, -b; rho), central difference h = 1e-5
                // (truncation error ~h^2 F''' ~ 1e-10).
                let h = 1e-5;
                let d = (cross_moment(a, b, rho + h) - cross_moment(a, b, rho - h)) / (2.0 * h);
                assert!(
                    (d - Phi2(-a, -b, rho)).abs() < CENTRAL_DIFF,
                    "dF/drho at ({a}, {b}, {rho})"
                );
            }
        }
    }
    // The limits |rho| = 1 are continuous with the formula.
    for &(a, b) in &[(0.3, -0.4), (-0.5, 0.2), (1.0, 1.0)] {
        assert!(
            (cross_moment(a, b, 1.0) - cross_moment(a, b, 1.0 - 1e-9)).abs() < RHO_LIMIT_CONTINUITY
        );
        assert!(
            (cross_moment(a, b, -1.0) - cross_moment(a, b, -1.0 + 1e-9)).abs()
                < RHO_LIMIT_CONTINUITY
        );
    }
    // Zero thresholds: the arc-cosine kernel (numerics.md).
    let rho: f64 = 0.4;
    let th = rho.acos();
    let want = (th.sin() + (std::f64::consts::PI - th) * th.cos()) / (2.0 * std::f64::consts::PI);
    assert!((cross_moment(0.0, 0.0, rho) - want).abs() < F64_FEW_OPS);
    // A wrong formula fails: dropping the s phi phi term.
    let s = (1.0 - rho * rho).sqrt();
    assert!((cross_moment(0.0, 0.0, rho) - s * phi(0.0) * phi(0.0) - want).abs() > FAULT_GAP);
}

#[test]
fn inversions_recover_alpha_beta_and_rho_from_exact_moments() {
    for &(alpha, beta) in &[(0.8, -0.5), (1.0, 0.0), (1.2, 1.3), (0.9, 2.2)] {
        let (m1, m2) = (relu_moment(alpha, beta, 1), relu_moment(alpha, beta, 2));
        let (a, b) = alpha_beta_from_moments(m1, m2).unwrap();
        assert!(
            (a - alpha).abs() < BISECTION_ROUNDTRIP && (b - beta).abs() < BISECTION_ROUNDTRIP,
            "({a}, {b}) vs ({alpha}, {beta})"
        );
    }
    for &rho in &[-0.8, -0.1, 0.0, 0.45, 0.93] {
        let (ai, ti, aj, tj) = (1.1, 0.7, 0.9, 1.4);
        let m12 = ai * aj * cross_moment(ti, tj, rho);
        let r = rho_from_cross_moment(m12, (ai, ti), (aj, tj)).unwrap();
        assert!((r - rho).abs() < BISECTION_ROUNDTRIP, "{r} vs {rho}");
    }
    // The ratio is increasing (so the inversion is unique).
    let mut prev = 0.0;
    for i in 0..200 {
        let r = moment_ratio(-10.0 + 0.1 * i as f64);
        assert!(r > prev);
        prev = r;
    }
    assert!(
        alpha_beta_from_moments(1.0, 0.5).is_err(),
        "E[y^2] < E[y]^2 is impossible"
    );
    assert!(alpha_beta_from_moments(-1.0, 1.0).is_err());
}

/// Level-1 codes of the FSR model (`tiny`, 10^6 samples): each unit is
/// `ReLU(alpha_j <w[j,p], z> - beta_j)`; the truth is in the parameters.
#[test]
fn alpha_beta_rho_recovered_from_model_samples_within_the_delta_method_error() {
    use fsrgan::model::{Config, Params, Sampler};
    use fsrgan::testing::Z_MC;
    let p = Params::generate(&Config::preset("tiny").unwrap(), 21).unwrap();
    let n = 1_000_000;
    let batch = Sampler::new(&p, 21).sample(0, n);
    let s1 = &batch.s[0];
    let unit = |j: usize, py: usize, px: usize| -> Vec<f64> {
        (0..n).map(|b| s1[[b, j, py, px]]).collect()
    };
    // False-failure rate 5.7e-7 per assertion (z = 5), 4 + 4 + 3 assertions.
    for j in 0..4 {
        let y = unit(j, 0, 0);
        let (a, b) = estimate_alpha_beta(&y).unwrap();
        let (alpha, beta) = (p.level1.alpha[j], p.level1.beta[j]);
        assert!(
            a.covers(alpha, Z_MC),
            "channel {j}: alpha {} +- {} vs {alpha}",
            a.value,
            a.se
        );
        assert!(
            b.covers(beta, Z_MC),
            "channel {j}: beta {} +- {} vs {beta}",
            b.value,
            b.se
        );
        // Power: a 3% error in alpha would be detected.
        assert!(
            !a.covers(1.03 * alpha, Z_MC),
            "channel {j}: se {} too large to see 3%",
            a.se
        );
    }
    let w = &p.level1.w;
    for (u, v) in [
        ((0, 0, 0), (1, 0, 0)),
        ((2, 0, 1), (3, 1, 1)),
        ((0, 1, 0), (0, 1, 1)),
    ] {
        let rho: f64 = (0..p.config.d0)
            .map(|i| w[[u.0, u.1, u.2, i]] * w[[v.0, v.1, v.2, i]])
            .sum();
        let est = estimate_rho(&unit(u.0, u.1, u.2), &unit(v.0, v.1, v.2)).unwrap();
        assert!(
            est.covers(rho, Z_MC),
            "rho {} +- {} vs {rho}",
            est.value,
            est.se
        );
        assert!(
            !est.covers(rho + 0.05, Z_MC),
            "se {} too large to see 0.05",
            est.se
        );
    }
}
