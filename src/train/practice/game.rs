//! One practice GAN — generator, discriminator(s), both Adam optimisers —
//! and its phases; the executor calls [`PracticeGame::step`] and owns the loop.
//!
//! Phases (`Mode`): `end_to_end` — one phase, every level; `layerwise` —
//! phase `l` trains generator level `l` (lower levels frozen: no gradient,
//! batch norm on running statistics) against its own critic (level 1: on
//! `X_1`; level `l >= 2`: on the pair `cat(up2(X_{l-1}), X_l)`, real pairs
//! from the data, fake pairs from the generator's frozen level `l - 1` and
//! its level `l`); `progressive` — phase `P` trains levels `1..=P` against
//! the shared critic's levels `1..=P`, level `P >= 2` fading in:
//! `fade = min(1, (k + 1) / fade_steps)` at step `k` of the phase, applied to
//! the generator's top output, to the real top level
//! (`fade X_P + (1 - fade) up2(X_{P-1})`, ProGAN blends reals too) and to the
//! critic's top branch. Each phase starts fresh Adam states (ProGAN resets them).
//!
//! The other members of the GAN family (`method`) use the same phases and
//! the same step signature: see [`Method`] for what each step does.
//!
//! A step: `n_d` discriminator steps, each on its own slice of the real
//! batch and fresh latents, then one generator step on the latents of the
//! last discriminator step (DCGAN's loop). Latents of step `k` are a
//! function of `(seed, phase, k, i)` only, so a run resumed from
//! [`PracticeGame::save`] repeats the uninterrupted one exactly on the CPU.

use std::collections::BTreeMap;
use std::path::Path;

use tch::{Device, Kind, Tensor};

use super::super::TrainError;
use super::super::checkpoint::{dtype, write_tensors};
use super::super::config::{Optimizer, Precision};
use super::super::optim::Optim;
use super::config::{FirstLayer, LossKind, Method, Mode, PracticeConfig};
use super::layers::{mix, normal_tensor, uniform_tensor, up2};
use super::loss::{
    began_convergence, began_k_update, clip_, code_cross_entropy, cycle_loss, d_loss,
    d_loss_smoothed, g_loss, gradient_penalty, historical_penalty, interpolates, l1,
    mi_lower_bound, neg_elbo_terms, recon_l1,
};
use super::nets::{Critic, CriticOut, CriticSpec, GenPass, Generator, Shapes};
use super::translate::Translator;
use crate::io::reader::read_checked;
use crate::model::Config;

/// One phase of a mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// Name (`end_to_end`, `level{l}`, `grow{l}`).
    pub name: String,
    /// Top level (0-based) the phase generates and discriminates.
    pub top: usize,
    /// Lowest generator level (0-based) the phase trains.
    pub train_from: usize,
    /// Index of the critic the phase plays against.
    pub critic: usize,
    /// Generator steps.
    pub steps: usize,
    /// Steps over which the top level fades in (0: none).
    pub fade_steps: usize,
}

/// What one step measured.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StepLosses {
    /// The discriminator's loss of its last step (with penalty and drift).
    pub d_loss: f64,
    /// The generator's loss.
    pub g_loss: f64,
    /// WGAN-GP's penalty `E (||grad|| - 1)^2` of the last discriminator step (unweighted).
    pub gp: Option<f64>,
    /// Mean logit on the real batch (last discriminator step).
    pub d_real: f64,
    /// Mean logit on the fake batch (last discriminator step).
    pub d_fake: f64,
    /// The fade-in weight used.
    pub fade: f64,
    /// InfoGAN: the mutual-information lower bound `L_I = log K - CE` (nats)
    /// of the generator step.
    pub info: Option<f64>,
    /// BEGAN: `k_t` after the step.
    pub k_t: Option<f64>,
    /// BEGAN: the convergence measure `M_global`.
    pub convergence: Option<f64>,
    /// pix2pix: the L1 term; CycleGAN: the cycle term; VAE: the mean negative log-likelihood.
    pub recon: Option<f64>,
    /// VAE: the mean KL term.
    pub kl: Option<f64>,
}

/// The single phase of an end-to-end run.
fn end_to_end(cfg: &PracticeConfig, top: usize) -> Vec<Phase> {
    vec![Phase {
        name: "end_to_end".into(),
        top,
        train_from: 0,
        critic: 0,
        steps: cfg.steps,
        fade_steps: 0,
    }]
}

/// The real minibatch of one step: `batch * n_d` samples per level, and
/// what the method needs beside them.
#[derive(Debug, Clone, Copy)]
pub struct Real<'a> {
    /// `X_l` `(batch * n_d, c, r_l, r_l)` per level (domain A for CycleGAN).
    pub x: &'a [Tensor],
    /// Labels `(batch * n_d,)` int64 in `0..classes` (cGAN).
    pub y: Option<&'a Tensor>,
    /// Domain B's `X_l` (CycleGAN), drawn independently of `x` (unpaired).
    pub x_b: Option<&'a [Tensor]>,
}

/// The practice GAN; see the module documentation.
#[derive(Debug)]
pub struct PracticeGame {
    /// Its config.
    pub cfg: PracticeConfig,
    /// The sample shapes.
    pub shapes: Shapes,
    /// Device.
    pub device: Device,
    /// Element type.
    pub kind: Kind,
    /// The generator (pix2pix and StackGAN: level 1 only; the translators
    /// make the levels above).
    pub generator: Generator,
    /// The critics (one, or one per level in layer-wise mode; CycleGAN: two
    /// per level, domain B's at `2l` and domain A's at `2l + 1`; BEGAN: the
    /// autoencoder's encoder; VAE: the encoder).
    pub critics: Vec<Critic>,
    /// Translators per level (pix2pix, StackGAN: `X_{l-1} -> X_l` at levels
    /// `l >= 2`; CycleGAN: `A -> B` at every level).
    pub translators: Vec<Option<Translator>>,
    /// CycleGAN's `B -> A` translators per level.
    pub back: Vec<Option<Translator>>,
    /// BEGAN's decoder (the autoencoder's second half).
    pub decoder: Option<Generator>,
    /// BEGAN's `k_t`.
    pub k_t: f64,
    phases: Vec<Phase>,
    phase: usize,
    g_train: Vec<Tensor>,
    d_train: Vec<Tensor>,
    hist_g: Vec<Tensor>,
    hist_d: Vec<Tensor>,
    hist_n: u64,
    opt_g: Optim,
    opt_d: Optim,
    /// Sabotage for tests: never update the discriminators (they keep their
    /// random start).
    pub freeze_discriminator: bool,
}

fn kind_of(p: Precision) -> Kind {
    match p {
        Precision::F32 => Kind::Float,
        Precision::F64 => Kind::Double,
    }
}

fn scalar(t: &Tensor) -> Result<f64, TrainError> {
    Ok(f64::try_from(
        t.detach().to_kind(Kind::Double).to_device(Device::Cpu),
    )?)
}

fn layer_phases(levels: usize, steps: usize, critic: impl Fn(usize) -> usize) -> Vec<Phase> {
    (0..levels)
        .map(|l| Phase {
            name: format!("level{}", l + 1),
            top: l,
            train_from: l,
            critic: critic(l),
            steps,
            fade_steps: 0,
        })
        .collect()
}

/// One-hot rows `(B, k)` of labels `(B,)` int64.
pub fn one_hot(y: &Tensor, k: usize, kind: Kind) -> Tensor {
    y.one_hot(k as i64).to_kind(kind)
}

impl PracticeGame {
    /// Builds the networks of `cfg` for samples shaped by `model`, in phase 0.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] if the config does not fit the model
    /// (`cgan` with `classes = 0`: the run fills it in from the dataset).
    pub fn new(
        cfg: &PracticeConfig,
        model: &Config,
        device: Device,
    ) -> Result<PracticeGame, TrainError> {
        let cfg = cfg.clone().validated()?;
        cfg.check_model(model)?;
        if cfg.method == Method::Cgan && cfg.classes < 2 {
            return Err(TrainError::InvalidConfig {
                field: "classes".into(),
                rule: "method = \"cgan\" needs the labels' classes: train on a labelled dataset (fsrgan sample --classes K) or set classes = K".into(),
            });
        }
        let shapes = Shapes::of(model);
        let kind = kind_of(cfg.precision);
        let levels = shapes.levels;
        let c = shapes.channels;
        let q = shapes.patch as i64;
        let method = cfg.method;
        let translates_up = matches!(method, Method::Pix2pix | Method::Stackgan);
        let g_shapes = if translates_up {
            Shapes {
                levels: 1,
                resolutions: shapes.resolutions[..1].to_vec(),
                ..shapes.clone()
            }
        } else {
            shapes.clone()
        };
        let mut generator = Generator::new(&cfg, &g_shapes, kind, device);
        if cfg.method == Method::Cgan || cfg.method == Method::Infogan {
            // The reference batch of virtual batch norm carries one-hot
            // labels (codes) like every other batch, cycling through them.
            if let Some(r) = generator.vbn_reference() {
                let n = r.size()[0];
                let k = cfg.z_in() - cfg.z_dim;
                let y = Tensor::arange(n, (Kind::Int64, device)).remainder(k as i64);
                let z = Tensor::cat(&[r.narrow(1, 0, cfg.z_dim as i64), one_hot(&y, k, kind)], 1);
                generator.set_vbn_reference(z);
            }
        }
        let top = levels - 1;
        let spec = CriticSpec {
            cond: if method == Method::Cgan {
                cfg.classes
            } else {
                0
            },
            out_dim: if method == Method::Infogan {
                1 + cfg.info_codes
            } else {
                1
            },
            minibatch: cfg.minibatch_features,
        };
        let critic = |name: &str, top: usize, inputs: &[Option<usize>], spec: CriticSpec| {
            Critic::with_spec(name, &cfg, &shapes, top, inputs, spec, kind, device)
        };
        let single = |l: usize| {
            let mut inputs = vec![None; l + 1];
            inputs[l] = Some(c);
            inputs
        };
        let pair = |l: usize| {
            let mut inputs = vec![None; l + 1];
            inputs[l] = Some(if l == 0 { c } else { 2 * c });
            inputs
        };
        let every = vec![Some(c); levels];
        let mut translators: Vec<Option<Translator>> = (0..levels).map(|_| None).collect();
        let mut back: Vec<Option<Translator>> = (0..levels).map(|_| None).collect();
        let mut decoder = None;
        let (critics, phases) = match (method, cfg.mode) {
            (Method::Began, _) => {
                let enc = CriticSpec {
                    cond: 0,
                    out_dim: cfg.began_hidden,
                    minibatch: 0,
                };
                decoder = Some(Generator::named(
                    &cfg,
                    &shapes,
                    kind,
                    device,
                    "d.dec",
                    cfg.began_hidden,
                ));
                (
                    vec![critic("d.enc", top, &every, enc)],
                    end_to_end(&cfg, top),
                )
            }
            (Method::Vae, _) => {
                let enc = CriticSpec {
                    cond: 0,
                    out_dim: 2 * cfg.z_dim,
                    minibatch: 0,
                };
                (vec![critic("enc", top, &every, enc)], end_to_end(&cfg, top))
            }
            (Method::Pix2pix | Method::Stackgan, _) => {
                let noise = if method == Method::Stackgan {
                    cfg.z_dim as i64
                } else {
                    0
                };
                for (l, t) in translators.iter_mut().enumerate().skip(1) {
                    *t = Some(Translator::new(
                        &format!("t.level{}", l + 1),
                        &cfg,
                        c as i64,
                        c as i64,
                        q,
                        cfg.width_of(l) as i64,
                        noise,
                        kind,
                        device,
                    ));
                }
                let critics = (0..levels)
                    .map(|l| {
                        let inputs = if method == Method::Pix2pix {
                            pair(l)
                        } else {
                            single(l)
                        };
                        critic(&format!("d{}", l + 1), l, &inputs, spec)
                    })
                    .collect();
                (critics, layer_phases(levels, cfg.steps, |l| l))
            }
            (Method::Cyclegan, _) => {
                let mut critics = Vec::new();
                for l in 0..levels {
                    let w = cfg.width_of(l) as i64;
                    let tr = |name: &str| {
                        let name = format!("{name}.level{}", l + 1);
                        Translator::new(&name, &cfg, c as i64, c as i64, q, w, 0, kind, device)
                    };
                    translators[l] = Some(tr("gab"));
                    back[l] = Some(tr("gba"));
                    critics.push(critic(&format!("db{}", l + 1), l, &single(l), spec));
                    critics.push(critic(&format!("da{}", l + 1), l, &single(l), spec));
                }
                (critics, layer_phases(levels, cfg.steps, |l| 2 * l))
            }
            (_, Mode::EndToEnd) => (vec![critic("d", top, &every, spec)], end_to_end(&cfg, top)),
            (_, Mode::Progressive) => (
                vec![critic("d", top, &every, spec)],
                (0..levels)
                    .map(|l| Phase {
                        name: format!("grow{}", l + 1),
                        top: l,
                        train_from: 0,
                        critic: 0,
                        steps: cfg.steps,
                        fade_steps: if l == 0 { 0 } else { cfg.fade_steps },
                    })
                    .collect(),
            ),
            (_, Mode::Layerwise) => (
                (0..levels)
                    .map(|l| critic(&format!("d{}", l + 1), l, &pair(l), spec))
                    .collect(),
                layer_phases(levels, cfg.steps, |l| l),
            ),
        };
        let empty = Optim::new(Optimizer::Adam, cfg.beta1, cfg.beta2, &[]);
        let mut game = PracticeGame {
            cfg,
            shapes,
            device,
            kind,
            generator,
            critics,
            translators,
            back,
            decoder,
            k_t: 0.0,
            phases,
            phase: 0,
            g_train: Vec::new(),
            d_train: Vec::new(),
            hist_g: Vec::new(),
            hist_d: Vec::new(),
            hist_n: 0,
            opt_g: empty,
            opt_d: Optim::new(Optimizer::Adam, 0.5, 0.999, &[]),
            freeze_discriminator: false,
        };
        game.set_phase(0)?;
        Ok(game)
    }

    /// The phases of the mode, in order.
    pub fn phases(&self) -> &[Phase] {
        &self.phases
    }

    /// The index of the current phase.
    pub fn phase(&self) -> usize {
        self.phase
    }

    /// The tensors each player trains in phase `index`: `(generator side,
    /// discriminator side)`. The generator side holds the translators of
    /// pix2pix, StackGAN and CycleGAN, and the VAE's encoder; the
    /// discriminator side holds BEGAN's decoder.
    fn trainable(&self, index: usize) -> (Vec<Tensor>, Vec<Tensor>) {
        let ph = &self.phases[index];
        let clone = |v: &[(String, Tensor)]| -> Vec<Tensor> {
            v.iter().map(|(_, t)| t.shallow_clone()).collect()
        };
        let gen_levels = |from: usize, to: usize| -> Vec<Tensor> {
            self.generator
                .param_indices(from..to + 1)
                .into_iter()
                .map(|i| self.generator.params[i].1.shallow_clone())
                .collect()
        };
        let critic = clone(&self.critics[ph.critic].params);
        match self.cfg.method {
            Method::Vae => {
                let mut g = gen_levels(0, self.shapes.levels - 1);
                g.extend(clone(&self.critics[0].params));
                (g, Vec::new())
            }
            Method::Began => {
                let mut d = critic;
                if let Some(dec) = &self.decoder {
                    d.extend(clone(&dec.params));
                }
                (gen_levels(0, self.shapes.levels - 1), d)
            }
            Method::Pix2pix | Method::Stackgan if ph.top > 0 => {
                let g = self.translators[ph.top]
                    .as_ref()
                    .map(|t| clone(&t.params))
                    .unwrap_or_default();
                (g, critic)
            }
            Method::Cyclegan => {
                let mut g = Vec::new();
                for t in [&self.translators[ph.top], &self.back[ph.top]]
                    .into_iter()
                    .flatten()
                {
                    g.extend(clone(&t.params));
                }
                let mut d = critic;
                d.extend(clone(&self.critics[ph.critic + 1].params));
                (g, d)
            }
            _ => (gen_levels(ph.train_from, ph.top), critic),
        }
    }

    /// Enters phase `index` with fresh Adam states (and fresh historical averages).
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] (field `phase`) for an index past the last phase.
    pub fn set_phase(&mut self, index: usize) -> Result<(), TrainError> {
        if index >= self.phases.len() {
            return Err(TrainError::InvalidConfig {
                field: "phase".into(),
                rule: format!(
                    "the mode has {} phases, got index {index}",
                    self.phases.len()
                ),
            });
        }
        self.phase = index;
        let (g, d) = self.trainable(index);
        let (b1, b2) = (self.cfg.beta1, self.cfg.beta2);
        self.opt_g = Optim::new(Optimizer::Adam, b1, b2, &g.iter().collect::<Vec<_>>());
        self.opt_d = Optim::new(Optimizer::Adam, b1, b2, &d.iter().collect::<Vec<_>>());
        let copy = |v: &[Tensor]| -> Vec<Tensor> {
            if self.cfg.historical_weight > 0.0 {
                v.iter().map(|t| t.detach().copy()).collect()
            } else {
                Vec::new()
            }
        };
        self.hist_g = copy(&g);
        self.hist_d = copy(&d);
        self.hist_n = 0;
        self.g_train = g;
        self.d_train = d;
        Ok(())
    }

    /// Real samples per level that [`PracticeGame::step`] takes: `batch * n_d`.
    pub fn real_batch(&self) -> usize {
        self.cfg.batch * self.cfg.n_d
    }

    /// The fade-in weight at step `k` of the current phase.
    pub fn fade(&self, k: usize) -> f64 {
        let f = self.phases[self.phase].fade_steps;
        if f == 0 {
            1.0
        } else {
            ((k + 1) as f64 / f as f64).min(1.0)
        }
    }

    /// Whether the critic of the current phase sees the pair
    /// `cat(up2(X_{l-1}), X_l)` (layer-wise GANs and pix2pix above level 1).
    fn pair_critic(&self) -> bool {
        self.cfg.mode == Mode::Layerwise
            && !matches!(self.cfg.method, Method::Stackgan | Method::Cyclegan)
    }

    /// The critic's inputs (index = level) for the levels `x` of a sample
    /// batch in the current phase at fade `fade` (the top level blended with
    /// the upsampled level below when `fade < 1`; pairs in layer-wise phases;
    /// the top level alone for StackGAN).
    fn critic_inputs(&self, x: &[Tensor], fade: f64) -> Vec<Option<Tensor>> {
        let ph = &self.phases[self.phase];
        let top = ph.top;
        if self.cfg.mode == Mode::Layerwise {
            let mut v: Vec<Option<Tensor>> = (0..top).map(|_| None).collect();
            v.push(Some(if top == 0 || !self.pair_critic() {
                x[top].shallow_clone()
            } else {
                Tensor::cat(&[up2(&x[top - 1]), x[top].shallow_clone()], 1)
            }));
            return v;
        }
        (0..=top)
            .map(|l| {
                Some(if l == top && l > 0 && fade < 1.0 {
                    &x[l] * fade + up2(&x[l - 1]) * (1.0 - fade)
                } else {
                    x[l].shallow_clone()
                })
            })
            .collect()
    }

    fn critic_out(
        &self,
        index: usize,
        inputs: &[Option<Tensor>],
        cond: Option<&Tensor>,
        fade: f64,
    ) -> CriticOut {
        let ph = &self.phases[self.phase];
        self.critics[index].forward_full(inputs, cond, ph.top, fade, true)
    }

    fn latents(&self, seed: u64, n: usize) -> Tensor {
        normal_tensor(
            seed,
            &[n as i64, self.cfg.z_dim as i64],
            self.kind,
            self.device,
        )
    }

    /// The generator's input for `n` samples from `seed`: `z`, with the
    /// one-hot label (cGAN) or code (InfoGAN) appended, and those labels
    /// (uniform on their range, from the same seed).
    fn inputs(&self, seed: u64, n: usize) -> (Tensor, Option<Tensor>) {
        let z = self.latents(seed, n);
        let k = self.cfg.z_in() - self.cfg.z_dim;
        if k == 0 {
            return (z, None);
        }
        let u = uniform_tensor(
            mix(seed, 0x1ABE1, 0, 0),
            &[n as i64],
            Kind::Double,
            self.device,
        );
        let y = (u * k as f64)
            .floor()
            .to_kind(Kind::Int64)
            .clamp_max(k as i64 - 1);
        (Tensor::cat(&[z, one_hot(&y, k, self.kind)], 1), Some(y))
    }

    fn check_real(&self, real: &Real<'_>) -> Result<(), TrainError> {
        let top = self.phases[self.phase].top;
        let want = self.real_batch() as i64;
        let check = |what: &str, x: &[Tensor]| -> Result<(), TrainError> {
            if x.len() <= top {
                return Err(TrainError::Shape {
                    what: format!("{what} minibatches"),
                    shape: vec![x.len()],
                    expected: format!("one tensor per level 1..={}", top + 1),
                });
            }
            for (l, r) in x.iter().enumerate().take(top + 1) {
                let rl = self.shapes.resolutions[l] as i64;
                let expect = [want, self.shapes.channels as i64, rl, rl];
                if r.size() != expect {
                    return Err(TrainError::Shape {
                        what: format!("{what} x{}", l + 1),
                        shape: r.size().iter().map(|&s| s as usize).collect(),
                        expected: format!("{expect:?} (batch * n_d, c, r_l, r_l)"),
                    });
                }
            }
            Ok(())
        };
        check("real", real.x)?;
        match self.cfg.method {
            Method::Cyclegan => match real.x_b {
                Some(b) => check("domain B", b)?,
                None => {
                    return Err(TrainError::InvalidConfig {
                        field: "data".into(),
                        rule: "method = \"cyclegan\" needs a two-domain dataset (fsrgan sample --domains 2)".into(),
                    });
                }
            },
            Method::Cgan => {
                match real.y {
                    Some(y) if y.size() == [want] => {}
                    Some(y) => {
                        return Err(TrainError::Shape {
                            what: "labels".into(),
                            shape: y.size().iter().map(|&s| s as usize).collect(),
                            expected: format!("[{want}]"),
                        });
                    }
                    None => {
                        return Err(TrainError::InvalidConfig {
                        field: "data".into(),
                        rule: "method = \"cgan\" needs a labelled dataset (fsrgan sample --classes K)".into(),
                    });
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// One step with unlabelled single-domain data; see [`PracticeGame::step_with`].
    ///
    /// # Errors
    /// As [`PracticeGame::step_with`].
    pub fn step(&mut self, real: &[Tensor], k: usize) -> Result<StepLosses, TrainError> {
        self.step_with(
            &Real {
                x: real,
                y: None,
                x_b: None,
            },
            k,
        )
    }

    /// One step of the method at step `k` of the current phase: for the
    /// GANs `n_d` discriminator steps then one generator step; BEGAN the
    /// same with its autoencoder and `k_t`; the VAE one step on `-ELBO`.
    /// `real.x[l]` holds `batch * n_d` real samples of level `l + 1`,
    /// `(batch * n_d, c, r_l, r_l)`, for every level up to the phase's top
    /// (more levels are ignored), on the game's device and kind.
    ///
    /// # Errors
    /// [`TrainError::Shape`] for real batches of the wrong shape,
    /// [`TrainError::InvalidConfig`] (field `data`) when the method's labels
    /// or second domain are missing.
    pub fn step_with(&mut self, real: &Real<'_>, k: usize) -> Result<StepLosses, TrainError> {
        self.check_real(real)?;
        let out = match self.cfg.method {
            Method::Vae => self.step_vae(real, k)?,
            Method::Began => self.step_began(real, k)?,
            Method::Cyclegan => self.step_cycle(real, k)?,
            _ => self.step_gan(real, k)?,
        };
        self.update_history();
        Ok(out)
    }

    /// The `i`-th slice of `batch` rows of every level up to `top`.
    fn slice(x: &[Tensor], i: usize, b: i64, top: usize) -> Vec<Tensor> {
        x.iter()
            .take(top + 1)
            .map(|r| r.narrow(0, i as i64 * b, b))
            .collect()
    }

    /// The generated levels `0..=top` of the current phase from latents
    /// `zin` (`z` with its one-hot part): the generator's (GANs); for
    /// pix2pix above level 1, the real lower levels and the translation of
    /// the real `X_{top-1}`; for StackGAN above level 1, the frozen chain
    /// `X_1 = G(z)`, `X_j = T_j(up2(X_{j-1}), z)`, then the trained top.
    fn fakes(&self, zin: &Tensor, real: &[Tensor], pass: GenPass) -> Vec<Tensor> {
        let top = self.phases[self.phase].top;
        let z = zin.narrow(1, 0, self.cfg.z_dim as i64);
        match self.cfg.method {
            Method::Pix2pix if top > 0 => {
                let mut v: Vec<Tensor> = real[..top].iter().map(Tensor::detach).collect();
                let t = self.translators[top].as_ref().expect("pix2pix translator");
                v.push(t.forward(&up2(&v[top - 1]), None));
                v
            }
            Method::Stackgan if top > 0 => {
                let mut v = tch::no_grad(|| self.chain(zin, &z, top - 1));
                let t = self.translators[top].as_ref().expect("stackgan translator");
                let x = t.forward(&up2(&v[top - 1]), Some(&z));
                v.push(x);
                v
            }
            _ => self.generator.forward(zin, pass).x,
        }
    }

    /// The whole chain of pix2pix and StackGAN up to `top` (inference):
    /// `X_1 = G(z)`, `X_j = T_j(up2(X_{j-1})[, z])`.
    fn chain(&self, zin: &Tensor, z: &Tensor, top: usize) -> Vec<Tensor> {
        let pass = GenPass {
            top: 0,
            fade: 1.0,
            train_from: 1,
            train: false,
        };
        let mut v = self.generator.forward(zin, pass).x;
        for j in 1..=top {
            let t = self.translators[j]
                .as_ref()
                .expect("a translator per level >= 2");
            let noise = (self.cfg.method == Method::Stackgan).then_some(z);
            let x = t.forward(&up2(&v[j - 1]), noise);
            v.push(x);
        }
        v
    }

    fn history_terms(&self, params: &[Tensor], means: &[Tensor]) -> Option<Tensor> {
        if self.cfg.historical_weight > 0.0 && self.hist_n > 0 {
            historical_penalty(params, means).map(|p| p * self.cfg.historical_weight)
        } else {
            None
        }
    }

    /// `theta_bar <- theta_bar + (theta - theta_bar) / (n + 1)` for both players.
    fn update_history(&mut self) {
        if self.cfg.historical_weight <= 0.0 {
            return;
        }
        let n = self.hist_n as f64;
        tch::no_grad(|| {
            for (m, p) in self
                .hist_g
                .iter_mut()
                .zip(&self.g_train)
                .chain(self.hist_d.iter_mut().zip(&self.d_train))
            {
                let upd = (p - &*m) / (n + 1.0);
                let _ = m.g_add_(&upd);
            }
        });
        self.hist_n += 1;
    }

    fn step_d(&mut self, ld: &Tensor) -> Result<(), TrainError> {
        if self.d_train.is_empty() {
            return Ok(());
        }
        let dp: Vec<&Tensor> = self.d_train.iter().collect();
        let grads = Tensor::run_backward(&[ld], &dp, false, false);
        let mut ps: Vec<Tensor> = self.d_train.iter().map(Tensor::shallow_clone).collect();
        if !self.freeze_discriminator {
            let mut refs: Vec<&mut Tensor> = ps.iter_mut().collect();
            self.opt_d.step(&mut refs, &grads, self.cfg.lr_d)?;
        }
        if self.cfg.loss == LossKind::Wgan {
            clip_(&mut ps, self.cfg.clip);
        }
        Ok(())
    }

    fn step_g(&mut self, lg: &Tensor) -> Result<(), TrainError> {
        let gp: Vec<&Tensor> = self.g_train.iter().collect();
        let grads = Tensor::run_backward(&[lg], &gp, false, false);
        let mut ps: Vec<Tensor> = self.g_train.iter().map(Tensor::shallow_clone).collect();
        let mut refs: Vec<&mut Tensor> = ps.iter_mut().collect();
        self.opt_g.step(&mut refs, &grads, self.cfg.lr_g)
    }

    fn d_loss_of(&self, d_r: &Tensor, d_f: &Tensor) -> Tensor {
        if self.cfg.real_label < 1.0 {
            d_loss_smoothed(d_r, d_f, self.cfg.real_label)
        } else {
            d_loss(self.cfg.loss, d_r, d_f)
        }
    }

    /// The GANs' step (GAN, cGAN, InfoGAN, pix2pix, StackGAN).
    fn step_gan(&mut self, real: &Real<'_>, k: usize) -> Result<StepLosses, TrainError> {
        let ph = self.phases[self.phase].clone();
        let fade = self.fade(k);
        let b = self.cfg.batch as i64;
        let pass = GenPass {
            top: ph.top,
            fade,
            train_from: ph.train_from,
            train: true,
        };
        let loss = self.cfg.loss;
        let method = self.cfg.method;
        let codes = self.cfg.z_in() - self.cfg.z_dim;
        let mut last = None;
        for i in 0..self.cfg.n_d {
            let seed = mix(self.cfg.seed, self.phase as u64, k as u64, i as u64);
            let (zin, yf) = self.inputs(seed, self.cfg.batch);
            let real_i = Self::slice(real.x, i, b, ph.top);
            let fake = if i + 1 == self.cfg.n_d {
                self.fakes(&zin, &real_i, pass)
            } else {
                tch::no_grad(|| self.fakes(&zin, &real_i, pass))
            };
            let (cond_r, cond_f) = match (method, real.y, &yf) {
                (Method::Cgan, Some(y), Some(yf)) => (
                    Some(one_hot(&y.narrow(0, i as i64 * b, b), codes, self.kind)),
                    Some(one_hot(yf, codes, self.kind)),
                ),
                _ => (None, None),
            };
            let fake_d: Vec<Tensor> = fake.iter().map(Tensor::detach).collect();
            let in_r = self.critic_inputs(&real_i, fade);
            let in_f = self.critic_inputs(&fake_d, fade);
            let out_r = self.critic_out(ph.critic, &in_r, cond_r.as_ref(), fade);
            let out_f = self.critic_out(ph.critic, &in_f, cond_f.as_ref(), fade);
            let d_r = out_r.out.select(1, 0);
            let d_f = out_f.out.select(1, 0);
            let mut ld = self.d_loss_of(&d_r, &d_f);
            if self.cfg.drift > 0.0 {
                ld += d_r.square().mean(None) * self.cfg.drift;
            }
            let mut info = None;
            if let (Method::Infogan, Some(c)) = (method, &yf) {
                let ce = code_cross_entropy(
                    &out_f.out.narrow(1, 1, codes as i64),
                    &one_hot(c, codes, self.kind),
                );
                ld += &ce * self.cfg.info_weight;
                info = Some(ce);
            }
            let mut gp = None;
            if loss == LossKind::WganGp {
                let eps = uniform_tensor(
                    mix(seed, 0x6750, 0, 0),
                    &[b, 1, 1, 1],
                    self.kind,
                    self.device,
                );
                // The penalty is on the critic's own inputs (pairs, faded tops).
                let ri: Vec<Tensor> = in_r.iter().flatten().map(Tensor::shallow_clone).collect();
                let fi: Vec<Tensor> = in_f.iter().flatten().map(Tensor::shallow_clone).collect();
                let xh = interpolates(&ri, &fi, &eps);
                let offset = in_r.len() - ri.len();
                let cond = cond_r.as_ref();
                let pen = gradient_penalty(
                    |x| {
                        let mut v: Vec<Option<Tensor>> = (0..offset).map(|_| None).collect();
                        v.extend(x.iter().map(|t| Some(t.shallow_clone())));
                        self.critic_out(ph.critic, &v, cond, fade).out.select(1, 0)
                    },
                    &xh,
                );
                ld += &pen * self.cfg.gp_weight;
                gp = Some(pen);
            }
            if let Some(h) = self.history_terms(&self.d_train, &self.hist_d) {
                ld += h;
            }
            self.step_d(&ld)?;
            last = Some((
                ld.detach(),
                gp,
                d_r.detach(),
                d_f.detach(),
                fake,
                out_r.features.detach(),
                cond_f,
                yf,
                info,
                real_i,
            ));
        }
        let (ld, gp, d_r, d_f, fake, feat_r, cond_f, yf, info_d, real_i) = last.expect("n_d >= 1");
        let in_f = self.critic_inputs(&fake, fade);
        let out_f = self.critic_out(ph.critic, &in_f, cond_f.as_ref(), fade);
        let mut lg = if self.cfg.feature_matching {
            (feat_r.mean_dim(0, false, None) - out_f.features.mean_dim(0, false, None))
                .square()
                .sum(None)
        } else {
            g_loss(loss, &out_f.out.select(1, 0))
        };
        let mut info = None;
        if let (Method::Infogan, Some(c)) = (method, &yf) {
            let ce = code_cross_entropy(
                &out_f.out.narrow(1, 1, codes as i64),
                &one_hot(c, codes, self.kind),
            );
            lg += &ce * self.cfg.info_weight;
            info = Some(scalar(&ce)?);
        }
        let mut recon = None;
        if method == Method::Pix2pix && ph.top > 0 {
            let e = l1(&fake[ph.top], &real_i[ph.top]);
            lg += &e * self.cfg.l1_weight;
            recon = Some(scalar(&e)?);
        }
        if let Some(h) = self.history_terms(&self.g_train, &self.hist_g) {
            lg += h;
        }
        self.step_g(&lg)?;
        let _ = info_d;
        Ok(StepLosses {
            d_loss: scalar(&ld)?,
            g_loss: scalar(&lg)?,
            gp: gp.map(|p| scalar(&p)).transpose()?,
            d_real: scalar(&d_r.mean(None))?,
            d_fake: scalar(&d_f.mean(None))?,
            fade,
            info: info.map(|ce| mi_lower_bound(ce, codes)),
            recon,
            ..StepLosses::default()
        })
    }

    /// BEGAN's autoencoder applied to levels `x`: `Dec(Enc(x))`.
    fn autoencode(&self, x: &[Tensor]) -> Vec<Tensor> {
        let top = self.shapes.levels - 1;
        let inputs: Vec<Option<Tensor>> = x.iter().map(|t| Some(t.shallow_clone())).collect();
        let code = self.critics[0]
            .forward_full(&inputs, None, top, 1.0, true)
            .out;
        let dec = self.decoder.as_ref().expect("BEGAN has a decoder");
        let pass = GenPass {
            top,
            fade: 1.0,
            train_from: 0,
            train: true,
        };
        dec.forward(&code, pass).x
    }

    /// BEGAN's step: `n_d` autoencoder steps on `L(x_r) - k_t L(G(z))` with
    /// `k_t` updated after each, then one generator step on `L(G(z))`.
    fn step_began(&mut self, real: &Real<'_>, k: usize) -> Result<StepLosses, TrainError> {
        let top = self.shapes.levels - 1;
        let b = self.cfg.batch as i64;
        let pass = GenPass {
            top,
            fade: 1.0,
            train_from: 0,
            train: true,
        };
        let (gamma, lambda) = (self.cfg.began_gamma, self.cfg.began_lambda_k);
        let mut last = None;
        for i in 0..self.cfg.n_d {
            let seed = mix(self.cfg.seed, self.phase as u64, k as u64, i as u64);
            let (zin, _) = self.inputs(seed, self.cfg.batch);
            let real_i = Self::slice(real.x, i, b, top);
            let fake = if i + 1 == self.cfg.n_d {
                self.generator.forward(&zin, pass).x
            } else {
                tch::no_grad(|| self.generator.forward(&zin, pass).x)
            };
            let fake_d: Vec<Tensor> = fake.iter().map(Tensor::detach).collect();
            let l_r = recon_l1(&real_i, &self.autoencode(&real_i)).mean(None);
            let l_f = recon_l1(&fake_d, &self.autoencode(&fake_d)).mean(None);
            let mut ld = &l_r - &l_f * self.k_t;
            if let Some(h) = self.history_terms(&self.d_train, &self.hist_d) {
                ld += h;
            }
            self.step_d(&ld)?;
            let (lr, lf) = (scalar(&l_r)?, scalar(&l_f)?);
            self.k_t = began_k_update(self.k_t, lambda, gamma, lr, lf);
            last = Some((scalar(&ld)?, lr, lf, fake));
        }
        let (ld, lr, lf, fake) = last.expect("n_d >= 1");
        let mut lg = recon_l1(&fake, &self.autoencode(&fake)).mean(None);
        if let Some(h) = self.history_terms(&self.g_train, &self.hist_g) {
            lg += h;
        }
        self.step_g(&lg)?;
        Ok(StepLosses {
            d_loss: ld,
            g_loss: scalar(&lg)?,
            d_real: lr,
            d_fake: lf,
            fade: 1.0,
            k_t: Some(self.k_t),
            convergence: Some(began_convergence(gamma, lr, lf)),
            ..StepLosses::default()
        })
    }

    /// The VAE's encoder on levels `x`: `(mu, logvar)`, each `(B, z_dim)`.
    pub fn encode(&self, x: &[Tensor]) -> (Tensor, Tensor) {
        let top = self.shapes.levels - 1;
        let inputs: Vec<Option<Tensor>> = x.iter().map(|t| Some(t.shallow_clone())).collect();
        let out = self.critics[0]
            .forward_full(&inputs, None, top, 1.0, true)
            .out;
        let zd = self.cfg.z_dim as i64;
        (out.narrow(1, 0, zd), out.narrow(1, zd, zd))
    }

    /// The VAE's step: one Adam step of encoder and decoder on the mean
    /// `-ELBO` of the first `batch` real samples, one reparameterised `z` each.
    fn step_vae(&mut self, real: &Real<'_>, k: usize) -> Result<StepLosses, TrainError> {
        let top = self.shapes.levels - 1;
        let b = self.cfg.batch as i64;
        let x = Self::slice(real.x, 0, b, top);
        let (mu, logvar) = self.encode(&x);
        let seed = mix(self.cfg.seed, self.phase as u64, k as u64, 0);
        let eps = self.latents(seed, self.cfg.batch);
        let z = &mu + (&logvar * 0.5).exp() * eps;
        let pass = GenPass {
            top,
            fade: 1.0,
            train_from: 0,
            train: true,
        };
        let x_hat = self.generator.forward(&z, pass).x;
        let (nll, kl) = neg_elbo_terms(&x, &x_hat, &mu, &logvar, self.cfg.vae_sigma);
        let mut loss = (&nll + &kl).mean(None);
        if let Some(h) = self.history_terms(&self.g_train, &self.hist_g) {
            loss += h;
        }
        self.step_g(&loss)?;
        Ok(StepLosses {
            d_loss: f64::NAN,
            g_loss: scalar(&loss)?,
            fade: 1.0,
            recon: Some(scalar(&nll.mean(None))?),
            kl: Some(scalar(&kl.mean(None))?),
            ..StepLosses::default()
        })
    }

    /// InfoGAN: the code `argmax_c Q(c | x)` the current phase's critic
    /// infers for real levels `x` (up to the phase's top), int64 `(B,)`.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] (field `method`) for another method.
    pub fn infer_codes(&self, x: &[Tensor]) -> Result<Tensor, TrainError> {
        if self.cfg.method != Method::Infogan {
            return Err(TrainError::InvalidConfig {
                field: "method".into(),
                rule: format!(
                    "only method = \"infogan\" infers codes, this run is \"{}\"",
                    self.cfg.method.name()
                ),
            });
        }
        let ph = &self.phases[self.phase];
        let inputs = self.critic_inputs(x, 1.0);
        let out = tch::no_grad(|| {
            self.critics[ph.critic]
                .forward_full(&inputs, None, ph.top, 1.0, false)
                .out
        });
        Ok(out
            .narrow(1, 1, self.cfg.info_codes as i64)
            .argmax(1, false))
    }

    /// cGAN: `n` samples of class `class` (latents from `seed`).
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] (field `method`) for another method or a class out of range.
    pub fn generate_class(
        &self,
        n: usize,
        class: usize,
        seed: u64,
    ) -> Result<Vec<Tensor>, TrainError> {
        if self.cfg.method != Method::Cgan || class >= self.cfg.classes {
            return Err(TrainError::InvalidConfig {
                field: "method".into(),
                rule: format!(
                    "class {class} of a cgan with {} classes: this run is \"{}\"",
                    self.cfg.classes,
                    self.cfg.method.name()
                ),
            });
        }
        let z = self.latents(mix(seed, 0xC1A55, class as u64, 0), n);
        let y = Tensor::full([n as i64], class as i64, (Kind::Int64, self.device));
        let zin = Tensor::cat(&[z, one_hot(&y, self.cfg.classes, self.kind)], 1);
        Ok(tch::no_grad(|| {
            self.generator.forward(&zin, self.full_pass()).x
        }))
    }

    /// CycleGAN's translators of level `l`: `(A -> B, B -> A)`.
    fn cycle_pair(&self, l: usize) -> (&Translator, &Translator) {
        (
            self.translators[l].as_ref().expect("cyclegan A->B"),
            self.back[l].as_ref().expect("cyclegan B->A"),
        )
    }

    /// Domain B's translation `G_l(a)` of domain A's level-`l` images (CycleGAN).
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] (field `method`) for another method.
    pub fn translate(&self, l: usize, a: &Tensor) -> Result<Tensor, TrainError> {
        match self.translators.get(l).and_then(Option::as_ref) {
            Some(t) if self.cfg.method == Method::Cyclegan => {
                Ok(tch::no_grad(|| t.forward(a, None)))
            }
            _ => Err(TrainError::InvalidConfig {
                field: "method".into(),
                rule: format!(
                    "only method = \"cyclegan\" translates between domains, this run is \"{}\"",
                    self.cfg.method.name()
                ),
            }),
        }
    }

    /// Domain A's translation `F_l(b)` of domain B's level-`l` images (CycleGAN).
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] (field `method`) for another method.
    pub fn translate_back(&self, l: usize, b: &Tensor) -> Result<Tensor, TrainError> {
        match self.back.get(l).and_then(Option::as_ref) {
            Some(f) => Ok(tch::no_grad(|| f.forward(b, None))),
            None => self.translate(l, b),
        }
    }

    /// The super-resolution map of pix2pix and StackGAN at level `l >= 1`
    /// (0-based): `X_l = T_l(up2(X_{l-1})[, z])`, latents from `seed`.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] (field `method`) for another method.
    pub fn super_resolve(&self, l: usize, lower: &Tensor, seed: u64) -> Result<Tensor, TrainError> {
        match self.translators.get(l).and_then(Option::as_ref) {
            Some(t) if matches!(self.cfg.method, Method::Pix2pix | Method::Stackgan) => {
                let n = lower.size()[0] as usize;
                let z = self.latents(mix(seed, 0x5E5, l as u64, 0), n);
                let noise = (self.cfg.method == Method::Stackgan).then_some(&z);
                Ok(tch::no_grad(|| t.forward(&up2(lower), noise)))
            }
            _ => Err(TrainError::InvalidConfig {
                field: "method".into(),
                rule: format!(
                    "only pix2pix and stackgan map X_(l-1) to X_l, this run is \"{}\"",
                    self.cfg.method.name()
                ),
            }),
        }
    }

    /// CycleGAN's step at level `l`: `n_d` steps of both critics, then one
    /// step of both translators on their GAN losses plus the cycle term.
    fn step_cycle(&mut self, real: &Real<'_>, _k: usize) -> Result<StepLosses, TrainError> {
        let ph = self.phases[self.phase].clone();
        let l = ph.top;
        let b = self.cfg.batch as i64;
        let loss = self.cfg.loss;
        let xb = real.x_b.expect("checked");
        let only = |t: &Tensor| -> Vec<Option<Tensor>> {
            let mut v: Vec<Option<Tensor>> = (0..l).map(|_| None).collect();
            v.push(Some(t.shallow_clone()));
            v
        };
        let (db, da) = (ph.critic, ph.critic + 1);
        let logit =
            |s: &Self, c: usize, t: &Tensor| s.critic_out(c, &only(t), None, 1.0).out.select(1, 0);
        let mut last = None;
        for i in 0..self.cfg.n_d {
            let a = real.x[l].narrow(0, i as i64 * b, b);
            let bb = xb[l].narrow(0, i as i64 * b, b);
            let (g, f) = self.cycle_pair(l);
            let (fb, fa) = tch::no_grad(|| (g.forward(&a, None), f.forward(&bb, None)));
            let (br, bf) = (logit(self, db, &bb), logit(self, db, &fb));
            let (ar, af) = (logit(self, da, &a), logit(self, da, &fa));
            let mut ld = d_loss(loss, &br, &bf) + d_loss(loss, &ar, &af);
            if let Some(h) = self.history_terms(&self.d_train, &self.hist_d) {
                ld += h;
            }
            self.step_d(&ld)?;
            last = Some((ld.detach(), br.detach(), bf.detach(), a, bb));
        }
        let (ld, br, bf, a, bb) = last.expect("n_d >= 1");
        let (g, f) = self.cycle_pair(l);
        let fb = g.forward(&a, None);
        let fa = f.forward(&bb, None);
        let cycle = cycle_loss(|x| g.forward(x, None), |x| f.forward(x, None), &a, &bb);
        let mut lg = g_loss(loss, &logit(self, db, &fb))
            + g_loss(loss, &logit(self, da, &fa))
            + &cycle * self.cfg.cycle_weight;
        if let Some(h) = self.history_terms(&self.g_train, &self.hist_g) {
            lg += h;
        }
        self.step_g(&lg)?;
        Ok(StepLosses {
            d_loss: scalar(&ld)?,
            g_loss: scalar(&lg)?,
            d_real: scalar(&br.mean(None))?,
            d_fake: scalar(&bf.mean(None))?,
            fade: 1.0,
            recon: Some(scalar(&cycle)?),
            ..StepLosses::default()
        })
    }

    /// `n` samples `(X_1, ..., X_L)` of the whole generator from latents
    /// seeded by `seed` (chunks of 4096; batch norm on running statistics,
    /// `fade = 1`; levels not trained yet are what their random start makes).
    /// pix2pix and StackGAN run their chain `X_l = T_l(up2(X_{l-1})[, z])`;
    /// a CycleGAN has no sampler of its own (its untrained generator's
    /// samples come out: use [`PracticeGame::translate`]).
    pub fn generate(&self, n: usize, seed: u64) -> Vec<Tensor> {
        self.generate_labelled(n, seed).0
    }

    /// As [`PracticeGame::generate`], with the labels (cGAN) or codes
    /// (InfoGAN) the samples were drawn with, int64 `(n,)`.
    pub fn generate_labelled(&self, n: usize, seed: u64) -> (Vec<Tensor>, Option<Tensor>) {
        let mut out: Vec<Vec<Tensor>> = (0..self.shapes.levels).map(|_| Vec::new()).collect();
        let mut labels = Vec::new();
        for (chunk, start) in (0..n).step_by(4096).enumerate() {
            let m = 4096.min(n - start);
            let (zin, y) = self.inputs(mix(seed, 0x6E6, chunk as u64, 0), m);
            let x = tch::no_grad(|| match self.cfg.method {
                Method::Pix2pix | Method::Stackgan => {
                    let z = zin.narrow(1, 0, self.cfg.z_dim as i64);
                    self.chain(&zin, &z, self.shapes.levels - 1)
                }
                _ => self.generator.forward(&zin, self.full_pass()).x,
            });
            for (o, t) in out.iter_mut().zip(x) {
                o.push(t);
            }
            labels.extend(y);
        }
        let labels = (!labels.is_empty()).then(|| Tensor::cat(&labels, 0));
        let x = out
            .into_iter()
            .enumerate()
            .map(|(l, v)| {
                if v.is_empty() {
                    let r = self.shapes.resolutions[l] as i64;
                    let c = self.shapes.channels as i64;
                    Tensor::zeros([0, c, r, r], (self.kind, self.device))
                } else {
                    Tensor::cat(&v, 0)
                }
            })
            .collect();
        (x, labels)
    }

    fn full_pass(&self) -> GenPass {
        GenPass {
            top: self.generator.grid.len() - 1,
            fade: 1.0,
            train_from: self.shapes.levels,
            train: false,
        }
    }

    /// The post-activation feature maps of every generator layer, per level,
    /// for `n` latents seeded by `seed` (as [`PracticeGame::generate`]):
    /// `hidden[l][i]` is `(n, C_l, s_l, s_l)`; the last map of level `l` is
    /// what its output head reads (the analogue of the target's `S_l`).
    pub fn hidden(&self, n: usize, seed: u64) -> Vec<Vec<Tensor>> {
        let (z, _) = self.inputs(mix(seed, 0x6E6, 0, 0), n);
        tch::no_grad(|| self.generator.forward(&z, self.full_pass()).hidden)
    }

    /// The generator's trainable tensors with their names.
    pub fn g_params(&self) -> &[(String, Tensor)] {
        &self.generator.params
    }

    /// The current phase's critic's trainable tensors with their names.
    pub fn d_params(&self) -> &[(String, Tensor)] {
        &self.critics[self.phases[self.phase].critic].params
    }

    /// Every tensor either player trains in the current phase (translators,
    /// encoders and decoders included).
    pub fn trained_tensors(&self) -> impl Iterator<Item = &Tensor> {
        self.g_train.iter().chain(&self.d_train)
    }

    /// With `d_first_layer = "patch"`: per level `l` (1-based), the `q x q`
    /// stride-`q` first-layer filters that read `X_l`, as rows `(C_l, q^2 c)`
    /// in `(channel, y, x)` order (the atoms' order), from the critic that
    /// sees level `l` (layer-wise: level `l`'s own critic; its filters'
    /// `X_l` channels, not the upsampled `X_{l-1}` ones). `None` otherwise.
    pub fn first_layer_filters(&self) -> Option<Vec<(usize, Tensor)>> {
        if self.cfg.d_first_layer != FirstLayer::Patch
            || matches!(
                self.cfg.method,
                Method::Cyclegan | Method::Began | Method::Vae
            )
        {
            return None;
        }
        let pair = self.pair_critic();
        let c = self.shapes.channels as i64;
        let mut out = Vec::new();
        for l in 0..self.shapes.levels {
            let (critic, start) = match self.cfg.mode {
                Mode::Layerwise => (&self.critics[l], if l == 0 || !pair { 0 } else { c }),
                _ => (&self.critics[0], 0),
            };
            if let Some(w) = critic.from_weight(l) {
                let rows = w.size()[0];
                out.push((l + 1, w.narrow(1, start, c).reshape([rows, -1])));
            }
        }
        Some(out)
    }

    fn named_state(&self) -> Vec<(String, Tensor)> {
        let mut v: Vec<(String, Tensor)> = Vec::new();
        let mut add = |list: &[(String, Tensor)]| {
            v.extend(list.iter().map(|(n, t)| (n.clone(), t.shallow_clone())));
        };
        add(&self.generator.params);
        add(&self.generator.buffers);
        for c in &self.critics {
            add(&c.params);
            add(&c.buffers);
        }
        for t in self.translators.iter().chain(&self.back).flatten() {
            add(&t.params);
        }
        if let Some(d) = &self.decoder {
            add(&d.params);
            add(&d.buffers);
        }
        for (who, h) in [("hist_g", &self.hist_g), ("hist_d", &self.hist_d)] {
            for (i, t) in h.iter().enumerate() {
                v.push((format!("{who}.{i}"), t.shallow_clone()));
            }
        }
        for (who, o) in [("opt_g", &self.opt_g), ("opt_d", &self.opt_d)] {
            for (i, (m, s)) in o.m.iter().zip(&o.v).enumerate() {
                v.push((format!("{who}.m.{i}"), m.shallow_clone()));
                v.push((format!("{who}.v.{i}"), s.shallow_clone()));
            }
        }
        v
    }

    /// Writes the networks (with batch norm statistics), both optimisers'
    /// states and the phase to one safetensors file (atomically), in the
    /// config's precision, so [`PracticeGame::load`] resumes exactly.
    ///
    /// # Errors
    /// [`TrainError::Io`] if the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        self.save_at(path, &[])
    }

    /// As [`PracticeGame::save`], with `extra` key-value pairs in the file's
    /// metadata (the executor's position).
    ///
    /// # Errors
    /// [`TrainError::Io`] if the file cannot be written.
    pub fn save_at(&self, path: &Path, extra: &[(&str, String)]) -> Result<(), TrainError> {
        let named = self.named_state();
        let mut meta = BTreeMap::new();
        meta.insert("format".into(), "fsrgan-practice-state".into());
        meta.insert("phase".into(), self.phase.to_string());
        meta.insert("opt_g.t".into(), self.opt_g.t.to_string());
        meta.insert("opt_d.t".into(), self.opt_d.t.to_string());
        meta.insert("hist_n".into(), self.hist_n.to_string());
        // Exact: the f64's bits.
        meta.insert("k_t".into(), self.k_t.to_bits().to_string());
        meta.insert("config".into(), self.cfg.to_toml());
        for (k, v) in extra {
            meta.insert((*k).into(), v.clone());
        }
        write_tensors(path, &named, dtype(self.cfg.precision), &meta)
    }

    /// Restores what [`PracticeGame::save`] wrote into this game (built from
    /// the same config and model): phase, networks, optimiser states.
    ///
    /// # Errors
    /// [`TrainError::Resume`] if the file is not a practice state, lacks a
    /// tensor, or a tensor has another shape; [`TrainError::Io`] if it cannot be read.
    pub fn load(&mut self, path: &Path) -> Result<(), TrainError> {
        let bad = |reason: String| TrainError::Resume {
            path: path.display().to_string(),
            reason,
        };
        let f = read_checked(path)?;
        if f.metadata.get("format").map(String::as_str) != Some("fsrgan-practice-state") {
            return Err(bad("not a practice-track state (metadata `format`)".into()));
        }
        let get = |k: &str| -> Result<u64, TrainError> {
            f.metadata
                .get(k)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| bad(format!("metadata lacks `{k}`")))
        };
        let phase = get("phase")? as usize;
        if phase >= self.phases.len() {
            return Err(bad(format!(
                "phase {phase} does not exist in this config's mode ({} phases)",
                self.phases.len()
            )));
        }
        self.set_phase(phase)?;
        self.opt_g.t = get("opt_g.t")?;
        self.opt_d.t = get("opt_d.t")?;
        self.hist_n = f
            .metadata
            .get("hist_n")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        self.k_t = f64::from_bits(
            f.metadata
                .get("k_t")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        );
        for (name, mut dst) in self.named_state() {
            let src = f
                .tensors
                .get(&name)
                .ok_or_else(|| bad(format!("lacks `{name}` (another config?)")))?;
            let a = src.to_f64();
            let want: Vec<usize> = dst.size().iter().map(|&s| s as usize).collect();
            if a.shape() != want.as_slice() {
                return Err(bad(format!(
                    "`{name}` has shape {:?}, this config needs {want:?}",
                    a.shape()
                )));
            }
            let t = super::super::generator::tensor_from(&a, dst.kind(), dst.device());
            tch::no_grad(|| dst.copy_(&t));
        }
        Ok(())
    }
}
