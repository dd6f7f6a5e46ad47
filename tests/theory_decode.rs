//! T7 (a regularised linear discriminator is squared moment matching) and T8
//! (sparse decoding and its coherence window, with the corrected upper end).

use fsrgan::numerics::montecarlo::MeanCov;
use fsrgan::testing::{F64_FEW_OPS, F64_ROUNDOFF, F64_SUM, Z_MC};
use fsrgan::theory::discriminator::*;
use fsrgan::theory::sparse_decode::*;
use fsrgan::theory::tensor_decomp::random_orthonormal;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

#[test]
fn t7_optimum_is_delta_over_gamma_and_gradient_ascent_finds_it() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for _ in 0..20 {
        let delta: Vec<f64> = (0..6).map(|_| StandardNormal.sample(&mut rng)).collect();
        let gamma = rng.random_range(0.1..3.0);
        let (lambda, v) = optimum(&delta, gamma);
        assert!((objective(&lambda, &delta, gamma) - v).abs() < F64_SUM * v.max(1.0));
        // Gradient ascent contracts by (1 - eta gamma) per step: after 400 steps
        // with eta gamma = 0.5 the distance is 2^-400 of the start, i.e. round-off.
        let ga = gradient_ascent(&delta, gamma, 0.5 / gamma, 400);
        for (a, b) in ga.iter().zip(&lambda) {
            assert!((a - b).abs() < F64_ROUNDOFF * b.abs().max(1.0));
        }
        for _ in 0..5 {
            let pert: Vec<f64> = lambda
                .iter()
                .map(|l| l + rng.random_range(-0.1..0.1))
                .collect();
            assert!(objective(&pert, &delta, gamma) < v);
        }
    }
}

#[test]
fn t7_gan_value_with_moment_features_is_squared_moment_matching() {
    // Data N(0, 1), generator N(0.3, 1.2^2), features (x, x^2, x^3, x^4).
    let (m, s) = (0.3f64, 1.2f64);
    let gauss = |c: i32| -> f64 {
        // E (m + s Z)^c by the binomial formula with E Z^j = (j-1)!! (even j).
        let dfact = |j: i32| {
            if j % 2 == 1 {
                0.0
            } else {
                (1..j).step_by(2).map(f64::from).product::<f64>()
            }
        };
        let binom =
            |n: i32, k: i32| (0..k).fold(1.0, |acc, i| acc * f64::from(n - i) / f64::from(i + 1));
        (0..=c)
            .map(|j| binom(c, j) * m.powi(c - j) * s.powi(j) * dfact(j))
            .sum()
    };
    let std_moments = [0.0, 1.0, 0.0, 3.0];
    let delta: Vec<f64> = (1..=4)
        .map(|c| std_moments[c as usize - 1] - gauss(c))
        .collect();
    let gamma = 2.0;
    let (_, truth) = optimum(&delta, gamma);
    // Monte Carlo: the value from sample moments, with a delta-method error bar.
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let n = 400_000;
    let xd: Vec<f64> = (0..n).map(|_| StandardNormal.sample(&mut rng)).collect();
    let xg: Vec<f64> = (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            m + s * z
        })
        .collect();
    // Paired rows (independent samples) so one delta method covers both.
    let mc = MeanCov::from_rows(n, 8, |i, b| {
        for c in 0..4 {
            b[c] = xd[i].powi(c as i32 + 1);
            b[4 + c] = xg[i].powi(c as i32 + 1);
        }
    });
    let est = mc
        .delta(|mu| -> Result<f64, ()> {
            let d: Vec<f64> = (0..4).map(|c| mu[c] - mu[4 + c]).collect();
            Ok(optimum(&d, gamma).1)
        })
        .unwrap();
    assert!(est.covers(truth, Z_MC), "{est:?} vs {truth}");
    // Wrong gamma: the same estimate is far outside the bound.
    assert!(!est.covers(optimum(&delta, 1.5 * gamma).1, Z_MC));
    assert!((moment_features(&[1.0, 2.0], 2)[1] - 2.5).abs() < F64_FEW_OPS);
}

#[test]
fn t8_orthonormal_decoding_is_exact() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let atoms = random_orthonormal(16, 12, &mut rng);
    let mut s = vec![0.0; 12];
    s[3] = 1.5;
    s[7] = 0.2;
    let x: Vec<f64> = (0..16)
        .map(|r| atoms.iter().zip(&s).map(|(a, c)| a[r] * c).sum())
        .collect();
    let d = decode(&atoms, &x, 0.0);
    for (a, b) in d.iter().zip(&s) {
        assert!((a - b).abs() < F64_FEW_OPS);
    }
    assert!(coherence(&atoms) < F64_FEW_OPS);
}

#[test]
fn t8_theory_md_window_is_insufficient_and_the_corrected_one_is_not() {
    // Two atoms with <a1, a2> = -mu and codes (1, 2): theory.md's window
    // mu k M < tau < min s allows tau = 0.9 for mu = 0.2, but a1's correlation
    // is 1 - 0.2 * 2 = 0.6 < tau, so a1 is lost.
    let mu: f64 = 0.2;
    let a1 = vec![1.0, 0.0];
    let a2 = vec![-mu, (1.0 - mu * mu).sqrt()];
    let atoms = vec![a1, a2];
    let s = [1.0, 2.0];
    let x: Vec<f64> = (0..2)
        .map(|r| atoms[0][r] * s[0] + atoms[1][r] * s[1])
        .collect();
    let tau = 0.9;
    assert!(
        mu * 2.0 * 2.0 < tau && tau < 1.0,
        "tau is inside theory.md's window"
    );
    assert!(
        !same_support(&decode(&atoms, &x, tau), &s),
        "support was recovered: no counterexample"
    );
    let (lo, hi) = tau_window(mu, &s);
    assert!(lo >= hi, "the corrected window is empty here");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5EED_0002), ..ProptestConfig::default() })]
    /// Inside the corrected window the support is always recovered.
    #[test]
    fn t8_support_recovered_inside_the_corrected_window(seed in any::<u64>(), d in 8usize..40, k in 1usize..4, frac in 0.05f64..0.95) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let m = d;
        let atoms: Vec<Vec<f64>> = (0..m).map(|_| {
            let v: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut rng)).collect();
            let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
            v.iter().map(|a| a / n).collect()
        }).collect();
        let mu = coherence(&atoms);
        let mut s = vec![0.0; m];
        for i in 0..k { s[(i * 7 + seed as usize) % m] = rng.random_range(1.0..1.2); }
        let (lo, hi) = tau_window(mu, &s);
        prop_assume!(lo < hi);
        let tau = lo + frac * (hi - lo);
        let x: Vec<f64> = (0..d).map(|r| atoms.iter().zip(&s).map(|(a, c)| a[r] * c).sum()).collect();
        prop_assert!(same_support(&decode(&atoms, &x, tau), &s));
    }
}

#[test]
fn t8_recovery_degrades_as_coherence_grows() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    // Fixed m = 32 atoms, k = 2: smaller d means larger mu and worse recovery.
    let rates: Vec<(f64, f64)> = [256usize, 64, 24]
        .iter()
        .map(|&d| recovery_rate(d, 32, 2, 300, &mut rng))
        .collect();
    eprintln!("(rate, mean mu) at d = 256, 64, 24: {rates:?}");
    assert!(
        rates.windows(2).all(|w| w[0].1 < w[1].1),
        "mu grows as d shrinks"
    );
    assert!(
        rates.windows(2).all(|w| w[0].0 > w[1].0),
        "recovery falls as mu grows: {rates:?}"
    );
}
