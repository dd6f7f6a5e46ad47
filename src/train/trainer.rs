//! The training loop: stages in order (`dict1`, `level1`, then `dictL`,
//! `superresL` for each higher level), each a sequence of GAN steps with a
//! learning-rate schedule; metrics every `metrics_every` steps; checkpoints
//! every `checkpoint_every` steps and at each stage end; NaN/Inf stops the run
//! with the last good checkpoint kept; `resume` continues from the checkpoint
//! and, on CPU, repeats the uninterrupted run bit for bit.

use std::path::PathBuf;
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use tch::{Device, Kind, Tensor};

use super::TrainError;
use super::checkpoint::{
    Saved, check_recorded_config, check_recorded_truth, dtype, load_state, restore, restore_stage,
    save_checkpoint, saved_learner,
};
use super::config::DataMode;
use super::config::{Precision, Schedule, StageConfig, TrainConfig};
use super::data::{Samples, sample_dataset};
use super::eval::Eval;
use super::eval::RealRef;
use super::executor::{Executor, Flow, Position, Stage, Trial, Values};
use super::generator::{Generator, array2, array4};
use super::optim::Optim;
use super::stage::{
    Ctx, Disc, Draw, Source, StageKind, StepArgs, StepLosses, fake_inputs, g_params, gan_step,
    real_inputs, stage_cfg,
};
use super::warm::start_stage;
use crate::io::atomic::write_bytes;
use crate::io::rundir::{Row, RunDir};
use crate::metrics;
use crate::model::Params;
use crate::model::params::{Level1, UpLayer};
use ndarray::{Array1, Array4};

/// Where and how to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Run directory.
    pub out: PathBuf,
    /// Continue the run in `out` from its checkpoint.
    pub resume: bool,
    /// Device.
    pub device: Device,
    /// The dataset of `cfg.dataset`, read by the caller (`None` when the
    /// config names none: the run samples its own, or uses the oracle).
    pub data: Option<super::data::Loaded>,
}

/// Result of a run.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The learner at the end.
    pub learner: Params,
    /// The last metrics row.
    pub last: Row,
    /// All rows.
    pub rows: Vec<Row>,
    /// Steps run in this invocation.
    pub steps_run: usize,
    /// Wall time of this invocation (s).
    pub secs: f64,
    /// Whether the run stopped early (`debug.stop_after_steps`).
    pub stopped_early: bool,
    /// Where its real samples came from, in words (also in `data.json`).
    pub data: String,
}

pub use super::executor::Progress;

/// The outcome of a run stopped by `debug.stop_after_steps`: the rows so far
/// are written (the checkpoint already holds the state to resume from).
fn stopped(
    exec: Executor<'_>,
    learner: &Generator,
    t0: Instant,
) -> Result<TrainOutcome, TrainError> {
    exec.run.write_rows(&exec.rows)?;
    Ok(TrainOutcome {
        learner: learner.to_params()?,
        last: exec.last(),
        steps_run: exec.steps_run,
        rows: exec.rows,
        secs: t0.elapsed().as_secs_f64(),
        stopped_early: true,
        data: String::new(),
    })
}

fn rate(s: &StageConfig, base: f64, step: usize) -> f64 {
    match s.schedule {
        Schedule::Constant => base,
        Schedule::Cosine => {
            base * 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / s.steps.max(1) as f64).cos())
        }
    }
}

/// The leak at step `k`: `leak (1 - 2k/steps)` over the first half, then 0.
fn leak(s: &StageConfig, k: usize) -> f64 {
    (s.leak * (1.0 - 2.0 * k as f64 / s.steps.max(1) as f64)).max(0.0)
}

/// A seed for `(train_seed, stage index, step, purpose)`.
fn mix(seed: u64, a: u64, b: u64, c: u64) -> u64 {
    let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
    for v in [a, b, c] {
        h = (h ^ v).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 31;
    }
    h & 0x7FFF_FFFF_FFFF_FFFF
}

/// The learner's initial parameters, a function of the model's shapes, the
/// training seed and the config's fixed starting values only (never of the
/// truth): random unit `w'`; `alpha' = 1` and `t' = init_threshold` (a sparse
/// start); random orthonormal atoms (for orthonormal models with `m <= D`,
/// else random unit atoms); Gaussian ConvT weights scaled by `1/sqrt(m_in)`;
/// biases `init_bias`.
pub fn init_learner(cfg: &TrainConfig) -> Params {
    let model = &cfg.model;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.train_seed);
    let normal = |n: usize, rng: &mut ChaCha8Rng| -> Vec<f64> {
        (0..n).map(|_| StandardNormal.sample(rng)).collect()
    };
    let unit_rows = |a: &mut [f64], d: usize| {
        for row in a.chunks_exact_mut(d) {
            let n = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            row.iter_mut().for_each(|v| *v /= n);
        }
    };
    let (m1, n1, d0) = (model.m[0], model.n1, model.d0);
    let mut w = normal(m1 * n1 * n1 * d0, &mut rng);
    unit_rows(&mut w, d0);
    let d = model.d();
    let ko = model.output.size(model.patch);
    let orthonormal = model.dictionary == crate::model::Dictionary::Orthonormal;
    let out = (0..model.levels)
        .map(|l| {
            let m = model.m[l];
            let mut a = normal(m * d, &mut rng);
            if orthonormal && m <= d {
                crate::numerics::linalg::orthonormalize(&mut a, d);
            } else {
                unit_rows(&mut a, d);
            }
            Array4::from_shape_vec((m, model.channels, ko, ko), a)
                .unwrap_or_else(|_| unreachable!("m * D values"))
        })
        .collect();
    let k = model.kernel;
    let up = (1..model.levels)
        .map(|l| {
            let (mi, mo) = (model.m[l - 1], model.m[l]);
            let scale = 1.0 / (mi as f64).sqrt();
            let v: Vec<f64> = normal(mi * mo * k * k, &mut rng)
                .into_iter()
                .map(|z| z * scale)
                .collect();
            UpLayer {
                weight: Array4::from_shape_vec((mi, mo, k, k), v)
                    .unwrap_or_else(|_| unreachable!("mi * mo * k * k values")),
                bias: Array1::from_elem(mo, cfg.init_bias),
            }
        })
        .collect();
    let alpha = Array1::from_elem(m1, 1.0);
    Params {
        config: model.clone(),
        level1: Level1 {
            w: Array4::from_shape_vec((m1, n1, n1, d0), w)
                .unwrap_or_else(|_| unreachable!("m1 n1^2 d0 values")),
            beta: &alpha * cfg.init_threshold,
            alpha,
        },
        up,
        out,
    }
}

fn trainable(g: &Generator) {
    for t in [&g.w1, &g.alpha, &g.t] {
        let _ = t.set_requires_grad(true);
    }
    for (w, b) in &g.up {
        let _ = w.set_requires_grad(true);
        let _ = b.set_requires_grad(true);
    }
    for o in &g.out {
        let _ = o.set_requires_grad(true);
    }
}

fn finite(t: &Tensor) -> bool {
    tch::no_grad(|| t.isfinite().all().int64_value(&[]) != 0)
}

fn os(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Os {
        path: path.display().to_string(),
        source,
    }
}

/// Total steps of a config (all stages).
pub fn total_steps(cfg: &TrainConfig) -> usize {
    StageKind::all(cfg.model.levels)
        .iter()
        .map(|&k| stage_cfg(cfg, k).steps)
        .sum()
}

/// The optimisers of a stage: the discriminator's over its parameters, the
/// generator's over the stage's generator parameters.
fn optimisers(
    kind: StageKind,
    scfg: &StageConfig,
    learner: &mut Generator,
    disc: &mut Disc,
) -> (Optim, Optim) {
    let new = |ps: Vec<Tensor>| {
        Optim::new(
            scfg.optimizer,
            scfg.beta1,
            scfg.beta2,
            &ps.iter().collect::<Vec<_>>(),
        )
    };
    let dp: Vec<Tensor> = disc.params().iter().map(|p| p.shallow_clone()).collect();
    let gp: Vec<Tensor> = g_params(kind, scfg.init, learner)
        .iter()
        .map(|p| p.shallow_clone())
        .collect();
    (new(dp), new(gp))
}

/// A theory-track stage (`dict1`, `level1`, `superres{l}`) as the executor
/// drives it: the learner, the stage's discriminator and both optimisers.
struct TheoryStage<'a, 'c> {
    name: String,
    kind: StageKind,
    si: usize,
    cfg: &'a TrainConfig,
    scfg: &'a StageConfig,
    ctx: &'a mut Ctx<'c>,
    learner: &'a mut Generator,
    disc: Disc,
    opt_d: Optim,
    opt_g: Optim,
    eval: &'a Eval,
    truth: Option<&'a Params>,
    samples: Option<&'a Samples>,
    run: &'a RunDir,
    /// The level whose discriminator filters are reported (E2), if any.
    observed: Option<usize>,
}

impl TheoryStage<'_, '_> {
    /// Writes E2 (`alignment-level{l}{suffix}.json`, `suffix` = `-start`,
    /// `-middle` or empty for the end of the stage) when the stage's
    /// discriminator has filters: their `|cos|` matrices with the learner's
    /// and the true atoms, and the stage step they were taken at.
    fn alignment(&self, stage_step: usize, suffix: &str) -> Result<(), TrainError> {
        let Some(l) = self.observed else {
            return Ok(());
        };
        let Some(f) = self.disc.filters() else {
            return Ok(());
        };
        let fm = array2(f)?;
        let learner = self.learner.to_params()?;
        let rows = |m: ndarray::Array2<f64>| m.outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
        let e2 = serde_json::json!({
            "level": l + 1,
            "stage_step": stage_step,
            "filters_vs_learner": rows(metrics::alignment(&fm, &metrics::atoms(&learner, l)?)),
            "filters_vs_truth": match self.truth {
                Some(t) => serde_json::json!(rows(metrics::alignment(&fm, &metrics::atoms(t, l)?))),
                None => serde_json::Value::Null,
            },
        });
        write_bytes(
            &self
                .run
                .file(&format!("alignment-level{}{suffix}.json", l + 1)),
            e2.to_string().as_bytes(),
        )?;
        Ok(())
    }

    /// The generator parameters this stage trains, detached copies.
    fn snapshot(&mut self) -> Vec<Tensor> {
        g_params(self.kind, self.scfg.init, self.learner)
            .iter()
            .map(|p| p.detach().copy())
            .collect()
    }

    /// Sets the generator parameters this stage trains.
    fn set_params(&mut self, src: &[Tensor]) {
        tch::no_grad(|| {
            for (p, s) in g_params(self.kind, self.scfg.init, self.learner)
                .into_iter()
                .zip(src)
            {
                p.copy_(s);
            }
        });
    }
}

impl Stage for TheoryStage<'_, '_> {
    fn name(&self) -> &str {
        &self.name
    }

    fn steps(&self) -> usize {
        self.scfg.steps
    }

    fn step(&mut self, k: usize) -> Result<StepLosses, TrainError> {
        let scfg = self.scfg;
        let args = StepArgs {
            kind: self.kind,
            cfg: scfg,
            lr_d: rate(scfg, scfg.lr_d, k),
            lr_g: rate(scfg, scfg.lr_g, k),
            seed: mix(self.cfg.train_seed, 100 + self.si as u64, k as u64, 0),
            freeze_d: self.cfg.debug.freeze_discriminator,
            flip_g: self.cfg.debug.flip_generator_loss,
        };
        self.ctx.leak = leak(scfg, k);
        self.ctx.batch = scfg.batch.unwrap_or(self.cfg.batch);
        gan_step(
            &args,
            self.ctx,
            self.learner,
            &mut self.disc,
            &mut self.opt_d,
            &mut self.opt_g,
        )
    }

    fn non_finite(&mut self) -> Option<&'static str> {
        if !g_params(self.kind, self.scfg.init, self.learner)
            .iter()
            .all(|p| finite(p))
        {
            return Some("a learner parameter");
        }
        if !self.disc.params().iter().all(|p| finite(p)) {
            return Some("a discriminator parameter");
        }
        None
    }

    fn evaluate(&mut self, k: Option<usize>) -> Result<Values, TrainError> {
        let observed = self.observed.map(|l| (&self.disc, l));
        let mut v = self.eval.evaluate(self.truth, self.learner, observed)?;
        if let Disc::Witness(d) = &self.disc {
            // The witness's noise floor `d_floor = |E_A D - E_B D|` on two
            // independent real batches of the stage's size (what sampling
            // noise alone shows it), beside `d_value = E_real D - E_fake D`
            // (the learner's children of the real batch A's parents in the
            // conditional game, of its own latents in the paper's game).
            let seed = mix(
                self.cfg.train_seed,
                0xF100 + self.si as u64,
                k.unwrap_or(0) as u64,
                0,
            );
            let za = self.ctx.z(seed);
            let ra = real_inputs(self.kind, self.ctx, self.learner, Draw::Heldout(seed));
            let rb = real_inputs(
                self.kind,
                self.ctx,
                self.learner,
                Draw::Heldout(seed ^ 0x5555),
            );
            let (floor, value) = tch::no_grad(|| {
                let fa = fake_inputs(self.kind, self.ctx, self.learner, &za, &ra);
                let mean = |i: &Vec<Tensor>| {
                    d.score_with(&d.h(&i[0]), &i[1])
                        .mean(None::<tch::Kind>)
                        .double_value(&[])
                };
                ((mean(&ra) - mean(&rb)).abs(), mean(&ra) - mean(&fa))
            });
            v.insert("d_floor".into(), floor);
            v.insert("d_value".into(), value);
        }
        Ok(v)
    }

    fn checkpoint(&mut self, next: Position) -> Result<(), TrainError> {
        save_checkpoint(
            self.run,
            self.cfg,
            self.learner,
            &mut self.disc,
            (&self.opt_d, &self.opt_g),
            (next.stage, next.stage_step, next.step),
            self.samples.map_or(0, Samples::cursor),
        )
    }

    fn at_middle(&mut self, k: usize) -> Result<(), TrainError> {
        self.alignment(k + 1, "-middle")
    }
}

/// Tries `candidates` random starts of the stage's generator parameters
/// (the learner's own, then starts drawn as [`init_learner`] draws them from
/// seeds derived from `train_seed`, stage and candidate), each a trial of
/// `select_after` steps through the executor ([`Executor::run_trial`])
/// against its own fresh discriminator, and leaves the stage (learner,
/// discriminator, both optimisers) in the state of the one whose
/// [`Trial::value`] is smallest; ties keep the earlier start. Returns the
/// chosen trial (its rows carry every start's value in the last one), or
/// `None` when the run stopped inside the choice.
fn choose_start(
    exec: &mut Executor<'_>,
    st: &mut TheoryStage<'_, '_>,
    stage_seed: u64,
) -> Result<Option<Trial>, TrainError> {
    let scfg = st.scfg;
    let empty = || Optim::new(scfg.optimizer, scfg.beta1, scfg.beta2, &[]);
    let step0 = exec.step;
    // The best start so far: its value, parameters and trial and, once a
    // later start has taken the stage's slots, its discriminator and
    // generator optimiser.
    let mut best: Option<(f64, Vec<Tensor>, Trial)> = None;
    let mut best_players: Option<(Disc, Optim)> = None;
    let mut current_is_best = false;
    let mut values = Vec::new();
    let mut step_secs = 0.0;
    for cand in 0..scfg.candidates {
        if cand > 0 {
            let mut other = st.cfg.clone();
            other.train_seed = mix(st.cfg.train_seed, 0xCA4D, st.si as u64, cand as u64);
            let mut start =
                Generator::from_params(&init_learner(&other), st.ctx.kind, st.ctx.device);
            let src: Vec<Tensor> = g_params(st.kind, scfg.init, &mut start)
                .iter()
                .map(|p| p.detach().copy())
                .collect();
            st.set_params(&src);
        }
        // Each start plays its own fresh discriminator (the first start the
        // stage's own; the fresh one made for it then is not used).
        let fresh = start_stage(st.kind, st.cfg, scfg, st.ctx, st.learner, stage_seed, true)?;
        if cand > 0 {
            let prev = std::mem::replace(&mut st.disc, fresh);
            let prev_og = std::mem::replace(&mut st.opt_g, empty());
            if current_is_best {
                best_players = Some((prev, prev_og));
            }
        }
        (st.opt_d, st.opt_g) = optimisers(st.kind, scfg, st.learner, &mut st.disc);
        current_is_best = false;
        let mut trial = Trial::new(cand, scfg.select_after, step0);
        let si = st.si;
        if exec.run_trial(st, si, &mut trial)? != Flow::Done {
            return Ok(None);
        }
        step_secs += trial.step_secs;
        let value = trial.value();
        values.push(value);
        if best.as_ref().is_none_or(|b| value < b.0) {
            best = Some((value, st.snapshot(), trial));
            best_players = None;
            current_is_best = true;
        }
    }
    let Some((_, params, mut chosen)) = best else {
        return Err(TrainError::InvalidConfig {
            field: format!("{}.candidates", st.name),
            rule: "must be at least 1".into(),
        });
    };
    st.set_params(&params);
    if let Some((d, og)) = best_players {
        st.disc = d;
        st.opt_g = og;
    }
    st.opt_d = optimisers(st.kind, scfg, st.learner, &mut st.disc).0;
    // The choice, in the last row of the chosen start: which start, and every
    // start's value.
    if let Some(last) = chosen.rows.last_mut() {
        for (i, v) in values.iter().enumerate() {
            last.values.insert(format!("start{i}_value"), *v);
        }
    }
    chosen.step_secs = step_secs;
    exec.step = step0 + scfg.select_after;
    Ok(Some(chosen))
}

/// The learner's children of the first `n` real parents of `real` (levels
/// `x1..xL`): for each level `l >= 2`, `M'_l up'_{l-1}(decode(X_{l-1}, M'_{l-1}))`.
fn learner_children(
    learner: &Generator,
    real: &[Array4<f64>],
    n: usize,
    ctx: &Ctx<'_>,
) -> Result<Vec<Array4<f64>>, TrainError> {
    let q = learner.config.patch;
    tch::no_grad(|| {
        (1..real.len())
            .map(|l| {
                let parent = real[l - 1]
                    .slice(ndarray::s![..n.min(real[l - 1].shape()[0]), .., .., ..])
                    .to_owned();
                let x = super::generator::tensor_from(&parent, ctx.kind, ctx.device);
                let s = super::generator::decode(&x, &learner.out[l - 1], q, ctx.tau);
                array4(&learner.image(l, &learner.up(l - 1, &s)))
            })
            .collect()
    })
}

/// The truth (where there is one), the dataset's samples (`None` for the
/// oracle) and where they came from, in words: the caller's dataset
/// (`opts.data`), else `cfg.samples` samples of the truth drawn now, else
/// (`data = "oracle"`) no samples at all.
fn real_data(
    cfg: &TrainConfig,
    opts: &TrainOptions,
    kind: Kind,
    device: Device,
) -> Result<(Option<Params>, Option<Samples>, String), TrainError> {
    let generated = || Params::generate(&cfg.model, cfg.seed);
    let real_seed = cfg.debug.real_truth_seed.unwrap_or(cfg.seed);
    let (truth, samples, data_words) = match (cfg.data, &opts.data, &cfg.dataset) {
        (DataMode::Oracle, _, _) => (
            Some(generated()?),
            None,
            format!(
                "the oracle: every real batch a fresh draw of the truth (seed {real_seed}), N = infinity"
            ),
        ),
        (DataMode::Dataset, Some(loaded), path) => (
            loaded.truth.clone(),
            Some(std::borrow::Cow::Borrowed(&loaded.x[..])),
            match path {
                Some(p) => format!("{} ({})", p.display(), loaded.what),
                None => loaded.what.clone(),
            },
        ),
        (DataMode::Dataset, None, Some(path)) => {
            return Err(TrainError::InvalidConfig {
                field: "dataset".into(),
                rule: format!(
                    "{} is not loaded: pass it to the trainer (`TrainOptions::data`, as `fsrgan train --data` does)",
                    path.display()
                ),
            });
        }
        (DataMode::Dataset, None, None) => {
            let truth = generated()?;
            let source_truth = match cfg.debug.real_truth_seed {
                Some(s) => Params::generate(&cfg.model, s)?,
                None => truth.clone(),
            };
            let x = sample_dataset(&source_truth, real_seed, cfg.samples);
            (
                Some(truth),
                Some(std::borrow::Cow::Owned(x)),
                format!(
                    "{} samples of the truth (seed {real_seed}), drawn when the run started as `fsrgan sample --seed {real_seed} --n {}` stores them",
                    cfg.samples, cfg.samples
                ),
            )
        }
    };
    if truth.is_none() && cfg.debug.real_truth_seed.is_some() {
        return Err(TrainError::InvalidConfig {
            field: "debug.real_truth_seed".into(),
            rule: "draws the real samples from another truth; a dataset of arrays has none".into(),
        });
    }
    let samples = match samples {
        Some(x) => {
            let s = Samples::new(
                &x,
                cfg.heldout,
                mix(cfg.train_seed, 0xDA7A, 0, 0),
                cfg.debug.shuffle_pairs,
                kind,
                device,
            )?;
            Some(s)
        }
        None => None,
    };
    let data_words = match &samples {
        Some(s) => format!(
            "{data_words}: {} training samples, {} held out for the metrics{}",
            s.n_train(),
            s.n_heldout(),
            if cfg.debug.shuffle_pairs {
                " (control: the training pairs shuffled)"
            } else {
                ""
            }
        ),
        None => data_words,
    };
    Ok((truth, samples, data_words))
}

/// The config a run trains with, and its tensor kind: validated, its
/// thread count fixed (the config's, else the model's default; recorded in
/// the run's `config.toml` so a resume reuses it) and set, the process's
/// OpenMP wait policy and the output kernel checked.
///
/// # Errors
/// [`TrainError::InvalidConfig`] naming the field.
fn settled(cfg: &TrainConfig) -> Result<(TrainConfig, Kind), TrainError> {
    let mut cfg = cfg.clone().validated()?;
    let threads = cfg.cpu.threads_for(&cfg.model);
    cfg.cpu.threads = Some(threads);
    if crate::threads::WaitPolicy::from_env() != Ok(cfg.cpu.wait) {
        return Err(TrainError::InvalidConfig {
            field: "cpu.wait".into(),
            rule: format!(
                "OpenMP reads its wait policy when libtorch loads, so the process must start with OMP_WAIT_POLICY={} (fsrgan train re-executes itself with it); the environment has {:?}",
                cfg.cpu.wait.env_value().unwrap_or("(unset)"),
                std::env::var("OMP_WAIT_POLICY").ok()
            ),
        });
    }
    crate::threads::set_compute_threads(threads);
    if cfg.model.output != crate::model::OutputKernel::Patch {
        return Err(TrainError::InvalidConfig {
            field: "model.output".into(),
            rule: "training supports output = \"patch\"".into(),
        });
    }
    let kind = match cfg.precision {
        Precision::F32 => Kind::Float,
        Precision::F64 => Kind::Double,
    };
    Ok((cfg, kind))
}

/// The learner (its random start, or the checkpoint's with its exact `t`)
/// and the rows so far: those the resumed position keeps, or none after
/// the new run's files (`config.toml`, the truth, empty metrics) are written.
///
/// # Errors
/// Reading the checkpoint or writing the run's files failed.
fn learner_and_rows(
    cfg: &TrainConfig,
    saved: Option<&Saved>,
    run: &RunDir,
    truth: Option<&Params>,
    kind: Kind,
    device: Device,
) -> Result<(Generator, Vec<Row>), TrainError> {
    let learner_params = match saved {
        Some(s) => saved_learner(s, &cfg.model, run)?,
        None => init_learner(cfg),
    };
    let mut learner = Generator::from_params(&learner_params, kind, device);
    if let Some(s) = saved {
        restore(&mut learner.t, s.tensors.get("learner.t"), "learner.t", run)?;
    }
    trainable(&learner);
    let rows: Vec<Row> = match saved {
        Some(s) => {
            let names: Vec<String> = StageKind::all(cfg.model.levels)
                .iter()
                .map(|k| k.name())
                .collect();
            run.resume_rows(&names, (s.stage_index, s.stage_step))?
        }
        None => {
            run.start_new(&cfg.to_toml(), truth, cfg.seed)?;
            Vec::new()
        }
    };
    Ok((learner, rows))
}

/// The metrics' evaluator: fixed latents from seeds of `train_seed`, and
/// its real side, the dataset's held-out split (with a fixed slice of the
/// training split beside it) or the oracle's truth.
///
/// # Errors
/// libtorch errors.
fn make_eval(
    cfg: &TrainConfig,
    samples: Option<&Samples>,
    target: Option<&Generator>,
    kind: Kind,
    device: Device,
) -> Result<Eval, TrainError> {
    let seeds = (
        mix(cfg.train_seed, 90, 0, 0),
        mix(cfg.train_seed, 92, 0, 0),
        mix(cfg.train_seed, 91, 0, 0),
    );
    let real_ref = match (samples, target) {
        (Some(s), t) => RealRef::Heldout {
            x: s.heldout_images(),
            cfg: &cfg.model,
            train: tch::no_grad(|| {
                s.fixed(cfg.eval_batch.min(s.n_heldout() / 2).max(1), seeds.0)
                    .iter()
                    .map(array4)
                    .collect::<Result<Vec<_>, _>>()
            })?,
            truth: t,
        },
        (None, Some(t)) => RealRef::Oracle(t),
        (None, None) => unreachable!("the oracle has a truth"),
    };
    Eval::new(
        real_ref,
        cfg.eval_batch,
        cfg.final_eval,
        seeds,
        kind,
        device,
    )
}

/// Writes `data.json`: where the run's real samples came from.
///
/// # Errors
/// Writing failed.
fn write_data_json(
    run: &RunDir,
    cfg: &TrainConfig,
    samples: Option<&Samples>,
    has_truth: bool,
    words: &str,
) -> Result<(), TrainError> {
    let json = serde_json::json!({
        "data": match cfg.data { DataMode::Dataset => "dataset", DataMode::Oracle => "oracle" },
        "description": words,
        "n_train": samples.map(Samples::n_train),
        "n_heldout": samples.map(Samples::n_heldout),
        "truth": has_truth,
        "shuffle_pairs": cfg.debug.shuffle_pairs,
    });
    write_bytes(&run.file("data.json"), format!("{json:#}\n").as_bytes())?;
    Ok(())
}

/// The source of the oracle's batches when it is not the truth (the
/// sabotage `debug.real_truth_seed`): that seed's truth.
///
/// # Errors
/// The model config cannot generate parameters.
fn other_truth(
    cfg: &TrainConfig,
    kind: Kind,
    device: Device,
) -> Result<Option<Generator>, TrainError> {
    Ok(match (cfg.data, cfg.debug.real_truth_seed) {
        (DataMode::Oracle, Some(s)) => Some(Generator::from_params(
            &Params::generate(&cfg.model, s)?,
            kind,
            device,
        )),
        _ => None,
    })
}

/// Trains (or resumes) according to `cfg` in `opts.out`.
///
/// # Errors
/// [`TrainError`] for invalid configs, I/O failures, a run that cannot be
/// resumed, or a non-finite loss or parameter (the last checkpoint is kept).
pub fn train(
    cfg: &TrainConfig,
    opts: &TrainOptions,
    progress: Progress<'_>,
) -> Result<TrainOutcome, TrainError> {
    let t0 = Instant::now();
    let (cfg, kind) = settled(cfg)?;
    let device = opts.device;
    let run = RunDir::create(&opts.out)?;
    // A resume checks first that it continues the run it names (the config
    // it was trained with, its truth).
    let saved = opts.resume.then(|| load_state(&run)).transpose()?;
    if let Some(s) = &saved {
        check_recorded_config(&cfg, s, &run)?;
    }
    let (truth, samples, data_words) = real_data(&cfg, opts, kind, device)?;
    if saved.is_some() {
        check_recorded_truth(&run, truth.as_ref())?;
    }
    let target = truth
        .as_ref()
        .map(|t| Generator::from_params(t, kind, device));
    let other = other_truth(&cfg, kind, device)?;
    let source = match (&samples, other.as_ref().or(target.as_ref())) {
        (Some(s), _) => Source::Samples(s),
        (None, Some(g)) => Source::Oracle(g),
        (None, None) => unreachable!("the oracle has a truth"),
    };

    let (mut learner, rows) =
        learner_and_rows(&cfg, saved.as_ref(), &run, truth.as_ref(), kind, device)?;

    let mut ctx = Ctx::new(source, &cfg, kind, device);
    let eval = make_eval(&cfg, samples.as_ref(), target.as_ref(), kind, device)?;
    if let Some(s) = &saved
        && let Some(d) = &samples
    {
        d.set_cursor(s.data_cursor);
    }
    if saved.is_none() {
        write_data_json(&run, &cfg, samples.as_ref(), truth.is_some(), &data_words)?;
    }
    let stages = StageKind::all(cfg.model.levels);
    let secs0 = rows.last().map_or(0.0, |r| r.secs);
    let mut progress = progress;
    let mut exec = Executor {
        run: &run,
        rows,
        step: saved.as_ref().map_or(0, |s| s.step),
        steps_run: 0,
        total: total_steps(&cfg),
        metrics_every: cfg.metrics_every,
        checkpoint_every: cfg.checkpoint_every,
        stop_after: cfg.debug.stop_after_steps,
        budget_secs: None,
        budget_steps: None,
        secs0,
        t0,
        observer: &mut progress,
    };
    if saved.is_none() {
        // The random learner, before any warm start: the reference of "x below init".
        let values = eval.evaluate(truth.as_ref(), &learner, None)?;
        let row = Row {
            secs: 0.0,
            ..exec.row("init", 0, None, values)
        };
        exec.log(row)?;
    }

    let shared = Shared {
        cfg: &cfg,
        eval: &eval,
        truth: truth.as_ref(),
        samples: samples.as_ref(),
        run: &run,
    };
    for (si, &kind_s) in stages.iter().enumerate() {
        let at = match &saved {
            Some(s) if si < s.stage_index => continue,
            Some(s) if si == s.stage_index && s.stage_step > 0 => Some(s),
            _ => None,
        };
        let flow = one_stage(&mut exec, &shared, &mut ctx, &mut learner, (si, kind_s), at)?;
        if flow == Flow::Stopped {
            return stopped(exec, &learner, t0);
        }
    }
    finish(exec, &shared, &ctx, &learner, t0, data_words)
}

/// What every stage of a run reads.
struct Shared<'a> {
    cfg: &'a TrainConfig,
    eval: &'a Eval,
    truth: Option<&'a Params>,
    samples: Option<&'a Samples>,
    run: &'a RunDir,
}

/// Runs stage `si` (of kind `kind_s`) through the executor: its
/// discriminator and optimisers (restored from `resumed`, the checkpoint
/// inside this stage, if any), its start row and E2 snapshot when it starts
/// fresh, the choice between random starts, its steps, its end snapshot and
/// the copy of the learner at its end (`checkpoint/stage-NAME`).
///
/// # Errors
/// The stage's errors.
fn one_stage(
    exec: &mut Executor<'_>,
    sh: &Shared<'_>,
    ctx: &mut Ctx<'_>,
    learner: &mut Generator,
    (si, kind_s): (usize, StageKind),
    resumed: Option<&Saved>,
) -> Result<Flow, TrainError> {
    let cfg = sh.cfg;
    let scfg = stage_cfg(cfg, kind_s);
    let name = kind_s.name();
    let fresh = resumed.is_none();
    let stage_seed = mix(cfg.train_seed, 10 + si as u64, 0, 0);
    let mut disc = start_stage(kind_s, cfg, scfg, ctx, learner, stage_seed, fresh)?;
    let (opt_d, opt_g) = optimisers(kind_s, scfg, learner, &mut disc);
    let level = kind_s.level();
    // The discriminator's filters are reported only when it has and trains them.
    let observed = level.filter(|_| scfg.adversarial > 0.0 && disc.filters().is_some());
    let mut stage = TheoryStage {
        name: name.clone(),
        kind: kind_s,
        si,
        cfg,
        scfg,
        ctx,
        learner,
        disc,
        opt_d,
        opt_g,
        eval: sh.eval,
        truth: sh.truth,
        samples: sh.samples,
        run: sh.run,
        observed,
    };
    if let Some(s) = resumed {
        restore_stage(
            s,
            &mut stage.disc,
            &mut stage.opt_d,
            &mut stage.opt_g,
            sh.run,
        )?;
    }
    if fresh {
        let values = stage.evaluate(None)?;
        let row = exec.row(&name, 0, None, values);
        exec.log(row)?;
        stage.alignment(0, "-start")?;
    }
    let mut step_secs = 0.0;
    let mut start_step = resumed.map_or(0, |s| s.stage_step);
    if fresh && scfg.candidates > 1 {
        if exec.would_stop(scfg.select_after) {
            // The choice between starts is atomic: a run stopped inside it
            // resumes the stage from its start.
            return Ok(Flow::Stopped);
        }
        let Some(chosen) = choose_start(exec, &mut stage, stage_seed)? else {
            return Ok(Flow::Stopped);
        };
        for mut row in chosen.rows {
            row.secs = exec.elapsed();
            exec.log(row)?;
        }
        step_secs += chosen.step_secs;
        start_step = scfg.select_after;
    }
    if exec.run_stage(&mut stage, si, start_step, step_secs)? == Flow::Stopped {
        return Ok(Flow::Stopped);
    }
    stage.alignment(scfg.steps, "")?;
    let src = sh.run.file("checkpoint/learner.safetensors");
    let dst = sh.run.file(&format!("checkpoint/stage-{name}.safetensors"));
    std::fs::copy(&src, &dst).map_err(os(&dst))?;
    Ok(Flow::Done)
}

/// The end of a run: the final evaluation (row `final`), the learner file,
/// the metrics, the figures (with the super-resolution picture of the real
/// parents' children), and the outcome.
///
/// # Errors
/// The final evaluation's or the writes' errors.
fn finish(
    mut exec: Executor<'_>,
    sh: &Shared<'_>,
    ctx: &Ctx<'_>,
    learner: &Generator,
    t0: Instant,
    data_words: String,
) -> Result<TrainOutcome, TrainError> {
    let (cfg, eval, run) = (sh.cfg, sh.eval, sh.run);
    let values = eval.evaluate_final(sh.truth, learner, ctx.kind, ctx.device)?;
    let row = exec.row("final", 0, None, values);
    exec.log(row)?;
    let last = exec.last();
    let steps_run = exec.steps_run;
    let rows = std::mem::take(&mut exec.rows);
    let learner_params = learner.to_params()?;
    crate::io::params::write_params(
        &run.file("learner.safetensors"),
        &learner_params,
        cfg.seed,
        dtype(cfg.precision),
    )?;
    run.write_rows(&rows)?;
    let fake = eval.fake_images(learner)?;
    let fv: Vec<_> = fake.iter().map(|a| a.view()).collect();
    let rv: Vec<_> = eval.real_images().iter().map(|a| a.view()).collect();
    let children = learner_children(learner, eval.real_images(), 8, ctx)?;
    let cv: Vec<_> = children.iter().map(|a| a.view()).collect();
    crate::plot::run_figures_with(&run.path, &rv, &fv, Some(&cv), || {
        crate::plot::training_plots(&run.path, &rows)
    });
    Ok(TrainOutcome {
        learner: learner_params,
        last,
        rows,
        steps_run,
        secs: t0.elapsed().as_secs_f64(),
        stopped_early: false,
        data: data_words,
    })
}
