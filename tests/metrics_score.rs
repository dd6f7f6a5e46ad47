//! The sample metrics of `fsrgan::metrics` (issue 10 item 5) against
//! independent truths: hand-computed Laplacian pyramids, closed forms of
//! `W1`, SWD and SSIM, a collapsed generator, and real-vs-real at the floor
//! with a prediction interval measured over independent real sets. Each
//! identity is also shown to fail for a wrong input.

use approx::assert_abs_diff_eq;
use fsrgan::metrics::score::{Reference, Score, ScoreOptions, check_set};
use fsrgan::metrics::{MetricsError, coverage, msssim, pyramid, swd};
use fsrgan::model::{Config, Params, Sampler};
use fsrgan::testing::{
    F64_EXACT_DYADIC, F64_FEW_OPS, F64_ROUNDOFF, F64_SUM, FAULT_GAP, PYRAMID_BOUNDARY_GAP, Z_MC,
};
use ndarray::{Array2, Array3, Array4, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use statrs::distribution::{ContinuousCDF, StudentsT};

fn tiny() -> Params {
    Params::generate(&Config::preset("tiny").unwrap(), 4).unwrap()
}

fn small() -> Params {
    Params::generate(&Config::preset("small").unwrap(), 4).unwrap()
}

/// `n` samples of `p` from the streams of `seed`, rounded to float32 as a dataset stores them.
fn draw(p: &Params, seed: u64, n: usize) -> Vec<Array4<f64>> {
    Sampler::new(p, seed)
        .sample(0, n)
        .x
        .into_iter()
        .map(|x| x.mapv(|v| f64::from(v as f32)))
        .collect()
}

#[test]
fn pyramid_and_msssim_scales_follow_the_resolution() {
    assert_eq!(pyramid::pyramid_sizes(4), vec![4]);
    assert_eq!(pyramid::pyramid_sizes(8), vec![8, 4]);
    assert_eq!(pyramid::pyramid_sizes(16), vec![16, 8, 4]);
    assert_eq!(pyramid::pyramid_sizes(64), vec![64, 32, 16, 8, 4]);
    assert_eq!(pyramid::pyramid_sizes(128).len(), 6);
    assert_eq!(msssim::scales(128), 5);
    assert_eq!(msssim::scales(4), 1);
    assert_eq!(pyramid::nhood_side(4), 4);
    assert_eq!(pyramid::nhood_side(16), 7);
    // The mirror boundary: -1 -> 1, n -> n - 2, period 2(n-1).
    let got: Vec<usize> = (-3..=9).map(|i| pyramid::reflect101(i, 8)).collect();
    assert_eq!(got, vec![3, 2, 1, 0, 1, 2, 3, 4, 5, 6, 7, 6, 5]);
}

/// The 1-D factor of the hand computation below: `up` of `d = (0, 1, 6, 1)/16`
/// on 8 pixels with the mirror boundary. With `z = (0, 0, 1, 0, 6, 0, 1, 0)/16`
/// (`d` at the even pixels) and `g = (1, 4, 6, 4, 1)/16`,
/// `u[X] = 2 sum_a g[a] z[mirror(X + a - 2)]`:
///
/// | X | taps (mirrored) | `16^2 u / 2` |
/// |---|---|---|
/// | 0 | z2 z1 z0 z1 z2 | 1 + 1 = 2 |
/// | 1 | z1 z0 z1 z2 z3 | 4 |
/// | 2 | z0..z4 | 6 + 6 = 12 |
/// | 3 | z1..z5 | 4 + 24 = 28 |
/// | 4 | z2..z6 | 1 + 36 + 1 = 38 |
/// | 5 | z3..z7 | 24 + 4 = 28 |
/// | 6 | z4 z5 z6 z7 z6 | 6 + 6 + 1 = 13 |
/// | 7 | z5 z6 z7 z6 z5 | 4 + 4 = 8 |
const U_MIRROR: [f64; 8] = [4.0, 8.0, 24.0, 56.0, 76.0, 56.0, 26.0, 16.0];
/// The same with zero padding instead of the mirror (the wrong boundary):
/// X = 0 loses its mirrored z2 (2 -> 1), X = 6 its z6 (13 -> 12), X = 7 its z6 (8 -> 4).
const U_ZERO: [f64; 8] = [2.0, 8.0, 24.0, 56.0, 76.0, 56.0, 24.0, 8.0];

/// The Laplacian pyramid of an 8x8 image with a unit impulse at (4, 4),
/// computed by hand: `down` keeps the filter taps that hit pixel 4 at the
/// even positions `2y + a - 2 = 4`, i.e. `d = (0, g[4], g[2], g[0]) = (0, 1, 6, 1)/16`
/// per axis (no boundary involved), so band 1 (the 4x4 Gaussian level) is
/// `d d^T`; band 0 is `delta - up(d d^T) = delta - u u^T` with `u` of
/// [`U_MIRROR`] / 256 (`up` is separable: `4 g g^T = (2g)(2g)^T`).
#[test]
fn laplacian_pyramid_of_an_8x8_impulse_matches_the_hand_computation() {
    let mut img = Array3::<f64>::zeros((1, 8, 8));
    img[[0, 4, 4]] = 1.0;
    let bands = pyramid::laplacian_pyramid(img.view(), 2);
    assert_eq!(bands.len(), 2);
    let d = [0.0, 1.0 / 16.0, 6.0 / 16.0, 1.0 / 16.0];
    for y in 0..4 {
        for x in 0..4 {
            assert_abs_diff_eq!(bands[1][[0, y, x]], d[y] * d[x], epsilon = F64_EXACT_DYADIC);
        }
    }
    let expect = |u: &[f64; 8], y: usize, x: usize| {
        let delta = if (y, x) == (4, 4) { 1.0 } else { 0.0 };
        delta - (u[y] / 256.0) * (u[x] / 256.0)
    };
    let mut worst_zero: f64 = 0.0;
    for y in 0..8 {
        for x in 0..8 {
            assert_abs_diff_eq!(
                bands[0][[0, y, x]],
                expect(&U_MIRROR, y, x),
                epsilon = F64_EXACT_DYADIC
            );
            worst_zero = worst_zero.max((bands[0][[0, y, x]] - expect(&U_ZERO, y, x)).abs());
        }
    }
    // The wrong (zero-padded) boundary is off by 10^-3 at the edge pixels.
    assert!(worst_zero > PYRAMID_BOUNDARY_GAP, "{worst_zero}");
}

/// Closed forms: a constant image has a zero detail band and a constant
/// coarse band (the filter sums to 1, `up` keeps constants with the mirror
/// boundary); any image is `up(L_1) + L_0` exactly (the pyramid's definition
/// inverted), to round-off.
#[test]
fn laplacian_pyramid_of_constants_and_its_reconstruction() {
    let c = Array3::<f64>::from_elem((2, 16, 16), 0.75);
    let bands = pyramid::laplacian_pyramid(c.view(), 3);
    assert_eq!(
        bands.iter().map(|b| b.dim().1).collect::<Vec<_>>(),
        vec![16, 8, 4]
    );
    for b in &bands[..2] {
        assert!(b.iter().all(|v| v.abs() < F64_FEW_OPS));
    }
    assert!(bands[2].iter().all(|v| (v - 0.75).abs() < F64_FEW_OPS));
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let img = Array3::from_shape_fn((3, 16, 16), |_| rng.random::<f64>() - 0.5);
    let bands = pyramid::laplacian_pyramid(img.view(), 3);
    let mut rec = bands[2].clone();
    for b in bands[..2].iter().rev() {
        rec = pyramid::pyr_up(rec.view()) + b;
    }
    let err = (&rec - &img).iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(err < F64_SUM, "{err}");
    // A wrong coarse band (off by 0.01) does not reconstruct.
    let mut rec = &bands[2] + 0.01;
    for b in bands[..2].iter().rev() {
        rec = pyramid::pyr_up(rec.view()) + b;
    }
    assert!((&rec - &img).iter().any(|v| v.abs() > FAULT_GAP));
}

/// The radix sort orders exactly as `f64::total_cmp`, negative zero, ties
/// and infinities included.
#[test]
fn radix_sort_equals_the_comparison_sort() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for n in [0usize, 5, 63, 64, 1000, 40_000] {
        let mut v: Vec<f64> = (0..n)
            .map(|i| match i % 7 {
                0 => -0.0,
                1 => 0.0,
                2 => f64::from(rng.random_range(-3i32..3)),
                3 => f64::INFINITY,
                4 => -1e300 * rng.random::<f64>(),
                _ => rng.random::<f64>() * 2.0 - 1.0,
            })
            .collect();
        let mut want = v.clone();
        want.sort_unstable_by(f64::total_cmp);
        swd::radix_sort(&mut v, &mut Vec::new());
        assert!(
            v.iter().zip(&want).all(|(a, b)| a.to_bits() == b.to_bits()),
            "n = {n}"
        );
    }
}

/// `W1` of two empirical distributions on the line by the CDF form
/// `int |F_a(t) - F_b(t)| dt` over the merged support — a different formula
/// from the quantile matching of `wasserstein1_sorted`.
fn w1_by_cdfs(a: &[f64], b: &[f64]) -> f64 {
    let mut pts: Vec<f64> = a.iter().chain(b).copied().collect();
    pts.sort_by(f64::total_cmp);
    let cdf = |s: &[f64], t: f64| s.iter().filter(|&&v| v <= t).count() as f64 / s.len() as f64;
    pts.windows(2)
        .map(|w| (cdf(a, w[0]) - cdf(b, w[0])).abs() * (w[1] - w[0]))
        .sum()
}

#[test]
fn w1_equals_the_cdf_integral_and_the_shift() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for (n, m) in [(7usize, 5usize), (40, 40), (13, 31), (1, 9)] {
        let mut a: Vec<f64> = (0..n).map(|_| rng.random::<f64>() * 3.0).collect();
        let mut b: Vec<f64> = (0..m).map(|_| rng.random::<f64>() * 2.0 + 0.5).collect();
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        let got = swd::wasserstein1_sorted(&a, &b);
        let want = w1_by_cdfs(&a, &b);
        assert_abs_diff_eq!(got, want, epsilon = F64_ROUNDOFF * want.max(1.0));
        // A shift by c moves every quantile by c: W1 = |c| exactly.
        let shifted: Vec<f64> = a.iter().map(|v| v - 0.3).collect();
        let w = swd::wasserstein1_sorted(&a, &shifted);
        assert_abs_diff_eq!(w, 0.3, epsilon = F64_ROUNDOFF);
        assert!((w - 0.6).abs() > 0.1, "a wrong shift must not match");
    }
}

/// `E|<v, u>| = ||v|| Gamma(d/2) / (sqrt(pi) Gamma((d+1)/2))` for `u` uniform
/// on the sphere: for a set and its translate by `v`, every direction's `W1`
/// is `|<v, u>|`, so the SWD over `K` directions is the Monte Carlo mean of
/// `|<v, u>|`, within `5 sd / sqrt(K)` of the closed form
/// (`Var |u_1| = 1/d - (E|u_1|)^2`). Translating by `2v` fails the bound.
#[test]
fn swd_of_a_translate_matches_the_closed_form() {
    let (d, k, n) = (6usize, 2000usize, 50usize);
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let a = Array2::from_shape_fn((n, d), |_| rng.random::<f64>());
    let v: Vec<f64> = vec![0.3, -0.2, 0.5, 0.1, 0.0, -0.4];
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let translate = |c: f64| {
        let mut b = a.clone();
        for mut r in b.rows_mut() {
            r.iter_mut().zip(&v).for_each(|(x, y)| *x += c * y);
        }
        b
    };
    let gamma = |x: f64| statrs::function::gamma::gamma(x);
    let e1 = gamma(d as f64 / 2.0) / (std::f64::consts::PI.sqrt() * gamma((d as f64 + 1.0) / 2.0));
    let sd = (1.0 / d as f64 - e1 * e1).sqrt() * norm;
    let want = e1 * norm;
    let got = swd::sliced_wasserstein(a.view(), translate(1.0).view(), k, 17);
    let bound = fsrgan::testing::Z_MC * sd / (k as f64).sqrt();
    assert!((got - want).abs() <= bound, "{got} vs {want} +- {bound}");
    let wrong = swd::sliced_wasserstein(a.view(), translate(2.0).view(), k, 17);
    assert!((wrong - want).abs() > bound, "{wrong}");
    // In one dimension every direction is +-1: the SWD is W1 itself.
    let x = a.slice(s![.., 0..1]).to_owned();
    let y = Array2::from_shape_fn((n, 1), |(i, _)| a[[i, 1]] * 2.0);
    let mut xs: Vec<f64> = x.iter().copied().collect();
    let mut ys: Vec<f64> = y.iter().copied().collect();
    xs.sort_by(f64::total_cmp);
    ys.sort_by(f64::total_cmp);
    assert_abs_diff_eq!(
        swd::sliced_wasserstein(x.view(), y.view(), 3, 1),
        w1_by_cdfs(&xs, &ys),
        epsilon = F64_ROUNDOFF
    );
}

/// SSIM of constant images `alpha`, `beta` has zero variances, so `cs = 1`
/// at every scale and `ssim = (2 alpha beta + C1) / (alpha^2 + beta^2 + C1)`;
/// pooling keeps constants, hence `MS-SSIM = ssim^{w_last}` with `w_last` the
/// renormalised weight of the last scale (16x16: three scales,
/// `0.3001 / (0.0448 + 0.2856 + 0.3001)`). The unnormalised `0.3001` fails.
#[test]
fn msssim_of_constant_images_matches_the_closed_form() {
    let (alpha, beta, l) = (0.2, 0.7, 1.0);
    let a = Array3::from_elem((3, 16, 16), alpha);
    let b = Array3::from_elem((3, 16, 16), beta);
    let c1 = (0.01 * l) * (0.01 * l);
    let ssim: f64 = (2.0 * alpha * beta + c1) / (alpha * alpha + beta * beta + c1);
    let w_last = 0.3001 / (0.0448 + 0.2856 + 0.3001);
    let got = msssim::msssim(a.view(), b.view(), l);
    // Round-off: the variances `E[a^2] - mu^2` cancel to ~1e-17, divided by `C2 ~ 1e-4`.
    assert_abs_diff_eq!(got, ssim.powf(w_last), epsilon = F64_ROUNDOFF);
    assert!((got - ssim.powf(0.3001)).abs() > FAULT_GAP);
    // 4x4: one scale, plain SSIM.
    let got4 = msssim::msssim(a.slice(s![.., ..4, ..4]), b.slice(s![.., ..4, ..4]), l);
    assert_abs_diff_eq!(got4, ssim, epsilon = F64_ROUNDOFF);
}

/// Identical images give MS-SSIM 1 (to round-off) at every size; unrelated
/// noise images give far less, and a set of copies of one image has mean 1.
#[test]
fn msssim_is_one_for_identical_pairs_and_lower_for_unrelated_ones() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for r in [4usize, 8, 16, 64] {
        let a = Array3::from_shape_fn((3, r, r), |_| rng.random::<f64>());
        assert_abs_diff_eq!(
            msssim::msssim(a.view(), a.view(), 1.0),
            1.0,
            epsilon = F64_ROUNDOFF
        );
    }
    let noise = Array4::from_shape_fn((400, 3, 16, 16), |_| rng.random::<f64>());
    let (m, se, pairs) = msssim::mean_msssim_pairs(noise.view(), 1.0, 1000, 1);
    assert_eq!(pairs, 200);
    assert!(m + fsrgan::testing::Z_MC * se < 0.2, "{m} +- {se}");
    let copies = Array4::from_shape_fn((10, 3, 16, 16), |(_, c, y, x)| noise[[0, c, y, x]]);
    let (m1, _, _) = msssim::mean_msssim_pairs(copies.view(), 1.0, 1000, 1);
    assert_abs_diff_eq!(m1, 1.0, epsilon = F64_ROUNDOFF);
}

/// A collapsed generator: every patch of every level is one atom (atom 0 of
/// the true dictionary) with the patch's largest true code as coefficient,
/// so magnitudes are realistic but one atom is used. Its atom coverage is
/// exactly 1 of 12 and no pair is co-active; an independent real set of the
/// same size covers every atom: each is active in at least 100 real patches
/// (asserted), so the floor set (600 of 1500 samples) expects at least 40
/// and would need fewer than 8 to miss — `P(Poisson(40) < 8) < 10^-9`.
#[test]
fn a_collapsed_generator_fails_coverage() {
    let p = small();
    let cfg = &p.config;
    let (real, floor) = (draw(&p, 10, 1500), draw(&p, 11, 600));
    let base = draw(&p, 12, 600);
    let fake: Vec<Array4<f64>> = (0..cfg.levels)
        .map(|l| {
            let codes = coverage::true_codes(&p, l, base[l].view());
            let atom = fsrgan::metrics::atoms(&p, l).unwrap();
            let (q, c) = (cfg.patch, cfg.channels);
            let mut x = Array4::zeros(base[l].dim());
            for b in 0..600 {
                for py in 0..cfg.n(l) {
                    for px in 0..cfg.n(l) {
                        let s = codes
                            .slice(s![b, .., py, px])
                            .iter()
                            .copied()
                            .fold(0.0, f64::max);
                        for ch in 0..c {
                            for dy in 0..q {
                                for dx in 0..q {
                                    x[[b, ch, py * q + dy, px * q + dx]] =
                                        s * atom[[0, (ch * q + dy) * q + dx]];
                                }
                            }
                        }
                    }
                }
            }
            x
        })
        .collect();
    let opts = ScoreOptions {
        max_rows: 8192,
        ..ScoreOptions::default()
    };
    let score = Reference::new(&real, &floor, &p, &opts, 1)
        .unwrap()
        .score(&fake)
        .unwrap();
    for lv in &score.levels {
        let cv = &lv.coverage;
        assert_eq!(cv.floor.atoms_real, 12, "level {}", lv.level);
        let real_patches = 1500.0 * (cfg.n(lv.level - 1) as f64).powi(2);
        assert!(
            cv.floor
                .real_rate
                .iter()
                .all(|&r| r * real_patches >= 100.0)
        );
        assert_eq!(
            cv.floor.atoms_covered, cv.floor.atoms_real,
            "level {}",
            lv.level
        );
        assert_eq!(cv.fake.atoms_covered, 1, "level {}", lv.level);
        assert_eq!(cv.fake.pairs_covered, 0);
        assert!(cv.fake.pairs_per_patch == 0.0 && cv.floor.pairs_per_patch > 0.1);
        // The one atom is used far more than in real data.
        assert!(cv.fake.rate[0] > 2.0 * cv.fake.real_rate[0]);
        // The patch SWD sees the collapse too.
        assert!(
            lv.patch_swd.ratio() > 3.0,
            "level {}: {:?}",
            lv.level,
            lv.patch_swd
        );
    }
}

/// Every scalar of a [`Score`] that has a floor, named.
fn floored(s: &Score) -> Vec<(String, f64, f64)> {
    let mut out = Vec::new();
    for lv in &s.levels {
        let l = lv.level;
        out.push((
            format!("patch_swd{l}"),
            lv.patch_swd.value,
            lv.patch_swd.floor,
        ));
        for b in &lv.pyramid_swd {
            out.push((
                format!("pyramid{l}_{}", b.resolution),
                b.swd.value,
                b.swd.floor,
            ));
        }
        for (c, g) in lv.moment_gaps.iter().enumerate() {
            out.push((format!("gap{l}_c{}", c + 1), g.value, g.floor));
        }
    }
    out
}

/// Real against real sits at its floor. Under the null hypothesis the floor
/// and the value of an independent real set of the same size are iid draws
/// of one statistic, so the floor must lie in the prediction interval
/// `mean +- t_{K-1} sd sqrt(1 + 1/K)` of the values of `K = 16` independent
/// real sets, with `t` the two-sided `10^-4` quantile of Student's t (15
/// degrees of freedom, about 5.2): with 13 metrics, a false failure has
/// probability below `1.3e-3` (for near-normal statistics; W1 and moment
/// gaps of 10^3..10^4 rows are). The same interval rejects a wrong
/// generator — the same preset with another truth — on every metric.
/// MS-SSIM: generated and real pair means within `5 sqrt(se_f^2 + se_r^2)`.
/// Coverage: every real atom covered.
#[test]
fn real_against_real_is_at_its_floor_and_a_wrong_truth_is_not() {
    let p = tiny();
    let n = 1000;
    let real = draw(&p, 100, 2000);
    let floor = draw(&p, 101, n);
    let reference = Reference::new(&real, &floor, &p, &ScoreOptions::default(), 7).unwrap();
    let k = 16usize;
    let scores: Vec<Score> = (0..k)
        .map(|i| reference.score(&draw(&p, 200 + i as u64, n)).unwrap())
        .collect();
    let t = StudentsT::new(0.0, 1.0, (k - 1) as f64)
        .unwrap()
        .inverse_cdf(1.0 - 0.5e-4);
    assert!((4.5..6.0).contains(&t), "{t}");
    let names = floored(&scores[0]);
    let other = Params::generate(&p.config, 5).unwrap();
    let wrong = reference.score(&draw(&other, 300, n)).unwrap();
    let wrong_vals = floored(&wrong);
    for (j, (name, _, floor_v)) in names.iter().enumerate() {
        let vals: Vec<f64> = scores.iter().map(|s| floored(s)[j].1).collect();
        let (mean, se) = fsrgan::testing::mean_se(&vals);
        let sd = se * (k as f64).sqrt();
        let half = t * sd * (1.0 + 1.0 / k as f64).sqrt();
        assert!(
            (floor_v - mean).abs() <= half,
            "{name}: floor {floor_v} outside {mean} +- {half}"
        );
        let w = wrong_vals[j].1;
        assert!(
            w - mean > half,
            "{name}: the wrong truth's {w} is within {mean} +- {half}"
        );
    }
    for s in &scores {
        for lv in &s.levels {
            let m = &lv.msssim;
            let bound = Z_MC * (m.fake_se.powi(2) + m.real_se.powi(2)).sqrt();
            assert!((m.fake - m.real).abs() <= bound, "{m:?}");
            let cv = &lv.coverage;
            assert_eq!(cv.fake.atoms_covered, cv.fake.atoms_real);
            assert_eq!(cv.floor.atoms_covered, cv.floor.atoms_real);
        }
    }
}

/// Bad sets are errors naming the set and the rule, never panics.
#[test]
fn bad_sets_are_errors() {
    let p = tiny();
    let good = draw(&p, 1, 10);
    assert_eq!(check_set("x", &good, &p).unwrap(), 10);
    let mut nan = good.clone();
    nan[1][[7, 0, 3, 2]] = f64::NAN;
    assert!(matches!(
        check_set("fake", &nan, &p),
        Err(MetricsError::NonFinite {
            level: 2,
            sample: 7,
            ..
        })
    ));
    let err = check_set("fake", &good[..1], &p).unwrap_err();
    assert!(
        err.to_string().contains("1 levels, the truth has 2"),
        "{err}"
    );
    let mut wrong = good.clone();
    wrong[1] = Array4::zeros((10, 1, 4, 4));
    let err = check_set("fake", &wrong, &p).unwrap_err();
    assert!(
        err.to_string().contains("x2 has shape [10, 1, 4, 4]"),
        "{err}"
    );
    let mut uneven = good.clone();
    uneven[1] = uneven[1].slice(s![..9, .., .., ..]).to_owned();
    assert!(check_set("fake", &uneven, &p).is_err());
    let one: Vec<Array4<f64>> = good
        .iter()
        .map(|x| x.slice(s![..1, .., .., ..]).to_owned())
        .collect();
    assert!(matches!(
        check_set("fake", &one, &p),
        Err(MetricsError::TooFewSamples { n: 1, need: 2, .. })
    ));
    let reference = Reference::new(&good, &good, &p, &ScoreOptions::default(), 1).unwrap();
    assert!(matches!(
        reference.score(&draw(&p, 2, 12)),
        Err(MetricsError::FloorSize {
            floor: 10,
            fake: 12
        })
    ));
    // Images with no active atom at all still score (coverage undefined, not a panic).
    let zeros: Vec<Array4<f64>> = good.iter().map(|x| Array4::zeros(x.dim())).collect();
    let s = Reference::new(&zeros, &zeros, &p, &ScoreOptions::default(), 1)
        .unwrap()
        .score(&zeros)
        .unwrap();
    assert!(s.levels[0].coverage.fake.atom_coverage.is_nan());
}
