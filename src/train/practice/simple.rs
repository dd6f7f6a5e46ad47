//! A minimal driver of a [`PracticeGame`] on a finite dataset, for tests and
//! experiments before (and beside) the executor: every phase in order,
//! uniform minibatches with replacement from the training split, the config's
//! budgets, NaN stop, and patch metrics against held-out real samples.
//!
//! The data are split once: the last `2 eval` samples are two held-out real
//! sets `A` and `B`, the rest is the training set. Each evaluation scores
//! `eval` generated samples against `A` per level: the patch sliced
//! Wasserstein distance ([`crate::metrics::sliced_wasserstein`], 64 seeded
//! directions, `q x q` patches) and the relative moment gaps of orders 2
//! and 4 ([`crate::metrics::moment_gaps`] on at most 4096 patches). The
//! floor of each is the same metric between `B` and `A` (two independent
//! real sets of the same size).

use std::time::Instant;

use ndarray::{Array4, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};

use super::super::TrainError;
use super::super::generator::{tensor_from, values};
use super::config::PracticeConfig;
use super::game::{PracticeGame, StepLosses};
use super::layers::mix;
use crate::metrics::{moment_gaps, patches, sliced_wasserstein};
use crate::model::Config;

/// Options of [`run_simple`].
#[derive(Debug, Clone)]
pub struct SimpleOptions {
    /// Samples per held-out set and per generated evaluation set.
    pub eval: usize,
    /// Evaluate every this many steps of a phase (and at each phase's end).
    pub every: usize,
    /// Print one line per evaluation to stderr.
    pub verbose: bool,
}

impl Default for SimpleOptions {
    fn default() -> Self {
        SimpleOptions {
            eval: 2000,
            every: 500,
            verbose: false,
        }
    }
}

/// Patch metrics of one sample set against a real one, per level.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchScores {
    /// Patch sliced Wasserstein distance per level.
    pub swd: Vec<f64>,
    /// Relative moment gap of order 2 per level.
    pub gap2: Vec<f64>,
    /// Relative moment gap of order 4 per level.
    pub gap4: Vec<f64>,
}

/// One evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalRow {
    /// Phase name.
    pub phase: String,
    /// Step within the phase (0: before its first step).
    pub step: usize,
    /// Generator steps over all phases so far.
    pub total_steps: usize,
    /// Wall seconds since the start (evaluations included).
    pub seconds: f64,
    /// Generated vs held-out real.
    pub scores: PatchScores,
    /// The last step's losses (`None` before the first step).
    pub losses: Option<StepLosses>,
}

/// What [`run_simple`] measured.
#[derive(Debug, Clone)]
pub struct SimpleReport {
    /// Every evaluation, in order.
    pub rows: Vec<EvalRow>,
    /// The floors: held-out real `B` vs `A`.
    pub floor: PatchScores,
    /// Generator steps taken.
    pub steps: usize,
    /// Wall seconds of the steps alone (evaluations excluded).
    pub step_seconds: f64,
    /// Why the run stopped before its last phase ended, if it did.
    pub stopped: Option<String>,
}

/// Patch scores of `fake` against `real` (one array per level), patch side `q`.
pub fn patch_scores(real: &[Array4<f64>], fake: &[Array4<f64>], q: usize) -> PatchScores {
    let mut s = PatchScores {
        swd: Vec::new(),
        gap2: Vec::new(),
        gap4: Vec::new(),
    };
    for (r, f) in real.iter().zip(fake) {
        let (pr, pf) = (patches(r.view(), q), patches(f.view(), q));
        s.swd
            .push(sliced_wasserstein(pr.view(), pf.view(), 64, 0x5_3D));
        let cap =
            |p: &ndarray::Array2<f64>| p.slice(ndarray::s![..p.nrows().min(4096), ..]).to_owned();
        let g = moment_gaps(cap(&pr).view(), cap(&pf).view());
        s.gap2.push(g[1]);
        s.gap4.push(g[3]);
    }
    s
}

/// A tensor `(N, c, r, r)` as an f64 array.
///
/// # Errors
/// [`TrainError::Shape`] if it is not 4-D.
pub fn to_array4(t: &Tensor) -> Result<Array4<f64>, TrainError> {
    let (shape, v) = values(t)?;
    let bad = |e: String| TrainError::Shape {
        what: "generated batch".into(),
        shape: shape.clone(),
        expected: format!("(N, c, r, r): {e}"),
    };
    if shape.len() != 4 {
        return Err(bad("not 4-D".into()));
    }
    Array4::from_shape_vec((shape[0], shape[1], shape[2], shape[3]), v)
        .map_err(|e| bad(e.to_string()))
}

/// Trains a fresh game of `cfg` on `data` (one array `(N, c, r_l, r_l)` per
/// level, the same samples at every level) through all its phases within the
/// config's budgets, evaluating as [`SimpleOptions`] says.
///
/// # Errors
/// [`TrainError::InvalidConfig`] (field `data`) if the data do not fit the
/// model or are too few for the held-out sets; [`TrainError::NonFinite`]
/// when a loss or parameter stops being finite; the game's errors.
pub fn run_simple(
    cfg: &PracticeConfig,
    model: &Config,
    data: &[Array4<f64>],
    device: Device,
    opts: &SimpleOptions,
) -> Result<(PracticeGame, SimpleReport), TrainError> {
    let mut game = PracticeGame::new(cfg, model, device)?;
    let bad = |rule: String| TrainError::InvalidConfig {
        field: "data".into(),
        rule,
    };
    if data.len() != model.levels {
        return Err(bad(format!(
            "one array per level: the model has {} levels, got {}",
            model.levels,
            data.len()
        )));
    }
    let n = data[0].shape()[0];
    if data.iter().any(|a| a.shape()[0] != n) {
        return Err(bad(
            "every level must hold the same number of samples".into()
        ));
    }
    if n < 2 * opts.eval + game.cfg.batch {
        return Err(bad(format!(
            "{n} samples are too few for two held-out sets of {} and a batch of {}",
            opts.eval, game.cfg.batch
        )));
    }
    let n_train = n - 2 * opts.eval;
    let split = |a: usize, b: usize| -> Vec<Array4<f64>> {
        data.iter()
            .map(|x| x.slice_axis(Axis(0), (a..b).into()).to_owned())
            .collect()
    };
    let held_a = split(n_train, n_train + opts.eval);
    let held_b = split(n_train + opts.eval, n);
    let q = model.patch;
    let floor = patch_scores(&held_a, &held_b, q);
    let train: Vec<Tensor> = data
        .iter()
        .map(|x| {
            let t = x.slice_axis(Axis(0), (0..n_train).into()).to_owned();
            tensor_from(&t, game.kind, device)
        })
        .collect();
    let start = Instant::now();
    let mut step_seconds = 0.0;
    let mut rows = Vec::new();
    let mut total = 0usize;
    let mut stopped = None;
    let evaluate = |game: &PracticeGame| -> Result<PatchScores, TrainError> {
        let fake = game
            .generate(opts.eval, 0xE7A1)
            .iter()
            .map(to_array4)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(patch_scores(&held_a, &fake, q))
    };
    let make_row = |game: &PracticeGame,
                    phase: &str,
                    step: usize,
                    total_steps: usize,
                    losses: Option<StepLosses>|
     -> Result<EvalRow, TrainError> {
        let r = EvalRow {
            phase: phase.to_string(),
            step,
            total_steps,
            seconds: start.elapsed().as_secs_f64(),
            scores: evaluate(game)?,
            losses,
        };
        if opts.verbose {
            let f = |v: &[f64]| {
                v.iter()
                    .map(|x| format!("{x:.4}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            eprintln!(
                "{} step {} ({:.1}s): swd [{}] gap2 [{}] gap4 [{}] losses {:?}",
                r.phase,
                r.step,
                r.seconds,
                f(&r.scores.swd),
                f(&r.scores.gap2),
                f(&r.scores.gap4),
                r.losses.map(|l| (l.d_loss, l.g_loss)),
            );
        }
        Ok(r)
    };
    let phases = game.phases().to_vec();
    'phases: for (pi, ph) in phases.iter().enumerate() {
        game.set_phase(pi)?;
        rows.push(make_row(&game, &ph.name, 0, total, None)?);
        for k in 0..ph.steps {
            if total >= game.cfg.max_steps {
                stopped = Some(format!("max_steps = {} reached", game.cfg.max_steps));
                break 'phases;
            }
            if start.elapsed().as_secs_f64() >= game.cfg.max_seconds {
                stopped = Some(format!("max_seconds = {} reached", game.cfg.max_seconds));
                break 'phases;
            }
            let t0 = Instant::now();
            let mut rng =
                ChaCha8Rng::seed_from_u64(mix(game.cfg.seed, 0xDA7A, pi as u64, k as u64));
            let idx: Vec<i64> = (0..game.real_batch())
                .map(|_| rng.random_range(0..n_train) as i64)
                .collect();
            let idx = Tensor::from_slice(&idx).to_device(device);
            let real: Vec<Tensor> = train.iter().map(|t| t.index_select(0, &idx)).collect();
            let l = game.step(&real, k)?;
            step_seconds += t0.elapsed().as_secs_f64();
            total += 1;
            for (what, v) in [("d_loss", l.d_loss), ("g_loss", l.g_loss)] {
                if !v.is_finite() {
                    return Err(TrainError::NonFinite {
                        stage: ph.name.clone(),
                        step: k,
                        what: what.into(),
                    });
                }
            }
            if (k + 1) % opts.every.max(1) == 0 || k + 1 == ph.steps {
                rows.push(make_row(&game, &ph.name, k + 1, total, Some(l))?);
            }
        }
    }
    if let Some(why) = &stopped {
        let name = format!("{} (stopped: {why})", game.phases()[game.phase()].name);
        rows.push(make_row(&game, &name, usize::MAX, total, None)?);
    }
    Ok((
        game,
        SimpleReport {
            rows,
            floor,
            steps: total,
            step_seconds,
            stopped,
        },
    ))
}
