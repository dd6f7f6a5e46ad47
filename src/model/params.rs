//! Ground-truth parameters of the FSR generator, drawn from one seed
//! (model.md section 4), in the interchange layout of section 6.
//!
//! * `M_l`: orthonormal columns by modified Gram–Schmidt (run twice, in f64) on
//!   a Gaussian `D x m_l` matrix, or independent random unit columns;
//! * `w[j,p]`: Gaussian vectors in `R^{d0}` scaled to unit norm;
//! * `alpha_j ~ U[alpha_min, alpha_max]`, `t = Q^{-1}(k_1 / m_1)`, `beta_j = alpha_j t`,
//!   so `P(S_1[j,p] > 0) = Q(t) = k_1 / m_1` exactly;
//! * ConvT weights: Gaussian, then each output channel scaled so that its
//!   pre-activation has unit variance on the calibration sample;
//! * `b_l`: one threshold per level (the same for every channel), the
//!   `(1 - k_l/m_l)` quantile of the pre-activations (plus noise) of all channels
//!   on the calibration sample, so the mean number of active channels per patch
//!   is `k_l` on that sample (A1). (Per-channel quantiles would make every
//!   channel equally active, but some channels rarely receive positive input —
//!   e.g. `tiny` with kernel 2 — and would need `b <= 0`.) Calibration draws its own random stream,
//!   so it is the same for every shard and every `n`.
//!
//! Everything is computed with IEEE arithmetic and `libm` in a fixed order,
//! so the same `(config, seed)` gives bit-identical parameters.

use ndarray::{Array1, Array4};
use rayon::prelude::*;

use super::ModelError;
use super::config::{Config, Dictionary};
use super::forward::{self, Codes, Net};
use super::rng::{Domain, Stream};
use crate::numerics::linalg::{dot, orthonormalize};
use crate::numerics::normal::q_inv;

/// Level-1 parameters: `S_1[j,p] = ReLU(alpha_j <w[j,p], z> - beta_j)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Level1 {
    /// Unit vectors `w[j,p]`, shape `(m_1, n_1, n_1, d0)`.
    pub w: Array4<f64>,
    /// Scales `alpha_j > 0`, shape `(m_1,)`.
    pub alpha: Array1<f64>,
    /// Thresholds `beta_j = alpha_j t_j`, shape `(m_1,)`.
    pub beta: Array1<f64>,
}

/// A super-resolution layer `S_l = ReLU(ConvT(S_{l-1}) - b_l + sigma_l xi)`.
#[derive(Debug, Clone, PartialEq)]
pub struct UpLayer {
    /// ConvTranspose2d weight, shape `(m_{l-1}, m_l, k, k)`, stride 2, padding `(k-2)/2`.
    pub weight: Array4<f64>,
    /// Thresholds `b_l` (subtracted), shape `(m_l,)`.
    pub bias: Array1<f64>,
}

/// All ground-truth parameters, with the config they belong to.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// The validated config.
    pub config: Config,
    /// Level 1.
    pub level1: Level1,
    /// Levels `2..=L`: `up[i]` maps level `i+1` to level `i+2` (1-based).
    pub up: Vec<UpLayer>,
    /// Output weights per level, shape `(m_l, c, ko, ko)`; column `i` of `M_l`
    /// is `out[l][i]` flattened in `(c, ky, kx)` order.
    pub out: Vec<Array4<f64>>,
}

impl Params {
    /// Draws and calibrates the ground truth for `(config, seed)`.
    ///
    /// # Errors
    /// [`ModelError::InvalidConfig`] if the config is invalid, or if a target
    /// sparsity `k_l` cannot be reached with thresholds `b_l > 0` (the error
    /// names `k` and says what is reachable).
    pub fn generate(config: &Config, seed: u64) -> Result<Params, ModelError> {
        let config = config.clone().validated()?;
        let mut rng = Stream::new(seed, Domain::Params, 0);
        let (levels, d0, n1, m1) = (config.levels, config.d0, config.n1, config.m[0]);

        let q = config.patch;
        let ko = config.output.size(q);
        let dout = config.channels * ko * ko;
        let mut out = Vec::with_capacity(levels);
        for l in 0..levels {
            let m = config.m[l];
            let cols = dictionary(&mut rng, dout, m, config.dictionary);
            out.push(
                Array4::from_shape_vec((m, config.channels, ko, ko), cols).map_err(shape_err)?,
            );
        }

        let mut w = vec![0.0; m1 * n1 * n1 * d0];
        for row in w.chunks_exact_mut(d0) {
            unit_vector(&mut rng, row);
        }
        let t = q_inv(config.k[0] / m1 as f64);
        let alpha: Array1<f64> = (0..m1)
            .map(|_| config.alpha_min + (config.alpha_max - config.alpha_min) * rng.uniform())
            .collect();
        let beta = alpha.mapv(|a| a * t);
        let level1 = Level1 {
            w: Array4::from_shape_vec((m1, n1, n1, d0), w).map_err(shape_err)?,
            alpha,
            beta,
        };

        let k = config.kernel;
        let mut up = Vec::with_capacity(levels.saturating_sub(1));
        for l in 1..levels {
            let (m_in, m_out) = (config.m[l - 1], config.m[l]);
            let mut wv = vec![0.0; m_in * m_out * k * k];
            rng.fill_normal(&mut wv);
            up.push(UpLayer {
                weight: Array4::from_shape_vec((m_in, m_out, k, k), wv).map_err(shape_err)?,
                bias: Array1::zeros(m_out),
            });
        }
        let mut params = Params {
            config,
            level1,
            up,
            out,
        };
        calibrate(&mut params, seed)?;
        Ok(params)
    }

    /// The dictionary `M_l` as a `D_out x m_l` column-major list: column `i` is
    /// `out[l][i]` flattened.
    ///
    /// # Panics
    /// If `out[l]` is not in standard layout: every constructor of
    /// [`Params`] (generation, the readers) builds it so, and a view of it
    /// must not silently lose the atoms.
    pub fn dictionary_columns(&self, l: usize) -> Vec<&[f64]> {
        let o = &self.out[l];
        let dout = o.len() / o.dim().0;
        o.as_slice()
            .unwrap_or_else(|| unreachable!("level {} dictionary is not in standard layout", l + 1))
            .chunks_exact(dout)
            .collect()
    }
}

fn shape_err(e: ndarray::ShapeError) -> ModelError {
    ModelError::Internal(format!("shape: {e}"))
}

/// Fills `v` with a uniformly random unit vector (normalised Gaussian).
fn unit_vector(rng: &mut Stream, v: &mut [f64]) {
    loop {
        rng.fill_normal(v);
        let norm = dot(v, v).sqrt();
        if norm > 1e-12 {
            v.iter_mut().for_each(|x| *x /= norm);
            return;
        }
    }
}

/// `m` columns of length `d`, stored column after column: orthonormal (modified
/// Gram–Schmidt, two passes) or independent unit vectors.
fn dictionary(rng: &mut Stream, d: usize, m: usize, kind: Dictionary) -> Vec<f64> {
    let mut cols = vec![0.0; d * m];
    for col in cols.chunks_exact_mut(d) {
        unit_vector(rng, col);
    }
    if kind == Dictionary::Orthonormal {
        orthonormalize(&mut cols, d);
    }
    cols
}

/// Scales each ConvT output channel to unit pre-activation variance and sets
/// the level's threshold `b_l` to the `(1 - k_l/m_l)` quantile of all its
/// pre-activations, level by level, on the calibration sample.
fn calibrate(params: &mut Params, seed: u64) -> Result<(), ModelError> {
    let cfg = params.config.clone();
    let n_cal = cfg.calibration_samples;
    // The whole working memory is asked for once, up front: if the system
    // cannot give it, that is an error here, not an abort halfway.
    let need = cfg.calibration_bytes().unwrap_or(u64::MAX);
    let out_of_memory = |bytes: u64| ModelError::OutOfMemory {
        what: format!("calibrating the thresholds on calibration_samples = {n_cal} samples"),
        bytes,
        fix: "lower calibration_samples in the config".into(),
    };
    if !can_allocate(need) {
        return Err(out_of_memory(need));
    }
    let net = Net::new(params);
    let mut streams: Vec<Stream> = Vec::new();
    streams
        .try_reserve_exact(n_cal)
        .map_err(|_| out_of_memory((n_cal * std::mem::size_of::<Stream>()) as u64))?;
    streams.extend((0..n_cal as u64).map(|i| Stream::new(seed, Domain::Calibration, i)));
    // Level-1 codes of the calibration sample.
    let s1_len = net.s_len(0);
    let mut codes: Vec<Codes> = Vec::new();
    codes
        .try_reserve_exact(n_cal)
        .map_err(|_| out_of_memory((n_cal * std::mem::size_of::<Codes>()) as u64))?;
    codes.par_extend(streams.par_iter_mut().map(|st| {
        let mut z = vec![0.0; cfg.d0];
        st.fill_normal(&mut z);
        let mut s = Codes::zeros(s1_len / cfg.m[0], cfg.m[0]);
        forward::level1(&net, &z, &mut s);
        s
    }));

    for l in 1..cfg.levels {
        let (m_out, n_out) = (cfg.m[l], cfg.n(l));
        let positions = n_out * n_out;
        // Pass 1: per-channel mean and variance of the unscaled pre-activation.
        let kn = forward::up_kernel(
            &params.up[l - 1].weight,
            &params.up[l - 1].bias,
            0.0,
            cfg.n(l - 1),
            cfg.up_padding(),
        );
        let moments: Vec<Vec<(f64, f64)>> = codes
            .par_iter()
            .map(|s| {
                let mut pre = vec![0.0; positions * m_out];
                forward::up_pre(&kn, s, &mut pre);
                let mut acc = vec![(0.0, 0.0); m_out];
                for row in pre.chunks_exact(m_out) {
                    for (a, &v) in acc.iter_mut().zip(row) {
                        a.0 += v;
                        a.1 += v * v;
                    }
                }
                acc
            })
            .collect();
        let total = (n_cal * positions) as f64;
        let mut sum = vec![(0.0, 0.0); m_out];
        for acc in &moments {
            for (s, a) in sum.iter_mut().zip(acc) {
                s.0 += a.0;
                s.1 += a.1;
            }
        }
        for (o, &(s1, s2)) in sum.iter().enumerate() {
            let mean = s1 / total;
            let var = s2 / total - mean * mean;
            if !(var.is_finite() && var > 0.0) {
                return Err(ModelError::InvalidConfig {
                    field: "k".into(),
                    rule: format!(
                        "level {}: channel {o} of the super-resolution layer {} on the calibration sample (pre-activation variance {var}): level {}'s codes are too sparse for it; raise k[{}] = {} or calibration_samples = {n_cal}",
                        l + 1,
                        if var.is_finite() {
                            "receives no input"
                        } else {
                            "overflows"
                        },
                        l,
                        l,
                        cfg.k[l - 1]
                    ),
                });
            }
            let scale = 1.0 / var.sqrt();
            params.up[l - 1]
                .weight
                .slice_mut(ndarray::s![.., o, .., ..])
                .mapv_inplace(|w| w * scale);
        }

        // Pass 2: pre-activations (plus noise) with the final weights, per channel.
        let sigma = cfg.sigma[l];
        let kn = forward::up_kernel(
            &params.up[l - 1].weight,
            &params.up[l - 1].bias,
            sigma,
            cfg.n(l - 1),
            cfg.up_padding(),
        );
        let pres: Vec<Vec<f64>> = codes
            .par_iter()
            .zip(streams.par_iter_mut())
            .map(|(s, st)| {
                let mut pre = vec![0.0; positions * m_out];
                forward::up_pre(&kn, s, &mut pre);
                if sigma > 0.0 {
                    pre.iter_mut().for_each(|v| *v += sigma * st.normal());
                }
                pre
            })
            .collect();
        // One threshold for the level: the mean number of active channels per
        // patch is k_l, i.e. a fraction k_l / m_l of all (sample, position,
        // channel) pre-activations lies above b_l. Only positive values can lie
        // above a threshold b_l > 0, so only they are kept for the selection.
        let entries = (n_cal * positions * m_out) as f64;
        let wanted = (cfg.k[l] / m_out as f64 * entries).round() as usize;
        let count: usize = pres
            .par_iter()
            .map(|p| p.iter().filter(|&&v| v > 0.0).count())
            .sum();
        let mut positive: Vec<f64> = Vec::new();
        positive
            .try_reserve_exact(count)
            .map_err(|_| out_of_memory(count as u64 * 8))?;
        positive.extend(pres.iter().flatten().copied().filter(|&v| v > 0.0));
        let reachable = positive.len() as f64 / (n_cal * positions) as f64;
        let b = if wanted >= 1 && wanted < positive.len() {
            upper_quantile(&mut positive, wanted)
        } else {
            0.0
        };
        drop(positive);
        if b.is_nan() || b <= 0.0 {
            return Err(ModelError::InvalidConfig {
                field: "k".into(),
                rule: format!(
                    "k[{}] = {} is unreachable: on the calibration sample at most {reachable:.3} channels \
                     per patch are active with a threshold b_l > 0 (and at least 1 / ({n_cal} * {positions}))",
                    l + 1,
                    cfg.k[l]
                ),
            });
        }
        params.up[l - 1].bias.fill(b);
        // Codes of this level for the next one (noise already drawn above).
        let bias = params.up[l - 1].bias.to_vec();
        codes = pres
            .into_par_iter()
            .map(|mut pre| {
                for row in pre.chunks_exact_mut(m_out) {
                    for (v, b) in row.iter_mut().zip(&bias) {
                        *v = (*v - b).max(0.0);
                    }
                }
                Codes::from_values(pre, m_out)
            })
            .collect();
    }
    Ok(())
}

/// Whether `bytes` can be allocated now: a block of that size is reserved
/// and given back untouched (no page is written). Beyond what the system
/// can map (more than its memory and swap, under Linux's default
/// overcommit) the reservation fails, and so does this.
fn can_allocate(bytes: u64) -> bool {
    let Ok(len) = usize::try_from(bytes) else {
        return false;
    };
    let mut probe: Vec<u8> = Vec::new();
    let ok = probe.try_reserve_exact(len).is_ok();
    // Keep the optimiser from eliding the unused allocation.
    std::hint::black_box(probe.as_ptr());
    ok
}

/// The threshold `b` with exactly `c` of `values` above it (`1 <= c < len`):
/// the midpoint between the `c`-th and `(c+1)`-th largest values.
fn upper_quantile(values: &mut [f64], c: usize) -> f64 {
    let len = values.len();
    // After this, values[..len-c] <= values[len-c] <= values[len-c+1..].
    let (below, &mut c_th, _) = values.select_nth_unstable_by(len - c, f64::total_cmp);
    let next = below.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    0.5 * (next + c_th)
}
