//! T1 — the optimal discriminator: `V(G, D*) = -log 4 + 2 JSD(p, q)`.
//!
//! Derivation: `proofs/T1-optimal-discriminator.md` ([`crate::theory::proofs::t1`]).
//! Tests: `tests/theory_gan.rs` (independent truths, and these checks at test size).

use rand::Rng;

use super::{Check, Options, Relation, dirichlet, normals, rng};
use crate::numerics::montecarlo::mean_estimate;
use crate::testing::Z_MC;
use crate::theory::divergence::{self, Density1d, Gaussian, GaussianMixture};
use crate::theory::gan;

/// The checks of T1 at `o.samples` Monte Carlo samples (`fsrgan verify --claim T1`).
pub fn checks(o: &Options) -> Vec<Check> {
    let mut r = rng(o, 1);
    let mut out = Vec::new();
    let (p, q) = (dirichlet(&mut r, 1000), dirichlet(&mut r, 1000));
    match gan::jsd_identity_discrete(&p, &q) {
        Ok((v, rhs)) => {
            // Sums of 1000 terms of size <= 1.
            out.push(Check::new(
                "T1",
                "discrete (n=1000): V(G,D*) vs -log4 + 2 JSD",
                v,
                rhs,
                Relation::Within,
                1e-11,
            ));
            let pert: Vec<f64> = gan::d_star_logit_discrete(&p, &q)
                .iter()
                .map(|l| l + 0.05 * r.random_range(-1.0..1.0))
                .collect();
            match gan::value_discrete(&p, &q, &pert) {
                Ok(vp) => out.push(Check::new(
                    "T1",
                    "discrete: V(perturbed D*) below V(D*)",
                    vp,
                    v,
                    Relation::AtMost,
                    0.0,
                )),
                Err(e) => out.push(Check::error("T1", "V at the perturbed discriminator", e)),
            }
        }
        Err(e) => out.push(Check::error("T1", "the discrete JS identity", e)),
    }
    let pm = GaussianMixture {
        parts: vec![
            (
                0.3,
                Gaussian {
                    mean: -2.0,
                    sd: 0.5,
                },
            ),
            (0.7, Gaussian { mean: 1.0, sd: 1.0 }),
        ],
    };
    let qm = GaussianMixture {
        parts: vec![
            (0.5, Gaussian { mean: 0.0, sd: 2.0 }),
            (0.5, Gaussian { mean: 3.0, sd: 0.3 }),
        ],
    };
    let v = gan::value_at_d_star_density(&pm, &qm);
    let j = divergence::js_density(&pm, &qm);
    out.push(Check::new(
        "T1",
        "mixtures (quadrature): V(G,D*) vs -log4 + 2 JSD",
        v.value,
        -4f64.ln() + 2.0 * j.value,
        Relation::Within,
        1e-10,
    ));
    let (pg, qg) = (
        Gaussian { mean: 0.0, sd: 1.0 },
        Gaussian { mean: 1.0, sd: 1.5 },
    );
    let truth = -4f64.ln() + 2.0 * divergence::js_density(&pg, &qg).value;
    let xs = normals(&mut r, o.samples, 0.0, 1.0);
    let ys = normals(&mut r, o.samples, 1.0, 1.5);
    let logit = |x: f64| pg.log_pdf(x) - qg.log_pdf(x);
    let a = mean_estimate(xs.iter().map(|&x| gan::log_sigmoid(logit(x))));
    let b = mean_estimate(ys.iter().map(|&y| gan::log_sigmoid(-logit(y))));
    let se = (a.se * a.se + b.se * b.se).sqrt();
    out.push(Check::new(
        "T1",
        format!(
            "Monte Carlo (N={}), exact D*: V vs -log4 + 2 JSD, 5 se",
            o.samples
        ),
        a.value + b.value,
        truth,
        Relation::Within,
        Z_MC * se,
    ));
    out
}
