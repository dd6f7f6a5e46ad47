//! The model's assumptions as measured predicates (model.md section 3).
//!
//! * A1 sparsity: per level, the histogram of `||S_l[p]||_0`, its mean with a
//!   standard error over samples (patches of one sample are dependent, samples
//!   are independent), and `P(||S_l[p]||_0 >= 2)`.
//! * A2 coherence `mu_l = max_{i != j} |<M_l[:,i], M_l[:,j]>|`.
//! * A3 `max_{u != u'} |C_{u u'}|` over level-1 units.
//! * A5 the relative super-resolution residual
//!   `||X_l - G_l(ReLU(M_{l-1}^T X_{l-1} - tau))|| / ||X_l||` (noise-free `G_l`).
//! * Resolution consistency `||avgpool_2(X_l) - X_{l-1}|| / ||X_{l-1}||`.

use ndarray::{ArrayView4, Axis};
use serde::{Deserialize, Serialize};

use super::forward::{self, Codes, Net};
use super::params::Params;
use super::rng::Stream;
use crate::numerics::linalg::dot;

/// Active-channel statistics of one level over a set of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// `hist[a]` = number of patches with exactly `a` active channels.
    pub hist: Vec<u64>,
    /// Number of samples.
    pub samples: u64,
    /// Sum over samples of the sample's mean active channels per patch.
    pub sum: f64,
    /// Sum over samples of its square.
    pub sum_sq: f64,
}

impl Activity {
    /// Statistics from per-sample histograms (`hist[a]` patches with `a` active).
    pub fn from_counts<'a>(per_sample: impl Iterator<Item = &'a [u32]>, m: usize) -> Activity {
        let mut act = Activity {
            hist: vec![0; m + 1],
            samples: 0,
            sum: 0.0,
            sum_sq: 0.0,
        };
        for h in per_sample {
            let patches: u64 = h.iter().map(|&c| u64::from(c)).sum();
            let active: u64 = h
                .iter()
                .enumerate()
                .map(|(a, &c)| a as u64 * u64::from(c))
                .sum();
            for (dst, &c) in act.hist.iter_mut().zip(h) {
                *dst += u64::from(c);
            }
            let mean = active as f64 / patches.max(1) as f64;
            act.samples += 1;
            act.sum += mean;
            act.sum_sq += mean * mean;
        }
        act
    }

    /// Adds the statistics of disjoint samples.
    pub fn merge(&mut self, other: &Activity) {
        for (a, b) in self.hist.iter_mut().zip(&other.hist) {
            *a += b;
        }
        self.samples += other.samples;
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
    }

    /// Mean number of active channels per patch.
    pub fn mean(&self) -> f64 {
        self.sum / self.samples.max(1) as f64
    }

    /// Standard error of [`Activity::mean`]: `sd(per-sample means) / sqrt(samples)`.
    pub fn se(&self) -> f64 {
        let n = self.samples as f64;
        if n < 2.0 {
            return f64::INFINITY;
        }
        let mean = self.sum / n;
        let var = ((self.sum_sq - n * mean * mean) / (n - 1.0)).max(0.0);
        (var / n).sqrt()
    }

    /// `P(||S_l[p]||_0 >= 2)`.
    pub fn p_ge2(&self) -> f64 {
        let total: u64 = self.hist.iter().sum();
        let ge2: u64 = self.hist.iter().skip(2).sum();
        ge2 as f64 / total.max(1) as f64
    }
}

/// `mu = max_{i != j} |<a_i, a_j>|` over the columns of a dictionary.
pub fn coherence(columns: &[&[f64]]) -> f64 {
    let mut mu: f64 = 0.0;
    for (i, a) in columns.iter().enumerate() {
        for b in &columns[..i] {
            mu = mu.max(dot(a, b).abs());
        }
    }
    mu
}

/// `max |<w_u, w_u'>|` over distinct level-1 units (A3: `<= 1 - gamma`).
pub fn max_level1_correlation(params: &Params) -> f64 {
    let d0 = params.config.d0;
    let w = params.level1.w.as_standard_layout();
    let rows: Vec<&[f64]> = w
        .as_slice()
        .unwrap_or_else(|| unreachable!("an array in standard layout is one slice"))
        .chunks_exact(d0)
        .collect();
    coherence(&rows)
}

/// Per-level relative residuals, as sums of squares so they can be pooled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Residual {
    /// `sum ||reference - reconstruction||^2`.
    pub err_sq: f64,
    /// `sum ||reference||^2`.
    pub ref_sq: f64,
}

impl Residual {
    /// `sqrt(err_sq / ref_sq)` (0 when both vanish).
    pub fn relative(&self) -> f64 {
        if self.ref_sq > 0.0 {
            (self.err_sq / self.ref_sq).sqrt()
        } else if self.err_sq > 0.0 {
            f64::INFINITY
        } else {
            0.0
        }
    }
    fn add(&mut self, reference: &[f64], approx: &[f64]) {
        for (r, a) in reference.iter().zip(approx) {
            self.err_sq += (r - a) * (r - a);
            self.ref_sq += r * r;
        }
    }
}

/// A5 for levels `2..=L` (index `l - 2`): decode `S_{l-1}` from `X_{l-1}` with
/// the true `M_{l-1}` and `tau = config.decode_tau`, apply the true level `l`
/// without noise, paint `X_l`, and compare with `x[l]`.
///
/// `x[l]` has shape `(B, c, r_l, r_l)`; f32 data may be passed after conversion.
pub fn a5_residual(params: &Params, x: &[ArrayView4<'_, f64>]) -> Vec<Residual> {
    let net = Net::new(params);
    let cfg = &params.config;
    let tau = cfg.decode_tau;
    let mut out = vec![Residual::default(); cfg.levels.saturating_sub(1)];
    let mut dummy = Stream::new(0, super::rng::Domain::Samples, 0);
    for l in 1..cfg.levels {
        let kn = &net.up[l - 1];
        let noiseless = forward::UpKernel {
            sigma: 0.0,
            ..kn.clone()
        };
        let (lo, hi) = (&net.out[l - 1], &net.out[l]);
        let mut s_hat = Codes::zeros(lo.n * lo.n, lo.m);
        let mut pre = vec![0.0; net.s_len(l)];
        let mut s_next = Codes::zeros(hi.n * hi.n, hi.m);
        let mut x_hat = vec![0.0; net.x_len(l)];
        let mut patch = vec![0.0; hi.c * hi.ko * hi.ko];
        for (xl_1, xl) in x[l - 1].axis_iter(Axis(0)).zip(x[l].axis_iter(Axis(0))) {
            decode(lo, xl_1, tau, &mut s_hat.v);
            s_hat.update_masks();
            forward::up_pre(&noiseless, &s_hat, &mut pre);
            forward::up_activate(&noiseless, &pre, &mut s_next, &mut dummy);
            forward::output(hi, &s_next, &mut x_hat, &mut patch);
            let reference: Vec<f64> = xl.iter().copied().collect();
            out[l - 1].add(&reference, &x_hat);
        }
    }
    out
}

/// `s[p m + i] = ReLU(<M[:, i], window_p(x)> - tau)`: the decoder of A5 for one
/// image `x` of shape `(c, r, r)`; `window_p` is the output kernel's footprint of patch `p`.
fn decode(kn: &forward::OutKernel, x: ndarray::ArrayView3<'_, f64>, tau: f64, s: &mut [f64]) {
    let (n, m, c, q, ko) = (kn.n, kn.m, kn.c, kn.q, kn.ko);
    let r = n * q;
    let mut window = vec![0.0; c * ko * ko];
    for py in 0..n {
        for px in 0..n {
            for ch in 0..c {
                for ky in 0..ko {
                    for kx in 0..ko {
                        let y = (q * py + ky).checked_sub(kn.po).filter(|&y| y < r);
                        let xx = (q * px + kx).checked_sub(kn.po).filter(|&v| v < r);
                        window[(ch * ko + ky) * ko + kx] = match (y, xx) {
                            (Some(y), Some(xx)) => x[[ch, y, xx]],
                            _ => 0.0,
                        };
                    }
                }
            }
            let dout = window.len();
            for i in 0..m {
                let v = dot(&kn.atoms[i * dout..(i + 1) * dout], &window);
                s[(py * n + px) * m + i] = (v - tau).max(0.0);
            }
        }
    }
}

/// Resolution consistency for levels `2..=L`: `avgpool_2(X_l)` against `X_{l-1}`.
pub fn resolution_consistency(x: &[ArrayView4<'_, f64>]) -> Vec<Residual> {
    let mut out = vec![Residual::default(); x.len().saturating_sub(1)];
    for l in 1..x.len() {
        for (lo, hi) in x[l - 1].axis_iter(Axis(0)).zip(x[l].axis_iter(Axis(0))) {
            let (c, r, _) = lo.dim();
            let mut pooled = Vec::with_capacity(c * r * r);
            for ch in 0..c {
                for y in 0..r {
                    for xx in 0..r {
                        let v = hi[[ch, 2 * y, 2 * xx]]
                            + hi[[ch, 2 * y + 1, 2 * xx]]
                            + hi[[ch, 2 * y, 2 * xx + 1]]
                            + hi[[ch, 2 * y + 1, 2 * xx + 1]];
                        pooled.push(0.25 * v);
                    }
                }
            }
            let reference: Vec<f64> = lo.iter().copied().collect();
            out[l - 1].add(&reference, &pooled);
        }
    }
    out
}

/// The measured statistics recorded in a dataset's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostics {
    /// Per level: active-channel statistics over all samples.
    pub activity: Vec<Activity>,
    /// Per level: the target `k_l`.
    pub target_k: Vec<f64>,
    /// Per level: coherence `mu_l` of `M_l`.
    pub coherence: Vec<f64>,
    /// A3: `max |C|` between distinct level-1 units.
    pub max_level1_correlation: f64,
    /// Per level `2..=L`: A5 relative residual, and over how many samples.
    pub a5_residual: Vec<f64>,
    /// Per level `2..=L`: resolution consistency (relative).
    pub resolution_consistency: Vec<f64>,
    /// Number of samples the A5 and consistency numbers were measured on.
    pub residual_samples: u64,
}

impl Diagnostics {
    /// Diagnostics from pooled activity and residuals of a dataset.
    pub fn new(
        params: &Params,
        activity: Vec<Activity>,
        a5: &[Residual],
        consistency: &[Residual],
        residual_samples: u64,
    ) -> Diagnostics {
        Diagnostics {
            activity,
            target_k: params.config.k.clone(),
            coherence: (0..params.config.levels)
                .map(|l| coherence(&params.dictionary_columns(l)))
                .collect(),
            max_level1_correlation: max_level1_correlation(params),
            a5_residual: a5.iter().map(Residual::relative).collect(),
            resolution_consistency: consistency.iter().map(Residual::relative).collect(),
            residual_samples,
        }
    }
}

/// Decodes the codes of level `l` (0-based) from images `x` of shape
/// `(B, c, r_l, r_l)`: `s[b, i, py, px] = ReLU(<M_l[:, i], window_p(x_b)> - tau)`,
/// shape `(B, m_l, n_l, n_l)`.
pub fn decode_codes(
    params: &Params,
    l: usize,
    x: ArrayView4<'_, f64>,
    tau: f64,
) -> ndarray::Array4<f64> {
    let net = Net::new(params);
    let kn = &net.out[l];
    let (n, m) = (kn.n, kn.m);
    let mut out = ndarray::Array4::zeros((x.len_of(Axis(0)), m, n, n));
    let mut s = vec![0.0; n * n * m];
    for (xb, mut ob) in x.axis_iter(Axis(0)).zip(out.axis_iter_mut(Axis(0))) {
        decode(kn, xb, tau, &mut s);
        for p in 0..n * n {
            for i in 0..m {
                ob[[i, p / n, p % n]] = s[p * m + i];
            }
        }
    }
    out
}

/// Activity of codes `s` of shape `(B, m, n, n)`, counting `s > threshold` as active.
pub fn activity_of_codes(s: ArrayView4<'_, f64>, threshold: f64) -> Activity {
    let (_, m, n, _) = s.dim();
    let per_sample: Vec<Vec<u32>> = s
        .axis_iter(Axis(0))
        .map(|sb| {
            let mut hist = vec![0u32; m + 1];
            for py in 0..n {
                for px in 0..n {
                    let active = (0..m).filter(|&i| sb[[i, py, px]] > threshold).count();
                    hist[active] += 1;
                }
            }
            hist
        })
        .collect();
    Activity::from_counts(per_sample.iter().map(Vec::as_slice), m)
}
