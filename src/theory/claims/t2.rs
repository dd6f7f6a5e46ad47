//! T2 — maximum likelihood is KL minimisation: `E_p log q = -H(p) - KL(p || q)`.
//!
//! Derivation: `proofs/T2-mle-is-kl.md` ([`crate::theory::proofs::t2`]).
//! Tests: `tests/theory_gan.rs` (independent truths, and these checks at test size).

use super::{Check, Options, Relation, dirichlet, normals, rng};
use crate::numerics::montecarlo::mean_estimate;
use crate::testing::Z_MC;
use crate::theory::divergence::{self, Density1d, Gaussian};
use crate::theory::gan;

/// The checks of T2 at `o.samples` Monte Carlo samples (`fsrgan verify --claim T2`).
pub fn checks(o: &Options) -> Vec<Check> {
    let mut r = rng(o, 2);
    let mut out = Vec::new();
    let (p, q) = (dirichlet(&mut r, 200), dirichlet(&mut r, 200));
    match gan::mle_kl_identity_discrete(&p, &q) {
        Ok((lhs, rhs)) => {
            out.push(Check::new(
                "T2",
                "discrete: E_p log q vs -H(p) - KL(p||q)",
                lhs,
                rhs,
                Relation::Within,
                1e-12,
            ));
        }
        Err(e) => out.push(Check::error("T2", "the discrete MLE = KL identity", e)),
    }
    // Samples of N(0.3, 1.2^2): the average log-likelihood of N(m, s^2) estimates -H - KL.
    let (pd, model) = (
        Gaussian { mean: 0.3, sd: 1.2 },
        Gaussian {
            mean: -0.2,
            sd: 0.9,
        },
    );
    let xs = normals(&mut r, o.samples, pd.mean, pd.sd);
    let ll = mean_estimate(xs.iter().map(|&x| model.log_pdf(x)));
    let h = 0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E * pd.sd * pd.sd).ln();
    out.push(Check::new(
        "T2",
        format!(
            "Gaussians (N={}): mean log-likelihood vs -H - KL, 5 se",
            o.samples
        ),
        ll.value,
        -h - divergence::kl_gaussian(pd, model),
        Relation::Within,
        Z_MC * ll.se,
    ));
    out
}
