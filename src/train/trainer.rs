//! The training loop: stages in order (`dict1`, `level1`, then `dictL`,
//! `superresL` for each higher level), each a sequence of GAN steps with a
//! learning-rate schedule; metrics every `metrics_every` steps; checkpoints
//! every `checkpoint_every` steps and at each stage end; NaN/Inf stops the run
//! with the last good checkpoint kept; `resume` continues from the checkpoint
//! and, on CPU, repeats the uninterrupted run bit for bit.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use ndarray::{Array2, Array4, ArrayView4};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use tch::{Device, Kind, Tensor};

use super::TrainError;
use super::config::{Precision, Schedule, StageConfig, TrainConfig};
use super::disc::{Degree4, Moments, Pair, moment_features, normalize_rows};
use super::generator::{Generator, decode, latents, tensor_from, values};
use super::optim::Optim;
use super::rundir::{Row, RunDir};
use super::stage::{Ctx, Disc, StageKind, StepArgs, gan_step, real_inputs};
use crate::io::reader::{Tensor as IoTensor, read_tensors};
use crate::io::writer::{Dtype, Format, TensorSpec, TensorWriter};
use crate::metrics;
use crate::model::{Params, diagnostics};

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

/// Progress callback: `(stage, stage_step, stage_steps, step, total, d_loss, g_loss)`.
pub type Progress<'a> = &'a mut dyn FnMut(&str, usize, usize, usize, usize, f64, f64);

fn stage_cfg(cfg: &TrainConfig, kind: StageKind) -> &StageConfig {
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

/// A seed for `(train_seed, stage index, step, purpose)`.
fn mix(seed: u64, a: u64, b: u64, c: u64) -> u64 {
    let mut h = seed ^ 0x9E37_79B9_7F4A_7C15;
    for v in [a, b, c] {
        h = (h ^ v).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 31;
    }
    h & 0x7FFF_FFFF_FFFF_FFFF
}

/// The learner's initial parameters: random unit `w`, random unit atoms,
/// `alpha = 1`, `t = 0` (set from data in stage `level1`), Gaussian ConvT
/// weights scaled by `1/sqrt(m_in)`, zero biases (set from data in `superres`).
fn init_learner(truth: &Params, seed: u64) -> Params {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut p = truth.clone();
    let unit_rows = |a: &mut [f64], d: usize, rng: &mut ChaCha8Rng| {
        for row in a.chunks_exact_mut(d) {
            row.iter_mut().for_each(|v| *v = StandardNormal.sample(rng));
            let n = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            row.iter_mut().for_each(|v| *v /= n);
        }
    };
    let d0 = p.config.d0;
    if let Some(w) = p.level1.w.as_slice_mut() {
        unit_rows(w, d0, &mut rng);
    }
    p.level1.alpha.fill(1.0);
    p.level1.beta.fill(0.0);
    for o in &mut p.out {
        let d = o.len() / o.dim().0;
        if let Some(s) = o.as_slice_mut() {
            unit_rows(s, d, &mut rng);
        }
    }
    for u in &mut p.up {
        let scale = 1.0 / (u.weight.dim().0 as f64).sqrt();
        u.weight.mapv_inplace(|_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            scale * z
        });
        u.bias.fill(0.0);
    }
    p
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

fn array4(t: &Tensor) -> Array4<f64> {
    let (s, v) = values(t);
    Array4::from_shape_vec((s[0], s[1], s[2], s[3]), v)
        .unwrap_or_else(|_| Array4::zeros((0, 0, 0, 0)))
}

fn array2(t: &Tensor) -> Array2<f64> {
    let (s, v) = values(t);
    Array2::from_shape_vec((s[0], s[1]), v).unwrap_or_else(|_| Array2::zeros((0, 0)))
}

/// Fixed evaluation sets: real and fake images of every level.
struct Eval {
    z_real: Tensor,
    z_fake: Tensor,
    real_x: Vec<Array4<f64>>,
}

fn evaluate(
    truth: &Params,
    learner: &Generator,
    eval: &Eval,
    disc: Option<(&Disc, usize)>,
    values_out: &mut BTreeMap<String, f64>,
) {
    let cfg = &truth.config;
    let q = cfg.patch;
    let lp = learner.to_params();
    let fake_x: Vec<Array4<f64>> =
        tch::no_grad(|| learner.images(&eval.z_fake).iter().map(array4).collect());
    let fake_s: Vec<Array4<f64>> =
        tch::no_grad(|| learner.codes(&eval.z_fake).iter().map(array4).collect());
    let _ = &eval.z_real;
    for l in 0..cfg.levels {
        let lv = l + 1;
        let pr = metrics::patches(eval.real_x[l].view(), q);
        let pf = metrics::patches(fake_x[l].view(), q);
        let cap = 2048.min(pr.nrows()).min(pf.nrows());
        // Deterministic subsample: evenly spaced rows.
        let pick = |a: &Array2<f64>| {
            let stride = (a.nrows() / cap).max(1);
            a.slice(ndarray::s![..; stride, ..])
                .slice(ndarray::s![..cap, ..])
                .to_owned()
        };
        let (sr, sf) = (pick(&pr), pick(&pf));
        for c in 1..=4 {
            values_out.insert(
                format!("gap{lv}_c{c}"),
                metrics::moment_gap(sr.view(), sf.view(), c),
            );
        }
        values_out.insert(
            format!("swd{lv}"),
            metrics::sliced_wasserstein(sr.view(), sf.view(), 32, 7),
        );
        let m = metrics::dictionary_recovery(truth, &lp, l);
        values_out.insert(format!("dict{lv}_min_cos"), m.min);
        values_out.insert(format!("dict{lv}_mean_cos"), m.mean);
        if l == 0 {
            let r = metrics::level1_recovery(truth, &lp, &m.perm);
            values_out.insert("alpha_err".into(), r.alpha_err);
            values_out.insert("beta_err".into(), r.beta_err);
            values_out.insert("c_err".into(), r.c_err);
        }
        values_out.insert(
            format!("sparsity{lv}"),
            diagnostics::activity_of_codes(fake_s[l].view(), 0.0).mean(),
        );
    }
    let views: Vec<ArrayView4<'_, f64>> = eval.real_x.iter().map(|a| a.view()).collect();
    for (i, r) in diagnostics::a5_residual(&lp, &views).iter().enumerate() {
        values_out.insert(format!("sr_residual{}", i + 2), r.relative());
    }
    if let Some((d, l)) = disc
        && let Some(f) = d.filters()
    {
        let fm = array2(f);
        values_out.insert(
            format!("align{}_learner", l + 1),
            metrics::mean_best_alignment(&metrics::alignment(&fm, &metrics::atoms(&lp, l))),
        );
        values_out.insert(
            format!("align{}_truth", l + 1),
            metrics::mean_best_alignment(&metrics::alignment(&fm, &metrics::atoms(truth, l))),
        );
    }
}

/// Saves checkpoint: learner (interchange) + state (discriminator, optimisers, exact t, position).
fn save_checkpoint(
    run: &RunDir,
    cfg: &TrainConfig,
    learner: &Generator,
    disc: &mut Disc,
    opts: (&Optim, &Optim),
    pos: (usize, usize, usize),
) -> Result<(), TrainError> {
    let dtype = match cfg.precision {
        Precision::F64 => Dtype::F64,
        Precision::F32 => Dtype::F32,
    };
    crate::io::params::write_params(
        &run.file("checkpoint/learner.safetensors"),
        &learner.to_params(),
        cfg.seed,
        dtype,
    )?;
    let mut named: Vec<(String, Tensor)> = vec![("learner.t".into(), learner.t.shallow_clone())];
    for (i, p) in disc.params().iter().enumerate() {
        named.push((format!("disc.{i}"), p.shallow_clone()));
    }
    for (who, o) in [("opt_d", opts.0), ("opt_g", opts.1)] {
        for (i, (m, v)) in o.m.iter().zip(&o.v).enumerate() {
            named.push((format!("{who}.m.{i}"), m.shallow_clone()));
            named.push((format!("{who}.v.{i}"), v.shallow_clone()));
        }
    }
    let specs = named
        .iter()
        .map(|(n, t)| TensorSpec {
            name: n.clone(),
            dtype,
            shape: t.size().iter().map(|&s| s as usize).collect(),
        })
        .collect();
    let mut meta = BTreeMap::new();
    meta.insert("format".into(), "fsrgan-train-state".into());
    meta.insert("stage_index".into(), pos.0.to_string());
    meta.insert("stage_step".into(), pos.1.to_string());
    meta.insert("step".into(), pos.2.to_string());
    meta.insert("opt_d.t".into(), opts.0.t.to_string());
    meta.insert("opt_g.t".into(), opts.1.t.to_string());
    let mut w = TensorWriter::create(
        &run.file("checkpoint/state.safetensors"),
        Format::Safetensors,
        specs,
        &meta,
    )?;
    for (i, (_, t)) in named.iter().enumerate() {
        w.append_f64(i, &values(t).1)?;
    }
    w.finish()?;
    Ok(())
}

/// Position and tensors of a saved state.
struct Saved {
    stage_index: usize,
    stage_step: usize,
    step: usize,
    t_d: u64,
    t_g: u64,
    tensors: BTreeMap<String, IoTensor>,
}

fn load_state(run: &RunDir) -> Result<Saved, TrainError> {
    let path = run.file("checkpoint/state.safetensors");
    let bad = |reason: String| TrainError::Resume {
        path: run.path.display().to_string(),
        reason,
    };
    if !path.exists() {
        return Err(bad(
            "no checkpoint/state.safetensors (the run has no checkpoint yet)".into(),
        ));
    }
    let f = read_tensors(&path)?;
    let get = |k: &str| -> Result<u64, TrainError> {
        f.metadata
            .get(k)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| bad(format!("state metadata lacks `{k}`")))
    };
    Ok(Saved {
        stage_index: get("stage_index")? as usize,
        stage_step: get("stage_step")? as usize,
        step: get("step")? as usize,
        t_d: get("opt_d.t")?,
        t_g: get("opt_g.t")?,
        tensors: f.tensors,
    })
}

fn restore(
    dst: &mut Tensor,
    src: Option<&IoTensor>,
    name: &str,
    run: &RunDir,
) -> Result<(), TrainError> {
    let src = src.ok_or_else(|| TrainError::Resume {
        path: run.path.display().to_string(),
        reason: format!("state lacks `{name}`"),
    })?;
    let a = src.to_f64();
    let want: Vec<usize> = dst.size().iter().map(|&s| s as usize).collect();
    if a.shape() != want.as_slice() {
        return Err(TrainError::Resume {
            path: run.path.display().to_string(),
            reason: format!("`{name}` has shape {:?}, expected {want:?}", a.shape()),
        });
    }
    let t = tensor_from(&a, dst.kind(), dst.device());
    tch::no_grad(|| dst.copy_(&t));
    Ok(())
}

fn finite(t: &Tensor) -> bool {
    tch::no_grad(|| t.isfinite().all().int64_value(&[]) != 0)
}

/// Builds a stage's discriminator (warm start or data-driven initialisation
/// of the learner included when `fresh`).
fn start_stage(
    kind: StageKind,
    cfg: &TrainConfig,
    ctx: &Ctx<'_>,
    learner: &mut Generator,
    seed: u64,
    fresh: bool,
) -> Result<Disc, TrainError> {
    let q = cfg.model.patch;
    let scfg = stage_cfg(cfg, kind);
    let freeze = cfg.debug.freeze_discriminator;
    match kind {
        StageKind::Dictionary(l) => {
            if fresh && scfg.warm_start && !freeze {
                // The discriminator's first layer by degree-4 ascent with
                // deflation on real patches (theory T5), and M'_l from it.
                let n = cfg.warm_samples;
                let z = latents(mix(seed, 1, 0, 0), n, cfg.model.d0, ctx.kind, ctx.device);
                let x = tch::no_grad(|| real_inputs(kind, ctx, learner, &z).remove(0));
                let p = metrics::patches(array4(&x).view(), q);
                let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, 2, 0, 0));
                let m = cfg.model.m[l];
                let found =
                    crate::theory::tensor_decomp::power_method(p.view(), m, 3, 60, &mut rng)
                        .map_err(|e| TrainError::InvalidConfig {
                            field: "model.m".into(),
                            rule: e.to_string(),
                        })?;
                let flat: Vec<f64> = found.vectors.concat();
                let v = Tensor::from_slice(&flat)
                    .reshape([m as i64, -1])
                    .to_kind(ctx.kind)
                    .to_device(ctx.device);
                tch::no_grad(|| learner.out[l].copy_(&v));
            }
            Ok(Disc::Degree4(Degree4::new(
                &learner.out[l].detach(),
                1.0,
                q,
            )))
        }
        StageKind::Level1 => {
            let z = latents(
                mix(seed, 3, 0, 0),
                ctx.batch,
                cfg.model.d0,
                ctx.kind,
                ctx.device,
            );
            let real = real_inputs(kind, ctx, learner, &z).remove(0);
            if fresh {
                // t' from the data: per learner channel, P(s_hat > 0) = Q(t).
                let rates = tch::no_grad(|| {
                    real.gt(0.0).to_kind(ctx.kind).mean_dim(
                        [0i64, 2, 3].as_slice(),
                        false,
                        None::<Kind>,
                    )
                });
                let (_, r) = values(&rates);
                let t: Vec<f64> = r
                    .iter()
                    .map(|&p| crate::theory::normal::q_inv(p.clamp(1e-4, 0.5)))
                    .collect();
                let tt = Tensor::from_slice(&t)
                    .to_kind(ctx.kind)
                    .to_device(ctx.device);
                tch::no_grad(|| learner.t.copy_(&tt));
            }
            let feats = tch::no_grad(|| moment_features(&real));
            Ok(Disc::Moments(Moments::new(&feats)))
        }
        StageKind::Superres(l) => {
            if fresh {
                // b' from the data: per channel, the fake activity rate equals
                // the real decoded rate.
                let z = latents(
                    mix(seed, 4, 0, 0),
                    ctx.batch,
                    cfg.model.d0,
                    ctx.kind,
                    ctx.device,
                );
                let real = real_inputs(kind, ctx, learner, &z);
                let child = tch::no_grad(|| decode(&real[1], &learner.out[l], q, ctx.tau));
                let pre = tch::no_grad(|| learner.up_pre(l - 1, &real[0]));
                let m = cfg.model.m[l] as i64;
                let rates = tch::no_grad(|| {
                    child.gt(0.0).to_kind(ctx.kind).mean_dim(
                        [0i64, 2, 3].as_slice(),
                        false,
                        None::<Kind>,
                    )
                });
                let (_, r) = values(&rates);
                let pre_c = tch::no_grad(|| pre.permute([1, 0, 2, 3]).reshape([m, -1]));
                let mut b = Vec::with_capacity(m as usize);
                for (c, &rate) in r.iter().enumerate() {
                    let (_, vals) = values(&pre_c.get(c as i64));
                    let mut v = vals;
                    v.sort_by(f64::total_cmp);
                    let k = ((1.0 - rate.clamp(1e-4, 1.0)) * (v.len() - 1) as f64).round() as usize;
                    b.push(v[k.min(v.len() - 1)]);
                }
                let bt = Tensor::from_slice(&b)
                    .to_kind(ctx.kind)
                    .to_device(ctx.device);
                tch::no_grad(|| learner.up[l - 1].1.copy_(&bt));
            }
            let window = 9 * cfg.model.m[l - 1] as i64;
            Ok(Disc::Pair(Pair::new(
                &learner.out[l].detach(),
                window,
                q,
                mix(seed, 5, l as u64, 0),
            )))
        }
    }
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

    // Learner and position.
    let saved = if opts.resume {
        Some(load_state(&run)?)
    } else {
        None
    };
    let learner_params = match &saved {
        Some(_) => crate::io::params::read_params(
            &run.file("checkpoint/learner.safetensors"),
            Some(&truth.config),
        )?,
        None => init_learner(&truth, cfg.train_seed),
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
    let mut rows = match &saved {
        Some(s) => run
            .rows()?
            .into_iter()
            .filter(|r| r.step <= s.step)
            .collect(),
        None => {
            std::fs::write(run.file("config.toml"), cfg.to_toml()).map_err(|e| TrainError::Os {
                path: run.file("config.toml").display().to_string(),
                source: e,
            })?;
            crate::io::params::write_params(
                &run.file("truth.safetensors"),
                &truth,
                cfg.seed,
                Dtype::F64,
            )?;
            Vec::new()
        }
    };
    run.write_rows(&rows)?;

    let ctx = Ctx {
        target: &target,
        batch: cfg.batch,
        tau: cfg.decode_tau,
        condition: cfg.condition,
        kind,
        device,
    };
    let eval = {
        let z_real = latents(
            mix(cfg.train_seed, 90, 0, 0),
            cfg.eval_batch,
            cfg.model.d0,
            kind,
            device,
        );
        let z_fake = latents(
            mix(cfg.train_seed, 91, 0, 0),
            cfg.eval_batch,
            cfg.model.d0,
            kind,
            device,
        );
        let real_x = tch::no_grad(|| target.images(&z_real).iter().map(array4).collect());
        Eval {
            z_real,
            z_fake,
            real_x,
        }
    };
    let stages = StageKind::all(cfg.model.levels);
    let total: usize = stages.iter().map(|&k| stage_cfg(&cfg, k).steps).sum();
    let mut step = saved.as_ref().map_or(0, |s| s.step);
    let mut steps_run = 0usize;
    let mut last = rows.last().cloned().unwrap_or_default();

    for (si, &kind_s) in stages.iter().enumerate() {
        let scfg = stage_cfg(&cfg, kind_s);
        let name = kind_s.name();
        let (start_step, fresh) = match &saved {
            Some(s) if si < s.stage_index => continue,
            Some(s) if si == s.stage_index => (s.stage_step, false),
            _ => (0, true),
        };
        let stage_seed = mix(cfg.train_seed, 10 + si as u64, 0, 0);
        let mut disc = start_stage(kind_s, &cfg, &ctx, &mut learner, stage_seed, fresh)?;
        let (mut opt_d, mut opt_g) = {
            let dp: Vec<Tensor> = disc.params().iter().map(|p| p.shallow_clone()).collect();
            let gp: Vec<Tensor> = super::stage::g_params(kind_s, &mut learner)
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
        if let Some(s) = saved.as_ref().filter(|s| s.stage_index == si) {
            for (i, p) in disc.params().into_iter().enumerate() {
                restore(
                    p,
                    s.tensors.get(&format!("disc.{i}")),
                    &format!("disc.{i}"),
                    &run,
                )?;
            }
            for (who, o) in [("opt_d", &mut opt_d), ("opt_g", &mut opt_g)] {
                for i in 0..o.m.len() {
                    restore(
                        &mut o.m[i],
                        s.tensors.get(&format!("{who}.m.{i}")),
                        &format!("{who}.m.{i}"),
                        &run,
                    )?;
                    restore(
                        &mut o.v[i],
                        s.tensors.get(&format!("{who}.v.{i}")),
                        &format!("{who}.v.{i}"),
                        &run,
                    )?;
                }
            }
            opt_d.t = s.t_d;
            opt_g.t = s.t_g;
        }
        let level = match kind_s {
            StageKind::Dictionary(l) | StageKind::Superres(l) => Some(l),
            StageKind::Level1 => None,
        };
        let log = |rows: &mut Vec<Row>,
                   learner: &Generator,
                   disc: &Disc,
                   stage_step: usize,
                   step: usize,
                   losses: Option<(f64, f64)>|
         -> Result<Row, TrainError> {
            let mut values = BTreeMap::new();
            evaluate(
                &truth,
                learner,
                &eval,
                level.map(|l| (disc, l)),
                &mut values,
            );
            if let Some((d, g)) = losses {
                values.insert("d_loss".into(), d);
                values.insert("g_loss".into(), g);
            }
            let row = Row {
                stage: name.clone(),
                stage_step,
                step,
                values,
            };
            run.append(&row)?;
            rows.push(row.clone());
            Ok(row)
        };
        if fresh {
            last = log(&mut rows, &learner, &disc, 0, step, None)?;
        }
        for k in start_step..scfg.steps {
            if cfg.debug.stop_after_steps.is_some_and(|n| step >= n) {
                run.write_rows(&rows)?;
                return Ok(TrainOutcome {
                    learner: learner.to_params(),
                    last,
                    rows,
                    steps_run,
                    secs: t0.elapsed().as_secs_f64(),
                    stopped_early: true,
                });
            }
            let args = StepArgs {
                kind: kind_s,
                cfg: scfg,
                lr_d: rate(scfg, scfg.lr_d, k),
                lr_g: rate(scfg, scfg.lr_g, k),
                seed: mix(cfg.train_seed, 100 + si as u64, k as u64, 0),
                freeze_d: cfg.debug.freeze_discriminator,
                flip_g: cfg.debug.flip_generator_loss,
            };
            let losses = gan_step(&args, &ctx, &mut learner, &mut disc, &mut opt_d, &mut opt_g);
            step += 1;
            steps_run += 1;
            for (what, v) in [
                ("discriminator loss", losses.d),
                ("generator loss", losses.g),
            ] {
                if !v.is_finite() {
                    return Err(TrainError::NonFinite {
                        stage: name.clone(),
                        step: k + 1,
                        what: what.into(),
                    });
                }
            }
            for p in super::stage::g_params(kind_s, &mut learner) {
                if !finite(p) {
                    return Err(TrainError::NonFinite {
                        stage: name.clone(),
                        step: k + 1,
                        what: "a learner parameter".into(),
                    });
                }
            }
            progress(&name, k + 1, scfg.steps, step, total, losses.d, losses.g);
            let end = k + 1 == scfg.steps;
            if (k + 1) % cfg.metrics_every == 0 || end {
                last = log(
                    &mut rows,
                    &learner,
                    &disc,
                    k + 1,
                    step,
                    Some((losses.d, losses.g)),
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
        if let Some(l) = level
            && let (StageKind::Dictionary(_), Some(f)) = (kind_s, disc.filters())
        {
            let fm = array2(f);
            let lp = learner.to_params();
            let e2 = serde_json::json!({
                "level": l + 1,
                "filters_vs_learner": metrics::alignment(&fm, &metrics::atoms(&lp, l)).outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
                "filters_vs_truth": metrics::alignment(&fm, &metrics::atoms(&truth, l)).outer_iter().map(|r| r.to_vec()).collect::<Vec<_>>(),
            });
            crate::io::atomic::write_bytes(
                &run.file(&format!("alignment-level{}.json", l + 1)),
                e2.to_string().as_bytes(),
            )?;
        }
        std::fs::copy(
            run.file("checkpoint/learner.safetensors"),
            run.file(&format!("checkpoint/stage-{name}.safetensors")),
        )
        .map_err(|e| TrainError::Os {
            path: run.path.display().to_string(),
            source: e,
        })?;
        let _ = normalize_rows;
    }
    let learner_params = learner.to_params();
    let dtype = match cfg.precision {
        Precision::F64 => Dtype::F64,
        Precision::F32 => Dtype::F32,
    };
    crate::io::params::write_params(
        &run.file("learner.safetensors"),
        &learner_params,
        cfg.seed,
        dtype,
    )?;
    run.write_rows(&rows)?;
    Ok(TrainOutcome {
        learner: learner_params,
        last,
        rows,
        steps_run,
        secs: t0.elapsed().as_secs_f64(),
        stopped_early: false,
    })
}
