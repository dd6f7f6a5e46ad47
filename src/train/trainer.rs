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
use super::checkpoint::{Saved, dtype, load_state, restore, restore_stage, save_checkpoint};
use super::config::{Precision, Schedule, StageConfig, TrainConfig};
use super::eval::Eval;
use super::generator::{Generator, array2};
use super::optim::Optim;
use super::stage::{Ctx, Disc, StageKind, StepArgs, g_params, gan_step};
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
    /// Called after every step with (stage name, stage step, stage steps, global step, total steps, losses).
    pub quiet: bool,
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
}

/// The outcome of a run stopped by `debug.stop_after_steps`: the rows so far
/// are written (the checkpoint already holds the state to resume from).
fn stopped(
    run: &RunDir,
    learner: &Generator,
    last: Row,
    rows: Vec<Row>,
    steps_run: usize,
    t0: &Instant,
) -> Result<TrainOutcome, TrainError> {
    run.write_rows(&rows)?;
    Ok(TrainOutcome {
        learner: learner.to_params()?,
        last,
        rows,
        steps_run,
        secs: t0.elapsed().as_secs_f64(),
        stopped_early: true,
    })
}

/// Progress callback: `(stage, stage_step, stage_steps, step, total, d_loss, g_loss)`.
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize, usize, usize, usize, f64, f64);

/// The settings of a stage kind.
pub fn stage_cfg(cfg: &TrainConfig, kind: StageKind) -> &StageConfig {
    match kind {
        StageKind::Dictionary(_) => &cfg.dictionary,
        StageKind::Level1 => &cfg.level1,
        StageKind::Superres(_) => &cfg.superres,
    }
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

/// Writes E2 (`alignment-level{l}{suffix}.json`, `suffix` = `-start`,
/// `-middle` or empty for the end of the stage): the `|cos|` matrices of the
/// stage discriminator's first-layer filters with the learner's and the true
/// atoms, and the stage step they were taken at.
fn write_alignment(
    run: &RunDir,
    disc: &Disc,
    (l, stage_step, suffix): (usize, usize, &str),
    learner: &Generator,
    truth: &Params,
) -> Result<(), TrainError> {
    let Some(f) = disc.filters() else {
        return Ok(());
    };
    let fm = array2(f)?;
    let learner = learner.to_params()?;
    let rows = |m: ndarray::Array2<f64>| m.outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>();
    let e2 = serde_json::json!({
        "level": l + 1,
        "stage_step": stage_step,
        "filters_vs_learner": rows(metrics::alignment(&fm, &metrics::atoms(&learner, l)?)),
        "filters_vs_truth": rows(metrics::alignment(&fm, &metrics::atoms(truth, l)?)),
    });
    write_bytes(
        &run.file(&format!("alignment-level{}{suffix}.json", l + 1)),
        e2.to_string().as_bytes(),
    )?;
    Ok(())
}

/// What [`choose_start`] needs of the stage.
struct Choice<'a> {
    cfg: &'a TrainConfig,
    scfg: &'a StageConfig,
    kind: StageKind,
    si: usize,
    stage_seed: u64,
    eval: &'a Eval,
    truth: &'a Params,
    name: &'a str,
    step0: usize,
    secs: (&'a Instant, f64),
    total: usize,
}

/// The chosen start of a stage: the metric rows of its first `select_after`
/// steps, and the work done.
struct Chosen {
    rows: Vec<Row>,
    steps_run: usize,
    step_secs: f64,
}

/// Tries `candidates` random starts of the stage's generator parameters
/// (the learner's own, then starts drawn as [`init_learner`] draws them from
/// seeds derived from `train_seed`, stage and candidate), each for
/// `select_after` steps on the stage's batches against its own fresh
/// closed-form discriminator, and leaves the learner, `disc` and both
/// optimisers in the state of the one whose discriminator value (mean over
/// the last fifth of its steps) is smallest. Ties keep the earlier start.
fn choose_start(
    c: &Choice<'_>,
    ctx: &mut Ctx<'_>,
    learner: &mut Generator,
    (disc, opt_d, opt_g): (&mut Disc, &mut Optim, &mut Optim),
    progress: Progress<'_>,
) -> Result<Chosen, TrainError> {
    let scfg = c.scfg;
    let n1 = scfg.select_after;
    let fresh_disc = |ctx: &Ctx<'_>, learner: &mut Generator| {
        start_stage(c.kind, c.cfg, scfg, ctx, learner, c.stage_seed, true)
    };
    let new_opt = |learner: &mut Generator| {
        let gp: Vec<Tensor> = g_params(c.kind, scfg.init, learner)
            .iter()
            .map(|p| p.shallow_clone())
            .collect();
        Optim::new(
            scfg.optimizer,
            scfg.beta1,
            scfg.beta2,
            &gp.iter().collect::<Vec<_>>(),
        )
    };
    let snapshot = |learner: &mut Generator| -> Vec<Tensor> {
        g_params(c.kind, scfg.init, learner)
            .iter()
            .map(|p| p.detach().copy())
            .collect()
    };
    let mut best: Option<(f64, Vec<Tensor>, Disc, Optim, Chosen)> = None;
    let mut values = Vec::new();
    let mut steps_run = 0;
    let mut step_secs = 0.0;
    for cand in 0..scfg.candidates {
        if cand > 0 {
            let mut other = c.cfg.clone();
            other.train_seed = mix(c.cfg.train_seed, 0xCA4D, c.si as u64, cand as u64);
            let mut start = Generator::from_params(&init_learner(&other), ctx.kind, ctx.device);
            let src = snapshot(&mut start);
            tch::no_grad(|| {
                for (p, s) in g_params(c.kind, scfg.init, learner).into_iter().zip(&src) {
                    p.copy_(s);
                }
            });
        }
        let mut d = if cand == 0 {
            std::mem::replace(disc, fresh_disc(ctx, learner)?)
        } else {
            fresh_disc(ctx, learner)?
        };
        let mut od = Optim::new(scfg.optimizer, scfg.beta1, scfg.beta2, &[]);
        let mut og = new_opt(learner);
        let mut tail = Vec::new();
        let mut crow = Vec::new();
        let mut secs_c = 0.0;
        for k in 0..n1 {
            let t_step = Instant::now();
            let args = StepArgs {
                kind: c.kind,
                cfg: scfg,
                lr_d: rate(scfg, scfg.lr_d, k),
                lr_g: rate(scfg, scfg.lr_g, k),
                seed: mix(c.cfg.train_seed, 100 + c.si as u64, k as u64, 0),
                freeze_d: c.cfg.debug.freeze_discriminator,
                flip_g: c.cfg.debug.flip_generator_loss,
            };
            ctx.leak = leak(scfg, k);
            ctx.batch = scfg.batch.unwrap_or(c.cfg.batch);
            let losses = gan_step(&args, ctx, learner, &mut d, &mut od, &mut og);
            steps_run += 1;
            for (what, v) in [
                ("the discriminator's loss", losses.d.unwrap_or(0.0)),
                ("the generator's loss", losses.g),
            ] {
                if !v.is_finite() {
                    return Err(TrainError::NonFinite {
                        stage: c.name.into(),
                        step: k + 1,
                        what: format!("{what} (random start {cand})"),
                    });
                }
            }
            if 5 * (k + 1) > 4 * n1 {
                tail.push(-losses.d.unwrap_or(f64::INFINITY));
            }
            progress(
                c.name,
                k + 1,
                scfg.steps,
                c.step0 + k + 1,
                c.total,
                losses.d.unwrap_or(f64::NAN),
                losses.g,
            );
            secs_c += t_step.elapsed().as_secs_f64();
            if (k + 1) % c.cfg.metrics_every == 0 || k + 1 == n1 {
                let mut v = c.eval.evaluate(c.truth, learner, None)?;
                if let Some(dl) = losses.d {
                    v.insert("d_loss".into(), dl);
                }
                v.insert("g_loss".into(), losses.g);
                v.insert("start".into(), cand as f64);
                crow.push(Row {
                    stage: c.name.into(),
                    stage_step: k + 1,
                    step: c.step0 + k + 1,
                    secs: c.secs.1 + c.secs.0.elapsed().as_secs_f64(),
                    step_secs: Some(secs_c),
                    values: v,
                });
            }
        }
        step_secs += secs_c;
        let value = tail.iter().sum::<f64>() / tail.len().max(1) as f64;
        values.push(value);
        if best.as_ref().is_none_or(|b| value < b.0) {
            best = Some((
                value,
                snapshot(learner),
                d,
                og,
                Chosen {
                    rows: crow,
                    steps_run: 0,
                    step_secs: 0.0,
                },
            ));
        }
    }
    let Some((_, params, d, og, mut chosen)) = best else {
        return Err(TrainError::InvalidConfig {
            field: format!("{}.candidates", c.name),
            rule: "must be at least 1".into(),
        });
    };
    tch::no_grad(|| {
        for (p, s) in g_params(c.kind, scfg.init, learner)
            .into_iter()
            .zip(&params)
        {
            p.copy_(s);
        }
    });
    *disc = d;
    *opt_g = og;
    let dp: Vec<Tensor> = disc.params().iter().map(|p| p.shallow_clone()).collect();
    *opt_d = Optim::new(
        scfg.optimizer,
        scfg.beta1,
        scfg.beta2,
        &dp.iter().collect::<Vec<_>>(),
    );
    // The choice, in the last row of the chosen start: which start, and every
    // start's value.
    if let Some(last) = chosen.rows.last_mut() {
        for (i, v) in values.iter().enumerate() {
            last.values.insert(format!("start{i}_value"), *v);
        }
    }
    chosen.steps_run = steps_run;
    chosen.step_secs = step_secs;
    Ok(chosen)
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
    let cfg = cfg.clone().validated()?;
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
    let device = opts.device;
    let run = RunDir::create(&opts.out)?;
    let truth = Params::generate(&cfg.model, cfg.seed)?;
    let target = Generator::from_params(&truth, kind, device);
    // The source of real batches: the truth, or (sabotage) another truth.
    let other = match cfg.debug.real_truth_seed {
        Some(s) => Some(Generator::from_params(
            &Params::generate(&cfg.model, s)?,
            kind,
            device,
        )),
        None => None,
    };
    let source = other.as_ref().unwrap_or(&target);

    // Learner and position.
    let saved: Option<Saved> = if opts.resume {
        Some(load_state(&run)?)
    } else {
        None
    };
    let learner_params = match &saved {
        Some(_) => crate::io::params::read_params(
            &run.file("checkpoint/learner.safetensors"),
            Some(&truth.config),
        )?,
        None => init_learner(&cfg),
    };
    let mut learner = Generator::from_params(&learner_params, kind, device);
    if let Some(s) = &saved {
        restore(
            &mut learner.t,
            s.tensors.get("learner.t"),
            "learner.t",
            &run,
        )?;
    }
    trainable(&learner);
    let mut rows: Vec<Row> = match &saved {
        Some(s) => {
            // Keep the rows logged up to the checkpoint: (stage, step) before
            // it, or at it when the stage is resumed mid-way (a stage resumed
            // from its start logs its start row again).
            let names: Vec<String> = StageKind::all(cfg.model.levels)
                .iter()
                .map(|k| k.name())
                .collect();
            let at = (s.stage_index, s.stage_step);
            run.rows()?
                .into_iter()
                .filter(|r| {
                    let pos = match r.stage.as_str() {
                        "init" => return true,
                        name => names
                            .iter()
                            .position(|n| n == name)
                            .map(|i| (i, r.stage_step)),
                    };
                    pos.is_some_and(|p| p < at || (p == at && at.1 > 0))
                })
                .collect()
        }
        None => {
            let path = run.file("config.toml");
            write_bytes(&path, cfg.to_toml().as_bytes())?;
            crate::io::params::write_params(
                &run.file("truth.safetensors"),
                &truth,
                cfg.seed,
                dtype(Precision::F64),
            )?;
            Vec::new()
        }
    };
    run.write_rows(&rows)?;

    let orthonormal = cfg.model.dictionary == crate::model::Dictionary::Orthonormal;
    let mut ctx = Ctx {
        target: source,
        batch: cfg.batch,
        tau: cfg.decode_tau,
        condition: cfg.condition,
        leak: 0.0,
        kind,
        device,
        orthonormal,
    };
    let seeds = (
        mix(cfg.train_seed, 90, 0, 0),
        mix(cfg.train_seed, 92, 0, 0),
        mix(cfg.train_seed, 91, 0, 0),
    );
    let eval = Eval::new(&target, cfg.eval_batch, cfg.final_eval, seeds, kind, device)?;
    let stages = StageKind::all(cfg.model.levels);
    let total = total_steps(&cfg);
    let mut step = saved.as_ref().map_or(0, |s| s.step);
    let mut steps_run = 0usize;
    let secs0 = rows.last().map_or(0.0, |r| r.secs);
    let elapsed = |t0: &Instant| secs0 + t0.elapsed().as_secs_f64();
    if saved.is_none() {
        // The random learner, before any warm start: the reference of "x below init".
        let row = Row {
            stage: "init".into(),
            stage_step: 0,
            step: 0,
            secs: 0.0,
            step_secs: None,
            values: eval.evaluate(&truth, &learner, None)?,
        };
        run.append(&row)?;
        rows.push(row);
    }
    let mut last = rows.last().cloned().unwrap_or_default();

    for (si, &kind_s) in stages.iter().enumerate() {
        let scfg = stage_cfg(&cfg, kind_s);
        let name = kind_s.name();
        let (start_step, fresh) = match &saved {
            Some(s) if si < s.stage_index => continue,
            Some(s) if si == s.stage_index && s.stage_step > 0 => (s.stage_step, false),
            _ => (0, true),
        };
        let stage_seed = mix(cfg.train_seed, 10 + si as u64, 0, 0);
        let mut disc = start_stage(kind_s, &cfg, scfg, &ctx, &mut learner, stage_seed, fresh)?;
        let (mut opt_d, mut opt_g) = {
            let dp: Vec<Tensor> = disc.params().iter().map(|p| p.shallow_clone()).collect();
            let gp: Vec<Tensor> = g_params(kind_s, scfg.init, &mut learner)
                .iter()
                .map(|p| p.shallow_clone())
                .collect();
            (
                Optim::new(
                    scfg.optimizer,
                    scfg.beta1,
                    scfg.beta2,
                    &dp.iter().collect::<Vec<_>>(),
                ),
                Optim::new(
                    scfg.optimizer,
                    scfg.beta1,
                    scfg.beta2,
                    &gp.iter().collect::<Vec<_>>(),
                ),
            )
        };
        if let Some(s) = saved
            .as_ref()
            .filter(|s| s.stage_index == si && s.stage_step > 0)
        {
            restore_stage(s, &mut disc, &mut opt_d, &mut opt_g, &run)?;
        }
        let level = kind_s.level();
        // The discriminator's filters are reported only when it has and trains them.
        let observed = level.filter(|_| scfg.adversarial > 0.0 && disc.filters().is_some());
        let log = |rows: &mut Vec<Row>,
                   learner: &Generator,
                   disc: &Disc,
                   stage_step: usize,
                   step: usize,
                   (secs, step_secs): (f64, Option<f64>),
                   losses: Option<super::stage::StepLosses>|
         -> Result<Row, TrainError> {
            let mut values = eval.evaluate(&truth, learner, observed.map(|l| (disc, l)))?;
            if let Some(ls) = losses {
                if let Some(d) = ls.d {
                    values.insert("d_loss".into(), d);
                }
                values.insert("g_loss".into(), ls.g);
            }
            let row = Row {
                stage: name.clone(),
                stage_step,
                step,
                secs,
                step_secs,
                values,
            };
            run.append(&row)?;
            rows.push(row.clone());
            Ok(row)
        };
        if fresh {
            last = log(
                &mut rows,
                &learner,
                &disc,
                0,
                step,
                (elapsed(&t0), None),
                None,
            )?;
            if let Some(l) = observed {
                write_alignment(&run, &disc, (l, 0, "-start"), &learner, &truth)?;
            }
        }
        let mut step_secs = 0.0;
        let mut start_step = start_step;
        if fresh && scfg.candidates > 1 {
            if cfg
                .debug
                .stop_after_steps
                .is_some_and(|n| step + scfg.select_after > n)
            {
                // The choice between starts is atomic: a run stopped inside it
                // resumes the stage from its start.
                return stopped(&run, &learner, last, rows, steps_run, &t0);
            }
            let chosen = choose_start(
                &Choice {
                    cfg: &cfg,
                    scfg,
                    kind: kind_s,
                    si,
                    stage_seed,
                    eval: &eval,
                    truth: &truth,
                    name: &name,
                    step0: step,
                    secs: (&t0, secs0),
                    total,
                },
                &mut ctx,
                &mut learner,
                (&mut disc, &mut opt_d, &mut opt_g),
                &mut *progress,
            )?;
            for mut row in chosen.rows {
                row.secs = elapsed(&t0);
                run.append(&row)?;
                rows.push(row.clone());
                last = row;
            }
            step += scfg.select_after;
            steps_run += chosen.steps_run;
            step_secs += chosen.step_secs;
            start_step = scfg.select_after;
        }
        for k in start_step..scfg.steps {
            if cfg.debug.stop_after_steps.is_some_and(|n| step >= n) {
                return stopped(&run, &learner, last, rows, steps_run, &t0);
            }
            let t_step = Instant::now();
            let args = StepArgs {
                kind: kind_s,
                cfg: scfg,
                lr_d: rate(scfg, scfg.lr_d, k),
                lr_g: rate(scfg, scfg.lr_g, k),
                seed: mix(cfg.train_seed, 100 + si as u64, k as u64, 0),
                freeze_d: cfg.debug.freeze_discriminator,
                flip_g: cfg.debug.flip_generator_loss,
            };
            ctx.leak = leak(scfg, k);
            ctx.batch = scfg.batch.unwrap_or(cfg.batch);
            let losses = gan_step(&args, &ctx, &mut learner, &mut disc, &mut opt_d, &mut opt_g);
            step += 1;
            steps_run += 1;
            let nonfinite = |what: &str| TrainError::NonFinite {
                stage: name.clone(),
                step: k + 1,
                what: what.into(),
            };
            for (what, v) in [
                ("the discriminator's loss", losses.d.unwrap_or(0.0)),
                ("the generator's loss", losses.g),
            ] {
                if !v.is_finite() {
                    return Err(nonfinite(what));
                }
            }
            if !g_params(kind_s, scfg.init, &mut learner)
                .iter()
                .all(|p| finite(p))
            {
                return Err(nonfinite("a learner parameter"));
            }
            if !disc.params().iter().all(|p| finite(p)) {
                return Err(nonfinite("a discriminator parameter"));
            }
            progress(
                &name,
                k + 1,
                scfg.steps,
                step,
                total,
                losses.d.unwrap_or(f64::NAN),
                losses.g,
            );
            // Every step reads its losses and checks finiteness on the host,
            // so the device is synchronised here.
            step_secs += t_step.elapsed().as_secs_f64();
            let end = k + 1 == scfg.steps;
            if let Some(l) = observed.filter(|_| k + 1 == scfg.steps / 2 && !end) {
                write_alignment(&run, &disc, (l, k + 1, "-middle"), &learner, &truth)?;
            }
            if (k + 1) % cfg.metrics_every == 0 || end {
                last = log(
                    &mut rows,
                    &learner,
                    &disc,
                    k + 1,
                    step,
                    (elapsed(&t0), Some(step_secs)),
                    Some(losses),
                )?;
            }
            if (k + 1) % cfg.checkpoint_every == 0 || end {
                let (pi, ps) = if end { (si + 1, 0) } else { (si, k + 1) };
                save_checkpoint(
                    &run,
                    &cfg,
                    &learner,
                    &mut disc,
                    (&opt_d, &opt_g),
                    (pi, ps, step),
                )?;
                run.write_rows(&rows)?;
            }
        }
        if scfg.steps == 0 {
            save_checkpoint(
                &run,
                &cfg,
                &learner,
                &mut disc,
                (&opt_d, &opt_g),
                (si + 1, 0, step),
            )?;
        }
        if let Some(l) = observed {
            write_alignment(&run, &disc, (l, scfg.steps, ""), &learner, &truth)?;
        }
        let src = run.file("checkpoint/learner.safetensors");
        let dst = run.file(&format!("checkpoint/stage-{name}.safetensors"));
        std::fs::copy(&src, &dst).map_err(os(&dst))?;
    }
    let row = Row {
        stage: "final".into(),
        stage_step: 0,
        step,
        secs: elapsed(&t0),
        step_secs: None,
        values: eval.evaluate_final(&truth, &learner, kind, device)?,
    };
    run.append(&row)?;
    rows.push(row.clone());
    last = row;
    let learner_params = learner.to_params()?;
    crate::io::params::write_params(
        &run.file("learner.safetensors"),
        &learner_params,
        cfg.seed,
        dtype(cfg.precision),
    )?;
    run.write_rows(&rows)?;
    let fake = eval.fake_images(&learner)?;
    for (file, x) in [
        ("samples.png", fake.as_slice()),
        ("samples-real.png", eval.real_images()),
    ] {
        let views: Vec<_> = x.iter().map(|a| a.view()).collect();
        crate::plot::sample_grid(&run.file(file), &views, 8)
            .map_err(|e| TrainError::Plot(e.to_string()))?;
    }
    crate::plot::training_plots(&run.path, &rows).map_err(|e| TrainError::Plot(e.to_string()))?;
    Ok(TrainOutcome {
        learner: learner_params,
        last,
        rows,
        steps_run,
        secs: t0.elapsed().as_secs_f64(),
        stopped_early: false,
    })
}
