//! The forward super-resolution (FSR) hierarchical sparse-coding model
//! (`../shared/spec/model.md`): configuration and presets ([`config`]),
//! ground-truth parameters ([`params`]), the deterministic parallel sampler
//! ([`sampler`]), labelled mixtures and paired domains ([`mixture`]) and the
//! measured assumptions A1–A5 ([`diagnostics`]).

pub mod config;
pub mod diagnostics;
pub(crate) mod forward;
pub mod mixture;
pub mod params;
pub mod rng;
pub mod sampler;

pub use config::{Config, Dictionary, OutputKernel, PRESETS};
pub use diagnostics::Diagnostics;
pub use mixture::{Labelled, Paired};
pub use params::Params;
pub use sampler::{Batch, Sampler};

/// Errors of the model: invalid configs name the field and the rule.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A config field breaks a rule.
    #[error("invalid config: field `{field}`: {rule}")]
    InvalidConfig {
        /// The offending field, as written in TOML.
        field: String,
        /// The rule it breaks, with the offending value.
        rule: String,
    },
    /// No preset of that name.
    #[error("unknown preset `{0}` (known presets: tiny, small, paper)")]
    UnknownPreset(String),
    /// The TOML text could not be parsed into a config.
    #[error("config is not valid TOML for fsrgan: {0}")]
    Toml(String),
    /// Memory a computation needs cannot be had (a config within its limits
    /// on a machine without that much memory).
    #[error("cannot allocate {bytes} bytes for {what}: not enough memory; {fix}")]
    OutOfMemory {
        /// What the memory is for.
        what: String,
        /// Bytes asked for.
        bytes: u64,
        /// What to change.
        fix: String,
    },
    /// An invariant of the crate failed (a bug): please report it.
    #[error("internal error: {0}")]
    Internal(String),
}
