//! The training config (TOML): the model to learn, sizes, devices, and one
//! table per stage kind. Presets `tiny`, `small`, `paper` follow the model
//! presets; `preset = "NAME"` in a file starts from one and overrides fields.
//!
//! ```toml
//! preset = "tiny"
//! batch = 4096
//! [dictionary]        # stage "dict1": output dictionary M'_1 (degree-4 discriminator)
//! steps = 200
//! loss = "linear"     # linear | minimax | non_saturating
//! optimizer = "adam"  # adam | sgd (SGDA: gradient descent-ascent)
//! update = "alternating"   # alternating | simultaneous
//! n_d = 1
//! lr_d = 0.01
//! lr_g = 0.002
//! schedule = "cosine"      # constant | cosine
//! gamma = 1.0         # l2 regulariser of the discriminator's linear weights
//! warm_start = true   # theory-driven start (T5 dictionary, T6 level 1)
//! adversarial = 1.0   # weight of the adversarial term in the generator's loss
//! recon = 0.0         # weight of the L1 (pix2pix) term, super-resolution stages only
//! [level1]            # stage "level1": alpha, beta, C (moment features of decoded codes)
//! [superres]          # stages "superres{l}": W_l, b_l and M'_l (pair discriminator + L1)
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
    /// Codes decoded from the *real* low-resolution image (pix2pix-style pairs).
    Real,
    /// Codes from the learner's own (frozen) lower levels.
    Generated,
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
    /// Warm start (dictionary stages): set the discriminator's first-layer
    /// filters by degree-4 ascent with deflation on real patches, and the
    /// learner's dictionary from them.
    #[serde(default = "default_true")]
    pub warm_start: bool,
    /// Weight of the adversarial term in the generator's loss.
    #[serde(default = "default_one")]
    pub adversarial: f64,
    /// Weight of the L1 reconstruction term `mean |G(s_{l-1}) - X_l|` of the
    /// super-resolution stages (pix2pix; needs `condition = "real"`).
    #[serde(default)]
    pub recon: f64,
    /// Super-resolution stages: the learner's ReLU is trained as a leaky ReLU
    /// whose negative slope decays linearly from `leak` to 0 over the first
    /// half of the stage, so units stuck inactive still get gradient; the
    /// second half and the result use the exact ReLU.
    #[serde(default)]
    pub leak: f64,
}

fn default_beta1() -> f64 {
    0.5
}
fn default_beta2() -> f64 {
    0.999
}
fn default_true() -> bool {
    true
}
fn default_final_eval() -> usize {
    65_536
}
fn default_one() -> f64 {
    1.0
}

/// Switches that break the trainer on purpose, so tests can show a broken
/// trainer misses its targets. Leave them off.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Debug {
    /// Never update (nor warm-start) the discriminator.
    #[serde(default)]
    pub freeze_discriminator: bool,
    /// Flip the sign of the generator's loss.
    #[serde(default)]
    pub flip_generator_loss: bool,
    /// Stop after this many steps in total (simulates a killed run).
    #[serde(default)]
    pub stop_after_steps: Option<usize>,
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
    /// Real samples for the dictionary warm start.
    pub warm_samples: usize,
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
    /// Sabotage switches for tests.
    #[serde(default)]
    pub debug: Debug,
}

impl TrainConfig {
    /// The preset for a model preset name (`tiny`, `small`, `paper`).
    ///
    /// # Errors
    /// [`TrainError::Model`] for an unknown name.
    pub fn preset(name: &str) -> Result<TrainConfig, TrainError> {
        let model = Config::preset(name)?;
        // Sizes measured in experiments/training (tiny ~1 min, small ~4 min
        // on two CPU cores; paper is for the GPU).
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
                    warm_start: true,
                    adversarial,
                    recon,
                    leak: if recon > 0.0 { 0.1 } else { 0.0 },
                }
            };
        Ok(TrainConfig {
            model,
            seed: 1,
            train_seed: 1,
            precision,
            batch,
            eval_batch: 4096,
            final_eval: default_final_eval(),
            metrics_every: 50,
            checkpoint_every: 200,
            warm_samples: 20_000,
            decode_tau: 0.0,
            condition: Condition::Real,
            // SGDA where the warm start is already at the equilibrium (Adam's
            // steps have size ~lr whatever the gradient, so they random-walk
            // there); Adam for the L1 regression of the super-resolution layers.
            dictionary: stage(steps_dict, Optimizer::Sgd, (0.5, 0.01), 1.0, 0.0),
            level1: stage(steps_l1, Optimizer::Sgd, (0.5, 0.01), 1.0, 0.0),
            superres: stage(steps_sr, Optimizer::Adam, (0.05, 0.05), 0.0, 1.0),
            debug: Debug::default(),
        })
    }

    /// Parses TOML; `preset = "NAME"` starts from [`TrainConfig::preset`] and
    /// other keys (and tables) override it; `[model]` overrides model fields.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] naming the field and the rule.
    pub fn from_toml(text: &str) -> Result<TrainConfig, TrainError> {
        let bad = |field: &str, rule: String| TrainError::InvalidConfig {
            field: field.into(),
            rule,
        };
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| bad("(syntax)", e.to_string()))?;
        let base = match table.remove("preset") {
            Some(v) => {
                let name = v
                    .as_str()
                    .ok_or_else(|| bad("preset", "must be a string".into()))?;
                TrainConfig::preset(name)?
            }
            None => TrainConfig::preset("tiny")?,
        };
        let mut merged =
            toml::Table::try_from(&base).map_err(|e| bad("(internal)", e.to_string()))?;
        merge_tables(&mut merged, table);
        let cfg: TrainConfig = merged
            .try_into()
            .map_err(|e: toml::de::Error| bad("(fields)", e.to_string()))?;
        cfg.validated()
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
        ] {
            if v < min {
                return Err(bad(field, format!("must be at least {min}, got {v}")));
            }
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
            let f = |x: &str| format!("{name}.{x}");
            if s.n_d == 0 {
                return Err(bad(&f("n_d"), "must be at least 1".into()));
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
        }
        if self.superres.recon > 0.0 && self.condition != Condition::Real {
            return Err(bad(
                "superres.recon",
                "the L1 term compares with the real image of the same parents: it needs condition = \"real\"".into(),
            ));
        }
        Ok(self)
    }
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
