//! The practice track (issue 10, `../shared/spec/training.md` "Practice
//! track", "Losses and tricks"): ordinary convolutional GANs — DCGAN-style
//! generator with one output head per level, strided-convolution
//! discriminator — trained end to end, layer-wise or progressively (ProGAN)
//! on FSR samples, with the losses of the GAN family.
//!
//! * [`config`] — [`PracticeConfig`], the TOML config and its validation;
//! * [`layers`] — weighted layers (equalized learning rate), batch norm,
//!   pixel norm, minibatch standard deviation, seeded initial values;
//! * [`nets`] — the [`nets::Generator`] and the [`nets::Critic`];
//! * [`loss`] — minimax, non-saturating, WGAN (clipping), WGAN-GP (gradient
//!   penalty by double backward), least squares, hinge;
//! * [`game`] — [`PracticeGame`]: the phases of a mode and one step; the
//!   executor owns the loop, metrics and checkpoints;
//! * [`run`] — [`run::train_practice`]: a run's phases driven by the
//!   executor on a dataset, scored against its truth;
//! * [`simple`] — [`run_simple`], a minimal loop for tests and experiments.

pub mod config;
pub mod game;
pub mod layers;
pub mod loss;
pub mod nets;
pub mod run;
pub mod simple;

pub use config::{LossKind, Mode, PracticeConfig};
pub use game::{Phase, PracticeGame, StepLosses};
pub use simple::{SimpleOptions, SimpleReport, run_simple};
