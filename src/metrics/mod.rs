//! Metrics of a generator against the known truth (pure Rust, no libtorch:
//! they score any checkpoint and any set of samples). training.md, "Metrics".
//!
//! Sample metrics, per level, each beside its *floor* (the same metric
//! between the real reference and an independent real set of the size of the
//! generated set): [`score`] assembles them into a [`Score`].
//!
//! * [`swd`]: sliced Wasserstein distance of `q x q` patches ([`patches`]);
//! * [`pyramid`]: ProGAN's Laplacian-pyramid SWD of `7 x 7` neighbourhoods;
//! * [`msssim`]: MS-SSIM between random pairs of images (diversity);
//! * [`moments`]: moment gaps `||E x^{(x)c}_real - E x^{(x)c}_fake||_F / ||E x^{(x)c}_real||_F`, `c = 1..4`;
//! * [`coverage`]: atom and atom-pair coverage of the codes decoded with the true dictionary.
//!
//! Labelled and paired data: [`cluster`] (adjusted Rand index, purity and
//! their chance levels) and [`translation`] (relative squared error of a
//! translation between two domains, and of a round trip).
//!
//! Parameter metrics ([`recovery`]): dictionary recovery (Hungarian on `|cos|`),
//! level-1 recovery, discriminator feature alignment. Learner sparsity is
//! [`crate::model::diagnostics::activity_of_codes`]; the super-resolution
//! residual is [`crate::model::diagnostics::a5_residual`] with the learner's parameters.

use ndarray::{Array2, ArrayView4};

pub mod cluster;
pub mod coverage;
pub mod moments;
pub mod msssim;
pub mod pyramid;
pub mod recovery;
pub mod score;
pub mod swd;
pub mod translation;

pub use moments::{EXPLICIT_MAX_D, MomentTensors, moment_gap, moment_gaps};
pub use recovery::{
    Level1Recovery, alignment, atoms, dictionary_recovery, level1_recovery, mean_best_alignment,
};
pub use score::{Reference, Score, ScoreOptions, score_levels};
pub use swd::sliced_wasserstein;

/// Patches `(B n^2, c q q)` of images `(B, c, n q, n q)`, rows in `(b, py, px)`
/// order, columns in `(c, qy, qx)` order (the atoms' order).
pub fn patches(x: ArrayView4<'_, f64>, q: usize) -> Array2<f64> {
    let (b, c, r, _) = x.dim();
    let n = r / q;
    let mut out = Array2::zeros((b * n * n, c * q * q));
    for bi in 0..b {
        for py in 0..n {
            for px in 0..n {
                let mut row = out.row_mut((bi * n + py) * n + px);
                for ch in 0..c {
                    for dy in 0..q {
                        for dx in 0..q {
                            row[(ch * q + dy) * q + dx] = x[[bi, ch, py * q + dy, px * q + dx]];
                        }
                    }
                }
            }
        }
    }
    out
}
/// Errors of the metrics.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// The learner has fewer atoms than the truth at a level: no one-to-one
    /// matching of the true atoms exists.
    #[error(
        "level {level}: the learner has {learner} atoms, fewer than the truth's {truth}; every true atom needs its own learner atom"
    )]
    TooFewAtoms {
        /// Level (1-based).
        level: usize,
        /// The truth's atoms.
        truth: usize,
        /// The learner's atoms.
        learner: usize,
    },
    /// The two dictionaries have different atom dimensions.
    #[error(
        "level {level}: atoms of dimension {learner} cannot be matched to atoms of dimension {truth}"
    )]
    Dimension {
        /// Level (1-based).
        level: usize,
        /// The truth's atom dimension.
        truth: usize,
        /// The learner's atom dimension.
        learner: usize,
    },
    /// A level the parameters do not have.
    #[error("level {level} does not exist (the model has {levels} levels)")]
    NoLevel {
        /// Level (1-based).
        level: usize,
        /// Levels of the model.
        levels: usize,
    },
    /// A set of images does not have the shapes the truth's config needs.
    #[error("{set}: {reason}")]
    Shape {
        /// Which set (`real`, `fake`, `floor`).
        set: String,
        /// What is wrong, with the expected and found shapes.
        reason: String,
    },
    /// A set of images holds NaN or infinity.
    #[error("{set}: level {level}, sample {sample} holds NaN or infinity")]
    NonFinite {
        /// Which set.
        set: String,
        /// Level (1-based).
        level: usize,
        /// The first offending sample (0-based).
        sample: usize,
    },
    /// A set has too few samples for a metric.
    #[error("{set}: {n} samples; the metrics need at least {need}")]
    TooFewSamples {
        /// Which set.
        set: String,
        /// Samples it has.
        n: usize,
        /// Samples needed.
        need: usize,
    },
    /// A set of images holds a value too large to score (its squares and
    /// fourth powers would overflow the metrics' float64 sums).
    #[error(
        "{set}: level {level}, sample {sample} holds the value {value:e}; the metrics score values of magnitude at most {max:e} (the model's images are of order 1): rescale the images or fix the generator"
    )]
    TooLarge {
        /// Which set.
        set: String,
        /// Level (1-based).
        level: usize,
        /// The first offending sample (0-based).
        sample: usize,
        /// Its largest value in magnitude.
        value: f64,
        /// The bound ([`score::MAX_ABS_VALUE`]).
        max: f64,
    },
    /// An option of the metrics breaks its rule.
    #[error("{option} = {value}: {rule}")]
    Option {
        /// The option, as the command line spells it (`--patch-dirs`).
        option: String,
        /// The value given.
        value: usize,
        /// The rule it breaks.
        rule: String,
    },
    /// A metric came out NaN or infinite: it cannot be computed for these sets.
    #[error("{metric} cannot be computed for these sets: {reason}")]
    NotComputable {
        /// The metric, with its level (`level 2 patch SWD`).
        metric: String,
        /// What came out and why that can happen.
        reason: String,
    },
    /// The floor set is not the size of the generated set.
    #[error(
        "the floor's real set has {floor} samples but the generated set {fake}: a floor is only the floor of a set of its own size"
    )]
    FloorSize {
        /// Samples in the floor set.
        floor: usize,
        /// Samples in the generated set.
        fake: usize,
    },
}

/// Rows of `a` as slices (a standard-layout copy is made if needed).
pub fn rows(a: &Array2<f64>) -> Vec<Vec<f64>> {
    a.outer_iter().map(|r| r.to_vec()).collect()
}
