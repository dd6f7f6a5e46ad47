//! T3 — generator losses, WGAN duality, least-squares and hinge optima.
//!
//! Derivation: `proofs/T3-generator-losses.md` ([`crate::theory::proofs::t3`]).
//! Tests: `tests/theory_gan.rs` (independent truths, and these checks at test size).

use rand::Rng;

use super::{Check, Options, Relation, dirichlet, rng};
use crate::theory::divergence::{self, Gaussian};
use crate::theory::gan;

/// The checks of T3 at `o.samples` Monte Carlo samples (`fsrgan verify --claim T3`).
pub fn checks(o: &Options) -> Vec<Check> {
    let mut r = rng(o, 3);
    let mut out = Vec::new();
    let (gs, gn) = gan::generator_loss_gradients(-20.0);
    out.push(Check::new(
        "T3",
        "saturating gradient at D = sigma(-20)",
        gs,
        0.0,
        Relation::Within,
        1e-8,
    ));
    out.push(Check::new(
        "T3",
        "non-saturating gradient at D = sigma(-20)",
        gn,
        -1.0,
        Relation::Within,
        1e-8,
    ));
    let n = 12;
    let mut xs: Vec<f64> = (0..n).map(|_| r.random_range(-3.0..3.0)).collect();
    xs.sort_by(f64::total_cmp);
    let (p, q) = (dirichlet(&mut r, n), dirichlet(&mut r, n));
    if let (Ok(w), Some(lp)) = (
        divergence::w1_discrete(&xs, &p, &q),
        gan::kantorovich_lp_by_vertices(&xs, &p, &q),
    ) {
        out.push(Check::new(
            "T3",
            "W1 = int|F_p - F_q| vs Kantorovich LP (vertices)",
            w,
            lp,
            Relation::Within,
            1e-13,
        ));
        let f = gan::optimal_critic_discrete(&xs, &p, &q);
        out.push(Check::new(
            "T3",
            "W1 vs E_p f* - E_q f* (optimal critic)",
            w,
            gan::critic_gap(&p, &q, &f),
            Relation::Within,
            1e-13,
        ));
    }
    let (a, b) = (
        Gaussian { mean: 0.0, sd: 1.0 },
        Gaussian { mean: 0.0, sd: 2.5 },
    );
    out.push(Check::new(
        "T3",
        "W1(N(0,1), N(0,2.5^2)) quadrature vs 1.5 sqrt(2/pi)",
        divergence::w1_density(&a, &b).value,
        1.5 * (2.0 / std::f64::consts::PI).sqrt(),
        Relation::Within,
        1e-11,
    ));
    let (p, q) = (dirichlet(&mut r, 50), dirichlet(&mut r, 50));
    let (d, v) = gan::ls_optimum(&p, &q);
    out.push(Check::new(
        "T3",
        "least squares: objective at D* vs sum pq/(2(p+q))",
        gan::ls_objective(&p, &q, &d),
        v,
        Relation::Within,
        1e-14,
    ));
    match gan::hinge_optimum(&p, &q) {
        Ok((h, hv)) => {
            out.push(Check::new(
                "T3",
                "hinge: objective at sign(p-q) vs 2 TV - 2",
                gan::hinge_objective(&p, &q, &h),
                hv,
                Relation::Within,
                1e-14,
            ));
            out.push(Check::new(
                "T3",
                "hinge: the GAN's D* is worse",
                gan::hinge_objective(&p, &q, &d),
                hv,
                Relation::AtMost,
                0.0,
            ));
        }
        Err(e) => out.push(Check::error("T3", "the hinge optimum", e)),
    }
    out
}
