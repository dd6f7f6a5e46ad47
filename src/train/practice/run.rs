//! The practice track's runs: a [`PracticeGame`]'s phases driven by the
//! [`Executor`] on a finite dataset (`--data`, as a user has one): a
//! directory of `fsrgan sample`, scored against its truth, or a plain set of
//! arrays `x1..xL` with no truth, scored against its own held-out split.
//!
//! A run config is a TOML file with `track = "practice"`:
//!
//! ```toml
//! track = "practice"
//! metrics_every = 250     # generator steps between metric rows
//! checkpoint_every = 500
//! eval = 2048             # generated samples per evaluation (= the floor set's size)
//! reference = 8192        # fresh real samples of the truth: the metrics' reference
//! lower = "learned"       # layer-wise: "random" leaves levels below the top at their random start (E4)
//! # A plain set (no truth) only:
//! # model = "tiny"        # its shapes: a model preset, or a [model] table (`preset = "tiny"` + fields)
//! # heldout = 10000       # the last `heldout` samples, never trained on (default min(10000, N/2))
//! [cpu]
//! threads = 2
//! [practice]              # the networks, the loss, the mode: `PracticeConfig`
//! mode = "layerwise"
//! loss = "wgan_gp"
//! ```
//!
//! Real minibatches are drawn uniformly with replacement from the dataset's
//! training samples, from a stream keyed by `(seed, phase, step)`. The metrics
//! ([`crate::metrics::score::Reference`]) compare `eval` generated samples
//! with `reference` fresh samples of the truth, and each has its floor: the
//! same metric of `eval` other fresh samples of the truth — both real sets
//! are independent of the training data. Rows carry, per level `l`:
//! `swd{l}` (patch SWD) and `swd{l}_floor`, `pyr{l}_{j}` and
//! `pyr{l}_{j}_floor` (Laplacian-pyramid SWD, band `j`, finest first),
//! `msssim{l}` and `msssim{l}_real`, `gap{l}_c{c}` and `floor{l}_c{c}`,
//! `cov{l}` / `cov{l}_floor` (atom coverage) and `pair_cov{l}` /
//! `pair_cov{l}_floor`, `hidden{l}` (the generator's active channels per
//! location, E3) and `hidden{l}_target` (the truth's `k_l`), beside the
//! losses `d_loss`, `g_loss`, `gp`, `d_real`, `d_fake` and `fade`, and with
//! a patch first layer `align{l}_min`, `align{l}_mean` ([`feature_alignment`]).
//!
//! **A plain set, no truth** ([`train_practice_plain`]; `fsrgan train --data
//! FILE.npz`, a `.safetensors` file or a directory of `x1.npy..xL.npy`): the
//! config's `model` gives the shapes the arrays are checked against. The
//! last `heldout` samples (by default `min(10 000, N / 2)`, as the theory
//! track's) are held out and never served to training; the minibatches come
//! from the first `N - heldout`. The first half of the held-out split (at
//! most `reference` of it) is the metrics' reference, the second half (at
//! most `eval` of it) their floor set, and every evaluation generates as many
//! samples as the floor set holds. The metrics that need the truth — atom and
//! pair coverage (the true dictionary decodes them), filter alignment with
//! the true atoms, the truth's `k_l` beside `hidden{l}` — are omitted, not
//! reported as 0; pix2pix and StackGAN's `sr{l}` is taken on held-out real
//! pairs. cGAN and CycleGAN need labels or two domains and refuse a plain
//! set. The run writes no `truth.safetensors`; `data.json` says `"truth":
//! false` with the split's sizes and the set's checksum (a resumed run
//! checks it), and `config.toml` records the set's path, its `model` and
//! its `heldout`, so `--resume` reads the same split.
//!
//! **Resume checks.** Every checkpoint records the resolved run config
//! ([`recorded_config`], metadata `run_config`; the budgets `max_steps` and
//! `max_seconds` aside, which a resume may raise). A resume handed another
//! config is refused naming each differing field with both values
//! ([`crate::train::checkpoint::check_recorded_toml`]), and the run's
//! `truth.safetensors`, if it has one, must be the truth the resumed run
//! scores against (its checksum verified on the read). A run whose
//! `config.toml` was emptied is still known as a practice run by its files
//! ([`is_practice_run`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::Array4;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use super::super::TrainError;
use super::super::executor::{Executor, Flow, Position, Progress, Stage, Values};
use super::super::generator::array4;
use super::super::stage::StepLosses;
use super::config::{Method, Mode, PracticeConfig};
use super::family::{
    TrainData, Truths, code_agreement, pair_swd_values, super_resolution_values, tensors,
    translation_values,
};
use super::game::{PracticeGame, Real};
use super::layers::mix;
use crate::io::atomic::write_bytes;
use crate::io::rundir::{Row, RunDir};
use crate::metrics::score::{
    Reference, Score, ScoreOptions, fresh_labelled, fresh_paired, fresh_real, score_per_class,
};
use crate::model::{Config, Labelled, Paired, Params};
use crate::train::checkpoint::{check_recorded_toml, check_recorded_truth};

/// What the levels below a layer-wise run's top level are (E4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lower {
    /// Trained in their own phases, then frozen (layer-wise training).
    #[default]
    Learned,
    /// Never trained: frozen at their random start (only the top phase runs).
    Random,
}

fn default_track() -> String {
    "practice".into()
}
fn default_metrics_every() -> usize {
    250
}
fn default_checkpoint_every() -> usize {
    500
}
fn default_eval() -> usize {
    2048
}
fn default_reference() -> usize {
    8192
}

/// A practice-track run; see the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PracticeRun {
    /// Always `"practice"` (what tells a practice config from a theory one).
    #[serde(default = "default_track")]
    pub track: String,
    /// Metric rows every this many steps of a phase (and at its start and end).
    #[serde(default = "default_metrics_every")]
    pub metrics_every: usize,
    /// Checkpoints every this many steps of a phase (and at its end).
    #[serde(default = "default_checkpoint_every")]
    pub checkpoint_every: usize,
    /// Generated samples per evaluation (the floor set's size).
    #[serde(default = "default_eval")]
    pub eval: usize,
    /// Fresh real samples of the truth that the metrics compare with.
    #[serde(default = "default_reference")]
    pub reference: usize,
    /// Layer-wise mode: learned or random levels below the top.
    #[serde(default)]
    pub lower: Lower,
    /// The dataset the run trains on (recorded for `--resume`): a directory
    /// of `fsrgan sample`, or a plain `.npz` / `.safetensors` file or
    /// directory of `.npy` files holding `x1..xL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// A plain set (no truth) only: its last `heldout` samples are held out,
    /// never served to training, and are the metrics' reference (first half)
    /// and floor set (second half). Unset: `min(10 000, N / 2)`; a new run
    /// records the value it used. At least 4.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heldout: Option<usize>,
    /// A plain set (no truth) only: the model whose shapes its arrays have,
    /// `model = "tiny"` (a preset) or a `[model]` table (`preset = "NAME"`
    /// and fields to override, or every field). A dataset directory of
    /// `fsrgan sample` brings its own (from its manifest); a `model` given
    /// beside it must equal it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<Config>,
    /// CPU threads (as the theory track's `[cpu]`).
    #[serde(default)]
    pub cpu: crate::threads::Cpu,
    /// The GAN.
    #[serde(default)]
    pub practice: PracticeConfig,
    /// Sabotage switches for tests.
    #[serde(default)]
    pub debug: PracticeDebug,
}

/// Switches that break a practice run on purpose, so tests can show that a
/// broken run misses its margins. Leave them off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PracticeDebug {
    /// Never update the discriminators (they keep their random start).
    #[serde(default)]
    pub freeze_discriminator: bool,
}

impl PracticeRun {
    /// Whether a TOML document is a practice-track config (`track = "practice"`).
    pub fn is_practice(text: &str) -> bool {
        text.parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("track").and_then(|v| v.as_str().map(str::to_owned)))
            .is_some_and(|t| t == "practice")
    }

    /// Parses and validates a run config.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] naming the field and the rule.
    pub fn from_toml(text: &str) -> Result<PracticeRun, TrainError> {
        let bad = |field: &str, rule: String| TrainError::InvalidConfig {
            field: field.into(),
            rule,
        };
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| bad("(fields)", e.to_string()))?;
        let model = match table.remove("model") {
            None => None,
            Some(toml::Value::String(name)) => Some(Config::preset(&name).map_err(|e| {
                bad(
                    "model",
                    format!("{e}; give a preset (tiny, small, paper) or a [model] table"),
                )
            })?),
            Some(toml::Value::Table(t)) => {
                let text = toml::to_string(&t).map_err(|e| bad("model", e.to_string()))?;
                Some(Config::from_toml(&text).map_err(|e| bad("model", e.to_string()))?)
            }
            Some(v) => {
                return Err(bad(
                    "model",
                    format!(
                        "must be a preset name (\"tiny\", \"small\", \"paper\") or a [model] table, got {v}"
                    ),
                ));
            }
        };
        let mut run: PracticeRun = table
            .try_into()
            .map_err(|e: toml::de::Error| bad("(fields)", e.to_string()))?;
        run.model = model;
        run.validated()
    }

    /// The config as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# unserialisable: {e}\n"))
    }

    /// Checks every rule, naming the field.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`].
    pub fn validated(mut self) -> Result<PracticeRun, TrainError> {
        let bad = |field: &str, rule: String| TrainError::InvalidConfig {
            field: field.into(),
            rule,
        };
        if self.track != "practice" {
            return Err(bad(
                "track",
                format!(
                    "a practice-track config has track = \"practice\", got `{}`",
                    self.track
                ),
            ));
        }
        // The evaluation sets' ceiling: the theory track's batch ceiling
        // (`train::limits::MAX_BATCH`), held whole with their moments.
        let max = crate::train::limits::MAX_BATCH;
        for (field, v, min, max) in [
            ("metrics_every", self.metrics_every, 1, usize::MAX),
            ("checkpoint_every", self.checkpoint_every, 1, usize::MAX),
            ("eval", self.eval, 16, max),
            ("reference", self.reference, 16, max),
        ] {
            if v < min {
                return Err(bad(field, format!("must be at least {min}, got {v}")));
            }
            if v > max {
                return Err(bad(
                    field,
                    format!("must be at most {max} (the documented ceiling), got {v}"),
                ));
            }
        }
        if self.lower == Lower::Random && self.practice.mode != Mode::Layerwise {
            return Err(bad(
                "lower",
                "random lower levels are an option of mode = \"layerwise\"".into(),
            ));
        }
        if self.cpu.threads == Some(0) {
            return Err(bad("cpu.threads", "must be at least 1".into()));
        }
        if let Some(h) = self.heldout
            && h < MIN_HELDOUT
        {
            return Err(bad(
                "heldout",
                format!(
                    "must be at least {MIN_HELDOUT} (its halves are the reference and the floor set, 2 samples each at least), got {h}"
                ),
            ));
        }
        if let Some(m) = self.model.take() {
            self.model = Some(m.validated().map_err(|e| bad("model", e.to_string()))?);
        }
        self.practice = self.practice.validated()?;
        Ok(self)
    }
}

/// Fewest held-out samples of a plain set.
const MIN_HELDOUT: usize = 4;

/// Where and how to run.
#[derive(Debug, Clone)]
pub struct PracticeOptions {
    /// Run directory.
    pub out: PathBuf,
    /// Continue the run in `out` from its checkpoint.
    pub resume: bool,
    /// Device.
    pub device: Device,
}

/// The result of a practice run.
#[derive(Debug, Clone)]
pub struct PracticeOutcome {
    /// Every metric row.
    pub rows: Vec<Row>,
    /// The final score of the generator.
    pub score: Score,
    /// Steps run by this invocation.
    pub steps_run: usize,
    /// Wall seconds of this invocation.
    pub secs: f64,
    /// How the run ended.
    pub flow: Flow,
    /// Its real samples: the split, and whether a truth scored it. Without
    /// one, `score`'s coverage is not measured (NaN rates, 0 atoms).
    pub data: DataSplit,
}

/// The checkpoint file of the game (networks, optimisers, position).
const STATE: &str = "checkpoint/practice.safetensors";
/// The trained generator (and critics) at the end of the run.
pub const GENERATOR: &str = "generator.safetensors";

/// The executor's view of one phase.
struct PhaseStage<'a> {
    name: String,
    phase: usize,
    steps: usize,
    game: &'a mut PracticeGame,
    train: &'a [Tensor],
    labels: Option<&'a Tensor>,
    train_b: Option<&'a [Tensor]>,
    n_train: usize,
    reference: &'a Reference,
    /// Fresh real levels for the methods' own scores: domain A and B of the
    /// same codes (CycleGAN), or the truth's levels (pix2pix, StackGAN).
    fresh: &'a FreshSets,
    eval: usize,
    run: &'a RunDir,
    /// The truth's `k_l` (empty without a truth).
    targets: &'a [f64],
    /// The truth (none for a plain set).
    truth: Option<&'a Params>,
    /// The run's config as every checkpoint records it ([`recorded_config`]).
    recorded: &'a str,
    last: Option<super::game::StepLosses>,
}

/// Fresh real sets of the truth beside the reference, for the methods' own scores.
#[derive(Debug, Default)]
pub struct FreshSets {
    /// Real levels (domain A of a pair).
    a: Vec<Array4<f64>>,
    /// Domain B's levels of the same codes.
    b: Vec<Array4<f64>>,
    /// The classes of `a` (labelled data).
    labels: Vec<usize>,
}

/// The samples a game's evaluation scores: its generated samples, or for a
/// CycleGAN its translations of the fresh domain-A set, with the method's
/// own values.
pub fn scored_samples(
    game: &PracticeGame,
    eval: usize,
    fresh: &FreshSets,
) -> Result<(Vec<Array4<f64>>, Values), TrainError> {
    match game.cfg.method {
        Method::Cyclegan => translation_values(game, &fresh.a, &fresh.b),
        m => {
            let fake = game
                .generate(eval, EVAL_SEED)
                .iter()
                .map(array4)
                .collect::<Result<Vec<_>, _>>()?;
            let v = match m {
                Method::Pix2pix | Method::Stackgan => {
                    super_resolution_values(game, &fresh.a, EVAL_SEED)?
                }
                Method::Infogan if !fresh.labels.is_empty() => {
                    code_agreement(game, &fresh.a, &fresh.labels, EVAL_SEED)?
                }
                _ => Values::new(),
            };
            Ok((fake, v))
        }
    }
}

/// Flattens a score into row values (names in the module documentation).
pub fn score_values(score: &Score) -> Values {
    let mut v = Values::new();
    for s in &score.levels {
        let l = s.level;
        v.insert(format!("swd{l}"), s.patch_swd.value);
        v.insert(format!("swd{l}_floor"), s.patch_swd.floor);
        for (j, b) in s.pyramid_swd.iter().enumerate() {
            v.insert(format!("pyr{l}_{j}"), b.swd.value);
            v.insert(format!("pyr{l}_{j}_floor"), b.swd.floor);
        }
        v.insert(format!("msssim{l}"), s.msssim.fake);
        v.insert(format!("msssim{l}_real"), s.msssim.real);
        for (c, g) in s.moment_gaps.iter().enumerate() {
            v.insert(format!("gap{l}_c{}", c + 1), g.value);
            v.insert(format!("floor{l}_c{}", c + 1), g.floor);
        }
        v.insert(format!("cov{l}"), s.coverage.fake.atom_coverage);
        v.insert(format!("cov{l}_floor"), s.coverage.floor.atom_coverage);
        v.insert(format!("pair_cov{l}"), s.coverage.fake.pair_coverage);
        v.insert(format!("pair_cov{l}_floor"), s.coverage.floor.pair_coverage);
    }
    v
}

/// Mean active channels per location of each level's last generator
/// feature map (what its output head reads; E3), over `n` latents.
///
/// # Errors
/// A feature map that is not 4-D.
pub fn hidden_activity(game: &PracticeGame, n: usize) -> Result<Vec<f64>, TrainError> {
    game.hidden(n, EVAL_SEED)
        .iter()
        .map(|maps| {
            let Some(h) = maps.last() else {
                return Ok(f64::NAN);
            };
            let size = h.size();
            if size.len() != 4 {
                return Err(TrainError::Shape {
                    what: "generator feature map".into(),
                    shape: size.iter().map(|&s| s as usize).collect(),
                    expected: "(N, C, s, s)".into(),
                });
            }
            let active = h.gt(0.0).sum_dim_intlist(1, false, tch::Kind::Double);
            Ok(f64::try_from(active.mean(tch::Kind::Double))?)
        })
        .collect()
}

/// Feature alignment (the paper's figure 7): with a `q x q`, stride-`q`
/// first discriminator layer, its filters of level `l` as `q^2 c` vectors,
/// matched one-to-one to the true atoms `M_l` by Hungarian on `|cos|`:
/// `align{l}_min`, `align{l}_mean` (levels with fewer filters than atoms
/// are skipped).
///
/// # Errors
/// A filter tensor that cannot be read.
pub fn feature_alignment(game: &PracticeGame, truth: &Params) -> Result<Values, TrainError> {
    let mut v = Values::new();
    let Some(filters) = game.first_layer_filters() else {
        return Ok(v);
    };
    for (l, f) in filters {
        let fm = super::super::generator::array2(&f)?;
        let atoms = crate::metrics::atoms(truth, l - 1)?;
        if fm.nrows() < atoms.nrows() || fm.ncols() != atoms.ncols() {
            continue;
        }
        let (fr, ar) = (crate::metrics::rows(&fm), crate::metrics::rows(&atoms));
        let fs: Vec<&[f64]> = fr.iter().map(Vec::as_slice).collect();
        let at: Vec<&[f64]> = ar.iter().map(Vec::as_slice).collect();
        let m = crate::theory::hungarian::match_atoms(&at, &fs);
        v.insert(format!("align{l}_min"), m.min);
        v.insert(format!("align{l}_mean"), m.mean);
    }
    Ok(v)
}

/// The seed of the evaluations' latents (the same at every evaluation, so
/// rows differ only by the generator).
const EVAL_SEED: u64 = 0xE7A1;

impl Stage for PhaseStage<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    fn steps(&self) -> usize {
        self.steps
    }

    fn step(&mut self, k: usize) -> Result<StepLosses, TrainError> {
        let mut rng =
            ChaCha8Rng::seed_from_u64(mix(self.game.cfg.seed, 0xDA7A, self.phase as u64, k as u64));
        let idx: Vec<i64> = (0..self.game.real_batch())
            .map(|_| rng.random_range(0..self.n_train) as i64)
            .collect();
        let idx = Tensor::from_slice(&idx).to_device(self.game.device);
        let real: Vec<Tensor> = self.train.iter().map(|t| t.index_select(0, &idx)).collect();
        let y = self.labels.map(|y| y.index_select(0, &idx));
        // The second domain is drawn at other indices: CycleGAN trains unpaired.
        let real_b: Option<Vec<Tensor>> = self.train_b.map(|b| {
            let idx_b: Vec<i64> = (0..self.game.real_batch())
                .map(|_| rng.random_range(0..self.n_train) as i64)
                .collect();
            let idx_b = Tensor::from_slice(&idx_b).to_device(self.game.device);
            b.iter().map(|t| t.index_select(0, &idx_b)).collect()
        });
        let l = self.game.step_with(
            &Real {
                x: &real,
                y: y.as_ref(),
                x_b: real_b.as_deref(),
            },
            k,
        )?;
        self.last = Some(l);
        Ok(StepLosses {
            // The VAE has no discriminator.
            d: (self.game.cfg.method != Method::Vae).then_some(l.d_loss),
            g: l.g_loss,
        })
    }

    fn non_finite(&mut self) -> Option<&'static str> {
        let finite = |ps: &[(String, Tensor)]| {
            tch::no_grad(|| {
                ps.iter()
                    .all(|(_, t)| t.isfinite().all().int64_value(&[]) != 0)
            })
        };
        if !finite(self.game.g_params()) {
            return Some("a generator parameter");
        }
        if !finite(self.game.d_params()) {
            return Some("a discriminator parameter");
        }
        None
    }

    fn evaluate(&mut self, k: Option<usize>) -> Result<Values, TrainError> {
        let (fake, own) = scored_samples(self.game, self.eval, self.fresh)?;
        let mut v = score_values(&self.reference.score(&fake)?);
        if self.truth.is_none() {
            v.retain(|k, _| !is_coverage_key(k));
        }
        v.extend(own);
        for (l, h) in hidden_activity(self.game, self.eval.min(1024))?
            .into_iter()
            .enumerate()
        {
            v.insert(format!("hidden{}", l + 1), h);
            if let Some(t) = self.targets.get(l) {
                v.insert(format!("hidden{}_target", l + 1), *t);
            }
        }
        if let Some(truth) = self.truth {
            v.extend(feature_alignment(self.game, truth)?);
        }
        if let (Some(_), Some(l)) = (k, self.last) {
            v.insert("d_real".into(), l.d_real);
            v.insert("d_fake".into(), l.d_fake);
            v.insert("fade".into(), l.fade);
            for (name, x) in [
                ("gp", l.gp),
                ("info", l.info),
                ("k_t", l.k_t),
                ("convergence", l.convergence),
                ("recon", l.recon),
                ("kl", l.kl),
            ] {
                if let Some(x) = x {
                    v.insert(name.into(), x);
                }
            }
        }
        Ok(v)
    }

    fn checkpoint(&mut self, next: Position) -> Result<(), TrainError> {
        self.game.save_at(
            &self.run.file(STATE),
            &[
                ("next_phase", next.stage.to_string()),
                ("next_phase_step", next.stage_step.to_string()),
                ("step", next.step.to_string()),
                (RUN_CONFIG, self.recorded.to_string()),
            ],
        )
    }
}

/// The phases' step counts after `lower` (random lower levels: only the top phase runs).
fn phase_steps(game: &PracticeGame, lower: Lower) -> Vec<usize> {
    let n = game.phases().len();
    game.phases()
        .iter()
        .enumerate()
        .map(|(i, p)| match lower {
            Lower::Random if i + 1 < n => 0,
            _ => p.steps,
        })
        .collect()
}

/// Total steps of a run (every phase, after `lower`), for progress.
///
/// # Errors
/// The config does not fit the model.
pub fn total_steps(cfg: &PracticeRun, truth: &Params) -> Result<usize, TrainError> {
    total_steps_of(cfg, &truth.config)
}

/// [`total_steps`] for the data's model `model` (a plain set's `cfg.model`).
///
/// # Errors
/// The config does not fit the model.
pub fn total_steps_of(cfg: &PracticeRun, model: &Config) -> Result<usize, TrainError> {
    let mut practice = cfg.practice.clone();
    if practice.method == Method::Cgan && practice.classes == 0 {
        // The classes come from the dataset; the phases do not depend on them.
        practice.classes = 2;
    }
    let game = PracticeGame::new(&practice, model, Device::Cpu)?;
    Ok(phase_steps(&game, cfg.lower)
        .iter()
        .sum::<usize>()
        .min(cfg.practice.max_steps))
}

/// cGAN: per class `k`, `n` samples generated with labels uniform on the
/// classes scored against class `k`'s own truth and floor:
/// `class{k}_swd{l}` (patch SWD over its floor), `class{k}_cov{l}` (atom
/// coverage), and `class_swd{l}`, the mean over classes.
fn per_class_values(
    game: &PracticeGame,
    n: usize,
    fresh: &FreshSets,
    truths: &Truths,
    seed: u64,
) -> Result<Values, TrainError> {
    let (fake, labels) = game.generate_labelled(n, EVAL_SEED);
    let fake = fake.iter().map(array4).collect::<Result<Vec<_>, _>>()?;
    let labels: Vec<usize> = match labels {
        Some(y) => Vec::<i64>::try_from(&y)?
            .into_iter()
            .map(|c| c as usize)
            .collect(),
        None => return Ok(Values::new()),
    };
    let scores = score_per_class(
        &fresh.a,
        &fresh.labels,
        &truths.classes,
        mix(seed, 0x4EF, 4, 0),
        false,
        &fake,
        &labels,
        &ScoreOptions::default(),
        seed,
    )?;
    let mut v = Values::new();
    let mut sums: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
    for c in scores {
        let Some(s) = c.score else { continue };
        for ls in &s.levels {
            let ratio = ls.patch_swd.ratio();
            v.insert(format!("class{}_swd{}", c.class, ls.level), ratio);
            v.insert(
                format!("class{}_cov{}", c.class, ls.level),
                ls.coverage.fake.atom_coverage,
            );
            let e = sums.entry(ls.level).or_insert((0.0, 0));
            e.0 += ratio;
            e.1 += 1;
        }
    }
    for (l, (sum, count)) in sums {
        v.insert(format!("class_swd{l}"), sum / count as f64);
    }
    Ok(v)
}

/// The fresh real set `tag` of a run's metrics (0: the reference, 1: the
/// floor set): samples of `scored` (the truth, or domain B's for a
/// CycleGAN), or of the mixture of `truths.classes` for labelled data (atom
/// coverage then decodes with class 0's truth; per-class numbers are final).
fn reference_set(
    truths: &Truths,
    scored: &Params,
    seed: u64,
    tag: u64,
    n: usize,
) -> Vec<Array4<f64>> {
    if truths.classes.len() >= 2 {
        let mixture = Labelled {
            classes: truths.classes.clone(),
        };
        fresh_labelled(&mixture, mix(seed, 0x4EF, tag, 0), n, false).0
    } else {
        fresh_real(scored, mix(seed, 0x4EF, tag, 0), n, false)
    }
}

/// The final row's pair SWD ([`super::family::pair_swd_values`]) of the
/// scored samples `fake` against the run's own reference and floor sets.
///
/// # Errors
/// A CycleGAN without domain B's truth.
pub fn final_pair_swd(
    cfg: &PracticeRun,
    truths: &Truths,
    fake: &[Array4<f64>],
) -> Result<Values, TrainError> {
    let scored = match (cfg.practice.method, &truths.domain_b) {
        (Method::Cyclegan, Some(b)) => b,
        (Method::Cyclegan, None) => {
            return Err(TrainError::InvalidConfig {
                field: "data".into(),
                rule: "a CycleGAN is scored against domain B's truth".into(),
            });
        }
        _ => &truths.main,
    };
    let seed = cfg.practice.seed;
    Ok(pair_swd_values(
        fake,
        &reference_set(truths, scored, seed, 0, cfg.reference),
        &reference_set(truths, scored, seed, 1, cfg.eval),
        scored.config.patch,
        seed,
    ))
}

/// The fresh real sets of the methods' own scores (see [`FreshSets`]).
pub fn fresh_sets(
    cfg: &PracticeRun,
    truths: &Truths,
    domain_b: Option<&Params>,
) -> Result<FreshSets, TrainError> {
    let seed = mix(cfg.practice.seed, 0x4EF, 3, 0);
    let n = cfg.eval.min(2048);
    Ok(match (cfg.practice.method, domain_b) {
        (Method::Cyclegan, Some(b)) => {
            let pair = Paired {
                a: truths.main.clone(),
                b: b.clone(),
            };
            let (a, b) = fresh_paired(&pair, seed, n, false);
            FreshSets {
                a,
                b,
                labels: Vec::new(),
            }
        }
        (Method::Pix2pix | Method::Stackgan, _) => FreshSets {
            a: fresh_real(&truths.main, seed, n, false),
            ..FreshSets::default()
        },
        (Method::Cgan | Method::Infogan, _) if truths.classes.len() >= 2 => {
            let mix = Labelled {
                classes: truths.classes.clone(),
            };
            let (a, labels) = fresh_labelled(&mix, seed, n, false);
            FreshSets {
                a,
                labels,
                ..FreshSets::default()
            }
        }
        _ => FreshSets::default(),
    })
}

/// Trains (or resumes) the practice GAN of `cfg` on `data` (the dataset's
/// levels, `(N, c, r_l, r_l)`), scored against `truth`, in `opts.out`.
///
/// # Errors
/// [`TrainError`] for invalid configs or data, I/O failures, a run that
/// cannot be resumed, or a non-finite loss or parameter.
pub fn train_practice(
    cfg: &PracticeRun,
    truth: &Params,
    data: &[Array4<f64>],
    opts: &PracticeOptions,
    progress: Progress<'_>,
) -> Result<PracticeOutcome, TrainError> {
    let data = TrainData {
        x: data.to_vec(),
        labels: None,
        x_b: None,
    };
    train_practice_with(cfg, &Truths::one(truth), &data, opts, progress)
}

/// As [`train_practice`], on data with labels or a second domain, scored
/// against every truth of the dataset (the family's own scores, see
/// [`super::family`]).
///
/// # Errors
/// As [`train_practice`]; [`TrainError::InvalidConfig`] (field `data`) when
/// the method needs labels or a second domain the data do not have, (field
/// `heldout`) when it is set (a dataset with a truth trains on all of its
/// samples), (field `model`) when it differs from the truth's.
pub fn train_practice_with(
    cfg: &PracticeRun,
    truths: &Truths,
    data: &TrainData,
    opts: &PracticeOptions,
    progress: Progress<'_>,
) -> Result<PracticeOutcome, TrainError> {
    if let Some(h) = cfg.heldout {
        return Err(TrainError::InvalidConfig {
            field: "heldout".into(),
            rule: format!(
                "heldout = {h}: a dataset with a truth trains on all of its samples and is scored against fresh samples of the truth; `heldout` splits a plain set of arrays (no truth)"
            ),
        });
    }
    if let Some(m) = &cfg.model
        && *m != truths.main.config
    {
        return Err(TrainError::InvalidConfig {
            field: "model".into(),
            rule: format!(
                "the dataset brings its own model (`{}`), and the config's `model` (`{}`) differs: remove `model` (it is for plain sets of arrays)",
                truths.main.config.name, m.name
            ),
        });
    }
    let what = format!(
        "{} samples of the `{}` model's dataset, scored against fresh samples of its truth",
        data.x.first().map_or(0, |a| a.shape()[0]),
        truths.main.config.name
    );
    train_run(cfg, Scoring::Truth(truths), data, &what, opts, progress)
}

/// Refuses the methods that cannot train on a plain set of arrays (no
/// labels, one domain): cGAN and CycleGAN.
///
/// # Errors
/// [`TrainError::InvalidConfig`] (field `practice.method`).
pub fn check_plain_method(cfg: &PracticeRun) -> Result<(), TrainError> {
    let need = match cfg.practice.method {
        Method::Cgan => "a labelled dataset (fsrgan sample --classes K)",
        Method::Cyclegan => "a two-domain dataset (fsrgan sample --domains 2)",
        _ => return Ok(()),
    };
    Err(TrainError::InvalidConfig {
        field: "practice.method".into(),
        rule: format!(
            "method = \"{}\" needs {need}; a plain set of arrays x1..xL has no labels and one domain: use a dataset directory of `fsrgan sample`, or a method that needs neither (gan, infogan, began, vae, pix2pix, stackgan)",
            cfg.practice.method.name()
        ),
    })
}

/// Trains (or resumes) the practice GAN of `cfg` on a plain set `x`
/// (`x1..xL` shaped as `cfg.model`, no truth; see the module documentation):
/// the last `cfg.heldout` samples (default `min(10 000, N / 2)`) are held
/// out, never served to training, and score the run. `what` describes the
/// set (`data.json`).
///
/// # Errors
/// [`TrainError::InvalidConfig`] for a config without `model` (field
/// `model`), arrays of other shapes (field `data`), a `heldout` that leaves
/// fewer training samples than a real batch (field `heldout`), cGAN and
/// CycleGAN (field `practice.method`); a resumed run whose set changed
/// ([`TrainError::Resume`]); as [`train_practice`] otherwise.
pub fn train_practice_plain(
    cfg: &PracticeRun,
    x: &[Array4<f64>],
    what: &str,
    opts: &PracticeOptions,
    progress: Progress<'_>,
) -> Result<PracticeOutcome, TrainError> {
    check_plain_method(cfg)?;
    let Some(model) = &cfg.model else {
        return Err(TrainError::InvalidConfig {
            field: "model".into(),
            rule: "a plain set of arrays has no manifest to give its model: set `model = \"tiny\"` (a preset: tiny, small, paper) or a [model] table shaped as its arrays".into(),
        });
    };
    // Only its shapes matter: see `Scoring::Heldout`.
    let mut shapes = model.clone();
    shapes.calibration_samples = 256;
    let standin = Params::generate(&shapes, cfg.practice.seed)?;
    let data = TrainData {
        x: x.to_vec(),
        labels: None,
        x_b: None,
    };
    train_run(cfg, Scoring::Heldout(&standin), &data, what, opts, progress)
}

/// What a run's metrics compare with.
enum Scoring<'a> {
    /// Fresh samples of the dataset's truths.
    Truth(&'a Truths),
    /// A plain set's held-out split. The parameters are a stand-in of the
    /// model's shapes, only because [`Reference`] takes parameters: they fix
    /// the shapes and decode the atoms for coverage, which is then dropped;
    /// patch and pyramid SWD, MS-SSIM and moment gaps read the shapes alone.
    Heldout(&'a Params),
}

/// The real sets a run's metrics compare with, once the data are split.
enum Against<'a> {
    /// Fresh samples of the dataset's truths.
    Truth(&'a Truths),
    /// The halves of a plain set's held-out split.
    Heldout {
        /// The first half (at most `reference` samples).
        reference: Vec<Array4<f64>>,
        /// The second half (at most `eval` samples): the floor set.
        floor: Vec<Array4<f64>>,
    },
}

/// The real samples of a run, as `data.json` records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSplit {
    /// What the data are, in words.
    pub description: String,
    /// Whether a truth scores the run (a dataset directory of `fsrgan sample`).
    pub truth: bool,
    /// Samples of the dataset.
    pub n: usize,
    /// Samples minibatches are drawn from (the first `n_train`).
    pub n_train: usize,
    /// Held-out samples (the last `n_heldout`; 0 with a truth).
    pub n_heldout: usize,
    /// Samples of the metrics' real reference (fresh samples of the truth,
    /// or the first half of the held-out split).
    pub n_reference: usize,
    /// Samples of the floor set, and generated samples per evaluation.
    pub n_floor: usize,
    /// CRC-32 of the set's values (little-endian float64, level by level;
    /// plain sets), checked when the run resumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crc32: Option<u32>,
}

/// The file of [`DataSplit`] in a run directory.
pub const DATA_JSON: &str = "data.json";

/// CRC-32 of the values of `x` (little-endian float64, level by level).
fn checksum(x: &[Array4<f64>]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    let mut buf = Vec::with_capacity(1 << 16);
    for a in x {
        for v in a {
            buf.extend_from_slice(&v.to_le_bytes());
            if buf.len() >= 1 << 16 {
                h.update(&buf);
                buf.clear();
            }
        }
    }
    h.update(&buf);
    h.finalize()
}

/// The first `n` samples of every level (all of them when fewer).
fn head(x: &[Array4<f64>], n: usize) -> Vec<Array4<f64>> {
    x.iter()
        .map(|a| {
            a.slice(ndarray::s![..n.min(a.shape()[0]), .., .., ..])
                .to_owned()
        })
        .collect()
}

/// Samples `from..` of every level.
fn tail(x: &[Array4<f64>], from: usize) -> Vec<Array4<f64>> {
    x.iter()
        .map(|a| a.slice(ndarray::s![from.., .., .., ..]).to_owned())
        .collect()
}

/// The coverage of a score without a truth: not measured (NaN rates, no
/// counted atoms), so no reader takes the stand-in's decoding for one.
fn drop_coverage(score: &mut Score) {
    let none = crate::metrics::coverage::Coverage {
        atoms_real: 0,
        atoms_covered: 0,
        atom_coverage: f64::NAN,
        pairs_real: 0,
        pairs_covered: 0,
        pair_coverage: f64::NAN,
        real_rate: Vec::new(),
        rate: Vec::new(),
        real_pairs_per_patch: f64::NAN,
        pairs_per_patch: f64::NAN,
    };
    for l in &mut score.levels {
        l.coverage.typical = f64::NAN;
        l.coverage.threshold = f64::NAN;
        l.coverage.fake = none.clone();
        l.coverage.floor = none.clone();
    }
}

/// The row values of the coverage (`cov{l}`, `cov{l}_floor`, `pair_cov{l}`,
/// `pair_cov{l}_floor`), which need the truth.
fn is_coverage_key(k: &str) -> bool {
    let rest = k.strip_prefix("pair_cov").or_else(|| k.strip_prefix("cov"));
    rest.map(|r| r.strip_suffix("_floor").unwrap_or(r))
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// The run itself, on a dataset with a truth or a plain set.
fn train_run(
    cfg: &PracticeRun,
    scoring: Scoring<'_>,
    data: &TrainData,
    what: &str,
    opts: &PracticeOptions,
    progress: Progress<'_>,
) -> Result<PracticeOutcome, TrainError> {
    let t0 = Instant::now();
    // The truth's parameters (with a truth), or the stand-in of the shapes.
    let (truths, shapes) = match scoring {
        Scoring::Truth(t) => (Some(t), &t.main),
        Scoring::Heldout(p) => (None, p),
    };
    let truth = truths.map(|t| &t.main);
    let TrainData {
        x: data,
        labels,
        x_b,
    } = data;
    let mut cfg = cfg.clone().validated()?;
    let model = &shapes.config;
    let threads = cfg.cpu.threads_for(model);
    cfg.cpu.threads = Some(threads);
    crate::threads::set_compute_threads(threads);
    let bad = |rule: String| TrainError::InvalidConfig {
        field: "data".into(),
        rule,
    };
    crate::metrics::score::check_set("training data", data, shapes)
        .map_err(|e| bad(e.to_string()))?;
    let n_data = data[0].shape()[0];
    let crc32 = truths.is_none().then(|| checksum(data));
    // A plain set: the first `n_train` samples train, the last `h` score.
    let (train_x, against) = match truths {
        Some(t) => (None, Against::Truth(t)),
        None => {
            let h = cfg
                .heldout
                .unwrap_or_else(|| crate::train::config::default_heldout(n_data));
            if h < MIN_HELDOUT || h >= n_data {
                return Err(TrainError::InvalidConfig {
                    field: "heldout".into(),
                    rule: format!(
                        "{h} held-out samples of the {n_data} of the set: at least {MIN_HELDOUT} must be held out and some must train"
                    ),
                });
            }
            cfg.heldout = Some(h);
            let n_train = n_data - h;
            let held = tail(data, n_train);
            let half = h / 2;
            let reference = head(&held, half.min(cfg.reference));
            let floor = head(&tail(&held, half), cfg.eval);
            (
                Some(head(data, n_train)),
                Against::Heldout { reference, floor },
            )
        }
    };
    let data: &[Array4<f64>] = train_x.as_deref().unwrap_or(data);
    let n_train = data[0].shape()[0];
    let method = cfg.practice.method;
    if truths.is_none() {
        check_plain_method(&cfg)?;
    }
    if method == Method::Cgan
        && let Some(truths) = truths
    {
        let k = truths.classes.len();
        match labels {
            Some(y) if k >= 2 && y.len() == n_train => {
                if cfg.practice.classes == 0 {
                    cfg.practice.classes = k;
                } else if cfg.practice.classes != k {
                    return Err(TrainError::InvalidConfig {
                        field: "practice.classes".into(),
                        rule: format!(
                            "the dataset has {k} classes, the config says {}",
                            cfg.practice.classes
                        ),
                    });
                }
            }
            _ => {
                return Err(bad(
                    "method = \"cgan\" needs a labelled dataset (fsrgan sample --classes K)".into(),
                ));
            }
        }
    }
    let domain_b = match (method, x_b, truths.and_then(|t| t.domain_b.as_ref())) {
        (Method::Cyclegan, Some(b), Some(tb)) => {
            crate::metrics::score::check_set("domain B data", b, tb)
                .map_err(|e| bad(e.to_string()))?;
            Some(tb)
        }
        (Method::Cyclegan, _, _) => {
            return Err(bad(
                "method = \"cyclegan\" needs a two-domain dataset (fsrgan sample --domains 2)"
                    .into(),
            ));
        }
        _ => None,
    };
    let mut game = PracticeGame::new(&cfg.practice, model, opts.device)?;
    game.freeze_discriminator = cfg.debug.freeze_discriminator;
    if n_train < game.real_batch() {
        let rule = format!(
            "{n_train} samples are fewer than a real batch of {}",
            game.real_batch()
        );
        return Err(match cfg.heldout {
            Some(h) => TrainError::InvalidConfig {
                field: "heldout".into(),
                rule: format!("{rule}: {h} of the {n_data} are held out"),
            },
            None => bad(rule),
        });
    }
    let (n_reference, n_eval) = match &against {
        Against::Heldout { reference, floor } => (reference[0].shape()[0], floor[0].shape()[0]),
        Against::Truth(_) => (cfg.reference, cfg.eval),
    };
    let split = DataSplit {
        description: what.to_string(),
        truth: truth.is_some(),
        n: n_data,
        n_train,
        n_heldout: n_data - n_train,
        n_reference,
        n_floor: n_eval,
        crc32,
    };
    let run = RunDir::create(&opts.out)?;
    let mut position = Position {
        stage: 0,
        stage_step: 0,
        step: 0,
    };
    let mut rows = Vec::new();
    let recorded = recorded_config(&cfg);
    if opts.resume {
        // A resume continues only the run it names: the config it was
        // trained with, the truth it recorded (checksum verified), the set.
        let f = read_state(&run.path)?;
        let state = run.file(STATE);
        check_recorded_toml(
            f.metadata.get(RUN_CONFIG).map(String::as_str),
            &recorded,
            &run.path,
        )?;
        check_recorded_truth(&run, truth)?;
        if truth.is_none() {
            check_resumed_split(&run, &split)?;
        }
        game.load(&state)?;
        let get = |k: &str| -> Result<usize, TrainError> {
            f.metadata
                .get(k)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| TrainError::Resume {
                    path: state.display().to_string(),
                    reason: format!("metadata lacks `{k}`"),
                })
        };
        position = Position {
            stage: get("next_phase")?,
            stage_step: get("next_phase_step")?,
            step: get("step")?,
        };
        let names: Vec<String> = game.phases().iter().map(|p| p.name.clone()).collect();
        rows = run.resume_rows(&names, (position.stage, position.stage_step))?;
    } else {
        run.start_new(&cfg.to_toml(), truth, 0)?;
        write_bytes(
            &run.file(DATA_JSON),
            format!(
                "{}\n",
                serde_json::to_string_pretty(&split)
                    .map_err(|e| TrainError::Plot(e.to_string()))?
            )
            .as_bytes(),
        )?;
    }
    let seed = cfg.practice.seed;
    let (reference, fresh) = match &against {
        Against::Truth(truths) => {
            // A CycleGAN's samples are its translations into domain B: scored
            // against domain B's truth.
            // Labelled data are a mixture: its fresh sets are mixture samples (atom
            // coverage decodes with class 0's truth; per-class numbers are final).
            let scored_truth = domain_b.unwrap_or(&truths.main);
            let fresh_set = |tag: u64, n: usize| reference_set(truths, scored_truth, seed, tag, n);
            let reference = Reference::new(
                &fresh_set(0, cfg.reference),
                &fresh_set(1, cfg.eval),
                scored_truth,
                &ScoreOptions::default(),
                seed,
            )?;
            (reference, fresh_sets(&cfg, truths, domain_b)?)
        }
        Against::Heldout {
            reference: real,
            floor,
        } => {
            let reference = Reference::new(real, floor, shapes, &ScoreOptions::default(), seed)?;
            // pix2pix and StackGAN's `sr{l}` on held-out real pairs.
            let fresh = match method {
                Method::Pix2pix | Method::Stackgan => FreshSets {
                    a: head(real, cfg.eval.min(2048)),
                    ..FreshSets::default()
                },
                _ => FreshSets::default(),
            };
            (reference, fresh)
        }
    };
    let train = tensors(data, &game);
    let labels_t = labels.as_ref().map(|y| {
        let v: Vec<i64> = y.iter().map(|&c| c as i64).collect();
        Tensor::from_slice(&v).to_device(game.device)
    });
    let train_b = x_b
        .as_ref()
        .filter(|_| domain_b.is_some())
        .map(|b| tensors(b, &game));
    // The truth's `k_l` beside the generator's active channels.
    let targets: Vec<f64> = match truth {
        Some(_) => model.k.clone(),
        None => Vec::new(),
    };
    let steps = phase_steps(&game, cfg.lower);
    let total = steps.iter().sum::<usize>().min(cfg.practice.max_steps);
    let secs0 = rows.last().map_or(0.0, |r| r.secs);
    let mut progress = progress;
    let mut exec = Executor {
        run: &run,
        rows,
        step: position.step,
        steps_run: 0,
        total,
        metrics_every: cfg.metrics_every,
        checkpoint_every: cfg.checkpoint_every,
        stop_after: None,
        budget_secs: Some(cfg.practice.max_seconds),
        budget_steps: Some(cfg.practice.max_steps),
        secs0,
        t0,
        observer: &mut progress,
    };
    let mut flow = Flow::Done;
    let phases = game.phases().to_vec();
    for (pi, ph) in phases.iter().enumerate() {
        if pi < position.stage {
            continue;
        }
        let from = if pi == position.stage {
            position.stage_step
        } else {
            0
        };
        if from == 0 || pi != game.phase() {
            game.set_phase(pi)?;
        }
        let mut stage = PhaseStage {
            name: ph.name.clone(),
            phase: pi,
            steps: steps[pi],
            game: &mut game,
            train: &train,
            labels: labels_t.as_ref().filter(|_| method == Method::Cgan),
            train_b: train_b.as_deref(),
            n_train,
            reference: &reference,
            fresh: &fresh,
            eval: n_eval,
            run: &run,
            targets: &targets,
            truth,
            recorded: &recorded,
            last: None,
        };
        if from == 0 {
            let values = stage.evaluate(None)?;
            let row = exec.row(&ph.name, 0, None, values);
            exec.log(row)?;
        }
        flow = exec.run_stage(&mut stage, pi, from, 0.0)?;
        if flow != Flow::Done {
            break;
        }
    }
    // The end (or the budget's): the generator, its final score and the plots.
    game.save(&run.file(GENERATOR))?;
    let (fake, own) = scored_samples(&game, n_eval, &fresh)?;
    let mut score = reference.score(&fake)?;
    let mut values = score_values(&score);
    if truth.is_none() {
        values.retain(|k, _| !is_coverage_key(k));
        drop_coverage(&mut score);
    }
    values.extend(own);
    match &against {
        Against::Truth(truths) => values.extend(final_pair_swd(&cfg, truths, &fake)?),
        Against::Heldout {
            reference: real,
            floor,
        } => {
            values.extend(pair_swd_values(&fake, real, floor, model.patch, seed));
        }
    }
    if method == Method::Cgan
        && let Some(truths) = truths
    {
        values.extend(per_class_values(&game, cfg.eval, &fresh, truths, seed)?);
    }
    for (l, h) in hidden_activity(&game, n_eval.min(1024))?
        .into_iter()
        .enumerate()
    {
        values.insert(format!("hidden{}", l + 1), h);
    }
    if let Some(truth) = truth {
        values.extend(feature_alignment(&game, truth)?);
    }
    let row = exec.row("final", 0, None, values);
    exec.log(row)?;
    exec.run.write_rows(&exec.rows)?;
    let json = match truth {
        Some(_) => serde_json::to_string_pretty(&score),
        None => serde_json::to_value(&score).and_then(|mut v| {
            // No truth: coverage is not measured, so not written.
            if let Some(levels) = v.get_mut("levels").and_then(|l| l.as_array_mut()) {
                for l in levels {
                    if let Some(o) = l.as_object_mut() {
                        o.remove("coverage");
                    }
                }
            }
            if let Some(o) = v.as_object_mut() {
                o.insert("truth".into(), serde_json::Value::Bool(false));
            }
            serde_json::to_string_pretty(&v)
        }),
    }
    .map_err(|e| TrainError::Plot(e.to_string()))?;
    write_bytes(&run.file("score.json"), json.as_bytes())?;
    let real = match &against {
        Against::Truth(t) => fresh_real(&t.main, mix(seed, 0x4EF, 2, 0), 64, false),
        Against::Heldout { reference, .. } => head(reference, 64),
    };
    fn first64(x: &[Array4<f64>]) -> Vec<ndarray::ArrayView4<'_, f64>> {
        x.iter()
            .map(|a| a.slice(ndarray::s![..64.min(a.shape()[0]), .., .., ..]))
            .collect()
    }
    crate::plot::run_figures(&run.path, &first64(&real), &first64(&fake), || {
        crate::plot::practice_plots(&run.path, &exec.rows, model.levels)
    });
    let steps_run = exec.steps_run;
    let rows = std::mem::take(&mut exec.rows);
    Ok(PracticeOutcome {
        rows,
        score,
        steps_run,
        secs: t0.elapsed().as_secs_f64(),
        flow,
        data: split,
    })
}

/// A resumed run on a plain set reads the set it started on: the split of
/// its `data.json` (sizes and checksum) must be `now`'s.
fn check_resumed_split(run: &RunDir, now: &DataSplit) -> Result<(), TrainError> {
    let path = run.file(DATA_JSON);
    let resume = |reason: String| TrainError::Resume {
        path: run.path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| resume(format!("reading {}: {e}", path.display())))?;
    let was: DataSplit =
        serde_json::from_str(&text).map_err(|e| resume(format!("{}: {e}", path.display())))?;
    if (was.n, was.n_train, was.n_heldout, was.crc32)
        != (now.n, now.n_train, now.n_heldout, now.crc32)
    {
        return Err(resume(format!(
            "the data differ from those the run started on ({} samples, {} training, {} held out, CRC-32 {:08x?}; now {}, {}, {}, {:08x?}): was the set replaced?",
            was.n,
            was.n_train,
            was.n_heldout,
            was.crc32,
            now.n,
            now.n_train,
            now.n_heldout,
            now.crc32
        )));
    }
    Ok(())
}

/// The model of a practice run's data (what its generator's shapes are):
/// the config's `model` (a run on a plain set), else the model of its
/// `truth.safetensors` (a run on a dataset with a truth).
///
/// # Errors
/// [`TrainError`] when `config.toml` or the truth cannot be read.
pub fn data_model(dir: &Path) -> Result<Config, TrainError> {
    let path = dir.join("config.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        TrainError::Io(crate::io::IoError::Os {
            path: path.clone(),
            source: e,
        })
    })?;
    if let Some(m) = PracticeRun::from_toml(&text)?.model {
        return Ok(m);
    }
    let truth = dir.join("truth.safetensors");
    if !truth.is_file() {
        return Err(TrainError::InvalidConfig {
            field: "model".into(),
            rule: format!(
                "{} has no `model` and {} has no truth.safetensors, so the run's shapes are unknown: restore the run's config.toml (a run on a plain set records its `model`)",
                path.display(),
                dir.display()
            ),
        });
    }
    Ok(crate::io::params::read_params_checked(&truth, None)?.config)
}

/// Whether `dir` is a practice-track run directory: its `config.toml` says
/// `track = "practice"`, or, whatever its config says (an emptied or
/// replaced `config.toml`), it holds a practice run's files: its checkpoint
/// `checkpoint/practice.safetensors`, its generator `generator.safetensors`,
/// or a practice `data.json` ([`DataSplit`]; the theory track's differs).
pub fn is_practice_run(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("config.toml")).is_ok_and(|t| PracticeRun::is_practice(&t))
        || practice_files(dir).is_some()
}

/// The first practice-track file `dir` holds (see [`is_practice_run`]).
pub fn practice_files(dir: &Path) -> Option<&'static str> {
    if dir.join(STATE).is_file() {
        return Some(STATE);
    }
    if dir.join(GENERATOR).is_file() {
        return Some(GENERATOR);
    }
    std::fs::read_to_string(dir.join(DATA_JSON))
        .ok()
        .and_then(|t| serde_json::from_str::<DataSplit>(&t).ok())
        .map(|_| DATA_JSON)
}

/// The metadata key of the run's config in its checkpoint
/// ([`recorded_config`]); `config` holds the game's own.
pub const RUN_CONFIG: &str = "run_config";

/// The config as a practice checkpoint records it: the resolved run
/// config's TOML, with the budgets a resume may change
/// (`practice.max_steps`, `practice.max_seconds`: a run stopped by one goes
/// on with a larger one) at their defaults.
pub fn recorded_config(cfg: &PracticeRun) -> String {
    let mut c = cfg.clone();
    let d = PracticeConfig::default();
    c.practice.max_steps = d.max_steps;
    c.practice.max_seconds = d.max_seconds;
    c.to_toml()
}

/// Reads a run's checkpoint `checkpoint/practice.safetensors` (its checksum
/// verified).
///
/// # Errors
/// [`TrainError::Resume`] when the run has none; the read's error for a
/// damaged file.
fn read_state(dir: &Path) -> Result<crate::io::reader::TensorFile, TrainError> {
    let state = dir.join(STATE);
    if !state.is_file() {
        return Err(TrainError::Resume {
            path: dir.display().to_string(),
            reason: format!(
                "no {STATE} (the run has no checkpoint yet): start it again with --force"
            ),
        });
    }
    Ok(crate::io::reader::read_checked(&state)?)
}

/// The config a practice checkpoint recorded ([`recorded_config`]), if the
/// run has a checkpoint that records one.
///
/// # Errors
/// The read's error for a damaged checkpoint.
pub fn recorded_run_config(dir: &Path) -> Result<Option<String>, TrainError> {
    if !dir.join(STATE).is_file() {
        return Ok(None);
    }
    Ok(read_state(dir)?.metadata.get(RUN_CONFIG).cloned())
}

/// The named values of the last row of `stage` (helper for reports).
pub fn last_values<'a>(rows: &'a [Row], stage: &str) -> Option<&'a BTreeMap<String, f64>> {
    rows.iter()
        .rev()
        .find(|r| r.stage == stage)
        .map(|r| &r.values)
}
