//! The practice track (issue 10, `../shared/spec/training.md` "Practice
//! track", "Losses and tricks"): ordinary convolutional GANs — DCGAN-style
//! generator with one output head per level, strided-convolution
//! discriminator — trained end to end, layer-wise or progressively (ProGAN)
//! on FSR samples, with the losses of the GAN family: a dataset directory
//! of `fsrgan sample` (scored against its truth) or any plain set of arrays
//! `x1..xL` (no truth: scored against its own held-out split, see [`run`]).
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
//!   [`run::train_practice_plain`]: the same on a plain set without a truth,
//!   trained on its first `N - heldout` samples and scored against the rest;
//!
//! How an executor drives a game (it owns the loop, budgets, metrics,
//! checkpoints and progress bars):
//!
//! ```no_run
//! # use fsrgan::train::practice::{PracticeConfig, PracticeGame};
//! # fn batch(level: usize, n: usize) -> tch::Tensor { unimplemented!() }
//! # fn main() -> Result<(), fsrgan::train::TrainError> {
//! let cfg = PracticeConfig::from_toml("loss = \"wgan_gp\"\nmode = \"layerwise\"")?;
//! let model = fsrgan::model::Config::preset("tiny")?;
//! let mut game = PracticeGame::new(&cfg, &model, tch::Device::Cpu)?;
//! for p in 0..game.phases().len() {
//!     game.set_phase(p)?; // fresh Adam states; layer-wise: freezes the lower levels
//!     for k in 0..game.phases()[p].steps {
//!         // one minibatch of `batch * n_d` real samples per level, drawn by the caller
//!         let real: Vec<_> = (0..model.levels).map(|l| batch(l, game.real_batch())).collect();
//!         let losses = game.step(&real, k)?; // n_d discriminator steps, one generator step
//!         # let _ = losses;
//!     }
//! }
//! let samples = game.generate(1000, 7); // (X_1, ..., X_L)
//! let hidden = game.hidden(1000, 7); // post-activation maps per level (E3)
//! let filters = game.first_layer_filters(); // with d_first_layer = "patch" (E2)
//! game.save(std::path::Path::new("state.safetensors"))?; // exact resume with `load`
//! # let _ = (samples, hidden, filters);
//! # Ok(()) }
//! ```

pub mod config;
pub mod family;
pub mod game;
pub mod layers;
pub mod loss;
pub mod nets;
pub mod run;
pub mod translate;

pub use config::{LossKind, Method, Mode, PracticeConfig};
pub use game::{Phase, PracticeGame, Real, StepLosses};
