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
use super::config::{FirstLayer, LossKind, Mode, PracticeConfig};
use super::layers::{mix, normal_tensor, uniform_tensor, up2};
use super::loss::{clip_, d_loss, g_loss, gradient_penalty, interpolates};
use super::nets::{Critic, GenPass, Generator, Shapes};
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
#[derive(Debug, Clone, Copy, PartialEq)]
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
    /// The generator.
    pub generator: Generator,
    /// The critics (one, or one per level in layer-wise mode).
    pub critics: Vec<Critic>,
    phases: Vec<Phase>,
    phase: usize,
    g_train: Vec<usize>,
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

impl PracticeGame {
    /// Builds the networks of `cfg` for samples shaped by `model`, in phase 0.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] if the config does not fit the model.
    pub fn new(
        cfg: &PracticeConfig,
        model: &Config,
        device: Device,
    ) -> Result<PracticeGame, TrainError> {
        let cfg = cfg.clone().validated()?;
        cfg.check_model(model)?;
        let shapes = Shapes::of(model);
        let kind = kind_of(cfg.precision);
        let levels = shapes.levels;
        let c = shapes.channels;
        let generator = Generator::new(&cfg, &shapes, kind, device);
        let top = levels - 1;
        let (critics, phases) = match cfg.mode {
            Mode::EndToEnd => (
                vec![Critic::new(
                    "d",
                    &cfg,
                    &shapes,
                    top,
                    &vec![Some(c); levels],
                    kind,
                    device,
                )],
                vec![Phase {
                    name: "end_to_end".into(),
                    top,
                    train_from: 0,
                    critic: 0,
                    steps: cfg.steps,
                    fade_steps: 0,
                }],
            ),
            Mode::Progressive => (
                vec![Critic::new(
                    "d",
                    &cfg,
                    &shapes,
                    top,
                    &vec![Some(c); levels],
                    kind,
                    device,
                )],
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
            Mode::Layerwise => (
                (0..levels)
                    .map(|l| {
                        let mut inputs = vec![None; l + 1];
                        inputs[l] = Some(if l == 0 { c } else { 2 * c });
                        Critic::new(
                            &format!("d{}", l + 1),
                            &cfg,
                            &shapes,
                            l,
                            &inputs,
                            kind,
                            device,
                        )
                    })
                    .collect(),
                (0..levels)
                    .map(|l| Phase {
                        name: format!("level{}", l + 1),
                        top: l,
                        train_from: l,
                        critic: l,
                        steps: cfg.steps,
                        fade_steps: 0,
                    })
                    .collect(),
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
            phases,
            phase: 0,
            g_train: Vec::new(),
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

    /// Enters phase `index` with fresh Adam states.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] (field `phase`) for an index past the last phase.
    pub fn set_phase(&mut self, index: usize) -> Result<(), TrainError> {
        let ph = self
            .phases
            .get(index)
            .ok_or_else(|| TrainError::InvalidConfig {
                field: "phase".into(),
                rule: format!(
                    "the mode has {} phases, got index {index}",
                    self.phases.len()
                ),
            })?;
        self.g_train = self.generator.param_indices(ph.train_from..ph.top + 1);
        let gp: Vec<&Tensor> = self
            .g_train
            .iter()
            .map(|&i| &self.generator.params[i].1)
            .collect();
        self.opt_g = Optim::new(Optimizer::Adam, self.cfg.beta1, self.cfg.beta2, &gp);
        let dp: Vec<&Tensor> = self.critics[ph.critic]
            .params
            .iter()
            .map(|(_, t)| t)
            .collect();
        self.opt_d = Optim::new(Optimizer::Adam, self.cfg.beta1, self.cfg.beta2, &dp);
        self.phase = index;
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

    /// The critic's inputs (index = level) for the levels `x` of a sample
    /// batch in the current phase at fade `fade` (the top level blended with
    /// the upsampled level below when `fade < 1`; pairs in layer-wise phases).
    fn critic_inputs(&self, x: &[Tensor], fade: f64) -> Vec<Option<Tensor>> {
        let ph = &self.phases[self.phase];
        let top = ph.top;
        if self.cfg.mode == Mode::Layerwise {
            let mut v: Vec<Option<Tensor>> = (0..top).map(|_| None).collect();
            v.push(Some(if top == 0 {
                x[0].shallow_clone()
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

    fn critic_logits(&self, inputs: &[Option<Tensor>], fade: f64) -> Tensor {
        let ph = &self.phases[self.phase];
        self.critics[ph.critic].forward(inputs, ph.top, fade, true)
    }

    fn latents(&self, seed: u64, n: usize) -> Tensor {
        normal_tensor(
            seed,
            &[n as i64, self.generator.z_dim()],
            self.kind,
            self.device,
        )
    }

    fn check_real(&self, real: &[Tensor]) -> Result<(), TrainError> {
        let top = self.phases[self.phase].top;
        let want = self.real_batch() as i64;
        if real.len() <= top {
            return Err(TrainError::Shape {
                what: "real minibatches".into(),
                shape: vec![real.len()],
                expected: format!("one tensor per level 1..={}", top + 1),
            });
        }
        for (l, r) in real.iter().enumerate().take(top + 1) {
            let rl = self.shapes.resolutions[l] as i64;
            let expect = [want, self.shapes.channels as i64, rl, rl];
            if r.size() != expect {
                return Err(TrainError::Shape {
                    what: format!("real x{}", l + 1),
                    shape: r.size().iter().map(|&s| s as usize).collect(),
                    expected: format!("{expect:?} (batch * n_d, c, r_l, r_l)"),
                });
            }
        }
        Ok(())
    }

    /// One GAN step (`n_d` discriminator steps, one generator step) at step
    /// `k` of the current phase. `real[l]` holds `batch * n_d` real samples
    /// of level `l + 1`, `(batch * n_d, c, r_l, r_l)`, for every level up to
    /// the phase's top (more levels are ignored), on the game's device and kind.
    ///
    /// # Errors
    /// [`TrainError::Shape`] for real batches of the wrong shape.
    pub fn step(&mut self, real: &[Tensor], k: usize) -> Result<StepLosses, TrainError> {
        self.check_real(real)?;
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
        let mut last = None;
        for i in 0..self.cfg.n_d {
            let seed = mix(self.cfg.seed, self.phase as u64, k as u64, i as u64);
            let z = self.latents(seed, self.cfg.batch);
            let fake = if i + 1 == self.cfg.n_d {
                self.generator.forward(&z, pass).x
            } else {
                tch::no_grad(|| self.generator.forward(&z, pass).x)
            };
            let real_i: Vec<Tensor> = real
                .iter()
                .take(ph.top + 1)
                .map(|r| r.narrow(0, i as i64 * b, b))
                .collect();
            let fake_d: Vec<Tensor> = fake.iter().map(Tensor::detach).collect();
            let in_r = self.critic_inputs(&real_i, fade);
            let in_f = self.critic_inputs(&fake_d, fade);
            let d_r = self.critic_logits(&in_r, fade);
            let d_f = self.critic_logits(&in_f, fade);
            let mut ld = d_loss(loss, &d_r, &d_f);
            if self.cfg.drift > 0.0 {
                ld += d_r.square().mean(None) * self.cfg.drift;
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
                let pen = gradient_penalty(
                    |x| {
                        let mut v: Vec<Option<Tensor>> = (0..offset).map(|_| None).collect();
                        v.extend(x.iter().map(|t| Some(t.shallow_clone())));
                        self.critic_logits(&v, fade)
                    },
                    &xh,
                );
                ld += &pen * self.cfg.gp_weight;
                gp = Some(pen);
            }
            let critic = &self.critics[ph.critic];
            let dp: Vec<&Tensor> = critic.params.iter().map(|(_, t)| t).collect();
            let grads = Tensor::run_backward(&[&ld], &dp, false, false);
            let mut ps: Vec<Tensor> = dp.iter().map(|t| t.shallow_clone()).collect();
            if !self.freeze_discriminator {
                let mut refs: Vec<&mut Tensor> = ps.iter_mut().collect();
                self.opt_d.step(&mut refs, &grads, self.cfg.lr_d)?;
            }
            if loss == LossKind::Wgan {
                clip_(&mut ps, self.cfg.clip);
            }
            last = Some((ld.detach(), gp, d_r.detach(), d_f.detach(), fake));
        }
        let (ld, gp, d_r, d_f, fake) = last.expect("n_d >= 1");
        let in_f = self.critic_inputs(&fake, fade);
        let lg = g_loss(loss, &self.critic_logits(&in_f, fade));
        let gp_params: Vec<&Tensor> = self
            .g_train
            .iter()
            .map(|&i| &self.generator.params[i].1)
            .collect();
        let grads = Tensor::run_backward(&[&lg], &gp_params, false, false);
        let mut ps: Vec<Tensor> = gp_params.iter().map(|t| t.shallow_clone()).collect();
        let mut refs: Vec<&mut Tensor> = ps.iter_mut().collect();
        self.opt_g.step(&mut refs, &grads, self.cfg.lr_g)?;
        Ok(StepLosses {
            d_loss: scalar(&ld)?,
            g_loss: scalar(&lg)?,
            gp: gp.map(|p| scalar(&p)).transpose()?,
            d_real: scalar(&d_r.mean(None))?,
            d_fake: scalar(&d_f.mean(None))?,
            fade,
        })
    }

    /// `n` samples `(X_1, ..., X_L)` of the whole generator from latents
    /// seeded by `seed` (chunks of 4096; batch norm on running statistics,
    /// `fade = 1`; levels not trained yet are what their random start makes).
    pub fn generate(&self, n: usize, seed: u64) -> Vec<Tensor> {
        let mut out: Vec<Vec<Tensor>> = (0..self.shapes.levels).map(|_| Vec::new()).collect();
        for (chunk, start) in (0..n).step_by(4096).enumerate() {
            let m = 4096.min(n - start);
            let z = self.latents(mix(seed, 0x6E6, chunk as u64, 0), m);
            let x = tch::no_grad(|| self.generator.forward(&z, self.full_pass()).x);
            for (o, t) in out.iter_mut().zip(x) {
                o.push(t);
            }
        }
        out.into_iter()
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
            .collect()
    }

    fn full_pass(&self) -> GenPass {
        GenPass {
            top: self.shapes.levels - 1,
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
        let z = self.latents(mix(seed, 0x6E6, 0, 0), n);
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

    /// With `d_first_layer = "patch"`: per level `l` (1-based), the `q x q`
    /// stride-`q` first-layer filters that read `X_l`, as rows `(C_l, q^2 c)`
    /// in `(channel, y, x)` order (the atoms' order), from the critic that
    /// sees level `l` (layer-wise: level `l`'s own critic; its filters'
    /// `X_l` channels, not the upsampled `X_{l-1}` ones). `None` otherwise.
    pub fn first_layer_filters(&self) -> Option<Vec<(usize, Tensor)>> {
        if self.cfg.d_first_layer != FirstLayer::Patch {
            return None;
        }
        let c = self.shapes.channels as i64;
        let mut out = Vec::new();
        for l in 0..self.shapes.levels {
            let (critic, start) = match self.cfg.mode {
                Mode::Layerwise => (&self.critics[l], if l == 0 { 0 } else { c }),
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
