//! proptest strategies for the theory's objects (claims T1–T8 of
//! `shared/spec/theory.md`), shared by the property tests (`tests/theory_props.rs`).
//!
//! Every strategy draws across the whole valid input space *and* its edges,
//! and shrinks towards small, readable inputs (short vectors, few atoms,
//! round numbers), so a failing property prints a minimal counterexample:
//!
//! * [`pair`]: discrete distribution pairs — independent, with
//!   zero-probability atoms (tiny masses down to `1e-300` too), near-equal
//!   (relative perturbations `1e-1 .. 1e-15`), identical, disjoint supports;
//! * [`mixture`]: 1-D Gaussian mixtures (1–3 components);
//! * [`logits`]: GAN discriminator values `D = sigma(l)` in `(0, 1)` and at its
//!   edges (`l = +-inf`, and `|l| = 40, 800`, where `D` rounds to 0 or 1);
//! * [`sparse_model`]: sparse-coding models `x = sum_i y_i a_i` — dimension,
//!   atoms orthonormal or merely incoherent (unit, random), sparsity `k`,
//!   coefficient laws (constant, uniform, exponential, heavy-tailed);
//! * [`relu_params`]: Gaussian-ReLU parameters `(alpha, beta, rho)` with
//!   `alpha` over six decades, `t = beta / alpha` far into both tails and
//!   `rho` near and at `+-1`;
//! * [`odeco`]: symmetric orthogonally decomposable tensors
//!   `sum_i lambda_i a_i^{(x)c}` of small rank.
//!
//! Randomness comes from proptest only (no hidden RNG), so a counterexample
//! is reproducible from its printed value.

#![allow(dead_code)]

use proptest::prelude::*;

/// A unit vector from raw coordinates (the first basis vector if they vanish).
pub fn unit(v: &[f64]) -> Vec<f64> {
    let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    if n > 1e-150 {
        v.iter().map(|a| a / n).collect()
    } else {
        let mut e = vec![0.0; v.len()];
        if let Some(f) = e.first_mut() {
            *f = 1.0;
        }
        e
    }
}

/// Orthonormalises the rows (modified Gram–Schmidt, twice); a row that
/// vanishes against the earlier ones is replaced by the first basis vector
/// it is not yet spanned by. Requires `rows.len() <= d`.
pub fn orthonormal_rows(rows: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let d = rows.first().map_or(0, Vec::len);
    let mut out: Vec<Vec<f64>> = Vec::with_capacity(rows.len());
    for r in rows {
        let mut cands = vec![r.clone()];
        cands.extend((0..d).map(|j| {
            let mut e = vec![0.0; d];
            e[j] = 1.0;
            e
        }));
        for mut v in cands {
            for _ in 0..2 {
                for o in &out {
                    let c: f64 = v.iter().zip(o).map(|(a, b)| a * b).sum();
                    v.iter_mut().zip(o).for_each(|(a, b)| *a -= c * b);
                }
            }
            let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
            if n > 1e-6 {
                out.push(v.iter().map(|a| a / n).collect());
                break;
            }
        }
    }
    out
}

/// Normalises non-negative weights to a probability vector (the first entry
/// becomes 1 if all vanish); the sum is then within `n eps` of 1.
pub fn normalise(w: &[f64]) -> Vec<f64> {
    let s: f64 = w.iter().sum();
    if s > 0.0 {
        w.iter().map(|x| x / s).collect()
    } else {
        let mut p = vec![0.0; w.len()];
        p[0] = 1.0;
        p
    }
}

/// One weight: usually `O(1)`, sometimes exactly zero, sometimes tiny.
pub fn weight() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        6 => 0.0..1.0f64,
        2 => Just(0.0),
        1 => (1u32..300).prop_map(|e| 10f64.powi(-(e as i32))),
    ]
}

/// How the two distributions of a [`Pair`] relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairKind {
    /// Drawn independently (zero atoms included).
    Independent,
    /// `q = normalise(p (1 + delta_i))`, `|delta_i| <= 10^-e`.
    NearEqual,
    /// `q = p`.
    Equal,
    /// Disjoint supports.
    Disjoint,
}

/// A pair of probability vectors on the same `n` points.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// The relation the pair was drawn under.
    pub kind: PairKind,
    /// `p` (the data distribution).
    pub p: Vec<f64>,
    /// `q` (the model / generator distribution).
    pub q: Vec<f64>,
}

/// Discrete distribution pairs on `1..=max_n` points (2 for disjoint pairs).
pub fn pair(max_n: usize) -> impl Strategy<Value = Pair> {
    let n = 1..=max_n.max(2);
    let independent = n
        .clone()
        .prop_flat_map(|n| {
            (
                prop::collection::vec(weight(), n),
                prop::collection::vec(weight(), n),
            )
        })
        .prop_map(|(a, b)| Pair {
            kind: PairKind::Independent,
            p: normalise(&a),
            q: normalise(&b),
        });
    let near = n
        .clone()
        .prop_flat_map(|n| {
            (
                prop::collection::vec(weight(), n),
                prop::collection::vec(-1.0..1.0f64, n),
                1i32..=15,
            )
        })
        .prop_map(|(a, d, e)| {
            let p = normalise(&a);
            let scale = 10f64.powi(-e);
            let q: Vec<f64> = p
                .iter()
                .zip(&d)
                .map(|(pi, di)| pi * (1.0 + scale * di))
                .collect();
            Pair {
                kind: PairKind::NearEqual,
                p,
                q: normalise(&q),
            }
        });
    let equal = n
        .clone()
        .prop_flat_map(|n| prop::collection::vec(weight(), n))
        .prop_map(|a| {
            let p = normalise(&a);
            Pair {
                kind: PairKind::Equal,
                q: p.clone(),
                p,
            }
        });
    let disjoint = (2..=max_n.max(2))
        .prop_flat_map(|n| {
            (
                prop::collection::vec(0.01..1.0f64, n),
                prop::collection::vec(any::<bool>(), n),
            )
        })
        .prop_map(|(w, side)| {
            let n = w.len();
            // Every point belongs to p or to q; both get at least one point.
            let mut side = side;
            side[0] = true;
            side[n - 1] = false;
            let a: Vec<f64> = (0..n).map(|i| if side[i] { w[i] } else { 0.0 }).collect();
            let b: Vec<f64> = (0..n).map(|i| if side[i] { 0.0 } else { w[i] }).collect();
            Pair {
                kind: PairKind::Disjoint,
                p: normalise(&a),
                q: normalise(&b),
            }
        });
    prop_oneof![4 => independent, 2 => near, 1 => equal, 1 => disjoint]
}

/// A 1-D Gaussian mixture as `(weight, mean, sd)` components, weights summing to 1.
pub fn mixture() -> impl Strategy<Value = Vec<(f64, f64, f64)>> {
    prop::collection::vec((0.05..1.0f64, -5.0..5.0f64, 0.2..3.0f64), 1..=3).prop_map(|c| {
        let s: f64 = c.iter().map(|x| x.0).sum();
        c.into_iter().map(|(w, m, sd)| (w / s, m, sd)).collect()
    })
}

/// One discriminator logit `l`, `D = sigma(l)`: inside `(0, 1)` and at its edges.
pub fn logit() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        6 => -10.0..10.0f64,
        1 => prop_oneof![Just(40.0), Just(-40.0), Just(800.0), Just(-800.0)],
        1 => prop_oneof![Just(f64::INFINITY), Just(f64::NEG_INFINITY)],
    ]
}

/// `n` logits.
pub fn logits(n: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(logit(), n)
}

/// The law of the non-zero code magnitudes, applied to `u` in `(0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// `y = 1`.
    Constant,
    /// `y = u`.
    Uniform,
    /// `y = -log u` (exponential).
    Exponential,
    /// `y = u^-1` (Pareto with index 1: no mean).
    Heavy,
}

impl Law {
    /// The magnitude for `u` in `(0, 1]`.
    pub fn apply(self, u: f64) -> f64 {
        match self {
            Law::Constant => 1.0,
            Law::Uniform => u,
            Law::Exponential => -u.ln(),
            Law::Heavy => 1.0 / u,
        }
    }
}

/// A sparse-coding model with its sample: `x_r = sum_i y_ri a_i`.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseModel {
    /// Dimension `d`.
    pub d: usize,
    /// Whether the atoms are orthonormal (else unit and merely incoherent).
    pub orthonormal: bool,
    /// Unit atoms `a_i` (`m` of them).
    pub atoms: Vec<Vec<f64>>,
    /// At most `k` non-zero codes per sample.
    pub k: usize,
    /// The magnitudes' law.
    pub law: Law,
    /// Codes `y >= 0`, one row per sample (`n x m`).
    pub codes: Vec<Vec<f64>>,
}

impl SparseModel {
    /// The samples `x_r = sum_i y_ri a_i`.
    pub fn samples(&self) -> Vec<Vec<f64>> {
        self.codes
            .iter()
            .map(|y| {
                (0..self.d)
                    .map(|j| y.iter().zip(&self.atoms).map(|(c, a)| c * a[j]).sum())
                    .collect()
            })
            .collect()
    }
    /// The largest number of non-zero codes in one sample.
    pub fn max_active(&self) -> usize {
        self.codes
            .iter()
            .map(|y| y.iter().filter(|v| **v > 0.0).count())
            .max()
            .unwrap_or(0)
    }
    /// Coherence `mu = max_{i != j} |<a_i, a_j>|`.
    pub fn coherence(&self) -> f64 {
        let mut mu: f64 = 0.0;
        for i in 0..self.atoms.len() {
            for j in 0..i {
                let c: f64 = self.atoms[i]
                    .iter()
                    .zip(&self.atoms[j])
                    .map(|(p, q)| p * q)
                    .sum();
                mu = mu.max(c.abs());
            }
        }
        mu
    }
}

fn law() -> impl Strategy<Value = Law> {
    prop_oneof![
        Just(Law::Constant),
        Just(Law::Uniform),
        Just(Law::Exponential),
        Just(Law::Heavy),
    ]
}

/// Sparse-coding models with `d` in `1..=max_d`, `m` atoms (`m <= d` when
/// orthonormal, up to `max_m` otherwise), sparsity `k` in `1..=max_k`, and
/// `1..=max_n` samples (each row keeps its first `k` active codes).
pub fn sparse_model(
    max_d: usize,
    max_m: usize,
    max_k: usize,
    max_n: usize,
) -> impl Strategy<Value = SparseModel> {
    sparse_model_of(any::<bool>(), max_d, max_m, max_k, max_n)
}

/// [`sparse_model`] with the choice orthonormal / incoherent drawn from `orthonormal`.
pub fn sparse_model_of(
    orthonormal: impl Strategy<Value = bool>,
    max_d: usize,
    max_m: usize,
    max_k: usize,
    max_n: usize,
) -> impl Strategy<Value = SparseModel> {
    (1..=max_d, orthonormal, 1..=max_m, 1..=max_k, law())
        .prop_flat_map(move |(d, orthonormal, m, k, law)| {
            let m = if orthonormal { m.min(d) } else { m };
            (
                Just((d, orthonormal, k, law)),
                prop::collection::vec(prop::collection::vec(-1.0..1.0f64, d), m),
                prop::collection::vec(
                    prop::collection::vec(prop_oneof![1 => Just(0.0), 1 => 0.001..=1.0f64], m),
                    1..=max_n,
                ),
            )
        })
        .prop_map(|((d, orthonormal, k, law), raw, u)| {
            let atoms = if orthonormal {
                orthonormal_rows(&raw)
            } else {
                raw.iter().map(|a| unit(a)).collect()
            };
            let codes = u
                .iter()
                .map(|row| {
                    let mut seen = 0;
                    row.iter()
                        .map(|&v| {
                            if v > 0.0 && seen < k {
                                seen += 1;
                                law.apply(v)
                            } else {
                                0.0
                            }
                        })
                        .collect()
                })
                .collect();
            SparseModel {
                d,
                orthonormal,
                atoms,
                k,
                law,
                codes,
            }
        })
}

/// Gaussian-ReLU parameters `y = ReLU(alpha g - beta)`, with `t = beta / alpha`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Relu {
    /// `alpha > 0`.
    pub alpha: f64,
    /// `beta = alpha t`.
    pub beta: f64,
}

impl Relu {
    /// `t = beta / alpha`.
    pub fn t(&self) -> f64 {
        self.beta / self.alpha
    }
}

/// `t = beta / alpha` across `[-lim, lim]`: the body, the tails, the ends and 0.
pub fn threshold(lim: f64) -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        4 => -4.0..4.0f64,
        3 => (-lim)..lim,
        1 => prop_oneof![Just(0.0), Just(lim), Just(-lim)],
    ]
}

/// `alpha` over `[1e-3, 1e3]` (log-uniform) and `t` from [`threshold`].
pub fn relu_params(lim: f64) -> impl Strategy<Value = Relu> {
    (-3.0..3.0f64, threshold(lim)).prop_map(|(e, t)| {
        let alpha = 10f64.powf(e);
        Relu {
            alpha,
            beta: alpha * t,
        }
    })
}

/// A correlation in `[-1, 1]`: uniform, near `+-1` (`1 - 10^-e`), and exactly `+-1`, 0.
pub fn rho() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        4 => -1.0..1.0f64,
        2 => (1i32..=12, any::<bool>()).prop_map(|(e, s)| {
            let r = 1.0 - 10f64.powi(-e);
            if s { r } else { -r }
        }),
        1 => prop_oneof![Just(1.0), Just(-1.0), Just(0.0)],
    ]
}

/// A symmetric orthogonally decomposable tensor `sum_i lambda_i a_i^{(x)c}`:
/// `rank <= d` orthonormal atoms and weights `lambda_i` in `[0.1, 10]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SymTensor {
    /// Dimension.
    pub d: usize,
    /// Orthonormal atoms.
    pub atoms: Vec<Vec<f64>>,
    /// Weights.
    pub lambdas: Vec<f64>,
}

/// [`SymTensor`]s with `d` in `1..=max_d` and rank in `1..=d`.
pub fn odeco(max_d: usize) -> impl Strategy<Value = SymTensor> {
    (1..=max_d)
        .prop_flat_map(|d| (Just(d), 1..=d))
        .prop_flat_map(|(d, r)| {
            (
                Just(d),
                prop::collection::vec(prop::collection::vec(-1.0..1.0f64, d), r),
                prop::collection::vec(0.1..10.0f64, r),
            )
        })
        .prop_map(|(d, raw, lambdas)| SymTensor {
            d,
            atoms: orthonormal_rows(&raw),
            lambdas,
        })
}

/// A unit vector in `R^d` (raw coordinates in `[-1, 1]`, normalised).
pub fn unit_vector(d: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-1.0..1.0f64, d).prop_map(|v| unit(&v))
}
