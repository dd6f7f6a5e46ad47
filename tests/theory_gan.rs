//! T1–T3: the optimal discriminator and the JS identity, MLE = KL, generator
//! losses, WGAN duality, least-squares and hinge discriminators; divergences
//! against closed forms, quadrature and Monte Carlo.

use fsrgan::testing::{
    BEYOND_ROUNDING, CENTRAL_DIFF, CENTRAL_DIFF_OF_QUADRATURE, F64_FEW_OPS, F64_LOG_SUM,
    F64_PER_TERM, F64_ROUNDOFF, F64_SUM, FAULT_GAP, NEAR_EQUAL_KL_REL, QUAD_DIVERGENCE_ABS,
    QUAD_DIVERGENCE_REL, QUAD_VS_CLOSED_FORM, STRICT_GAP, VANISHED_GRADIENT, Z_MC,
};
use fsrgan::theory::divergence::*;
use fsrgan::theory::gan::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};

fn dirichlet(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    let v: Vec<f64> = (0..n).map(|_| Exp1.sample(rng)).collect();
    let s: f64 = v.iter().sum();
    let mut p: Vec<f64> = v.iter().map(|x| x / s).collect();
    // Renormalise so the sum is 1 to rounding (check_probabilities needs 1e-12).
    let s2: f64 = p.iter().sum();
    p.iter_mut().for_each(|x| *x /= s2);
    p
}

#[test]
fn t1_discrete_value_at_d_star_is_minus_log4_plus_2_jsd_and_d_star_is_the_maximiser() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for n in [2usize, 5, 30, 200] {
        for _ in 0..20 {
            let (p, q) = (dirichlet(&mut rng, n), dirichlet(&mut rng, n));
            let (v, rhs) = jsd_identity_discrete(&p, &q).unwrap();
            // Both are sums of n terms of size <= 1: agreement to 1e-14 n.
            assert!(
                (v - rhs).abs() <= F64_PER_TERM * n as f64,
                "n = {n}: {v} vs {rhs}"
            );
            let j = js(&p, &q).unwrap();
            assert!((0.0..=std::f64::consts::LN_2).contains(&j));
            // Any other D is worse: perturb the logits.
            let star = d_star_logit_discrete(&p, &q);
            for eps in [1e-3, 0.1, 1.0] {
                let pert: Vec<f64> = star
                    .iter()
                    .map(|l| l + eps * rng.random_range(-1.0..1.0))
                    .collect();
                assert!(
                    value_discrete(&p, &q, &pert).unwrap() < v,
                    "a perturbed D* did not lower V"
                );
            }
        }
    }
    // p = q: V(D*) = -log 4 exactly (JS = 0), and only then.
    let p = dirichlet(&mut rng, 10);
    let (v, _) = jsd_identity_discrete(&p, &p).unwrap();
    assert!((v + 4f64.ln()).abs() < F64_FEW_OPS);
    let mut q = p.clone();
    q[0] += 1e-3;
    q[1] -= 1e-3;
    assert!(jsd_identity_discrete(&p, &q).unwrap().0 > -4f64.ln() + BEYOND_ROUNDING);
    // Wrong input: the identity with JS replaced by KL fails.
    let (p, q) = (dirichlet(&mut rng, 5), dirichlet(&mut rng, 5));
    let (v, _) = jsd_identity_discrete(&p, &q).unwrap();
    assert!((v - (-4f64.ln() + 2.0 * kl(&p, &q).unwrap())).abs() > FAULT_GAP);
    // Bad input is an error, not a panic.
    assert!(jsd_identity_discrete(&[0.5, 0.6], &[0.5, 0.5]).is_err());
    assert!(jsd_identity_discrete(&[1.0], &[0.5, 0.5]).is_err());
}

#[test]
fn t1_gaussians_and_mixtures_by_quadrature() {
    let pairs: Vec<(GaussianMixture, GaussianMixture)> = vec![
        (mix(&[(1.0, 0.0, 1.0)]), mix(&[(1.0, 1.5, 0.7)])),
        (
            mix(&[(0.3, -2.0, 0.5), (0.7, 1.0, 1.0)]),
            mix(&[(0.5, 0.0, 2.0), (0.5, 3.0, 0.3)]),
        ),
        (mix(&[(1.0, 0.0, 1.0)]), mix(&[(1.0, 0.0, 1.0)])),
    ];
    for (p, q) in &pairs {
        let v = value_at_d_star_density(p, q);
        let j = js_density(p, q);
        assert!(v.converged && j.converged);
        // Quadrature errors ~1e-13 relative; 1e-11 absolute leaves a margin.
        assert!(
            (v.value - (-4f64.ln() + 2.0 * j.value)).abs() < QUAD_VS_CLOSED_FORM,
            "{} vs {}",
            v.value,
            j.value
        );
        // The same V through the logit path, and a perturbed D, lower.
        let star = |x: f64| p.log_pdf(x) - q.log_pdf(x);
        let v2 = value_density(p, q, star);
        assert!((v2.value - v.value).abs() < QUAD_VS_CLOSED_FORM);
        let worse = value_density(p, q, |x| star(x) + 0.3 * (x).sin());
        assert!(worse.value < v.value - STRICT_GAP);
    }
}

fn mix(parts: &[(f64, f64, f64)]) -> GaussianMixture {
    GaussianMixture {
        parts: parts
            .iter()
            .map(|&(w, m, s)| (w, Gaussian { mean: m, sd: s }))
            .collect(),
    }
}

#[test]
fn t1_monte_carlo_value_with_exact_d_star_is_within_5_se() {
    // False-failure rate 5.7e-7 (z = 5).
    let (p, q) = (
        Gaussian { mean: 0.0, sd: 1.0 },
        Gaussian { mean: 1.0, sd: 1.5 },
    );
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let n = 200_000;
    let xs: Vec<f64> = (0..n)
        .map(|_| {
            p.mean
                + p.sd * {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    z
                }
        })
        .collect();
    let ys: Vec<f64> = (0..n)
        .map(|_| {
            q.mean
                + q.sd * {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    z
                }
        })
        .collect();
    let logit = |x: f64| p.log_pdf(x) - q.log_pdf(x);
    let est = |shift: f64| {
        let a = fsrgan::numerics::montecarlo::mean_estimate(
            xs.iter().map(|&x| log_sigmoid(logit(x) + shift)),
        );
        let b = fsrgan::numerics::montecarlo::mean_estimate(
            ys.iter().map(|&y| log_sigmoid(-(logit(y) + shift))),
        );
        (a.value + b.value, (a.se * a.se + b.se * b.se).sqrt())
    };
    let truth = -4f64.ln() + 2.0 * js_density(&p, &q).value;
    let (v, se) = est(0.0);
    assert!((v - truth).abs() <= Z_MC * se, "{v} +- {se} vs {truth}");
    // Power: a discriminator off by a constant logit 0.2 is detected.
    let (v, se) = est(0.2);
    assert!(
        (v - truth).abs() > Z_MC * se,
        "a wrong D passed: {v} +- {se} vs {truth}"
    );
}

#[test]
fn divergences_closed_forms_vs_quadrature_vs_monte_carlo() {
    let cases = [
        (0.0, 1.0, 0.5, 1.0),
        (0.0, 1.0, 0.0, 2.0),
        (-1.0, 0.3, 2.0, 1.7),
        (0.0, 1.0, 0.0, 1.0 + 1e-9),
    ];
    for &(m1, s1, m2, s2) in &cases {
        let (p, q) = (Gaussian { mean: m1, sd: s1 }, Gaussian { mean: m2, sd: s2 });
        let k = kl_density(&p, &q);
        assert!(
            (kl_gaussian(p, q) - k.value).abs()
                <= QUAD_DIVERGENCE_ABS + QUAD_DIVERGENCE_REL * k.value,
            "KL {m1} {s1} {m2} {s2}"
        );
        let h = hellinger2_density(&p, &q);
        assert!(
            (hellinger2_gaussian(p, q) - h.value).abs() <= QUAD_DIVERGENCE_ABS,
            "H2"
        );
        if s1 == s2 {
            assert!(
                (tv_gaussian_equal_var(m1, m2, s1) - tv_density(&p, &q).value).abs()
                    < QUAD_VS_CLOSED_FORM
            );
            assert!(((m1 - m2).abs() - w1_density(&p, &q).value).abs() < QUAD_VS_CLOSED_FORM);
        }
        if m1 == m2 {
            // Same location: quantile coupling gives W1 = |s1 - s2| E|Z| = |s1 - s2| sqrt(2/pi).
            let want = (s1 - s2).abs() * (2.0 / std::f64::consts::PI).sqrt();
            assert!((w1_density(&p, &q).value - want).abs() < QUAD_VS_CLOSED_FORM);
        }
    }
    // Nearly equal variances: the stable closed form keeps full relative accuracy,
    // compared with the second-order expansion KL = u^2/4 + O(u^3), u = s1^2/s2^2 - 1.
    let (p, q) = (
        Gaussian {
            mean: 0.0,
            sd: 1.0 + 1e-9,
        },
        Gaussian { mean: 0.0, sd: 1.0 },
    );
    let u = (1.0f64 + 1e-9).powi(2) - 1.0;
    let series = u * u / 4.0 - u * u * u / 6.0;
    assert!((kl_gaussian(p, q) - series).abs() <= NEAR_EQUAL_KL_REL * series);
    // Monte Carlo KL within 5 se of the closed form, and power against a 10% error.
    let (p, q) = (
        Gaussian { mean: 0.0, sd: 1.0 },
        Gaussian { mean: 0.7, sd: 1.3 },
    );
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let xs: Vec<f64> = (0..100_000)
        .map(|_| StandardNormal.sample(&mut rng))
        .collect();
    let est = kl_monte_carlo(&p, &q, &xs);
    let truth = kl_gaussian(p, q);
    assert!(
        est.covers(truth, Z_MC) && !est.covers(1.1 * truth, Z_MC),
        "{est:?} vs {truth}"
    );
    // Discrete: KL of nearly equal distributions against its series, TV/Hellinger bounds.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let p = dirichlet(&mut rng, 50);
    let dq: Vec<f64> = (0..50)
        .map(|i| if i % 2 == 0 { 1e-7 } else { -1e-7 })
        .collect();
    let q: Vec<f64> = p
        .iter()
        .zip(&dq)
        .map(|(a, d)| a + d * a.min(1e-3))
        .collect();
    let qs: f64 = q.iter().sum();
    let q: Vec<f64> = q.iter().map(|x| x / qs).collect();
    let series: f64 = p
        .iter()
        .zip(&q)
        .map(|(a, b)| {
            let d = b / a - 1.0;
            a * (d * d / 2.0 - d * d * d / 3.0)
        })
        .sum();
    assert!((kl(&p, &q).unwrap() - series).abs() <= NEAR_EQUAL_KL_REL * series);
    assert_eq!(kl(&p, &p).unwrap(), 0.0);
    let r = dirichlet(&mut rng, 50);
    let (t, h) = (tv(&p, &r).unwrap(), hellinger(&p, &r).unwrap());
    // Le Cam: H^2 <= TV <= H sqrt(2 - H^2).
    assert!(h * h <= t && t <= h * (2.0 - h * h).sqrt());
    assert!(kl(&p, &[0.0; 50]).is_err());
}

#[test]
fn t2_average_log_likelihood_is_minus_entropy_minus_kl() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for _ in 0..50 {
        let (p, q) = (dirichlet(&mut rng, 12), dirichlet(&mut rng, 12));
        let (lhs, rhs) = mle_kl_identity_discrete(&p, &q).unwrap();
        assert!((lhs - rhs).abs() < F64_LOG_SUM, "{lhs} vs {rhs}");
    }
    // Gaussian location-scale family: E_p log q_theta in closed form; its arg-max
    // over a grid of theta equals the arg-min of the closed-form KL.
    let p = Gaussian { mean: 0.3, sd: 1.2 };
    let loglik = |m: f64, s: f64| {
        -0.5 * (2.0 * std::f64::consts::PI * s * s).ln()
            - (p.sd * p.sd + (p.mean - m).powi(2)) / (2.0 * s * s)
    };
    let entropy = 0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E * p.sd * p.sd).ln();
    let mut best_ll = (f64::NEG_INFINITY, 0.0, 0.0);
    let mut best_kl = (f64::INFINITY, 0.0, 0.0);
    for i in 0..61 {
        for j in 1..41 {
            let (m, s) = (-1.5 + 0.05 * i as f64, 0.05 * j as f64);
            let ll = loglik(m, s);
            let k = kl_gaussian(p, Gaussian { mean: m, sd: s });
            assert!((ll - (-entropy - k)).abs() < F64_ROUNDOFF);
            if ll > best_ll.0 {
                best_ll = (ll, m, s);
            }
            if k < best_kl.0 {
                best_kl = (k, m, s);
            }
        }
    }
    assert_eq!((best_ll.1, best_ll.2), (best_kl.1, best_kl.2));
    assert!((best_ll.1 - 0.3).abs() < 0.026 && (best_ll.2 - 1.2).abs() < 0.026);
    // Wrong: dropping the entropy term breaks the identity.
    let (p, q) = (dirichlet(&mut rng, 6), dirichlet(&mut rng, 6));
    let (lhs, _) = mle_kl_identity_discrete(&p, &q).unwrap();
    assert!((lhs + kl(&p, &q).unwrap()).abs() > FAULT_GAP);
}

#[test]
fn t3_saturating_vs_non_saturating_gradients() {
    for l in [-30.0, -8.0, -2.0, 0.0, 1.5, 6.0] {
        let (gs, gn) = generator_loss_gradients(l);
        // Central differences, h = 1e-6: truncation ~1e-12, rounding ~1e-10.
        let h = 1e-6;
        let (a1, b1) = generator_losses(l + h);
        let (a0, b0) = generator_losses(l - h);
        assert!(
            (gs - (a1 - a0) / (2.0 * h)).abs() < CENTRAL_DIFF,
            "saturating at {l}"
        );
        assert!(
            (gn - (b1 - b0) / (2.0 * h)).abs() < CENTRAL_DIFF,
            "non-saturating at {l}"
        );
    }
    // As D(G(z)) -> 0 (logit -> -inf) the saturating gradient vanishes and the
    // non-saturating one tends to -1.
    let (gs, gn) = generator_loss_gradients(-30.0);
    assert!(gs.abs() < VANISHED_GRADIENT && (gn + 1.0).abs() < VANISHED_GRADIENT);
    // Same fixed point: with D = D* of p_data = N(0,1) vs p_g = N(mu,1), the
    // generator objectives' derivatives in mu vanish at mu = 0 and share their sign elsewhere.
    let p = Gaussian { mean: 0.0, sd: 1.0 };
    let grad = |mu0: f64, ns: bool| {
        let q0 = Gaussian { mean: mu0, sd: 1.0 };
        let logit = move |x: f64| p.log_pdf(x) - q0.log_pdf(x);
        let obj = |mu: f64| {
            let q = Gaussian { mean: mu, sd: 1.0 };
            fsrgan::numerics::quadrature::integrate_real_line(
                |x| {
                    let (s, n) = generator_losses(logit(x));
                    (q.log_pdf(x)).exp() * if ns { n } else { s }
                },
                1e-15,
                1e-13,
            )
            .value
        };
        (obj(mu0 + 1e-4) - obj(mu0 - 1e-4)) / 2e-4
    };
    assert!(
        grad(0.0, false).abs() < CENTRAL_DIFF_OF_QUADRATURE
            && grad(0.0, true).abs() < CENTRAL_DIFF_OF_QUADRATURE
    );
    for mu in [-1.0, 0.5, 2.0] {
        let (a, b) = (grad(mu, false), grad(mu, true));
        assert!(a * b > 0.0 && a.abs() > FAULT_GAP, "mu = {mu}: {a} vs {b}");
    }
}

#[test]
fn t3_wgan_duality_optimal_critic_and_vertex_lp() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for n in [2usize, 3, 6, 10] {
        for _ in 0..10 {
            let mut xs: Vec<f64> = (0..n).map(|_| rng.random_range(-3.0..3.0)).collect();
            xs.sort_by(f64::total_cmp);
            let (p, q) = (dirichlet(&mut rng, n), dirichlet(&mut rng, n));
            let w = w1_discrete(&xs, &p, &q).unwrap();
            let f = optimal_critic_discrete(&xs, &p, &q);
            assert!((critic_gap(&p, &q, &f) - w).abs() < F64_PER_TERM * n as f64);
            let lp = kantorovich_lp_by_vertices(&xs, &p, &q).unwrap();
            assert!(
                (lp - w).abs() < F64_PER_TERM * n as f64,
                "LP {lp} vs W1 {w}"
            );
            // Any other 1-Lipschitz function does no better.
            for _ in 0..5 {
                let mut g = vec![0.0; n];
                for i in 1..n {
                    g[i] = g[i - 1] + rng.random_range(-1.0..1.0) * (xs[i] - xs[i - 1]);
                }
                assert!(critic_gap(&p, &q, &g) <= w + F64_SUM);
            }
            // A 2-Lipschitz critic (not admissible) can exceed W1: the constraint matters.
            let g2: Vec<f64> = f.iter().map(|v| 2.0 * v).collect();
            if w > 1e-9 {
                assert!(critic_gap(&p, &q, &g2) > w);
            }
        }
    }
}

#[test]
fn t3_least_squares_and_hinge_optimal_discriminators() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    for _ in 0..30 {
        let (p, q) = (dirichlet(&mut rng, 8), dirichlet(&mut rng, 8));
        let (d, v) = ls_optimum(&p, &q);
        assert!((ls_objective(&p, &q, &d) - v).abs() < F64_FEW_OPS);
        let (h, hv) = hinge_optimum(&p, &q).unwrap();
        assert!((hinge_objective(&p, &q, &h) - hv).abs() < F64_FEW_OPS);
        for _ in 0..10 {
            let dd: Vec<f64> = d.iter().map(|x| x + rng.random_range(-0.2..0.2)).collect();
            assert!(ls_objective(&p, &q, &dd) > v, "LS D* not the minimiser");
            let hh: Vec<f64> = h.iter().map(|x| x + rng.random_range(-0.2..0.2)).collect();
            assert!(
                hinge_objective(&p, &q, &hh) < hv + F64_FEW_OPS,
                "hinge D* not the maximiser"
            );
        }
        // Wrong: the GAN's D* = p/(p+q) is not the hinge optimum.
        assert!(hinge_objective(&p, &q, &d) < hv - STRICT_GAP);
    }
}
