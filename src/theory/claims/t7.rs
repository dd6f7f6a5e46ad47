//! T7 — a regularised linear discriminator is moment matching.
//!
//! Derivation: `proofs/T7-linear-discriminator.md` ([`crate::theory::proofs::t7`]).
//! Tests: `tests/theory_decode.rs` (independent truths, and these checks at test size).

use rand_distr::{Distribution, StandardNormal};

use super::{Check, Options, Relation, normals, rng};
use crate::numerics::montecarlo::MeanCov;
use crate::testing::Z_MC;
use crate::theory::discriminator;

/// The checks of T7 at `o.samples` Monte Carlo samples (`fsrgan verify --claim T7`).
pub fn checks(o: &Options) -> Vec<Check> {
    let mut r = rng(o, 7);
    let mut out = Vec::new();
    let delta: Vec<f64> = (0..8).map(|_| StandardNormal.sample(&mut r)).collect();
    let gamma = 1.7;
    let (_, v) = discriminator::optimum(&delta, gamma);
    let ga = discriminator::gradient_ascent(&delta, gamma, 0.5 / gamma, 400);
    out.push(Check::new(
        "T7",
        "J at gradient-ascent optimum vs ||Delta||^2/(2 gamma)",
        discriminator::objective(&ga, &delta, gamma),
        v,
        Relation::Within,
        1e-12,
    ));
    // Moment features (x, ..., x^4) of N(0,1) data against N(0.3, 1.2^2) samples.
    let n = o.samples.max(1000);
    let xd = normals(&mut r, n, 0.0, 1.0);
    let xg = normals(&mut r, n, 0.3, 1.2);
    let mc = MeanCov::from_rows(n, 8, |i, b| {
        for c in 0..4 {
            b[c] = xd[i].powi(c as i32 + 1);
            b[4 + c] = xg[i].powi(c as i32 + 1);
        }
    });
    let (m, s) = (0.3f64, 1.2f64);
    let gm = [
        m,
        m * m + s * s,
        m.powi(3) + 3.0 * m * s * s,
        m.powi(4) + 6.0 * m * m * s * s + 3.0 * s.powi(4),
    ];
    let exact: Vec<f64> = [0.0, 1.0, 0.0, 3.0]
        .iter()
        .zip(&gm)
        .map(|(a, b)| a - b)
        .collect();
    let truth = discriminator::optimum(&exact, gamma).1;
    match mc.delta(|mu| -> Result<f64, ()> {
        let d: Vec<f64> = (0..4).map(|c| mu[c] - mu[4 + c]).collect();
        Ok(discriminator::optimum(&d, gamma).1)
    }) {
        Ok(est) => {
            out.push(Check::new(
                "T7",
                format!("GAN value with moment features (N={n}) vs squared moment gap, 5 se"),
                est.value,
                truth,
                Relation::Within,
                Z_MC * est.se,
            ));
        }
        Err(e) => out.push(Check::error(
            "T7",
            "the delta-method estimate of the optimal value",
            e,
        )),
    }
    out
}
