//! The registry of claims T1–T8 run by `fsrgan verify`, each at a size the
//! user chooses (`samples`), with both sides of every identity, the bound it
//! must meet and why. The tests check the same identities at smaller sizes.

use std::time::Instant;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1, StandardNormal};
use serde::Serialize;

use super::divergence::{self, Density1d, Gaussian, GaussianMixture};
use super::{
    bvn, discriminator, gan, gauss_relu, hungarian, moments, reference, sparse_decode,
    tensor_decomp,
};
use crate::testing::Z_MC;

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
    fn new(
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
            run: t1,
        },
        Claim {
            id: "T2",
            title: "maximum likelihood is KL minimisation",
            run: t2,
        },
        Claim {
            id: "T3",
            title: "generator losses, WGAN duality, LS and hinge optima",
            run: t3,
        },
        Claim {
            id: "T4",
            title: "moment-tensor identity for sparse coding",
            run: t4,
        },
        Claim {
            id: "T5",
            title: "dictionary recovery from moments",
            run: t5,
        },
        Claim {
            id: "T6",
            title: "Gaussian-ReLU moments and identifiability",
            run: t6,
        },
        Claim {
            id: "T7",
            title: "regularised linear discriminator = moment matching",
            run: t7,
        },
        Claim {
            id: "T8",
            title: "sparse decoding vs coherence",
            run: t8,
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

fn rng(opts: &Options, salt: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(opts.seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn dirichlet(rng: &mut ChaCha8Rng, n: usize) -> Vec<f64> {
    let v: Vec<f64> = (0..n).map(|_| Exp1.sample(rng)).collect();
    let s: f64 = v.iter().sum();
    let p: Vec<f64> = v.iter().map(|x| x / s).collect();
    let s2: f64 = p.iter().sum();
    p.iter().map(|x| x / s2).collect()
}

fn normals(rng: &mut ChaCha8Rng, n: usize, mean: f64, sd: f64) -> Vec<f64> {
    (0..n)
        .map(|_| {
            let z: f64 = StandardNormal.sample(rng);
            mean + sd * z
        })
        .collect()
}

fn t1(o: &Options) -> Vec<Check> {
    let mut r = rng(o, 1);
    let mut out = Vec::new();
    let (p, q) = (dirichlet(&mut r, 1000), dirichlet(&mut r, 1000));
    if let Ok((v, rhs)) = gan::jsd_identity_discrete(&p, &q) {
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
        if let Ok(vp) = gan::value_discrete(&p, &q, &pert) {
            out.push(Check::new(
                "T1",
                "discrete: V(perturbed D*) below V(D*)",
                vp,
                v,
                Relation::AtMost,
                0.0,
            ));
        }
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
    let a = super::montecarlo::mean_estimate(xs.iter().map(|&x| gan::log_sigmoid(logit(x))));
    let b = super::montecarlo::mean_estimate(ys.iter().map(|&y| gan::log_sigmoid(-logit(y))));
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

fn t2(o: &Options) -> Vec<Check> {
    let mut r = rng(o, 2);
    let mut out = Vec::new();
    let (p, q) = (dirichlet(&mut r, 200), dirichlet(&mut r, 200));
    if let Ok((lhs, rhs)) = gan::mle_kl_identity_discrete(&p, &q) {
        out.push(Check::new(
            "T2",
            "discrete: E_p log q vs -H(p) - KL(p||q)",
            lhs,
            rhs,
            Relation::Within,
            1e-12,
        ));
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
    let ll = super::montecarlo::mean_estimate(xs.iter().map(|&x| model.log_pdf(x)));
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

fn t3(o: &Options) -> Vec<Check> {
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
    if let Ok((h, hv)) = gan::hinge_optimum(&p, &q) {
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
    out
}

fn t4(o: &Options) -> Vec<Check> {
    let mut r = rng(o, 4);
    let mut out = Vec::new();
    let (d, m) = (48, 32);
    let n = o.samples.clamp(100, 4000); // O(n^2 d) Gram sums
    let atoms: Array2<f64> = {
        let a = tensor_decomp::random_orthonormal(d, m, &mut r);
        Array2::from_shape_fn((m, d), |(i, j)| a[i][j])
    };
    for (label, range) in [
        ("one active", 1..=1),
        ("1-2 active", 1..=2),
        ("1-4 active", 1..=4),
    ] {
        let codes = tensor_decomp::sparse_codes(n, m, range, &mut r);
        let rem = moments::sparse_coding_remainder(atoms.view(), codes.view(), 4);
        if label == "one active" {
            // Implicit form: accurate to n sqrt(eps) ||M|| (cancellation).
            out.push(Check::new(
                "T4",
                format!("c=4, d=48, m=32, n={n}, {label}: ||R||_F vs 0"),
                rem.remainder_norm,
                0.0,
                Relation::Within,
                n as f64 * f64::EPSILON.sqrt() * rem.moment_norm,
            ));
        } else {
            out.push(Check::new(
                "T4",
                format!("c=4, {label}: ||R||_F <= E[||y||_1^4 - ||y||_4^4]"),
                rem.remainder_norm,
                rem.bound,
                Relation::AtMost,
                0.0,
            ));
        }
    }
    out
}

fn t5(o: &Options) -> Vec<Check> {
    let mut r = rng(o, 5);
    let (d, m) = (48, 32);
    let n = o.samples.clamp(1000, 100_000);
    let atoms = tensor_decomp::random_orthonormal(d, m, &mut r);
    let a = Array2::from_shape_fn((m, d), |(i, j)| atoms[i][j]);
    let codes = tensor_decomp::sparse_codes(n, m, 1..=2, &mut r);
    let x = codes.dot(&a);
    let truth: Vec<&[f64]> = atoms.iter().map(Vec::as_slice).collect();
    let mut out = Vec::new();
    if let Ok(found) = tensor_decomp::power_method(x.view(), m, 3, 60, &mut r) {
        let got: Vec<&[f64]> = found.vectors.iter().map(Vec::as_slice).collect();
        let mt = hungarian::match_atoms(&truth, &got);
        out.push(Check::new(
            "T5",
            format!("power method, d=48 m=32 n={n}, 1-2 active: min matched |cos| >= 0.99"),
            mt.min,
            0.99,
            Relation::AtLeast,
            0.0,
        ));
    }
    let v0: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut r)).collect();
    let v = tensor_decomp::ascent_degree4(x.view(), &v0, 1.0, 200);
    let best = atoms
        .iter()
        .map(|a| hungarian::abs_cos(a, &v))
        .fold(0.0, f64::max);
    out.push(Check::new(
        "T5",
        "degree-4 ascent from a random start: max |cos| with an atom >= 0.99",
        best,
        0.99,
        Relation::AtLeast,
        0.0,
    ));
    let codes1 = tensor_decomp::sparse_codes(n, m, 1..=1, &mut r);
    let x1 = codes1.dot(&a);
    if let Ok(found) = tensor_decomp::jennrich(x1.view(), m, &mut r) {
        let got: Vec<&[f64]> = found.vectors.iter().map(Vec::as_slice).collect();
        let mt = hungarian::match_atoms(&truth, &got);
        out.push(Check::new(
            "T5",
            "Jennrich (3rd moment, one active): min matched |cos| vs 1",
            mt.min,
            1.0,
            Relation::Within,
            1e-8,
        ));
    }
    out
}

fn t6(o: &Options) -> Vec<Check> {
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
    let cfg = match crate::model::Config::preset("tiny") {
        Ok(c) => c,
        Err(_) => return out,
    };
    let Ok(params) = crate::model::Params::generate(&cfg, o.seed) else {
        return out;
    };
    let n = o.samples.max(1000);
    let batch = crate::model::Sampler::new(&params, o.seed).sample(0, n);
    let s1 = &batch.s[0];
    let unit = |j: usize, py: usize, px: usize| -> Vec<f64> {
        (0..n).map(|b| s1[[b, j, py, px]]).collect()
    };
    if let Ok((a, b)) = gauss_relu::estimate_alpha_beta(&unit(0, 0, 0)) {
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
    let w = &params.level1.w;
    let rho: f64 = (0..cfg.d0).map(|i| w[[0, 0, 0, i]] * w[[1, 0, 0, i]]).sum();
    if let Ok(e) = gauss_relu::estimate_rho(&unit(0, 0, 0), &unit(1, 0, 0)) {
        out.push(Check::new(
            "T6",
            format!("rho between two units from N={n} model samples, 5 se"),
            e.value,
            rho,
            Relation::Within,
            Z_MC * e.se,
        ));
    }
    out
}

fn t7(o: &Options) -> Vec<Check> {
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
    let mc = super::montecarlo::MeanCov::from_rows(n, 8, |i, b| {
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
    if let Ok(est) = mc.delta(|mu| -> Result<f64, ()> {
        let d: Vec<f64> = (0..4).map(|c| mu[c] - mu[4 + c]).collect();
        Ok(discriminator::optimum(&d, gamma).1)
    }) {
        out.push(Check::new(
            "T7",
            format!("GAN value with moment features (N={n}) vs squared moment gap, 5 se"),
            est.value,
            truth,
            Relation::Within,
            Z_MC * est.se,
        ));
    }
    out
}

fn t8(o: &Options) -> Vec<Check> {
    let mut r = rng(o, 8);
    let mut out = Vec::new();
    let trials = (o.samples / 1000).clamp(100, 2000);
    let mut ok = 0usize;
    let mut tried = 0usize;
    for _ in 0..trials {
        let d = r.random_range(8..40);
        let atoms: Vec<Vec<f64>> = (0..d)
            .map(|_| {
                let v: Vec<f64> = (0..d).map(|_| StandardNormal.sample(&mut r)).collect();
                let nrm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
                v.iter().map(|a| a / nrm).collect()
            })
            .collect();
        let mu = sparse_decode::coherence(&atoms);
        let mut s = vec![0.0; d];
        for i in 0..r.random_range(1..4) {
            s[(i * 7) % d] = r.random_range(1.0..1.2);
        }
        let (lo, hi) = sparse_decode::tau_window(mu, &s);
        if lo >= hi {
            continue;
        }
        tried += 1;
        let tau = lo + r.random_range(0.0..1.0) * (hi - lo);
        let x: Vec<f64> = (0..d)
            .map(|k| atoms.iter().zip(&s).map(|(a, c)| a[k] * c).sum())
            .collect();
        ok += usize::from(sparse_decode::same_support(
            &sparse_decode::decode(&atoms, &x, tau),
            &s,
        ));
    }
    out.push(Check::new(
        "T8",
        format!("support recovered inside the corrected window ({tried} instances)"),
        ok as f64,
        tried as f64,
        Relation::Within,
        0.0,
    ));
    let ortho = tensor_decomp::random_orthonormal(32, 24, &mut r);
    let mut s = vec![0.0; 24];
    s[2] = 1.3;
    s[9] = 0.4;
    let x: Vec<f64> = (0..32)
        .map(|k| ortho.iter().zip(&s).map(|(a, c)| a[k] * c).sum())
        .collect();
    let dec = sparse_decode::decode(&ortho, &x, 0.0);
    let err = dec
        .iter()
        .zip(&s)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    out.push(Check::new(
        "T8",
        "orthonormal: max |M^T x - s|",
        err,
        0.0,
        Relation::Within,
        1e-14,
    ));
    for d in [256usize, 64, 24] {
        let (rate, mu) = sparse_decode::recovery_rate(d, 32, 2, 200, &mut r);
        out.push(Check::new("T8", format!("degradation (report): recovery rate at tau = mu k M, m=32, k=2, d={d}, mean mu={mu:.3}"), rate, 0.0, Relation::AtLeast, 0.0));
    }
    out
}
