//! The start of each stage: its discriminator and, for the
//! method-of-moments baseline (`init = "moments"`), the warm start of the
//! learner on `warm_samples` real samples ([`warm_start`]).
//!
//! With `init = "random"` (the GAN default) nothing here reads the data
//! except the discriminator: the closed-form one takes the feature means of
//! `real_samples` real samples as its real side; the ascent-trained ones start
//! from their own random filters and zero weights.
//!
//! `freeze_discriminator` (a sabotage switch) skips the baseline's
//! dictionary warm starts too, since they set the discriminator's filters.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Kind, Tensor};

use super::TrainError;
use super::closed::{Closed, Family};
use super::config::{DiscKind, Init, StageConfig, TrainConfig};
use super::disc::{Degree4, Moments, Pair, moment_features};
use super::generator::{Generator, array4, decode, seeded_randn};
use super::stage::{Ctx, Disc, Draw, Source, StageKind, inputs_from_images, real_inputs};
use crate::metrics;

/// Codes below `ACTIVE_REL * max` count as inactive when measuring rates
/// (decoding an exact zero leaves round-off of either sign).
pub const ACTIVE_REL: f64 = 1e-5;

fn failed(stage: StageKind, e: impl std::fmt::Display) -> TrainError {
    TrainError::WarmStart {
        stage: stage.name(),
        reason: e.to_string(),
    }
}

fn to_tensor(v: &[f64], shape: &[i64], ctx: &Ctx<'_>) -> Tensor {
    Tensor::from_slice(v)
        .reshape(shape)
        .to_kind(ctx.kind)
        .to_device(ctx.device)
}

/// Atoms (rows, unit, sign-fixed) of real level-`l` images `x` (T5 + refinement).
fn dictionary_from(
    x: &Tensor,
    l: usize,
    cfg: &TrainConfig,
    seed: u64,
    ctx: &Ctx<'_>,
) -> Result<Tensor, TrainError> {
    let p = metrics::patches(array4(x)?.view(), cfg.model.patch);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let m = cfg.model.m[l];
    let atoms = crate::theory::dictionary::learn_dictionary(p.view(), m, 20_000, &mut rng)
        .map_err(|e| TrainError::InvalidConfig {
            field: "model.m".into(),
            rule: e.to_string(),
        })?;
    Ok(to_tensor(&atoms.concat(), &[m as i64, -1], ctx))
}

/// Per-channel `(E s, E s^2)` of codes `(B, m, n, n)`, pooled over samples and patches.
fn channel_moments(s: &Tensor) -> Result<(Vec<f64>, Vec<f64>), TrainError> {
    let dims = [0i64, 2, 3];
    let m1 = s.mean_dim(dims.as_slice(), false, Kind::Double);
    let m2 = s.square().mean_dim(dims.as_slice(), false, Kind::Double);
    Ok((Vec::<f64>::try_from(&m1)?, Vec::<f64>::try_from(&m2)?))
}

/// Sets `(alpha', t')` of the learner from decoded codes, channel by channel.
fn code_law_from(
    learner: &mut Generator,
    s: &Tensor,
    stage: StageKind,
    ctx: &Ctx<'_>,
) -> Result<(), TrainError> {
    let (m1, m2) = channel_moments(s)?;
    let mut alpha = Vec::with_capacity(m1.len());
    let mut t = Vec::with_capacity(m1.len());
    for (j, (a, b)) in m1.iter().zip(&m2).enumerate() {
        let (al, be) = crate::theory::gauss_relu::alpha_beta_from_moments(*a, *b).map_err(|e| {
            failed(stage, format!("channel {j} of the codes decoded with the learner's dictionary: {e}; is the level-1 dictionary learned (dict1_min_cos)?"))
        })?;
        alpha.push(al);
        t.push(be / al);
    }
    let n = alpha.len() as i64;
    tch::no_grad(|| {
        learner.alpha.copy_(&to_tensor(&alpha, &[n], ctx));
        learner.t.copy_(&to_tensor(&t, &[n], ctx));
    });
    Ok(())
}

/// Builds a stage's discriminator; for a `fresh` stage with `init = "moments"`
/// first warm-starts the learner (the method-of-moments baseline). With
/// `init = "random"` nothing is estimated: the learner keeps its state and
/// the discriminator starts from its own random (or zero) weights.
pub fn start_stage(
    kind: StageKind,
    cfg: &TrainConfig,
    scfg: &StageConfig,
    ctx: &Ctx<'_>,
    learner: &mut Generator,
    seed: u64,
    fresh: bool,
) -> Result<Disc, TrainError> {
    let moments = scfg.init == Init::Moments;
    if fresh && moments {
        warm_start(kind, cfg, ctx, learner, seed)?;
    }
    match scfg.disc {
        DiscKind::Closed => Ok(Disc::Closed(closed_disc(kind, cfg, ctx, learner, seed))),
        DiscKind::Ascent => ascent_disc(kind, cfg, ctx, learner, seed, moments),
        DiscKind::Witness => match kind {
            StageKind::Superres(l) => {
                let m = &cfg.model;
                let win = if m.kernel == 2 {
                    m.m[l - 1]
                } else {
                    9 * m.m[l - 1]
                };
                Ok(Disc::Witness(super::witness::Witness::new(
                    win as i64,
                    scfg.hidden as i64,
                    m.d() as i64,
                    m.kernel,
                    m.patch,
                    seed.wrapping_mul(0x9E37_79B9).wrapping_add(7),
                    ctx.kind,
                    ctx.device,
                )))
            }
            _ => Err(TrainError::InvalidConfig {
                field: "disc".into(),
                rule: "\"witness\" is a super-resolution discriminator: set it in [superres] only"
                    .into(),
            }),
        },
    }
}

/// The feature family of a stage's closed-form discriminator.
pub fn family(kind: StageKind, cfg: &TrainConfig) -> Family {
    match kind {
        StageKind::Dictionary(_) => Family::Level1Images,
        StageKind::Level1 => Family::Codes,
        StageKind::Superres(_) => Family::Pairs {
            kernel: cfg.model.kernel,
            q: cfg.model.patch,
            pair_weight: 1.0,
        },
    }
}

/// The closed-form discriminator of a stage: its real side from
/// `real_samples` real samples (seeded by `seed`), `lambda = 0`.
fn closed_disc(
    kind: StageKind,
    cfg: &TrainConfig,
    ctx: &Ctx<'_>,
    learner: &Generator,
    seed: u64,
) -> Closed {
    let chunk = cfg.batch.clamp(1, 8192);
    let chunks = real_chunks(kind, ctx, learner, cfg.real_samples, seed, chunk);
    let inverse_variance = super::stage::stage_cfg(cfg, kind).inverse_variance;
    Closed::from_real(
        family(kind, cfg),
        cfg.model.patch,
        &chunks,
        inverse_variance,
    )
}

/// `n` real samples of `kind` seeded by `seed`, in chunks of at most
/// `chunk`: the oracle's latents of `seed + 0x5EA1 + i` for chunk `i`, or
/// the dataset's fixed set of `n` training samples ([`Draw::Fixed`]).
fn real_chunks(
    kind: StageKind,
    ctx: &Ctx<'_>,
    learner: &Generator,
    n: usize,
    seed: u64,
    chunk: usize,
) -> Vec<Vec<Tensor>> {
    let mut chunks = Vec::new();
    match ctx.source {
        Source::Oracle(_) => {
            let mut done = 0;
            let mut i = 0u64;
            while done < n {
                let b = chunk.min(n - done);
                let draw = Draw::Fixed {
                    seed: seed.wrapping_add(0x5EA1).wrapping_add(i),
                    n: b,
                };
                chunks.push(real_inputs(kind, ctx, learner, draw));
                done += b;
                i += 1;
            }
        }
        Source::Samples(d) => {
            let x = d.fixed(n, seed);
            let total = x[0].size()[0];
            let mut start = 0;
            while start < total {
                let b = (chunk as i64).min(total - start);
                let part: Vec<Tensor> = x.iter().map(|t| t.narrow(0, start, b)).collect();
                chunks.push(tch::no_grad(|| {
                    inputs_from_images(kind, ctx, learner, &part)
                }));
                start += b;
            }
        }
    }
    chunks
}

/// Random unit rows `(j, d)` from `seed` (the discriminator's own start).
fn random_filters(j: i64, d: i64, seed: u64, ctx: &Ctx<'_>) -> Tensor {
    let mut v = seeded_randn(seed, &[j, d], ctx.kind, ctx.device);
    super::disc::normalize_rows(&mut v);
    v
}

/// The ascent-trained discriminator of a stage. After a warm start
/// (`moments`) its first-layer filters start from the warm-started
/// dictionary and its code features are standardised by the real codes (the
/// baseline of fsrgan 0.1); from a random start its filters are its own
/// random unit vectors and its code features are raw.
fn ascent_disc(
    kind: StageKind,
    cfg: &TrainConfig,
    ctx: &Ctx<'_>,
    learner: &Generator,
    seed: u64,
    moments: bool,
) -> Result<Disc, TrainError> {
    let q = cfg.model.patch;
    let d = cfg.model.d() as i64;
    let mix = |k: u64| seed.wrapping_mul(0x9E37_79B9).wrapping_add(k);
    match kind {
        StageKind::Dictionary(l) => {
            let v = if moments {
                learner.out[l].detach()
            } else {
                random_filters(2 * cfg.model.m[l] as i64, d, mix(4), ctx)
            };
            Ok(Disc::Degree4(Degree4::new(&v, 0.0, q)))
        }
        StageKind::Level1 => {
            let draw = Draw::Fixed {
                seed,
                n: cfg.warm_samples,
            };
            let real = real_inputs(kind, ctx, learner, draw).remove(0);
            let feats = tch::no_grad(|| moment_features(&real));
            Ok(Disc::Moments(Moments::new(&feats, moments)))
        }
        StageKind::Superres(l) => {
            let v = if moments {
                learner.out[l].detach()
            } else {
                random_filters(2 * cfg.model.m[l] as i64, d, mix(4), ctx)
            };
            let window = 9 * cfg.model.m[l - 1] as i64;
            Ok(Disc::Pair(Pair::new(&v, window, q, mix(3))))
        }
    }
}

/// The method-of-moments warm start of a fresh stage (`init = "moments"`):
///
/// * `dict1`: `M'_1` by degree-4 ascent with deflation and sparse-decoding
///   refinement (T5/T8) on real patches, `(alpha'_j, t'_j)` from the moments
///   of the codes decoded with it (T6, per channel, pooled over patches);
/// * `level1`: `(alpha', beta', w')` by the method of moments (T6);
/// * `superres{l}`: `M'_l` as in `dict1` on level-`l` patches; `b'_l` so that
///   each channel's activity on real parents equals the real decoded rate.
fn warm_start(
    kind: StageKind,
    cfg: &TrainConfig,
    ctx: &Ctx<'_>,
    learner: &mut Generator,
    seed: u64,
) -> Result<(), TrainError> {
    let q = cfg.model.patch;
    let frozen = cfg.debug.freeze_discriminator;
    let draw = Draw::Fixed {
        seed,
        n: cfg.warm_samples,
    };
    let mix = |k: u64| seed.wrapping_mul(0x9E37_79B9).wrapping_add(k);
    match kind {
        StageKind::Dictionary(l) => {
            if !frozen {
                let x = real_inputs(kind, ctx, learner, draw).remove(0);
                let atoms = dictionary_from(&x, l, cfg, mix(1), ctx)?;
                tch::no_grad(|| learner.out[l].copy_(&atoms));
                if l == 0 {
                    let s = tch::no_grad(|| decode(&x, &learner.out[0], q, ctx.tau));
                    code_law_from(learner, &s, kind, ctx)?;
                }
            }
        }
        StageKind::Level1 => {
            let real = real_inputs(kind, ctx, learner, draw).remove(0);
            let fit = crate::theory::level1_fit::fit_level1(array4(&real)?.view(), cfg.model.d0)
                .map_err(|e| {
                    failed(
                        kind,
                        format!("{e}; is the level-1 dictionary learned (dict1_min_cos)?"),
                    )
                })?;
            let m = fit.alpha.len() as i64;
            let t: Vec<f64> = fit
                .beta
                .iter()
                .zip(&fit.alpha)
                .map(|(b, a)| b / a)
                .collect();
            let w: Vec<f64> = fit.w.iter().copied().collect();
            tch::no_grad(|| {
                learner.alpha.copy_(&to_tensor(&fit.alpha, &[m], ctx));
                learner.t.copy_(&to_tensor(&t, &[m], ctx));
                learner
                    .w1
                    .copy_(&to_tensor(&w, &[-1, cfg.model.d0 as i64], ctx));
            });
        }
        StageKind::Superres(l) => {
            let mut c = Ctx { ..*ctx };
            c.condition = super::config::Condition::Real;
            let real = real_inputs(kind, &c, learner, draw);
            if !frozen {
                let atoms = dictionary_from(&real[1], l, cfg, mix(2), ctx)?;
                tch::no_grad(|| learner.out[l].copy_(&atoms));
            }
            set_thresholds(learner, l, &real, ctx)?;
        }
    }
    Ok(())
}

/// `b'_l`: per channel, the `(1 - rate)` quantile of the pre-activations on
/// real parents, with `rate` the channel's activity on the real children
/// decoded with `M'_l`.
fn set_thresholds(
    learner: &mut Generator,
    l: usize,
    real: &[Tensor],
    ctx: &Ctx<'_>,
) -> Result<(), TrainError> {
    let q = learner.config.patch;
    let m = learner.config.m[l] as i64;
    tch::no_grad(|| -> Result<(), TrainError> {
        let child = decode(&real[1], &learner.out[l], q, ctx.tau);
        let thr = child.max().double_value(&[]) * ACTIVE_REL;
        let rates = child.gt(thr).to_kind(Kind::Double).mean_dim(
            [0i64, 2, 3].as_slice(),
            false,
            None::<Kind>,
        );
        let rates = Vec::<f64>::try_from(&rates)?;
        let pre = learner
            .up_pre(l - 1, &real[0])
            .permute([1, 0, 2, 3])
            .reshape([m, -1])
            .to_kind(Kind::Double);
        let mut b = Vec::with_capacity(rates.len());
        for (c, &rate) in rates.iter().enumerate() {
            let mut v = Vec::<f64>::try_from(&pre.get(c as i64))?;
            if v.is_empty() {
                return Err(failed(
                    StageKind::Superres(l),
                    "no pre-activations to take a threshold from",
                ));
            }
            v.sort_by(f64::total_cmp);
            let k = ((1.0 - rate.clamp(1e-4, 1.0)) * (v.len() - 1) as f64).round() as usize;
            b.push(v[k.min(v.len() - 1)]);
        }
        learner.up[l - 1].1.copy_(&to_tensor(&b, &[m], ctx));
        Ok(())
    })
}
