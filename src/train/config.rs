//! The training config (TOML): the model to learn, sizes, devices, and one
//! table per stage kind. Presets `tiny`, `small`, `paper` are the GAN
//! default; `tiny:moments` (etc.) is the method-of-moments baseline and
//! `tiny:supervised` the supervised super-resolution baseline;
//! `preset = "NAME"` in a file starts from one and overrides fields.
//!
//! ```toml
//! preset = "tiny"
//! batch = 4096
//! real_samples = 65536  # real side of the closed-form discriminators
//! init_threshold = 2.0  # learner's initial level-1 thresholds t' (a sparse start)
//! [dictionary]        # stage "dict1": M'_1 with the level-1 code law (patch and image moments)
//! init = "random"     # random (GAN default) | moments (method-of-moments warm start)
//! disc = "closed"     # closed (exact best response of a regularised linear D) | ascent | witness (superres only)
//! steps = 1500
//! loss = "linear"     # linear | minimax | non_saturating (ascent only)
//! optimizer = "adam"  # adam | sgd (SGDA: gradient descent-ascent)
//! update = "alternating"   # alternating | simultaneous
//! n_d = 1
//! lr_d = 1.0          # closed: weight of each new best response (1 = exact)
//! lr_g = 0.02
//! schedule = "cosine"      # constant | cosine
//! gamma = 1.0         # l2 regulariser of the discriminator's linear weights
//! adversarial = 1.0   # weight of the adversarial term in the generator's loss
//! recon = 0.0         # weight of the L1 (pix2pix) term, super-resolution stages only
//! [level1]            # stage "level1": alpha, beta, C (moments of decoded codes)
//! [superres]          # stages "superres{l}": W'_l, b'_l, M'_l (the witness pair discriminator)
//! ```

use serde::{Deserialize, Serialize};

use super::TrainError;
use crate::model::Config;

/// The GAN loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// WGAN-type: `D` maximises `E_real D - E_fake D - (gamma/2)||lambda||^2`, `G` maximises `E_fake D`.
    Linear,
    /// Goodfellow's minimax: `G` minimises `E log(1 - sigma(D))` (saturating).
    Minimax,
    /// Non-saturating: `G` minimises `-E log sigma(D)`.
    NonSaturating,
}

/// The optimiser of both players.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    /// Plain gradient steps (gradient descent-ascent).
    Sgd,
    /// Adam (`beta1`, `beta2`, eps 1e-8).
    Adam,
}

/// Simultaneous or alternating updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Update {
    /// `n_d` discriminator steps, then one generator step on fresh fake samples.
    Alternating,
    /// Both players step from gradients of the same batch.
    Simultaneous,
}

/// Learning-rate schedule within a stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Constant rates.
    Constant,
    /// Cosine decay from the rate to 0 over the stage.
    Cosine,
}

/// Floating-point precision of training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// float32 (GPU default).
    F32,
    /// float64 (CPU default: exact resume and tight tests).
    F64,
}

/// What the super-resolution stage conditions on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The paired conditional game (the default): codes decoded from the
    /// *real* low-resolution image, the real child beside the learner's
    /// child of the same parent (pix2pix without its L1 term).
    Real,
    /// The paper's unpaired game: the learner's own pairs (codes from its
    /// frozen lower levels) against real pairs of independent batches.
    Generated,
}

/// How a stage starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// The GAN default: the stage's generator parameters keep the learner's
    /// random initial values (or what earlier GAN stages made of them) and
    /// change only by gradient steps on the generator's GAN loss; nothing is
    /// estimated from the data.
    Random,
    /// The method-of-moments baseline: the stage's parameters are first set
    /// by the estimators of `crate::theory` (tensor power method and sparse
    /// decoding for dictionaries (T5/T8), the method of moments for level 1
    /// (T6), activity quantiles for super-resolution thresholds).
    Moments,
}

/// Which discriminator a stage plays against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscKind {
    /// A regularised linear discriminator over a fixed feature map (moment
    /// tensors of patches and images, code moments, offset-aware pair cross
    /// moments; `train::closed`), updated in closed form: `lr_d = 1` is its
    /// exact best response on each fake batch, `lr_d < 1` an ascent step on
    /// the same quadratic objective. It has no first-layer filters.
    Closed,
    /// The discriminators trained by their own gradient-ascent steps, with
    /// first-layer filters (`train::disc`: degree-4 patch discriminator,
    /// standardised code moments, offset-aware pair discriminator).
    Ascent,
    /// Super-resolution stages only: the witness pair discriminator
    /// (`train::witness`), linear in the child patch with `hidden` ReLU
    /// features of the whole parent window per child offset, learned by its
    /// own ascent steps (Adam at `lr_d`, `n_d` per generator step), with the
    /// penalty `gamma E||h||^2 / 2`.
    Witness,
}

/// Settings of one stage kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    /// GAN steps (generator updates) in the stage.
    pub steps: usize,
    /// The loss.
    pub loss: Loss,
    /// The optimiser.
    pub optimizer: Optimizer,
    /// Simultaneous or alternating.
    pub update: Update,
    /// Discriminator steps per generator step (alternating).
    pub n_d: usize,
    /// Discriminator learning rate.
    pub lr_d: f64,
    /// Generator learning rate.
    pub lr_g: f64,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// l2 regulariser of the discriminator's linear weights.
    pub gamma: f64,
    /// Adam's beta1.
    #[serde(default = "default_beta1")]
    pub beta1: f64,
    /// Adam's beta2.
    #[serde(default = "default_beta2")]
    pub beta2: f64,
    /// How the stage starts: `random` (the GAN default) or `moments` (the
    /// method-of-moments baseline).
    pub init: Init,
    /// The discriminator: `closed` (closed-form regularised linear, the GAN
    /// default of `dict1` and `level1`), `ascent` (trained by its own ascent
    /// steps) or `witness` (super-resolution only, the GAN default there).
    pub disc: DiscKind,
    /// Weight of the adversarial term in the generator's loss.
    #[serde(default = "default_one")]
    pub adversarial: f64,
    /// Weight of the L1 reconstruction term `mean |G(s_{l-1}) - X_l|` of the
    /// super-resolution stages (pix2pix; needs `condition = "real"`).
    #[serde(default)]
    pub recon: f64,
    /// Random starts of the stage's generator parameters tried before the
    /// stage goes on with one (1: the learner's own start only). Each start
    /// (the learner's, then draws from seeds derived from `train_seed`) trains
    /// `select_after` steps against its own fresh discriminator; the one whose
    /// discriminator value (the closed form's `(1/2) sum_g w_g ||R_g - F_g||^2`,
    /// averaged over the last fifth of those steps; with `adversarial = 0`,
    /// the generator's L1 loss) is smallest goes on. The choice reads only
    /// real and generated samples, never a truth metric.
    #[serde(default = "default_candidates")]
    pub candidates: usize,
    /// Steps of each random start before the choice (`candidates > 1`).
    #[serde(default)]
    pub select_after: usize,
    /// Samples per batch in this stage (default: the config's `batch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<usize>,
    /// Super-resolution stages: the learner's ReLU is trained as a leaky ReLU
    /// whose negative slope decays linearly from `leak` to 0 over the first
    /// half of the stage, so units stuck inactive still get gradient; the
    /// second half and the result use the exact ReLU.
    #[serde(default)]
    pub leak: f64,
    /// `disc = "witness"`: ReLU features of the parent window per child offset.
    #[serde(default = "default_hidden")]
    pub hidden: usize,
    /// `level1` with `disc = "closed"`: weigh each code feature by its inverse
    /// variance over the real samples (`true`) instead of each group by its
    /// inverse squared norm (`false`).
    #[serde(default)]
    pub inverse_variance: bool,
}

fn default_hidden() -> usize {
    64
}
fn default_beta1() -> f64 {
    0.5
}
fn default_beta2() -> f64 {
    0.999
}
fn default_final_eval() -> usize {
    65_536
}
fn default_one() -> f64 {
    1.0
}
fn default_candidates() -> usize {
    1
}
fn default_real_samples() -> usize {
    65_536
}
fn default_init_threshold() -> f64 {
    2.0
}
fn default_init_bias() -> f64 {
    0.0
}

/// Where a run's real samples come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataMode {
    /// A dataset of `N` samples (`dataset`, or `samples` drawn from the truth
    /// when the run starts): batches walk seeded shuffled epochs of its
    /// training split, the metrics compare against its held-out split
    /// (`train::data`). The truth, where there is one, only scores.
    #[default]
    Dataset,
    /// Every real batch a fresh draw of the truth (the population, `N = inf`):
    /// for population-level experiments. Needs a truth.
    Oracle,
}

fn default_samples() -> usize {
    100_000
}
/// Held-out samples of a dataset of `n` when `heldout` is unset.
pub fn default_heldout(n: usize) -> usize {
    10_000.min(n / 2)
}

/// Switches that break the trainer on purpose, so tests can show a broken
/// trainer misses its targets. Leave them off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Debug {
    /// Never update (nor warm-start) the discriminator; a closed-form
    /// discriminator keeps its step-0 best response.
    #[serde(default)]
    pub freeze_discriminator: bool,
    /// Flip the sign of the generator's loss.
    #[serde(default)]
    pub flip_generator_loss: bool,
    /// Stop after this many steps in total (simulates a killed run).
    #[serde(default)]
    pub stop_after_steps: Option<usize>,
    /// Draw the real batches (and the closed-form discriminators' real side)
    /// from the truth of this seed instead of `seed`; the metrics still score
    /// against `seed`'s truth.
    #[serde(default)]
    pub real_truth_seed: Option<u64>,
    /// A control: every level of the training split is permuted by its own
    /// seeded permutation, so each real child sits beside *another*
    /// sample's parent (`data = "dataset"` only; the held-out split, which
    /// the metrics read, keeps its true pairs).
    #[serde(default)]
    pub shuffle_pairs: bool,
}

/// The whole training config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// The model to learn (the truth), as a model config.
    pub model: Config,
    /// Seed of the truth's parameters.
    pub seed: u64,
    /// Seed of the learner's initialisation and of every batch.
    pub train_seed: u64,
    /// Where the real samples come from: `"dataset"` (the default) or
    /// `"oracle"` (fresh draws of the truth every batch).
    #[serde(default)]
    pub data: DataMode,
    /// The dataset (`fsrgan train --data`): a directory written by `fsrgan
    /// sample` (its truth scores the run), or a plain `.npz` /
    /// `.safetensors` file or directory of `.npy` files holding `x1..xL`
    /// (no truth: the run reports what the data alone can measure). Unset:
    /// the run samples `samples` samples of the truth of `seed` when it
    /// starts, exactly as `fsrgan sample --seed SEED --n SAMPLES` stores them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<std::path::PathBuf>,
    /// Samples of the dataset drawn when `dataset` is unset (held-out included).
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Held-out samples: the last `heldout` of the dataset (unset:
    /// `min(10 000, N / 2)`), never trained on; the metrics' real side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heldout: Option<usize>,
    /// Precision.
    pub precision: Precision,
    /// Samples per batch (real and fake each).
    pub batch: usize,
    /// Samples for metrics (fixed latents, real and fake).
    pub eval_batch: usize,
    /// Samples of the real moment-tensor reference and of the final evaluation
    /// (row `final`; see `train::eval`).
    #[serde(default = "default_final_eval")]
    pub final_eval: usize,
    /// Metrics every this many steps (and at each stage's start and end).
    pub metrics_every: usize,
    /// Checkpoint every this many steps (and at each stage's end).
    pub checkpoint_every: usize,
    /// Real samples of the method-of-moments warm starts (`init = "moments"`).
    pub warm_samples: usize,
    /// Real samples whose feature means are the real side of the closed-form
    /// discriminators (drawn once at the start of each stage).
    #[serde(default = "default_real_samples")]
    pub real_samples: usize,
    /// The learner's initial level-1 threshold `t'` of every channel: a
    /// sparse start (activity `Q(t')`, 2.3% at 2.0), the same for every truth.
    #[serde(default = "default_init_threshold")]
    pub init_threshold: f64,
    /// The learner's initial super-resolution biases `b'_l`.
    #[serde(default = "default_init_bias")]
    pub init_bias: f64,
    /// Decoder threshold `tau` of `s_hat = ReLU(M'^T x - tau)`.
    pub decode_tau: f64,
    /// What the super-resolution stages condition on.
    pub condition: Condition,
    /// Dictionary stages.
    pub dictionary: StageConfig,
    /// The level-1 stage.
    pub level1: StageConfig,
    /// Super-resolution stages.
    pub superres: StageConfig,
    /// CPU threads and the OpenMP wait policy ([`crate::threads`]): fixed
    /// when the run starts, recorded in its `config.toml`, reused by resume.
    #[serde(default)]
    pub cpu: crate::threads::Cpu,
    /// Sabotage switches for tests.
    #[serde(default)]
    pub debug: Debug,
}

impl TrainConfig {
    /// The preset for a model preset name (`tiny`, `small`, `paper`): the
    /// GAN default. Every stage starts from the learner's random state
    /// (`init = "random"`) and plays the closed-form moment discriminator
    /// (`disc = "closed"`, `lr_d = 1`: its exact best response on each fake
    /// batch) with Adam and a cosine schedule in `dict1` and `level1`; the
    /// super-resolution stages play the witness pair discriminator in the
    /// paired conditional game (`condition = "real"`), two random starts, no
    /// L1 term. Real samples: a dataset of `samples` samples of the truth
    /// (100 000; 20 000 for `paper`) drawn when the run starts, `min(10 000,
    /// N/2)` of them held out. Sizes measured in `experiments/training`.
    ///
    /// # Errors
    /// [`TrainError::Model`] for an unknown name.
    pub fn preset(name: &str) -> Result<TrainConfig, TrainError> {
        let model = Config::preset(name)?;
        // (batch, super-resolution batch, steps of dict1 / level1 / superres, precision)
        let (batch, sr_batch, steps, precision) = match name {
            "tiny" => (4096, 1024, (800, 500, 2000), Precision::F64),
            "small" => (4096, 1024, (800, 500, 2000), Precision::F32),
            _ => (8192, 4096, (3000, 2000, 3000), Precision::F32),
        };
        let gan = |steps: usize, lr_g: f64| StageConfig {
            steps,
            loss: Loss::Linear,
            optimizer: Optimizer::Adam,
            update: Update::Alternating,
            n_d: 1,
            lr_d: 1.0,
            lr_g,
            schedule: Schedule::Cosine,
            gamma: 1.0,
            beta1: default_beta1(),
            beta2: default_beta2(),
            init: Init::Random,
            disc: DiscKind::Closed,
            adversarial: 1.0,
            recon: 0.0,
            leak: 0.0,
            batch: None,
            candidates: 1,
            select_after: 0,
            hidden: default_hidden(),
            inverse_variance: false,
        };
        Ok(TrainConfig {
            model,
            seed: 1,
            train_seed: 1,
            data: DataMode::Dataset,
            dataset: None,
            samples: if name == "paper" {
                20_000
            } else {
                default_samples()
            },
            heldout: None,
            precision,
            batch,
            eval_batch: 4096,
            final_eval: default_final_eval(),
            metrics_every: 100,
            checkpoint_every: 250,
            warm_samples: 20_000,
            real_samples: default_real_samples(),
            init_threshold: default_init_threshold(),
            init_bias: default_init_bias(),
            decode_tau: 0.0,
            condition: Condition::Real,
            dictionary: gan(steps.0, 0.02),
            level1: gan(steps.1, 0.01),
            superres: StageConfig {
                leak: 0.1,
                batch: Some(sr_batch),
                candidates: 2,
                select_after: steps.2 / 5,
                disc: DiscKind::Witness,
                lr_d: 0.01,
                hidden: default_hidden(),
                ..gan(steps.2, 0.03)
            },
            cpu: crate::threads::Cpu::default(),
            debug: Debug::default(),
        })
    }

    /// The method-of-moments baseline of a preset: every stage warm-started by
    /// the estimators (`init = "moments"`), then the ascent-trained
    /// discriminators of [`DiscKind::Ascent`] with SGDA; the super-resolution
    /// layers regress on real parents by the L1 term (`condition = "real"`,
    /// `recon = 1`, `adversarial = 0`). This is the training path of fsrgan
    /// 0.1 before the GAN default (`experiments/training/configs/moments-*.toml`).
    ///
    /// # Errors
    /// [`TrainError::Model`] for an unknown name.
    pub fn moments_baseline(name: &str) -> Result<TrainConfig, TrainError> {
        let mut cfg = TrainConfig::preset(name)?;
        let (batch, steps_dict, steps_l1, steps_sr, precision) = match name {
            "tiny" => (2048, 200, 400, 600, Precision::F64),
            "small" => (1024, 200, 400, 800, Precision::F64),
            _ => (8192, 500, 2000, 2000, Precision::F32),
        };
        let stage =
            |steps: usize, optimizer: Optimizer, lr: (f64, f64), adversarial: f64, recon: f64| {
                StageConfig {
                    steps,
                    loss: Loss::Linear,
                    optimizer,
                    update: Update::Alternating,
                    n_d: 1,
                    lr_d: lr.0,
                    lr_g: lr.1,
                    schedule: Schedule::Cosine,
                    gamma: 1.0,
                    beta1: default_beta1(),
                    beta2: default_beta2(),
                    init: Init::Moments,
                    disc: DiscKind::Ascent,
                    adversarial,
                    recon,
                    leak: if recon > 0.0 { 0.1 } else { 0.0 },
                    batch: None,
                    candidates: 1,
                    select_after: 0,
                    hidden: default_hidden(),
                    inverse_variance: false,
                }
            };
        cfg.batch = batch;
        cfg.precision = precision;
        cfg.metrics_every = 50;
        cfg.checkpoint_every = 200;
        cfg.condition = Condition::Real;
        cfg.init_threshold = 0.0;
        cfg.init_bias = 0.0;
        // SGDA where the warm start is already at the equilibrium (Adam's
        // steps have size ~lr whatever the gradient, so they random-walk
        // there); Adam for the L1 regression of the super-resolution layers.
        cfg.dictionary = stage(steps_dict, Optimizer::Sgd, (0.5, 0.01), 1.0, 0.0);
        cfg.level1 = stage(steps_l1, Optimizer::Sgd, (0.5, 0.01), 1.0, 0.0);
        cfg.superres = stage(steps_sr, Optimizer::Adam, (0.05, 0.05), 0.0, 1.0);
        Ok(cfg)
    }

    /// The supervised baseline of the super-resolution stages: the GAN
    /// default for `dict1` and `level1`, then every super-resolution layer
    /// from the learner's random start by the L1 term alone on real parents
    /// decoded with the GAN's own lower levels (`adversarial = 0`, `recon = 1`,
    /// `condition = "real"`), with as many random starts as the GAN (chosen by
    /// the L1 loss).
    ///
    /// # Errors
    /// [`TrainError::Model`] for an unknown name.
    pub fn supervised_baseline(name: &str) -> Result<TrainConfig, TrainError> {
        let mut cfg = TrainConfig::preset(name)?;
        cfg.condition = Condition::Real;
        cfg.superres.adversarial = 0.0;
        cfg.superres.recon = 1.0;
        // As many random starts as the GAN's, chosen by the L1 loss (there
        // is no discriminator value to choose by).
        Ok(cfg)
    }

    /// What training path the config is, in words, for every output: the GAN
    /// default, one of the two baselines, or a custom mix (with the stages'
    /// `init` and `disc`).
    pub fn path_description(&self) -> String {
        let stages = [&self.dictionary, &self.level1, &self.superres];
        let all = |f: &dyn Fn(&StageConfig) -> bool| stages.iter().all(|s| f(s));
        let gan = |s: &StageConfig| s.init == Init::Random && s.adversarial > 0.0 && s.recon == 0.0;
        if all(&gan) {
            let lower = [&self.dictionary, &self.level1];
            let disc = if all(&|s| s.disc == DiscKind::Closed) {
                "closed-form moment discriminators"
            } else if all(&|s| s.disc == DiscKind::Ascent) {
                "discriminators trained by their own ascent steps"
            } else if lower.iter().all(|s| s.disc == DiscKind::Closed)
                && self.superres.disc == DiscKind::Witness
            {
                "closed-form moment discriminators for level 1, learned-feature witness pair discriminators for super-resolution"
            } else {
                "mixed discriminators"
            };
            let game = match self.condition {
                Condition::Real => {
                    "the conditional game: real parents, the learner's children of the same parents"
                }
                Condition::Generated => "the paper's game: the learner's own pairs",
            };
            return format!(
                "GAN default: every stage from the learner's random start by GAN steps alone ({disc}; super-resolution in {game})"
            );
        }
        if all(&|s| s.init == Init::Moments) {
            return "method-of-moments baseline: every stage warm-started by the estimators (init = \"moments\")".into();
        }
        let lower = [&self.dictionary, &self.level1];
        if lower.iter().all(|s| gan(s))
            && self.superres.init == Init::Random
            && self.superres.adversarial == 0.0
            && self.superres.recon > 0.0
        {
            return "supervised baseline: level 1 by the GAN, the super-resolution layers by the L1 term alone".into();
        }
        let word = |s: &StageConfig| {
            format!(
                "init = {}, disc = {}",
                match s.init {
                    Init::Random => "random",
                    Init::Moments => "moments",
                },
                match s.disc {
                    DiscKind::Closed => "closed",
                    DiscKind::Ascent => "ascent",
                    DiscKind::Witness => "witness",
                }
            )
        };
        format!(
            "custom: dictionary {}; level1 {}; superres {} (adversarial {}, recon {})",
            word(&self.dictionary),
            word(&self.level1),
            word(&self.superres),
            self.superres.adversarial,
            self.superres.recon
        )
    }

    /// A named starting point: a preset (`tiny`), or its baselines
    /// (`tiny:moments`, `tiny:supervised`).
    ///
    /// # Errors
    /// [`TrainError::Model`] for an unknown preset, [`TrainError::InvalidConfig`]
    /// for an unknown baseline.
    pub fn named(name: &str) -> Result<TrainConfig, TrainError> {
        match name.split_once(':') {
            None => TrainConfig::preset(name),
            Some((p, "moments")) => TrainConfig::moments_baseline(p),
            Some((p, "supervised")) => TrainConfig::supervised_baseline(p),
            Some((_, other)) => Err(TrainError::InvalidConfig {
                field: "preset".into(),
                rule: format!(
                    "the baseline after `:` must be `moments` or `supervised`, got `{other}`"
                ),
            }),
        }
    }

    /// Parses a user's TOML; `preset = "NAME"` starts from
    /// [`TrainConfig::preset`] and other keys (and tables) override it;
    /// `[model]` overrides model fields. A key the resolved config never
    /// reads is refused ([`super::limits::refuse_unread`]).
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] naming the field and the rule.
    pub fn from_toml(text: &str) -> Result<TrainConfig, TrainError> {
        TrainConfig::parse(text, false)
    }

    /// Parses a run's own `config.toml` (every field spelled out, as
    /// [`TrainConfig::to_toml`] writes it): [`TrainConfig::from_toml`]'s
    /// rules but the one on unread keys, which every spelled-out config has.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] naming the field and the rule.
    pub fn from_stored_toml(text: &str) -> Result<TrainConfig, TrainError> {
        TrainConfig::parse(text, true)
    }

    fn parse(text: &str, stored: bool) -> Result<TrainConfig, TrainError> {
        let bad = |field: &str, rule: String| TrainError::InvalidConfig {
            field: field.into(),
            rule,
        };
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| bad("(syntax)", e.to_string()))?;
        match table.remove("track") {
            None => {}
            Some(toml::Value::String(t)) if t == "theory" => {}
            Some(v) => {
                return Err(bad(
                    "track",
                    format!(
                        "must be \"theory\" (the default) or \"practice\", spelled in lower case; got {v}"
                    ),
                ));
            }
        }
        for stage in ["dictionary", "level1", "superres"] {
            if let Some(toml::Value::Table(t)) = table.get(stage)
                && t.contains_key("warm_start")
            {
                return Err(bad(
                    &format!("{stage}.warm_start"),
                    format!(
                        "`warm_start` is replaced by `init = \"random\" | \"moments\"` (`warm_start = true` is `init = \"moments\"`); set `{stage}.init`"
                    ),
                ));
            }
        }
        let base = match table.remove("preset") {
            Some(v) => {
                let name = v
                    .as_str()
                    .ok_or_else(|| bad("preset", "must be a string".into()))?;
                TrainConfig::named(name)?
            }
            None if stored => {
                // A stored config spells out every field it has; an
                // optional one it lacks is unset, not the preset's.
                let mut base = TrainConfig::preset("tiny")?;
                base.superres.batch = None;
                base
            }
            None => TrainConfig::preset("tiny")?,
        };
        let user = table.clone();
        let mut merged =
            toml::Table::try_from(&base).map_err(|e| bad("(internal)", e.to_string()))?;
        let base_table = merged.clone();
        merge_tables(&mut merged, table);
        let cfg: TrainConfig = merged
            .try_into()
            .map_err(|e: toml::de::Error| bad("(fields)", e.to_string()))?;
        let cfg = cfg.validated()?;
        if !stored {
            super::limits::refuse_unread(&cfg, &user, &base_table)?;
        }
        Ok(cfg)
    }

    /// The config as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# unserialisable: {e}\n"))
    }

    /// Checks every rule, naming the field.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`].
    pub fn validated(mut self) -> Result<TrainConfig, TrainError> {
        let bad = |field: &str, rule: String| TrainError::InvalidConfig {
            field: field.into(),
            rule,
        };
        self.model = self
            .model
            .clone()
            .validated()
            .map_err(|e| bad("model", e.to_string()))?;
        for (field, v, min) in [
            ("batch", self.batch, 2usize),
            ("eval_batch", self.eval_batch, 16),
            ("final_eval", self.final_eval, 16),
            ("metrics_every", self.metrics_every, 1),
            ("checkpoint_every", self.checkpoint_every, 1),
            ("warm_samples", self.warm_samples, 100),
            ("real_samples", self.real_samples, 100),
            ("samples", self.samples, 4),
            ("heldout", self.heldout.unwrap_or(2), 2),
        ] {
            if v < min {
                return Err(bad(field, format!("must be at least {min}, got {v}")));
            }
        }
        for (field, v) in [
            ("init_threshold", self.init_threshold),
            ("init_bias", self.init_bias),
        ] {
            if !v.is_finite() {
                return Err(bad(field, format!("must be finite, got {v}")));
            }
        }
        if let Some(h) = self.heldout
            && self.dataset.is_none()
            && self.samples < h + 2
        {
            return Err(bad(
                "heldout",
                format!(
                    "{h} held-out samples leave {} of the {} sampled for training; at least 2 must train",
                    self.samples.saturating_sub(h),
                    self.samples
                ),
            ));
        }
        if self.data == DataMode::Oracle {
            if let Some(d) = &self.dataset {
                return Err(bad(
                    "dataset",
                    format!(
                        "data = \"oracle\" draws every batch afresh from the truth and reads no dataset, but dataset = {}: remove one",
                        d.display()
                    ),
                ));
            }
            if self.debug.shuffle_pairs {
                return Err(bad(
                    "debug.shuffle_pairs",
                    "shuffles the pairs of a dataset's training split: it needs data = \"dataset\""
                        .into(),
                ));
            }
        }
        if self.cpu.threads == Some(0) {
            return Err(bad("cpu.threads", "must be at least 1".into()));
        }
        if !(self.decode_tau.is_finite() && self.decode_tau >= 0.0) {
            return Err(bad(
                "decode_tau",
                format!("must be finite and >= 0, got {}", self.decode_tau),
            ));
        }
        for (name, s) in [
            ("dictionary", &self.dictionary),
            ("level1", &self.level1),
            ("superres", &self.superres),
        ] {
            validate_stage(name, s)?;
        }
        super::limits::check_sizes(&self)?;
        if self.superres.recon > 0.0 && self.condition != Condition::Real {
            return Err(bad(
                "superres.recon",
                "the L1 term compares with the real image of the same parents: it needs condition = \"real\"".into(),
            ));
        }
        Ok(self)
    }
}

/// Checks the rules of one stage table `name` (`dictionary`, `level1`,
/// `superres`), naming the field as `name.field`.
///
/// # Errors
/// [`TrainError::InvalidConfig`].
fn validate_stage(name: &str, s: &StageConfig) -> Result<(), TrainError> {
    let bad = |field: &str, rule: String| TrainError::InvalidConfig {
        field: field.into(),
        rule,
    };
    let f = |x: &str| format!("{name}.{x}");
    if s.n_d == 0 {
        return Err(bad(&f("n_d"), "must be at least 1".into()));
    }
    if s.candidates == 0 {
        return Err(bad(&f("candidates"), "must be at least 1".into()));
    }
    if s.candidates > 1 && !(1..=s.steps).contains(&s.select_after) {
        return Err(bad(
            &f("select_after"),
            format!(
                "with candidates = {} it must be in 1..=steps ({}), got {}",
                s.candidates, s.steps, s.select_after
            ),
        ));
    }
    if s.candidates > 1 && s.disc == DiscKind::Ascent {
        return Err(bad(
                &f("candidates"),
                "the choice between random starts reads the discriminator's value at its best response: it needs disc = \"closed\" or \"witness\"".into(),
            ));
    }
    if s.disc == DiscKind::Witness && name != "superres" {
        return Err(bad(
            &f("disc"),
            "\"witness\" is a super-resolution discriminator: set it in [superres] only".into(),
        ));
    }
    if s.disc == DiscKind::Witness && s.hidden == 0 {
        return Err(bad(&f("hidden"), "must be at least 1".into()));
    }
    if let Some(b) = s.batch.filter(|&b| b < 2) {
        return Err(bad(&f("batch"), format!("must be at least 2, got {b}")));
    }
    for (field, v) in [("lr_d", s.lr_d), ("lr_g", s.lr_g), ("gamma", s.gamma)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(bad(&f(field), format!("must be finite and > 0, got {v}")));
        }
    }
    for (field, v) in [("adversarial", s.adversarial), ("recon", s.recon)] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(bad(&f(field), format!("must be finite and >= 0, got {v}")));
        }
    }
    if !(s.leak.is_finite() && (0.0..1.0).contains(&s.leak)) {
        return Err(bad(
            &f("leak"),
            format!("must be in [0, 1), got {}", s.leak),
        ));
    }
    if name != "superres" && s.leak > 0.0 {
        return Err(bad(
            &f("leak"),
            "only the super-resolution stages have a ReLU to train; set it to 0".into(),
        ));
    }
    if name != "superres" && s.recon > 0.0 {
        return Err(bad(
            &f("recon"),
            "the L1 term exists only in the super-resolution stages; set it to 0".into(),
        ));
    }
    if s.adversarial <= 0.0 && s.recon <= 0.0 {
        return Err(bad(
            &f("adversarial"),
            "the generator needs a loss: adversarial and recon cannot both be 0".into(),
        ));
    }
    for (field, v) in [("beta1", s.beta1), ("beta2", s.beta2)] {
        if !(0.0..1.0).contains(&v) {
            return Err(bad(&f(field), format!("must be in [0, 1), got {v}")));
        }
    }
    if s.disc == DiscKind::Witness && s.loss != Loss::Linear {
        return Err(bad(
                &f("loss"),
                "the witness is trained on its linear objective E_real D - E_fake D - gamma E||h||^2 / 2 and the generator on -E_fake D: it needs loss = \"linear\"".into(),
            ));
    }
    if s.disc == DiscKind::Closed {
        if s.loss != Loss::Linear {
            return Err(bad(
                    &f("loss"),
                    "the closed-form discriminator is a regularised linear one: it needs loss = \"linear\"".into(),
                ));
        }
        if s.lr_d > 1.0 {
            return Err(bad(
                &f("lr_d"),
                format!(
                    "for disc = \"closed\" it is the weight of the new best response (1 = exact), in (0, 1]; got {}",
                    s.lr_d
                ),
            ));
        }
    }
    Ok(())
}

/// Merges the keys of `over` into `base`, tables recursively (how a config's
/// keys override its preset).
pub fn merge_tables(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}
