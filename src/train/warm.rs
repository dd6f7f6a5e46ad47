//! The start of each stage: its discriminator, and (for a fresh stage) the
//! theory-driven warm start of the learner, on `warm_samples` real samples.
//!
//! * `dict1`: the discriminator's first layer is found by degree-4 ascent with
//!   deflation and refined by sparse decoding ([`crate::theory::dictionary`],
//!   T5/T8); the learner's `M'_1` starts from it, and its code law
//!   `(alpha'_j, t'_j)` from the moments of the codes decoded with it (T6,
//!   per channel, pooled over patches). `w'` stays random.
//! * `level1`: with `warm_start`, `(alpha', beta', w')` by the method of moments on
//!   the decoded codes ([`crate::theory::level1_fit`], T6); the discriminator's
//!   features are standardised by the same real codes.
//! * `superres{l}`: the pair discriminator's filters and `M'_l` as in `dict1`
//!   on level-`l` patches; `b'_l` so that each channel's activity rate on real
//!   parents equals the real decoded rate (a quantile of the pre-activations).
//!
//! `freeze_discriminator` (a sabotage switch) skips the discriminator's warm
//! start too, and with it the learner's dictionary start.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Kind, Tensor};

use super::TrainError;
use super::config::{StageConfig, TrainConfig};
use super::disc::{Degree4, Moments, Pair, moment_features};
use super::generator::{Generator, array4, decode, latents};
use super::stage::{Ctx, Disc, StageKind, real_inputs};
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
    let p = metrics::patches(array4(x).view(), cfg.model.patch);
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
fn channel_moments(s: &Tensor) -> (Vec<f64>, Vec<f64>) {
    let dims = [0i64, 2, 3];
    let m1 = s.mean_dim(dims.as_slice(), false, Kind::Double);
    let m2 = s.square().mean_dim(dims.as_slice(), false, Kind::Double);
    (
        Vec::<f64>::try_from(&m1).unwrap_or_default(),
        Vec::<f64>::try_from(&m2).unwrap_or_default(),
    )
}

/// Sets `(alpha', t')` of the learner from decoded codes, channel by channel.
fn code_law_from(
    learner: &mut Generator,
    s: &Tensor,
    stage: StageKind,
    ctx: &Ctx<'_>,
) -> Result<(), TrainError> {
    let (m1, m2) = channel_moments(s);
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

/// Builds a stage's discriminator; for a `fresh` stage also warm-starts the learner.
pub fn start_stage(
    kind: StageKind,
    cfg: &TrainConfig,
    scfg: &StageConfig,
    ctx: &Ctx<'_>,
    learner: &mut Generator,
    seed: u64,
    fresh: bool,
) -> Result<Disc, TrainError> {
    let q = cfg.model.patch;
    let frozen = cfg.debug.freeze_discriminator;
    let warm = fresh && scfg.warm_start;
    let z = latents(seed, cfg.warm_samples, cfg.model.d0, ctx.kind, ctx.device);
    let mix = |k: u64| seed.wrapping_mul(0x9E37_79B9).wrapping_add(k);
    match kind {
        StageKind::Dictionary(l) => {
            if warm && !frozen {
                let x = real_inputs(kind, ctx, learner, &z).remove(0);
                let atoms = dictionary_from(&x, l, cfg, mix(1), ctx)?;
                tch::no_grad(|| learner.out[l].copy_(&atoms));
                if l == 0 {
                    let s = tch::no_grad(|| decode(&x, &learner.out[0], q, ctx.tau));
                    code_law_from(learner, &s, kind, ctx)?;
                }
            }
            Ok(Disc::Degree4(Degree4::new(
                &learner.out[l].detach(),
                0.0,
                q,
            )))
        }
        StageKind::Level1 => {
            let real = real_inputs(kind, ctx, learner, &z).remove(0);
            if warm {
                let fit = crate::theory::level1_fit::fit_level1(array4(&real).view(), cfg.model.d0)
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
            } else if fresh {
                // Without the warm start the code law still starts from the data.
                code_law_from(learner, &real, kind, ctx)?;
            }
            let feats = tch::no_grad(|| moment_features(&real));
            Ok(Disc::Moments(Moments::new(&feats)))
        }
        StageKind::Superres(l) => {
            let real = real_inputs(kind, ctx, learner, &z);
            if warm && !frozen {
                let atoms = dictionary_from(&real[1], l, cfg, mix(2), ctx)?;
                tch::no_grad(|| learner.out[l].copy_(&atoms));
            }
            if fresh {
                set_thresholds(learner, l, &real, ctx);
            }
            let window = 9 * cfg.model.m[l - 1] as i64;
            Ok(Disc::Pair(Pair::new(
                &learner.out[l].detach(),
                window,
                q,
                mix(3),
            )))
        }
    }
}

/// `b'_l`: per channel, the `(1 - rate)` quantile of the pre-activations on
/// real parents, with `rate` the channel's activity on the real children
/// decoded with `M'_l`.
fn set_thresholds(learner: &mut Generator, l: usize, real: &[Tensor], ctx: &Ctx<'_>) {
    let q = learner.config.patch;
    let m = learner.config.m[l] as i64;
    tch::no_grad(|| {
        let child = decode(&real[1], &learner.out[l], q, ctx.tau);
        let thr = child.max().double_value(&[]) * ACTIVE_REL;
        let rates = child.gt(thr).to_kind(Kind::Double).mean_dim(
            [0i64, 2, 3].as_slice(),
            false,
            None::<Kind>,
        );
        let rates = Vec::<f64>::try_from(&rates).unwrap_or_default();
        let pre = learner
            .up_pre(l - 1, &real[0])
            .permute([1, 0, 2, 3])
            .reshape([m, -1])
            .to_kind(Kind::Double);
        let b: Vec<f64> = rates
            .iter()
            .enumerate()
            .map(|(c, &rate)| {
                let mut v = Vec::<f64>::try_from(&pre.get(c as i64)).unwrap_or_default();
                v.sort_by(f64::total_cmp);
                let k =
                    ((1.0 - rate.clamp(1e-4, 1.0)) * (v.len().max(1) - 1) as f64).round() as usize;
                v.get(k.min(v.len().saturating_sub(1)))
                    .copied()
                    .unwrap_or(0.0)
            })
            .collect();
        learner.up[l - 1].1.copy_(&to_tensor(&b, &[m], ctx));
    });
}
