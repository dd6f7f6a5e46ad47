//! One GAN step per stage kind. A [`Game`] says what the real and fake
//! inputs of the discriminator are, how it scores them, and which tensors
//! each player owns; [`gan_step`] applies the loss, the update rule
//! (alternating with `n_d` discriminator steps, or simultaneous) and the
//! projections. Losses, with per-sample scores `r = D(real)`, `f = D(fake)`:
//!
//! | loss | discriminator minimises | generator minimises |
//! |---|---|---|
//! | linear | `-(mean r - mean f) + gamma reg` | `-mean f` |
//! | minimax | `-(mean log s(r) + mean log s(-f)) + gamma reg` | `mean log s(-f)` |
//! | non-saturating | same | `-mean log s(f)` |
//!
//! The generator's loss is `adversarial * (row above) + recon * mean |G(s_{l-1}) - X_l|`
//! (the L1 term of pix2pix, super-resolution stages only). For the level-1
//! moment discriminator with the linear loss, `mean r` is replaced by its exact
//! value `<lambda, E_real phi> + c = c` (features are standardised by a large
//! real sample, so their real mean is 0): for a linear discriminator the data
//! side of the game is a fixed vector of moments (T7), and estimating it from
//! each batch only adds noise.

use tch::{Kind, Tensor};

use super::TrainError;
use super::closed::Closed;
use super::config::{Condition, Init, Loss, StageConfig, TrainConfig, Update};
use super::data::Samples;
use super::disc::{Degree4, Moments, Pair, normalize_rows};
use super::generator::{Generator, decode, latents, orthonormalize_rows};
use super::optim::Optim;
use super::witness::Witness;

/// What a stage trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageKind {
    /// The output dictionary of level `l` (0-based; the stage list uses level 1 only).
    Dictionary(usize),
    /// Level 1's `alpha`, `t`, `w`.
    Level1,
    /// The super-resolution layer producing level `l` (0-based, `l >= 1`)
    /// and that level's output dictionary (`init = "random"`; with
    /// `init = "moments"` the dictionary is warm-started and held).
    Superres(usize),
}

impl StageKind {
    /// The stage's name in files and progress (`dict1`, `level1`, `superres2`).
    pub fn name(self) -> String {
        match self {
            StageKind::Dictionary(l) => format!("dict{}", l + 1),
            StageKind::Level1 => "level1".into(),
            StageKind::Superres(l) => format!("superres{}", l + 1),
        }
    }
    /// The stages of a model with `levels` levels, in training order:
    /// `dict1`, `level1`, `superres2`, ..., `superresL`.
    pub fn all(levels: usize) -> Vec<StageKind> {
        let mut v = vec![StageKind::Dictionary(0), StageKind::Level1];
        v.extend((1..levels).map(StageKind::Superres));
        v
    }
    /// The level (0-based) whose dictionary the stage's discriminator looks at, if any.
    pub fn level(self) -> Option<usize> {
        match self {
            StageKind::Dictionary(l) | StageKind::Superres(l) => Some(l),
            StageKind::Level1 => None,
        }
    }
}

/// The settings of a stage kind: `[dictionary]`, `[level1]` or `[superres]`.
pub fn stage_cfg(cfg: &TrainConfig, kind: StageKind) -> &StageConfig {
    match kind {
        StageKind::Dictionary(_) => &cfg.dictionary,
        StageKind::Level1 => &cfg.level1,
        StageKind::Superres(_) => &cfg.superres,
    }
}

/// Where a stage's real samples come from.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// Fresh draws of a generator (the truth, or the truth of
    /// `debug.real_truth_seed`) for every batch: `data = "oracle"`.
    Oracle(&'a Generator),
    /// A dataset's training split (`data = "dataset"`, [`Samples`]).
    Samples(&'a Samples),
}

/// Which real samples a draw asks for.
#[derive(Debug, Clone, Copy)]
pub enum Draw {
    /// A training batch of `ctx.batch` samples: the oracle's latents of this
    /// seed, or the dataset's next batch of its epochs.
    Batch(u64),
    /// A fixed set of `n` samples of this seed: the oracle's latents, or the
    /// first `n` of a seeded permutation of the training split.
    Fixed {
        /// Seed.
        seed: u64,
        /// Samples.
        n: usize,
    },
    /// `ctx.batch` evaluation samples of this seed: the oracle's latents, or
    /// held-out samples of the dataset.
    Heldout(u64),
}

/// Shared read-only context of a stage.
pub struct Ctx<'a> {
    /// The real samples.
    pub source: Source<'a>,
    /// Latent dimension `d0` (of the truth's and the learner's config).
    pub d0: usize,
    /// Batch size.
    pub batch: usize,
    /// Decoder threshold.
    pub tau: f64,
    /// Condition of the super-resolution stages.
    pub condition: Condition,
    /// Negative slope of the learner's super-resolution ReLU during training
    /// (decays to 0; see `StageConfig::leak`).
    pub leak: f64,
    /// Tensor kind and device.
    pub kind: Kind,
    /// Device.
    pub device: tch::Device,
    /// Keep the learner's dictionaries orthonormal (the model's dictionaries
    /// are orthonormal) rather than only unit-norm.
    pub orthonormal: bool,
}

impl<'a> Ctx<'a> {
    /// The context of a run on `source`: the config's sizes, decoder
    /// threshold and game, no leak yet.
    pub fn new(source: Source<'a>, cfg: &TrainConfig, kind: Kind, device: tch::Device) -> Ctx<'a> {
        Ctx {
            source,
            d0: cfg.model.d0,
            batch: cfg.batch,
            tau: cfg.decode_tau,
            condition: cfg.condition,
            leak: 0.0,
            kind,
            device,
            orthonormal: cfg.model.dictionary == crate::model::Dictionary::Orthonormal,
        }
    }

    /// Latents for `seed`.
    pub fn z(&self, seed: u64) -> Tensor {
        latents(seed, self.batch, self.d0, self.kind, self.device)
    }
}

/// The discriminator of a stage.
#[derive(Debug)]
pub enum Disc {
    /// Dictionary stages.
    Degree4(Degree4),
    /// The level-1 stage.
    Moments(Moments),
    /// Super-resolution stages.
    Pair(Pair),
    /// The closed-form discriminator of any stage (`disc = "closed"`).
    Closed(Closed),
    /// The learned-feature pair discriminator of the super-resolution
    /// stages (`disc = "witness"`).
    Witness(Witness),
}

impl Disc {
    /// The discriminator's parameters in a fixed order (for optimisers and checkpoints).
    pub fn params(&mut self) -> Vec<&mut Tensor> {
        match self {
            Disc::Degree4(d) => d.params(),
            Disc::Moments(d) => d.params(),
            Disc::Pair(d) => d.params(),
            Disc::Closed(d) => d.params(),
            Disc::Witness(d) => d.params(),
        }
    }
    /// `(1/2)||weights||^2`.
    pub fn reg(&self) -> Tensor {
        match self {
            Disc::Degree4(d) => d.reg(),
            Disc::Moments(d) => d.reg(),
            Disc::Pair(d) => d.reg(),
            Disc::Closed(_) | Disc::Witness(_) => {
                Tensor::zeros([], (Kind::Double, tch::Device::Cpu))
            }
        }
    }
    fn project(&mut self) {
        match self {
            Disc::Degree4(d) => d.project(),
            Disc::Moments(_) | Disc::Closed(_) | Disc::Witness(_) => {}
            Disc::Pair(d) => d.project(),
        }
    }
    /// First-layer filters, if any.
    pub fn filters(&self) -> Option<&Tensor> {
        match self {
            Disc::Degree4(d) => Some(&d.v),
            Disc::Moments(_) | Disc::Closed(_) | Disc::Witness(_) => None,
            Disc::Pair(d) => Some(&d.v),
        }
    }
}

/// The discriminator's inputs: images (dictionary), codes (level 1), or
/// (parent codes, child images) (super-resolution).
pub type Inputs = Vec<Tensor>;

/// Real inputs of `kind` for `draw` (no gradient): from the oracle's
/// latents, or from the dataset's images ([`inputs_from_images`]).
pub fn real_inputs(kind: StageKind, ctx: &Ctx<'_>, learner: &Generator, draw: Draw) -> Inputs {
    tch::no_grad(|| match ctx.source {
        Source::Oracle(t) => {
            let z = match draw {
                Draw::Batch(seed) | Draw::Heldout(seed) => ctx.z(seed),
                Draw::Fixed { seed, n } => latents(seed, n, ctx.d0, ctx.kind, ctx.device),
            };
            oracle_inputs(kind, ctx, t, learner, &z)
        }
        Source::Samples(d) => {
            let x = match draw {
                Draw::Batch(_) => d.next(ctx.batch),
                Draw::Fixed { seed, n } => d.fixed(n, seed),
                Draw::Heldout(seed) => d.heldout(ctx.batch, seed),
            };
            inputs_from_images(kind, ctx, learner, &x)
        }
    })
}

/// The discriminator's real inputs from images `x1..xL` of the same
/// samples: level-`l` images (dictionary), level-1 codes decoded with the
/// learner's `M'_1` (level 1), or (level-`l-1` codes decoded with `M'_{l-1}`,
/// level-`l` images) (super-resolution).
pub fn inputs_from_images(
    kind: StageKind,
    ctx: &Ctx<'_>,
    learner: &Generator,
    x: &[Tensor],
) -> Inputs {
    let q = learner.config.patch;
    match kind {
        StageKind::Dictionary(l) => vec![x[l].shallow_clone()],
        StageKind::Level1 => vec![decode(&x[0], &learner.out[0], q, ctx.tau)],
        StageKind::Superres(l) => vec![
            decode(&x[l - 1], &learner.out[l - 1], q, ctx.tau),
            x[l].shallow_clone(),
        ],
    }
}

/// Real inputs of `kind` from the generator `t`'s latents `z`.
fn oracle_inputs(
    kind: StageKind,
    ctx: &Ctx<'_>,
    t: &Generator,
    learner: &Generator,
    z: &Tensor,
) -> Inputs {
    let q = t.config.patch;
    match kind {
        StageKind::Dictionary(l) => vec![codes_image(t, z, l)],
        StageKind::Level1 => {
            let x = t.image(0, &t.level1(z));
            vec![decode(&x, &learner.out[0], q, ctx.tau)]
        }
        StageKind::Superres(l) => {
            let s = t.codes(z);
            let parent = decode(&t.image(l - 1, &s[l - 1]), &learner.out[l - 1], q, ctx.tau);
            vec![parent, t.image(l, &s[l])]
        }
    }
}

fn codes_image(g: &Generator, z: &Tensor, l: usize) -> Tensor {
    let mut s = g.level1(z);
    for k in 0..l {
        s = g.up(k, &s);
    }
    g.image(l, &s)
}

/// Fake inputs of `kind` (differentiable in the learner's parameters). The
/// super-resolution stage conditions on `real[0]` (decoded real parents) or on
/// the learner's own codes.
pub fn fake_inputs(
    kind: StageKind,
    ctx: &Ctx<'_>,
    learner: &Generator,
    z: &Tensor,
    real: &Inputs,
) -> Inputs {
    let q = learner.config.patch;
    match kind {
        StageKind::Dictionary(l) => vec![codes_image(learner, z, l)],
        StageKind::Level1 => {
            let x = learner.image(0, &learner.level1(z));
            vec![decode(&x, &learner.out[0], q, ctx.tau)]
        }
        StageKind::Superres(l) => match ctx.condition {
            // pix2pix-style: the learner's child of the decoded real parents.
            Condition::Real => {
                let parent = real[0].shallow_clone();
                let child = learner.image(l, &learner.up_leaky(l - 1, &parent, ctx.leak));
                vec![parent, child]
            }
            // The learner's own pair (X'_{l-1}, X'_l) of one latent; the
            // discriminator decodes X'_{l-1} exactly as it decodes real parents.
            Condition::Generated => {
                let s = tch::no_grad(|| {
                    let mut s = learner.level1(z);
                    for k in 0..l - 1 {
                        s = learner.up(k, &s);
                    }
                    s
                });
                let parent = tch::no_grad(|| {
                    decode(&learner.image(l - 1, &s), &learner.out[l - 1], q, ctx.tau)
                });
                let child = learner.image(l, &learner.up_leaky(l - 1, &s, ctx.leak));
                vec![parent, child]
            }
        },
    }
}

/// Per-sample scores (the discriminators with per-sample scores; the
/// closed-form one scores batches through its feature means).
pub fn score(d: &Disc, inputs: &Inputs) -> Tensor {
    match d {
        Disc::Degree4(d) => d.score(&inputs[0]),
        Disc::Moments(d) => d.score(&inputs[0]),
        Disc::Pair(d) => d.score(&inputs[0], &inputs[1]),
        Disc::Closed(d) => d.g_loss(&d.fake_means(inputs)) * -1.0,
        Disc::Witness(d) => d.score_with(&d.h(&inputs[0]), &inputs[1]),
    }
}

/// The learner's tensors a stage trains, in a fixed order. From a random
/// start (`init = "random"`) `dict1` trains the whole level-1 generator
/// (`M'_1` and the code law `w'`, `alpha'`, `t'`: the dictionary alone
/// cannot match the moments of the wrong code law) and `superres{l}` trains
/// `M'_l` with the layer; after the warm starts (`init = "moments"`) the
/// estimated parts are held.
pub fn g_params(kind: StageKind, init: Init, g: &mut Generator) -> Vec<&mut Tensor> {
    let random = init == Init::Random;
    match kind {
        StageKind::Dictionary(l) if random && l == 0 => {
            vec![&mut g.out[0], &mut g.w1, &mut g.alpha, &mut g.t]
        }
        StageKind::Dictionary(l) => vec![&mut g.out[l]],
        StageKind::Level1 => vec![&mut g.w1, &mut g.alpha, &mut g.t],
        StageKind::Superres(l) => {
            let (w, b) = &mut g.up[l - 1];
            if random {
                vec![w, b, &mut g.out[l]]
            } else {
                vec![w, b]
            }
        }
    }
}

/// Newton-Schulz iterations of the orthonormal projection after a step.
const ORTHO_ITERS: usize = 10;

/// Projects a dictionary after a step: orthonormal rows when `orthonormal`
/// (and `m <= D`), else unit rows.
fn project_atoms(t: &mut Tensor, orthonormal: bool) {
    let s = t.size();
    if orthonormal && s[0] <= s[1] {
        orthonormalize_rows(t, ORTHO_ITERS);
    } else {
        normalize_rows(t);
    }
}

/// Projections of the learner after a step: unit (or orthonormal) atoms,
/// unit level-1 vectors, `alpha >= 0.05`.
///
/// # Errors
/// [`TrainError::Torch`] if libtorch rejects the clamp.
pub fn project_g(
    kind: StageKind,
    init: Init,
    g: &mut Generator,
    orthonormal: bool,
) -> Result<(), TrainError> {
    let random = init == Init::Random;
    let level1 = |g: &mut Generator| -> Result<(), TrainError> {
        normalize_rows(&mut g.w1);
        // The tensor form: tch panics on an error of an op with a Scalar
        // argument (its Scalar's drop finds libtorch's pending error).
        let floor = Tensor::from(0.05)
            .to_kind(g.alpha.kind())
            .to_device(g.alpha.device());
        drop(tch::no_grad(|| g.alpha.f_clamp_min_tensor_(&floor))?);
        Ok(())
    };
    match kind {
        StageKind::Dictionary(l) => {
            if random {
                project_atoms(&mut g.out[l], orthonormal);
                if l == 0 {
                    level1(g)?;
                }
            } else {
                normalize_rows(&mut g.out[l]);
            }
        }
        StageKind::Level1 => level1(g)?,
        StageKind::Superres(l) => {
            if random {
                project_atoms(&mut g.out[l], orthonormal);
            }
        }
    }
    Ok(())
}

/// The discriminator's loss from real inputs and fake scores.
fn d_loss(loss: Loss, d: &Disc, real: &Inputs, f: &Tensor) -> Tensor {
    let r = match (loss, d) {
        // The exact real side of a linear discriminator on standardised features.
        (Loss::Linear, Disc::Moments(m)) if m.standardised => {
            return -(&m.c - f.mean(None::<Kind>));
        }
        _ => score(d, real),
    };
    match loss {
        Loss::Linear => -(r.mean(None::<Kind>) - f.mean(None::<Kind>)),
        Loss::Minimax | Loss::NonSaturating => {
            -(r.log_sigmoid().mean(None::<Kind>) + (-f).log_sigmoid().mean(None::<Kind>))
        }
    }
}

/// The generator's loss: `adversarial * loss(D(fake)) + recon * mean |fake child - real child|`.
fn g_loss(cfg: &StageConfig, d: &Disc, real: &Inputs, fake: &Inputs) -> Tensor {
    let mut total = Tensor::zeros([], (fake[0].kind(), fake[0].device()));
    if cfg.adversarial > 0.0 {
        let f = score(d, fake);
        let adv = match cfg.loss {
            Loss::Linear => -f.mean(None::<Kind>),
            Loss::Minimax => (-f).log_sigmoid().mean(None::<Kind>),
            Loss::NonSaturating => -f.log_sigmoid().mean(None::<Kind>),
        };
        total += adv * cfg.adversarial;
    }
    if cfg.recon > 0.0 && fake.len() == 2 {
        total += (&fake[1] - &real[1]).abs().mean(None::<Kind>) * cfg.recon;
    }
    total
}

/// Losses of one step, as numbers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepLosses {
    /// Last discriminator loss (`None` when the discriminator does not train:
    /// with `adversarial = 0` it would not affect the generator).
    pub d: Option<f64>,
    /// Generator loss.
    pub g: f64,
}

/// Everything one GAN step needs besides the learner and the discriminator.
pub struct StepArgs<'a> {
    /// The stage.
    pub kind: StageKind,
    /// Its settings.
    pub cfg: &'a StageConfig,
    /// Rates after the schedule.
    pub lr_d: f64,
    /// Generator rate after the schedule.
    pub lr_g: f64,
    /// Seed of this step's batches.
    pub seed: u64,
    /// Skip the discriminator's updates (sabotage).
    pub freeze_d: bool,
    /// Flip the generator's loss (sabotage).
    pub flip_g: bool,
}

/// One GAN step (alternating: `n_d` discriminator steps then one generator
/// step; simultaneous: both from the same batch).
pub fn gan_step(
    a: &StepArgs<'_>,
    ctx: &Ctx<'_>,
    learner: &mut Generator,
    disc: &mut Disc,
    opt_d: &mut Optim,
    opt_g: &mut Optim,
) -> Result<StepLosses, TrainError> {
    let gamma = a.cfg.gamma;
    let sign = if a.flip_g { -1.0 } else { 1.0 };
    if let Disc::Closed(d) = disc {
        return closed_step(a, ctx, learner, d, opt_g);
    }
    if let Disc::Witness(d) = disc {
        return witness_step(a, ctx, learner, d, opt_d, opt_g);
    }
    match a.cfg.update {
        Update::Alternating => {
            let mut dl = None;
            let n_d = if a.cfg.adversarial > 0.0 {
                a.cfg.n_d
            } else {
                0
            };
            for i in 0..n_d {
                let (real, fake) = d_batches(a, ctx, learner, i);
                let loss =
                    d_loss(a.cfg.loss, disc, &real, &score(disc, &fake)) + disc.reg() * gamma;
                dl = Some(loss.double_value(&[]));
                if !a.freeze_d {
                    ascend(&mut disc.params(), &loss, opt_d, a.lr_d)?;
                    disc.project();
                }
            }
            let r_seed = a
                .seed
                .wrapping_mul(4)
                .wrapping_add(2 * a.cfg.n_d as u64 + 2);
            let z_f = ctx
                .z(a.seed
                    .wrapping_mul(4)
                    .wrapping_add(2 * a.cfg.n_d as u64 + 3));
            let real = real_inputs(a.kind, ctx, learner, Draw::Batch(r_seed));
            let fake = fake_inputs(a.kind, ctx, learner, &z_f, &real);
            let gl = g_loss(a.cfg, disc, &real, &fake) * sign;
            let gv = gl.double_value(&[]) * sign;
            descend_g(a, ctx, learner, opt_g, &gl)?;
            Ok(StepLosses { d: dl, g: gv })
        }
        Update::Simultaneous => {
            let z_f = ctx.z(a.seed.wrapping_mul(4).wrapping_add(1));
            let real = real_inputs(a.kind, ctx, learner, Draw::Batch(a.seed.wrapping_mul(4)));
            let fake = fake_inputs(a.kind, ctx, learner, &z_f, &real);
            let dloss = d_loss(a.cfg.loss, disc, &real, &score(disc, &fake)) + disc.reg() * gamma;
            let gloss = g_loss(a.cfg, disc, &real, &fake) * sign;
            let (dv, gv) = (dloss.double_value(&[]), gloss.double_value(&[]) * sign);
            let dparams: Vec<Tensor> = disc.params().iter().map(|p| p.shallow_clone()).collect();
            let gparams: Vec<Tensor> = g_params(a.kind, a.cfg.init, learner)
                .iter()
                .map(|p| p.shallow_clone())
                .collect();
            let gd = Tensor::run_backward(&[&dloss], &dparams, true, false);
            let gg = Tensor::run_backward(&[&gloss], &gparams, false, false);
            if !a.freeze_d && a.cfg.adversarial > 0.0 {
                let mut ps = disc.params();
                opt_d.step(&mut ps, &gd, a.lr_d)?;
                disc.project();
            }
            let mut ps = g_params(a.kind, a.cfg.init, learner);
            opt_g.step(&mut ps, &gg, a.lr_g)?;
            project_g(a.kind, a.cfg.init, learner, ctx.orthonormal)?;
            Ok(StepLosses {
                d: (a.cfg.adversarial > 0.0).then_some(dv),
                g: gv,
            })
        }
    }
}

/// One step against the closed-form discriminator (`train::closed`): it
/// responds to a fake batch `A` (`lambda <- (1 - lr_d) lambda + lr_d (R - F_A)`,
/// unless frozen after its first response), then the generator descends
/// `adversarial * (-E_fake D) + recon * L1` on an independent batch `B`
/// (the L1 term needs the real children of batch `B`'s parents).
fn closed_step(
    a: &StepArgs<'_>,
    ctx: &Ctx<'_>,
    learner: &mut Generator,
    d: &mut Closed,
    opt_g: &mut Optim,
) -> Result<StepLosses, TrainError> {
    let sign = if a.flip_g { -1.0 } else { 1.0 };
    let z_a = ctx.z(a.seed.wrapping_mul(4));
    let z_b = ctx.z(a.seed.wrapping_mul(4).wrapping_add(2));
    let adversarial = a.cfg.adversarial > 0.0;
    let needs_real = ctx.condition == Condition::Real || a.cfg.recon > 0.0;
    let real_b = if needs_real {
        real_inputs(
            a.kind,
            ctx,
            learner,
            Draw::Batch(a.seed.wrapping_mul(4).wrapping_add(1)),
        )
    } else {
        Vec::new()
    };
    let mut dl = None;
    if adversarial {
        let fake_a: Inputs = tch::no_grad(|| fake_inputs(a.kind, ctx, learner, &z_a, &real_b));
        let means = tch::no_grad(|| d.fake_means(&fake_a));
        if !(a.freeze_d && d.started) {
            // The closed form's rate is not scheduled: `lr_d = 1` stays exact.
            dl = Some(d.respond(&means, a.cfg.lr_d.min(1.0)));
        } else {
            dl = Some(-d.value(&means).0);
        }
    }
    let fake_b = fake_inputs(a.kind, ctx, learner, &z_b, &real_b);
    let mut total = Tensor::zeros([], (ctx.kind, ctx.device));
    if adversarial {
        total += d.g_loss(&d.fake_means(&fake_b)) * a.cfg.adversarial;
    }
    if a.cfg.recon > 0.0 && fake_b.len() == 2 && real_b.len() == 2 {
        total += (&fake_b[1] - &real_b[1]).abs().mean(None::<Kind>) * a.cfg.recon;
    }
    let gl = total * sign;
    let gv = gl.double_value(&[]) * sign;
    descend_g(a, ctx, learner, opt_g, &gl)?;
    Ok(StepLosses { d: dl, g: gv })
}

/// The generator's step on its loss `gl`: `theta <- opt(theta, d gl / d theta)`
/// at the rate `lr_g` for the stage's trainable parameters ([`g_params`]),
/// then the projections ([`project_g`]).
fn descend_g(
    a: &StepArgs<'_>,
    ctx: &Ctx<'_>,
    learner: &mut Generator,
    opt_g: &mut Optim,
    gl: &Tensor,
) -> Result<(), TrainError> {
    let mut ps = g_params(a.kind, a.cfg.init, learner);
    let grads = Tensor::run_backward(
        &[gl],
        &ps.iter().map(|p| p.shallow_clone()).collect::<Vec<_>>(),
        false,
        false,
    );
    opt_g.step(&mut ps, &grads, a.lr_g)?;
    project_g(a.kind, a.cfg.init, learner, ctx.orthonormal)
}

/// The witness discriminator's loss on a real and a fake batch of pairs,
/// `-(E_real D - E_fake D) + gamma * E ||h||^2 / 2` (`train::witness`): with
/// paired batches (`condition = "real"`: the fake children's parents are the
/// real parents) `h` is computed once; otherwise the penalty is averaged
/// over both parent sets.
pub fn witness_loss(d: &Witness, gamma: f64, real: &Inputs, fake: &Inputs, paired: bool) -> Tensor {
    let h_r = d.h(&real[0]);
    if paired {
        let v = (d.score_with(&h_r, &real[1]) - d.score_with(&h_r, &fake[1])).mean(None::<Kind>);
        -v + Witness::half_square(&h_r) * gamma
    } else {
        let h_f = d.h(&fake[0]);
        let v = d.score_with(&h_r, &real[1]).mean(None::<Kind>)
            - d.score_with(&h_f, &fake[1]).mean(None::<Kind>);
        -v + (Witness::half_square(&h_r) + Witness::half_square(&h_f)) * (gamma / 2.0)
    }
}

/// One step against the witness discriminator: `n_d` ascent steps of its
/// objective ([`witness_loss`], rate `lr_d`), each on a fresh real batch and
/// the learner's fake batch (of the same parents with `condition = "real"`),
/// then the generator descends `adversarial * (-E_fake D) + recon * L1` on
/// fresh batches. The reported discriminator loss is the last ascent step's.
fn witness_step(
    a: &StepArgs<'_>,
    ctx: &Ctx<'_>,
    learner: &mut Generator,
    d: &mut Witness,
    opt_d: &mut Optim,
    opt_g: &mut Optim,
) -> Result<StepLosses, TrainError> {
    let sign = if a.flip_g { -1.0 } else { 1.0 };
    let paired = ctx.condition == Condition::Real;
    let adversarial = a.cfg.adversarial > 0.0;
    let mut dl = None;
    let n_d = if adversarial { a.cfg.n_d } else { 0 };
    for i in 0..n_d {
        let (real, fake) = d_batches(a, ctx, learner, i);
        let loss = witness_loss(d, a.cfg.gamma, &real, &fake, paired);
        dl = Some(loss.double_value(&[]));
        if !a.freeze_d {
            ascend(&mut d.params(), &loss, opt_d, a.lr_d)?;
        }
    }
    let r_seed = a.seed.wrapping_mul(4).wrapping_add(2 * n_d as u64 + 2);
    let z_f = ctx.z(a.seed.wrapping_mul(4).wrapping_add(2 * n_d as u64 + 3));
    let real = real_inputs(a.kind, ctx, learner, Draw::Batch(r_seed));
    let fake = fake_inputs(a.kind, ctx, learner, &z_f, &real);
    let mut total = Tensor::zeros([], (ctx.kind, ctx.device));
    if adversarial {
        let h = tch::no_grad(|| d.h(&fake[0]));
        total += -d.score_with(&h, &fake[1]).mean(None::<Kind>) * a.cfg.adversarial;
    }
    if a.cfg.recon > 0.0 {
        total += (&fake[1] - &real[1]).abs().mean(None::<Kind>) * a.cfg.recon;
    }
    let gl = total * sign;
    let gv = gl.double_value(&[]) * sign;
    descend_g(a, ctx, learner, opt_g, &gl)?;
    Ok(StepLosses { d: dl, g: gv })
}

/// The real and (detached) fake batches of discriminator step `i` of a
/// generator step: latents from the step's seed, the fake batch conditioned
/// on the real one (the same parents with `condition = "real"`).
fn d_batches(a: &StepArgs<'_>, ctx: &Ctx<'_>, learner: &Generator, i: usize) -> (Inputs, Inputs) {
    let r_seed = a.seed.wrapping_mul(4).wrapping_add(2 * i as u64);
    let z_f = ctx.z(a.seed.wrapping_mul(4).wrapping_add(2 * i as u64 + 1));
    let real = real_inputs(a.kind, ctx, learner, Draw::Batch(r_seed));
    let fake: Inputs = tch::no_grad(|| fake_inputs(a.kind, ctx, learner, &z_f, &real))
        .iter()
        .map(Tensor::detach)
        .collect();
    (real, fake)
}

/// One optimiser step of the discriminator's parameters `ps` on `loss`
/// (the discriminator minimises its loss, i.e. ascends its objective).
fn ascend(
    ps: &mut [&mut Tensor],
    loss: &Tensor,
    opt: &mut Optim,
    lr: f64,
) -> Result<(), TrainError> {
    let grads = Tensor::run_backward(
        &[loss],
        &ps.iter().map(|p| p.shallow_clone()).collect::<Vec<_>>(),
        false,
        false,
    );
    opt.step(ps, &grads, lr)
}
