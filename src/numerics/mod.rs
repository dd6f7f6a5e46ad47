//! Shared numerics, the bottom layer of the crate: [`model`](crate::model),
//! [`theory`](crate::theory), [`metrics`](crate::metrics) and training import
//! it, and it imports nothing from the crate, so the layers read bottom-up
//! (`numerics <- model <- theory <- metrics, train, cli`).
//!
//! * [`normal`]: the standard normal `phi`, `Phi`, `Q`, the Mills ratio and the
//!   quantiles, accurate in both tails;
//! * [`quadrature`]: adaptive Gauss–Kronrod on finite and infinite ranges,
//!   Gauss–Legendre nodes;
//! * [`linalg`]: fixed-order `dot`/`axpy` and Gram–Schmidt orthonormalisation;
//! * [`montecarlo`]: estimates with standard errors (means, covariances, the
//!   delta method).

pub mod linalg;
pub mod montecarlo;
pub mod normal;
pub mod quadrature;
