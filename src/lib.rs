//! # fsrgan — the theory of GANs, checked; the FSR model, sampled; layer-wise GANs, scored
//!
//! * [`numerics`] — the shared bottom layer: normal functions, quadrature,
//!   Monte Carlo estimates, fixed-order vector kernels and orthonormalisation.
//! * [`model`] — the forward super-resolution (FSR) hierarchical sparse-coding
//!   model: configuration, ground-truth parameters, the sampler and its diagnostics.
//! * [`io`] — the interchange format (`.npz`, `.safetensors`, `manifest.json`),
//!   atomic writes and validating readers.
//! * [`theory`] — the claims T1–T8 of the theory, each a function returning both
//!   sides of an identity.
//! * [`threads`] — CPU thread pools and the OpenMP wait policy of a process.
//! * [`cli`] — the `fsrgan` command line.
//!
//! The pure-Rust parts (everything above) never depend on libtorch.
#![warn(missing_docs)]
#![warn(clippy::float_cmp)]

pub mod cli;
pub mod io;
pub mod machine;
pub mod metrics;
pub mod model;
pub mod numerics;
pub mod plot;
pub mod testing;
pub mod theory;
pub mod threads;
#[cfg(feature = "torch")]
pub mod train;
