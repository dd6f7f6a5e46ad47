//! The registry of claims T1–T8 run by `fsrgan verify`, each at a size the
//! user chooses (`samples`), with both sides of every identity, the bound it
//! must meet and why.
//!
//! One file per claim, named like its derivation in `proofs/` ([`t1`] ↔
//! `proofs/T1-optimal-discriminator.md`, ...); this module is the shared
//! harness ([`Check`], [`Options`], the registry [`claims`], [`run_claim`],
//! [`failures`]). The tests run the same checks at small sizes
//! (`tests/theory_*.rs`, `*_verify_checks_hold_at_test_size`) beside their own
//! comparisons with independent truths.

use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};
use serde::Serialize;

pub mod t1;
pub mod t2;
pub mod t3;
pub mod t4;
pub mod t5;
pub mod t6;
pub mod t7;
pub mod t8;

/// How a check compares its two sides.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// `|lhs - rhs| <= bound`.
    Within,
    /// `lhs <= rhs` (`bound` unused).
    AtMost,
    /// `lhs >= rhs` (`bound` unused).
    AtLeast,
}

/// One comparison of a claim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    /// Claim id (`T1`..`T8`).
    pub claim: String,
    /// What is compared.
    pub name: String,
    /// Left side (the computed quantity).
    pub lhs: f64,
    /// Right side (the truth or the other side of the identity).
    pub rhs: f64,
    /// `|lhs - rhs|`.
    pub diff: f64,
    /// The tolerance (for [`Relation::Within`]).
    pub bound: f64,
    /// The comparison.
    pub relation: Relation,
    /// Whether it holds.
    pub pass: bool,
    /// Seconds spent on the check's claim section.
    pub secs: f64,
}

impl Check {
    /// A check of `lhs` against `rhs` under `relation` (and `bound` for
    /// [`Relation::Within`]); `secs` is filled in by [`run_claim`].
    pub fn new(
        claim: &str,
        name: impl Into<String>,
        lhs: f64,
        rhs: f64,
        relation: Relation,
        bound: f64,
    ) -> Check {
        let diff = (lhs - rhs).abs();
        let pass = match relation {
            Relation::Within => diff <= bound,
            Relation::AtMost => lhs <= rhs,
            Relation::AtLeast => lhs >= rhs,
        };
        Check {
            claim: claim.into(),
            name: name.into(),
            lhs,
            rhs,
            diff,
            bound,
            relation,
            pass,
            secs: 0.0,
        }
    }
}

impl Check {
    /// A check that could not be computed: `what` failed with `err`. It
    /// fails (its value is NaN), so `verify` never runs fewer checks in silence.
    pub fn error(claim: &str, what: &str, err: impl std::fmt::Debug) -> Check {
        let mut c = Check::new(
            claim,
            format!("{what}: could not be computed: {err:?}"),
            f64::NAN,
            0.0,
            Relation::Within,
            0.0,
        );
        c.pass = false;
        c
    }
}

/// Size and seed of a verification run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Monte Carlo sample size.
    pub samples: usize,
    /// Seed of every random choice.
    pub seed: u64,
}

/// A claim: id, title, and the function that checks it.
pub struct Claim {
    /// `T1`..`T8`.
    pub id: &'static str,
    /// One line.
    pub title: &'static str,
    /// Runs the checks.
    pub run: fn(&Options) -> Vec<Check>,
}

/// All claims, in order.
pub fn claims() -> Vec<Claim> {
    vec![
        Claim {
            id: "T1",
            title: "optimal discriminator, V(G,D*) = -log 4 + 2 JSD",
            run: t1::checks,
        },
        Claim {
            id: "T2",
            title: "maximum likelihood is KL minimisation",
            run: t2::checks,
        },
        Claim {
            id: "T3",
            title: "generator losses, WGAN duality, LS and hinge optima",
            run: t3::checks,
        },
        Claim {
            id: "T4",
            title: "moment-tensor identity for sparse coding",
            run: t4::checks,
        },
        Claim {
            id: "T5",
            title: "dictionary recovery from moments",
            run: t5::checks,
        },
        Claim {
            id: "T6",
            title: "Gaussian-ReLU moments and identifiability",
            run: t6::checks,
        },
        Claim {
            id: "T7",
            title: "regularised linear discriminator = moment matching",
            run: t7::checks,
        },
        Claim {
            id: "T8",
            title: "sparse decoding vs coherence",
            run: t8::checks,
        },
    ]
}

/// Runs one claim, timing it.
pub fn run_claim(claim: &Claim, opts: &Options) -> Vec<Check> {
    let t = Instant::now();
    let mut checks = (claim.run)(opts);
    let secs = t.elapsed().as_secs_f64();
    checks.iter_mut().for_each(|c| c.secs = secs);
    checks
}

/// The checks of `checks` that fail, one line each (empty when all hold).
pub fn failures(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| {
            format!(
                "{} {}: lhs {:e}, rhs {:e}, |diff| {:e}, {:?} bound {:e}",
                c.claim, c.name, c.lhs, c.rhs, c.diff, c.relation, c.bound
            )
        })
        .collect()
}

/// The claim's own random generator: ChaCha8 seeded by `seed ^ salt * golden`.
fn rng(opts: &Options, salt: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(opts.seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// A Dirichlet(1, ..., 1) vector of length `n` (normalised twice).
fn dirichlet(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    let v: Vec<f64> = (0..n).map(|_| Exp1.sample(rng)).collect();
    let s: f64 = v.iter().sum();
    let p: Vec<f64> = v.iter().map(|x| x / s).collect();
    let s2: f64 = p.iter().sum();
    p.iter().map(|x| x / s2).collect()
}

/// `n` draws of `N(mean, sd^2)`.
fn normals(rng: &mut ChaCha8Rng, n: usize, mean: f64, sd: f64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(rng);
            mean + sd * z
        })
        .collect()
}
