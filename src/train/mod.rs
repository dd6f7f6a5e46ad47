//! Layer-wise GAN training of the FSR model with libtorch (`tch`), scored
//! against the known generator (`../shared/spec/training.md`, theory track).
//!
//! * [`config`] — the TOML training config (stages, losses, optimisers, schedules);
//! * [`generator`] — the FSR generator in tch, for the target (truth, to sample
//!   real data at training speed) and for the learner (trainable);
//! * [`disc`] — the discriminators: degree-4 patch discriminator, linear
//!   discriminator on moment features of decoded codes, pair discriminator;
//! * [`data`] — the real samples: a dataset's training split in seeded
//!   shuffled epochs, its held-out split for the metrics (or the oracle);
//! * [`optim`] — SGD and Adam with serialisable state (for exact resume);
//! * [`warm`] — each stage's start: its discriminator and the learner's
//!   theory-driven warm start;
//! * [`executor`] — the one training loop over a [`executor::Stage`] (steps,
//!   NaN stop, metric rows, checkpoints, budgets, observers);
//! * [`stage`] — one GAN step per stage kind; [`trainer`] — the theory
//!   track's stages, resume; [`eval`] — the metrics; [`checkpoint`] — exact state;
//!   the run directory is [`crate::io::rundir`].
//!
//! Randomness: every batch's latents come from `tch::manual_seed(f(seed, stage,
//! step))`, and initialisations from named Rust generators, so a run is a
//! function of its config and a resumed run repeats the uninterrupted one.

pub mod checkpoint;
pub mod closed;
pub mod config;
pub mod data;
pub mod disc;
pub mod eval;
pub mod executor;
pub mod generator;
pub mod limits;
pub mod optim;
pub mod practice;
pub mod stage;
pub mod trainer;
pub mod warm;
pub mod witness;

pub use config::TrainConfig;
pub use trainer::{TrainOptions, TrainOutcome, train};

/// Errors of training.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A training-config field breaks a rule.
    #[error("invalid training config: field `{field}`: {rule}")]
    InvalidConfig {
        /// The field (dotted path for stage fields).
        field: String,
        /// The rule and the offending value.
        rule: String,
    },
    /// libtorch reported an error.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// A loss or parameter became NaN or infinite.
    #[error(
        "stage `{stage}` step {step}: {what} is not finite; the run stopped, the last good checkpoint is kept"
    )]
    NonFinite {
        /// Stage name.
        stage: String,
        /// Step within the stage.
        step: usize,
        /// Which loss or parameter.
        what: String,
    },
    /// Reading or writing the run directory failed.
    #[error(transparent)]
    Io(#[from] crate::io::IoError),
    /// The model rejected its config or parameters.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// A run directory cannot be resumed.
    #[error("cannot resume {path}: {reason}")]
    Resume {
        /// The run directory.
        path: String,
        /// Why.
        reason: String,
    },
    /// A stage's warm start could not be computed from the data.
    #[error("stage `{stage}`: the warm start failed: {reason}")]
    WarmStart {
        /// Stage name.
        stage: String,
        /// Why (and what it suggests).
        reason: String,
    },
    /// A tensor does not have the shape its role needs.
    #[error("{what}: shape {shape:?}, expected {expected}")]
    Shape {
        /// The tensor's role.
        what: String,
        /// Its shape.
        shape: Vec<usize>,
        /// What was expected (and the conversion's error).
        expected: String,
    },
    /// A metric could not be computed.
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    /// Drawing a plot failed.
    #[error("plot: {0}")]
    Plot(String),
    /// An OS error on a path.
    #[error("{path}: {source}")]
    Os {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}
