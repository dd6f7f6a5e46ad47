//! The sampler: determinism, sparsity against its target, the forward formulas
//! against a naive second implementation, orthonormality, A5.

mod common;

use common::{concat, same_bits};
use fsrgan::model::diagnostics::{self, Activity};
use fsrgan::model::{Config, Params, Sampler};
use fsrgan::testing::{
    A5_BROKEN, A5_RESIDUAL, F64_ROUNDOFF, FAULT_GAP, LINALG_ROUNDOFF, SCALE_FLOOR, Z_MC,
};
use ndarray::{Array4, ArrayView4, Axis, s};

fn params(name: &str, seed: u64) -> Params {
    Params::generate(&Config::preset(name).unwrap(), seed).unwrap()
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn same_seed_same_samples_whatever_threads_batches_or_shards() {
    let p = params("small", 7);
    let sampler = Sampler::new(&p, 7);
    let n = 300;
    let one = in_pool(1, || sampler.sample(0, n));
    let two = in_pool(2, || sampler.sample(0, n));
    // Two batch sizes: 7 and 64 samples per call.
    for chunk in [7usize, 64] {
        let parts: Vec<_> = (0..n)
            .step_by(chunk)
            .map(|st| in_pool(2, || sampler.sample(st as u64, chunk.min(n - st))))
            .collect();
        for l in 0..3 {
            let views: Vec<ArrayView4<'_, f64>> = parts.iter().map(|b| b.x[l].view()).collect();
            assert!(
                same_bits(concat(&views).view(), one.x[l].view()),
                "x{} differs at chunk {chunk}",
                l + 1
            );
            let views: Vec<ArrayView4<'_, f64>> = parts.iter().map(|b| b.s[l].view()).collect();
            assert!(
                same_bits(concat(&views).view(), one.s[l].view()),
                "s{} differs at chunk {chunk}",
                l + 1
            );
        }
    }
    // Three shards of the dataset's sample range.
    let shards: Vec<_> = (0..3)
        .map(|i| {
            let (a, b) = fsrgan::io::manifest::Shard { index: i, count: 3 }.range(n as u64);
            sampler.sample(a, (b - a) as usize)
        })
        .collect();
    for l in 0..3 {
        assert!(
            same_bits(one.x[l].view(), two.x[l].view()),
            "1 vs 2 threads differ at x{}",
            l + 1
        );
        let views: Vec<ArrayView4<'_, f64>> = shards.iter().map(|b| b.x[l].view()).collect();
        assert!(
            same_bits(concat(&views).view(), one.x[l].view()),
            "shards differ at x{}",
            l + 1
        );
    }
    assert_eq!(one.z, two.z);
    // A different seed gives different samples (the check above can fail).
    let other = Sampler::new(&p, 8).sample(0, n);
    assert!(!same_bits(other.x[2].view(), one.x[2].view()));
}

#[test]
fn parameters_are_reproducible_from_the_seed() {
    let a = params("small", 3);
    let b = params("small", 3);
    assert_eq!(a, b);
    let c = params("small", 4);
    assert_ne!(a.level1.w, c.level1.w);
}

/// The bound for the mean number of active channels per patch at level `l`:
/// level 1 hits `k` exactly in law (`t = Q^{-1}(k/m)`), so only the sample's
/// own standard error counts; levels >= 2 are calibrated on an independent
/// sample of `N_cal` samples, whose sampling error adds `sd^2 / N_cal`.
fn sparsity_bound(act: &Activity, level: usize, n_cal: usize) -> f64 {
    let sd = act.se() * (act.samples as f64).sqrt();
    let cal = if level == 0 {
        0.0
    } else {
        sd * sd / n_cal as f64
    };
    Z_MC * (act.se() * act.se() + cal).sqrt()
}

#[test]
fn sparsity_is_within_a_confidence_bound_of_its_target() {
    // False-failure rate: 2 Q(5) = 5.7e-7 per assertion, 21 assertions.
    for (name, n, seeds) in [
        ("tiny", 20_000usize, 3u64),
        ("small", 20_000, 3),
        ("paper", 10_000, 2),
    ] {
        for seed in 1..=seeds {
            let p = params(name, seed);
            let batch = Sampler::new(&p, seed).sample(0, n);
            for (l, act) in batch.activity.iter().enumerate() {
                let k = p.config.k[l];
                let bound = sparsity_bound(act, l, p.config.calibration_samples);
                let err = (act.mean() - k).abs();
                assert!(
                    err <= bound,
                    "{name} seed {seed} level {}: mean {} vs k {k}, bound {bound}",
                    l + 1,
                    act.mean()
                );
                // Power: a target 20% off is rejected at this n.
                assert!(
                    (act.mean() - 1.2 * k).abs() > bound,
                    "{name} level {}: bound {bound} too loose to detect a 20% error",
                    l + 1
                );
            }
        }
    }
}

#[test]
fn orthonormal_dictionaries_have_coherence_below_1e12() {
    for name in ["tiny", "small", "paper"] {
        let p = params(name, 5);
        for l in 0..p.config.levels {
            let cols = p.dictionary_columns(l);
            let mu = diagnostics::coherence(&cols);
            assert!(mu < LINALG_ROUNDOFF, "{name} level {}: mu = {mu}", l + 1);
            // Independent check (nalgebra SVD): all singular values are 1.
            let d = cols[0].len();
            let m = nalgebra::DMatrix::from_fn(d, cols.len(), |r, c| cols[c][r]);
            let svd = m.try_svd(false, false, 1e-15, 1000).expect("svd converges");
            for sv in svd.singular_values.iter() {
                assert!(
                    (sv - 1.0).abs() < LINALG_ROUNDOFF,
                    "{name} level {}: singular value {sv}",
                    l + 1
                );
            }
        }
    }
    // A unit (non-orthogonal) dictionary fails the same check.
    let mut cfg = Config::preset("small").unwrap();
    cfg.dictionary = fsrgan::model::Dictionary::Unit;
    let p = Params::generate(&cfg, 5).unwrap();
    assert!(diagnostics::coherence(&p.dictionary_columns(0)) > FAULT_GAP);
}

/// Naive second implementation of the generator from the formulas of model.md
/// section 2, with PyTorch's conv_transpose2d index rule `y = stride*i - pad + k`.
fn naive_forward(p: &Params, z: &[f64]) -> (Vec<Array4<f64>>, Vec<Array4<f64>>) {
    let cfg = &p.config;
    let (m1, n1) = (cfg.m[0], cfg.n1);
    let mut s = Array4::<f64>::zeros((1, m1, n1, n1));
    for j in 0..m1 {
        for py in 0..n1 {
            for px in 0..n1 {
                let g: f64 = (0..cfg.d0).map(|i| p.level1.w[[j, py, px, i]] * z[i]).sum();
                s[[0, j, py, px]] = (p.level1.alpha[j] * g - p.level1.beta[j]).max(0.0);
            }
        }
    }
    let mut ss = vec![s];
    for l in 1..cfg.levels {
        let prev = &ss[l - 1];
        let w = &p.up[l - 1].weight;
        let (m_in, m_out, k, _) = w.dim();
        let (n_in, pad) = (cfg.n(l - 1), cfg.up_padding() as isize);
        let n_out = 2 * n_in;
        let mut pre = Array4::<f64>::zeros((1, m_out, n_out, n_out));
        for j in 0..m_in {
            for iy in 0..n_in {
                for ix in 0..n_in {
                    for o in 0..m_out {
                        for ky in 0..k {
                            for kx in 0..k {
                                let y = 2 * iy as isize - pad + ky as isize;
                                let x = 2 * ix as isize - pad + kx as isize;
                                if y >= 0 && x >= 0 && (y as usize) < n_out && (x as usize) < n_out
                                {
                                    pre[[0, o, y as usize, x as usize]] +=
                                        prev[[0, j, iy, ix]] * w[[j, o, ky, kx]];
                                }
                            }
                        }
                    }
                }
            }
        }
        for o in 0..m_out {
            pre.slice_mut(s![0, o, .., ..])
                .mapv_inplace(|v| (v - p.up[l - 1].bias[o]).max(0.0));
        }
        ss.push(pre);
    }
    let mut xs = Vec::new();
    for (l, sl) in ss.iter().enumerate() {
        let (m, c, q) = (cfg.m[l], cfg.channels, cfg.patch);
        let n = cfg.n(l);
        let mut x = Array4::<f64>::zeros((1, c, n * q, n * q));
        for py in 0..n {
            for px in 0..n {
                // X_l[p] = M_l S_l[p], column i of M_l = out[i] flattened (c, q, q).
                for i in 0..m {
                    for ch in 0..c {
                        for dy in 0..q {
                            for dx in 0..q {
                                x[[0, ch, py * q + dy, px * q + dx]] +=
                                    p.out[l][[i, ch, dy, dx]] * sl[[0, i, py, px]];
                            }
                        }
                    }
                }
            }
        }
        xs.push(x);
    }
    (ss, xs)
}

fn rel_err(a: ArrayView4<'_, f64>, b: ArrayView4<'_, f64>) -> f64 {
    let num: f64 = a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum();
    let den: f64 = b.iter().map(|y| y * y).sum();
    (num / den.max(SCALE_FLOOR)).sqrt()
}

#[test]
fn sampler_matches_a_naive_implementation_of_the_formulas() {
    // Tolerance: both sides sum at most a few hundred products of O(1) terms in
    // different orders, so they agree to ~1e-14; 1e-12 leaves a margin of 100.
    for name in ["tiny", "small", "paper"] {
        let p = params(name, 11);
        let batch = Sampler::new(&p, 11).sample(5, 6);
        for b in 0..batch.len() {
            let z: Vec<f64> = batch.z.row(b).to_vec();
            let (ss, xs) = naive_forward(&p, &z);
            for l in 0..p.config.levels {
                let got_s = batch.s[l].slice(s![b..b + 1, .., .., ..]);
                let got_x = batch.x[l].slice(s![b..b + 1, .., .., ..]);
                assert!(
                    rel_err(got_s, ss[l].view()) < F64_ROUNDOFF,
                    "{name} s{}",
                    l + 1
                );
                assert!(
                    rel_err(got_x, xs[l].view()) < F64_ROUNDOFF,
                    "{name} x{}",
                    l + 1
                );
            }
        }
        // A wrong parameter (one atom flipped) breaks the agreement.
        let mut wrong = p.clone();
        wrong.out[0]
            .slice_mut(s![0, .., .., ..])
            .mapv_inplace(|v| -v);
        let z: Vec<f64> = batch.z.row(0).to_vec();
        let (_, xs) = naive_forward(&wrong, &z);
        let any_active = batch.s[0]
            .slice(s![0..1, 0, .., ..])
            .iter()
            .any(|&v| v > 0.0);
        if any_active {
            assert!(rel_err(batch.x[0].slice(s![0..1, .., .., ..]), xs[0].view()) > FAULT_GAP);
        }
    }
}

#[test]
fn a5_super_resolution_residual_is_below_1e5_without_noise() {
    for name in ["tiny", "small", "paper"] {
        let p = params(name, 2);
        let batch = Sampler::new(&p, 2).sample(0, 200);
        let views: Vec<_> = batch.x.iter().map(|x| x.view()).collect();
        for r in diagnostics::a5_residual(&p, &views) {
            assert!(
                r.relative() < A5_RESIDUAL,
                "{name}: A5 residual {}",
                r.relative()
            );
        }
        // Also on float32-rounded data, as stored in files.
        let rounded: Vec<Array4<f64>> = batch
            .x
            .iter()
            .map(|x| x.mapv(|v| f64::from(v as f32)))
            .collect();
        let views: Vec<_> = rounded.iter().map(|x| x.view()).collect();
        for r in diagnostics::a5_residual(&p, &views) {
            assert!(
                r.relative() < A5_RESIDUAL,
                "{name} (f32): A5 residual {}",
                r.relative()
            );
        }
        // Wrong thresholds at level 2 make the residual large.
        let mut wrong = p.clone();
        wrong.up[0].bias.mapv_inplace(|b| 0.5 * b);
        let views: Vec<_> = batch.x.iter().map(|x| x.view()).collect();
        assert!(diagnostics::a5_residual(&wrong, &views)[0].relative() > A5_BROKEN);
    }
    // With noise (sigma_2 > 0), level 2 is no longer a function of level 1.
    let mut cfg = Config::preset("small").unwrap();
    cfg.sigma = vec![0.0, 0.3, 0.0];
    let p = Params::generate(&cfg, 2).unwrap();
    let batch = Sampler::new(&p, 2).sample(0, 200);
    let views: Vec<_> = batch.x.iter().map(|x| x.view()).collect();
    assert!(diagnostics::a5_residual(&p, &views)[0].relative() > A5_BROKEN);
}

#[test]
fn codes_are_sparse_nonnegative_and_decodable() {
    let p = params("small", 9);
    let batch = Sampler::new(&p, 9).sample(0, 100);
    for l in 0..3 {
        assert!(batch.s[l].iter().all(|&v| v >= 0.0));
        // Orthonormal M: decoding M^T x recovers s (up to round-off).
        let dec = diagnostics::decode_codes(&p, l, batch.x[l].view(), 0.0);
        let err = (&dec - &batch.s[l])
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(err < F64_ROUNDOFF, "level {}: decode error {err}", l + 1);
    }
    let _ = Axis(0);
}
