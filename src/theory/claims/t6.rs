//! T6 — Gaussian-ReLU moments and identifiability of `(alpha, beta, rho)`.
//!
//! Derivation: `proofs/T6-gaussian-relu.md` ([`crate::theory::proofs::t6`]).
//! Tests: `tests/theory_gauss_relu.rs` (independent truths, and these checks at test size).

use super::{Check, Options, Relation};
use crate::model::{Config, Params, Sampler};
use crate::testing::Z_MC;
use crate::theory::{bvn, gauss_relu, reference};

/// The checks of T6 at `o.samples` Monte Carlo samples (`fsrgan verify --claim T6`).
pub fn checks(o: &Options) -> Vec<Check> {
    let mut out = Vec::new();
    let mut worst: f64 = 0.0;
    for i in 0..=160 {
        let t = -8.0 + 0.1 * i as f64;
        let ms = gauss_relu::relu_moments(t, 6);
        for (k, mk) in ms.iter().enumerate() {
            if let Some(want) = reference::relu_moment(t, k) {
                worst = worst.max((mk - want).abs() / want);
            } else {
                worst = f64::INFINITY;
            }
        }
    }
    out.push(Check::new(
        "T6",
        "E[(g-t)_+^k] closed form vs quadrature, t in [-8,8], k=0..6: max relative error",
        worst,
        0.0,
        Relation::Within,
        1e-10,
    ));
    let mut worst: f64 = 0.0;
    let grid = [-5.0, -2.5, -1.0, 0.0, 0.4, 1.2, 3.5, 6.0];
    for &a in &grid {
        for &b in &grid {
            for &rho in &[-0.999, -0.95, -0.5, 0.0, 0.3, 0.9, 0.95, 0.999] {
                worst = worst.max((bvn::Phi2(a, b, rho) - reference::Phi2(a, b, rho)).abs());
            }
        }
    }
    out.push(Check::new(
        "T6",
        "Phi2 (Genz) vs quadrature, |rho| <= 0.999: max absolute error",
        worst,
        0.0,
        Relation::Within,
        1e-12,
    ));
    // (alpha, beta, rho) from model samples (tiny preset, level 1).
    let setup =
        Config::preset("tiny").and_then(|cfg| Params::generate(&cfg, o.seed).map(|p| (cfg, p)));
    let (cfg, params) = match setup {
        Ok(x) => x,
        Err(e) => {
            out.push(Check::error(
                "T6",
                "the tiny model for the sample checks",
                e,
            ));
            return out;
        }
    };
    let n = o.samples.max(1000);
    let batch = Sampler::new(&params, o.seed).sample(0, n);
    let s1 = &batch.s[0];
    let unit = |j: usize, py: usize, px: usize| -> Vec<f64> {
        (0..n).map(|b| s1[[b, j, py, px]]).collect()
    };
    match gauss_relu::estimate_alpha_beta(&unit(0, 0, 0)) {
        Ok((a, b)) => {
            out.push(Check::new(
                "T6",
                format!("alpha_1 from N={n} model samples, 5 delta-method se"),
                a.value,
                params.level1.alpha[0],
                Relation::Within,
                Z_MC * a.se,
            ));
            out.push(Check::new(
                "T6",
                format!("beta_1 from N={n} model samples, 5 delta-method se"),
                b.value,
                params.level1.beta[0],
                Relation::Within,
                Z_MC * b.se,
            ));
        }
        Err(e) => out.push(Check::error(
            "T6",
            "alpha_1 and beta_1 from model samples",
            e,
        )),
    }
    let w = &params.level1.w;
    let rho: f64 = (0..cfg.d0).map(|i| w[[0, 0, 0, i]] * w[[1, 0, 0, i]]).sum();
    match gauss_relu::estimate_rho(&unit(0, 0, 0), &unit(1, 0, 0)) {
        Ok(e) => {
            out.push(Check::new(
                "T6",
                format!("rho between two units from N={n} model samples, 5 se"),
                e.value,
                rho,
                Relation::Within,
                Z_MC * e.se,
            ));
        }
        Err(e) => out.push(Check::error("T6", "rho from model samples", e)),
    }
    out
}
