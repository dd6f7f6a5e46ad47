//! The sample metrics of a generated set against a real reference, per level,
//! each with its **floor**: the same metric between the real reference and an
//! independent real set of the same size as the generated one (what a perfect
//! generator scores, up to sampling noise). training.md "Metrics", issue 10 item 5.
//!
//! Per level `l` (images `(N, c, r_l, r_l)`):
//!
//! | field | metric | floor |
//! |---|---|---|
//! | `patch_swd` | SWD of `q x q` patches ([`super::swd`], `patch_dirs` directions; at most `max_rows` random patches per set) | yes |
//! | `pyramid_swd[j]` | ProGAN's SWD of band `j` of the Laplacian pyramid ([`super::pyramid`]) | yes |
//! | `msssim` | mean MS-SSIM of random generated pairs, beside real pairs ([`super::msssim`]) | real value |
//! | `moment_gaps[c-1]` | `||E x^{(x)c}_real - E x^{(x)c}_fake||_F / ||E x^{(x)c}_real||_F`, `c = 1..4` ([`super::moments`]; exact tensors over all patches for `D <= 16`, Gram sums over at most `max_gram_rows` random patches otherwise) | yes |
//! | `coverage` | atom and atom-pair coverage with the true dictionary ([`super::coverage`]) | yes |
//!
//! [`Reference`] holds everything computed from the real sets (sorted
//! projections, moment tensors, activity, floors), so a training loop builds
//! it once and calls [`Reference::score`] on each generated set;
//! [`score_levels`] does both in one call. All randomness (directions,
//! subsets, neighbourhoods, pairs) derives from one `seed`, and the same
//! directions and subsets serve the generated and the floor sets, so their
//! difference is not direction noise.

use ndarray::{Array2, Array4, ArrayView4, Axis, s};
use serde::{Deserialize, Serialize};

use super::coverage::{self, AtomActivity, Coverage};
use super::moments::{EXPLICIT_MAX_D, MomentTensors, moment_gaps};
use super::swd::{directions, sorted_projections, subsample_rows, swd_of_sorted};
use super::{MetricsError, msssim, patches, pyramid};
use crate::model::{Config, Labelled, Paired, Params, Sampler};

/// Sizes of the sample metrics; [`Default`] is what `fsrgan score` uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreOptions {
    /// Random directions of the patch SWD.
    pub patch_dirs: usize,
    /// Most rows per set in one SWD: patches of a level, or descriptors of a
    /// pyramid band (descriptors per image `clamp(max_rows / N, 1, 128)`).
    pub max_rows: usize,
    /// Most patches per set for the Gram-sum moment gaps (patch dimension `D > 16`).
    pub max_gram_rows: usize,
    /// Most MS-SSIM pairs per set.
    pub max_pairs: usize,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            patch_dirs: 128,
            max_rows: 1 << 16,
            max_gram_rows: 4096,
            max_pairs: 1024,
        }
    }
}

/// The most random directions of the patch SWD ([`ScoreOptions::patch_dirs`]).
pub const MAX_PATCH_DIRS: usize = 4096;
/// The most entries of the patch SWD's projections,
/// `patch_dirs x max_rows` (float64: 16 GiB).
pub const MAX_PROJECTIONS: usize = 1 << 31;
/// The most rows of the Gram-sum moment gaps ([`ScoreOptions::max_gram_rows`]):
/// their cost grows with the square of the rows.
pub const MAX_GRAM_ROWS: usize = 1 << 15;
/// The largest magnitude of a value [`score_against_dataset`] (and the
/// command line, and Python) scores: the metrics sum fourth powers and
/// Gram products of the values in float64, which stay finite far beyond
/// it; the model's images are of order 1.
pub const MAX_ABS_VALUE: f64 = 1e15;

impl ScoreOptions {
    /// Checks every size: each at least 1 (a metric of no direction, no row or
    /// no pair measures nothing), `patch_dirs <= MAX_PATCH_DIRS`,
    /// `patch_dirs x max_rows <= MAX_PROJECTIONS`,
    /// `max_gram_rows <= MAX_GRAM_ROWS`.
    ///
    /// # Errors
    /// [`MetricsError::Option`] naming the option (as `--patch-dirs` spells it,
    /// with the Python keyword) and its rule.
    pub fn validated(&self) -> Result<&ScoreOptions, MetricsError> {
        let bad = |option: &str, value: usize, rule: String| MetricsError::Option {
            option: option.to_string(),
            value,
            rule,
        };
        for (option, value, what) in [
            (
                "--patch-dirs (patch_dirs)",
                self.patch_dirs,
                "random directions",
            ),
            ("--max-rows (max_rows)", self.max_rows, "rows per set"),
            (
                "--max-gram-rows (max_gram_rows)",
                self.max_gram_rows,
                "patches per set",
            ),
            ("--max-pairs (max_pairs)", self.max_pairs, "pairs per set"),
        ] {
            if value == 0 {
                return Err(bad(
                    option,
                    value,
                    format!("must be at least 1: a metric of 0 {what} measures nothing"),
                ));
            }
        }
        if self.patch_dirs > MAX_PATCH_DIRS {
            return Err(bad(
                "--patch-dirs (patch_dirs)",
                self.patch_dirs,
                format!("must be at most {MAX_PATCH_DIRS}"),
            ));
        }
        if self.patch_dirs.saturating_mul(self.max_rows) > MAX_PROJECTIONS {
            return Err(bad(
                "--max-rows (max_rows)",
                self.max_rows,
                format!(
                    "patch_dirs x max_rows = {} x {} exceeds {MAX_PROJECTIONS} projections (16 GiB): lower one of them",
                    self.patch_dirs, self.max_rows
                ),
            ));
        }
        if self.max_gram_rows > MAX_GRAM_ROWS {
            return Err(bad(
                "--max-gram-rows (max_gram_rows)",
                self.max_gram_rows,
                format!("must be at most {MAX_GRAM_ROWS} (the cost grows with its square)"),
            ));
        }
        Ok(self)
    }
}

/// Checks that every value of `xs` has magnitude at most [`MAX_ABS_VALUE`]
/// (NaN and infinity included, as [`check_set`] refuses them).
///
/// # Errors
/// [`MetricsError::NonFinite`] or [`MetricsError::TooLarge`] naming the set,
/// the level and the first offending sample.
pub fn check_magnitude(set: &str, xs: &[Array4<f64>]) -> Result<(), MetricsError> {
    for (l, x) in xs.iter().enumerate() {
        for (i, smp) in x.axis_iter(Axis(0)).enumerate() {
            let worst = smp.iter().fold(0.0f64, |m, v| {
                if v.is_nan() || m.is_nan() {
                    f64::NAN
                } else {
                    m.max(v.abs())
                }
            });
            if !worst.is_finite() {
                return Err(MetricsError::NonFinite {
                    set: set.to_string(),
                    level: l + 1,
                    sample: i,
                });
            }
            if worst > MAX_ABS_VALUE {
                return Err(MetricsError::TooLarge {
                    set: set.to_string(),
                    level: l + 1,
                    sample: i,
                    value: worst,
                    max: MAX_ABS_VALUE,
                });
            }
        }
    }
    Ok(())
}

/// A metric and its floor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WithFloor {
    /// The metric of the generated set.
    pub value: f64,
    /// The same metric of an independent real set of the same size.
    pub floor: f64,
}

impl WithFloor {
    /// `value / floor`: about 1 for a generator the metric cannot tell from the truth.
    pub fn ratio(&self) -> f64 {
        self.value / self.floor
    }
}

/// One band of the Laplacian pyramid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    /// Side of the band.
    pub resolution: usize,
    /// Side of its neighbourhoods (`min(7, resolution)`).
    pub nhood: usize,
    /// Descriptors of the real reference.
    pub descriptors_real: usize,
    /// Descriptors of the generated (and of the floor) set.
    pub descriptors: usize,
    /// The SWD of the normalised descriptors, with its floor.
    pub swd: WithFloor,
}

/// MS-SSIM of random pairs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MsSsimScore {
    /// Scales used.
    pub scales: usize,
    /// Dynamic range `L` (max - min of the real images of the level).
    pub dynamic_range: f64,
    /// Mean over generated pairs.
    pub fake: f64,
    /// Its standard error.
    pub fake_se: f64,
    /// Generated pairs.
    pub fake_pairs: usize,
    /// Mean over real pairs (the reference set).
    pub real: f64,
    /// Its standard error.
    pub real_se: f64,
    /// Real pairs.
    pub real_pairs: usize,
}

/// Atom coverage of the generated set and of the floor set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageScore {
    /// The typical active real coefficient (median of the active real coefficients).
    pub typical: f64,
    /// The activity threshold, a fifth of `typical`.
    pub threshold: f64,
    /// The generated set's coverage.
    pub fake: Coverage,
    /// The floor set's coverage (an independent real set of the same size).
    pub floor: Coverage,
    /// Why the coverage could not be computed (a real set without a truth:
    /// the atoms are decoded with the true dictionary); then every rate is
    /// NaN and no atom is counted. Absent when it was computed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_computable: Option<String>,
}

/// Every sample metric of one level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelScore {
    /// Level (1-based).
    pub level: usize,
    /// Image side `r_l`.
    pub resolution: usize,
    /// Patch dimension `D = c q^2`.
    pub patch_dim: usize,
    /// Patch SWD with its floor.
    pub patch_swd: WithFloor,
    /// Patches per set in the patch SWD (real reference, generated).
    pub patch_rows: (usize, usize),
    /// ProGAN's pyramid SWD, finest band first.
    pub pyramid_swd: Vec<Band>,
    /// MS-SSIM of generated and real pairs.
    pub msssim: MsSsimScore,
    /// Moment gaps `c = 1..4` with their floors.
    pub moment_gaps: Vec<WithFloor>,
    /// `tensors` (exact, all patches) or `gram` (Gram sums of a random subset).
    pub moment_method: String,
    /// Atom and pair coverage.
    pub coverage: CoverageScore,
}

/// The sample metrics of a generated set, every level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    /// Samples of the real reference.
    pub n_real: usize,
    /// Samples of the generated set (and of the floor set).
    pub n_fake: usize,
    /// The seed of every random choice.
    pub seed: u64,
    /// The sizes used.
    pub options: ScoreOptions,
    /// Per level.
    pub levels: Vec<LevelScore>,
}

impl Score {
    /// Checks that every metric came out a number: each value and floor of
    /// the SWDs and moment gaps, and the MS-SSIM means.
    ///
    /// # Errors
    /// [`MetricsError::NotComputable`] naming the first metric (and level)
    /// that is NaN or infinite.
    pub fn check_computable(&self) -> Result<(), MetricsError> {
        let why = |v: f64, side: &str| {
            format!(
                "its {side} is {v}: the sets' values make the sums overflow or divide by zero (e.g. a level whose real images are all zero)"
            )
        };
        for lv in &self.levels {
            let mut named: Vec<(String, WithFloor)> = vec![("patch SWD".to_string(), lv.patch_swd)];
            for b in &lv.pyramid_swd {
                named.push((
                    format!("pyramid SWD {}x{} band", b.resolution, b.resolution),
                    b.swd,
                ));
            }
            for (c, g) in lv.moment_gaps.iter().enumerate() {
                named.push((format!("moment gap c={}", c + 1), *g));
            }
            named.push((
                "MS-SSIM".to_string(),
                WithFloor {
                    value: lv.msssim.fake,
                    floor: lv.msssim.real,
                },
            ));
            for (name, w) in named {
                for (v, side) in [(w.value, "value"), (w.floor, "floor")] {
                    if !v.is_finite() {
                        return Err(MetricsError::NotComputable {
                            metric: format!("level {} {name}", lv.level),
                            reason: why(v, side),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// `n` fresh samples `(X_1, ..., X_L)` of the truth from the sample streams of
/// `seed` (the sampler's), rounded to float32 if `f32` (as a float32 dataset
/// stores them): a real set independent of any other seed's.
pub fn fresh_real(
    truth: &crate::model::Params,
    seed: u64,
    n: usize,
    f32: bool,
) -> Vec<Array4<f64>> {
    let cfg = &truth.config;
    let mut out: Vec<Array4<f64>> = (0..cfg.levels)
        .map(|l| {
            let r = cfg.resolution(l);
            Array4::zeros((n, cfg.channels, r, r))
        })
        .collect();
    let sampler = Sampler::new(truth, seed);
    let chunk = 4096;
    let mut done = 0;
    while done < n {
        let len = chunk.min(n - done);
        let batch = sampler.sample(done as u64, len);
        for (o, x) in out.iter_mut().zip(&batch.x) {
            o.slice_mut(s![done..done + len, .., .., ..]).assign(x);
        }
        done += len;
    }
    if f32 {
        for o in &mut out {
            o.mapv_inplace(|v| f64::from(v as f32));
        }
    }
    out
}

/// `n` fresh samples of the labelled mixture `mix` from the streams of
/// `seed` ([`Labelled::sample`]`(seed, 0, n)`, in chunks), rounded to
/// float32 if `f32`, with their labels.
pub fn fresh_labelled(
    mix: &Labelled,
    seed: u64,
    n: usize,
    f32: bool,
) -> (Vec<Array4<f64>>, Vec<usize>) {
    let cfg = &mix.classes[0].config;
    let mut out = zeros_levels(cfg, n);
    let mut labels = Vec::with_capacity(n);
    let chunk = 4096;
    let mut done = 0;
    while done < n {
        let len = chunk.min(n - done);
        let (x, y) = mix.sample(seed, done as u64, len);
        for (o, x) in out.iter_mut().zip(&x) {
            o.slice_mut(s![done..done + len, .., .., ..]).assign(x);
        }
        labels.extend(y);
        done += len;
    }
    if f32 {
        round_f32(&mut out);
    }
    (out, labels)
}

/// `n` fresh samples of the domain pair `p` from the streams of `seed`
/// ([`Paired::sample`]`(seed, 0, n)`, in chunks), rounded to float32 if
/// `f32`: (domain A's levels, domain B's levels) of the same codes.
pub fn fresh_paired(
    p: &Paired,
    seed: u64,
    n: usize,
    f32: bool,
) -> (Vec<Array4<f64>>, Vec<Array4<f64>>) {
    let cfg = &p.a.config;
    let (mut a, mut b) = (zeros_levels(cfg, n), zeros_levels(cfg, n));
    let chunk = 4096;
    let mut done = 0;
    while done < n {
        let len = chunk.min(n - done);
        let (xa, xb) = p.sample(seed, done as u64, len);
        for (o, x) in a.iter_mut().zip(&xa).chain(b.iter_mut().zip(&xb)) {
            o.slice_mut(s![done..done + len, .., .., ..]).assign(x);
        }
        done += len;
    }
    if f32 {
        round_f32(&mut a);
        round_f32(&mut b);
    }
    (a, b)
}

fn zeros_levels(cfg: &crate::model::Config, n: usize) -> Vec<Array4<f64>> {
    (0..cfg.levels)
        .map(|l| {
            let r = cfg.resolution(l);
            Array4::zeros((n, cfg.channels, r, r))
        })
        .collect()
}

fn round_f32(xs: &mut [Array4<f64>]) {
    for o in xs {
        o.mapv_inplace(|v| f64::from(v as f32));
    }
}

/// The tag of the floor set's streams in [`derive_seed`].
pub const FLOOR: u64 = 0x0066_6C6F_6F72;

/// The sampler seed of the floor set that scores a generated set against a
/// dataset sampled with `dataset_seed`, for the metrics' `seed`:
/// `derive_seed(dataset_seed, [FLOOR, seed])`, moved by one in the
/// (astronomically unlikely) case that it equals `dataset_seed`, so the floor
/// set never repeats the dataset's own sample streams.
pub fn floor_seed(dataset_seed: u64, seed: u64) -> u64 {
    let s = derive_seed(dataset_seed, &[FLOOR, seed]);
    if s == dataset_seed {
        s.wrapping_add(1)
    } else {
        s
    }
}

/// Scores `fake` against a stored real dataset, as `fsrgan score` and the
/// Python `fsrgan.score` do: the floor set is `N = len(fake)` fresh samples of
/// `truth` from the streams of [`floor_seed`]`(dataset_seed, seed)` (rounded
/// to float32 when `real_f32`, as the dataset stores them), then
/// [`Reference::new`]`(real, floor, truth, opts, seed)`[`.score`](Reference::score)`(fake)`.
/// Returns the score and the floor seed.
///
/// # Errors
/// [`MetricsError::Option`] for options that break
/// [`ScoreOptions::validated`]; [`MetricsError`] for sets of the wrong
/// shapes, non-finite values, values beyond [`MAX_ABS_VALUE`]
/// ([`check_magnitude`]) or fewer than 2 samples;
/// [`MetricsError::NotComputable`] if a metric still comes out NaN or
/// infinite ([`Score::check_computable`]).
pub fn score_against_dataset(
    real: &[Array4<f64>],
    truth: &Params,
    dataset_seed: u64,
    real_f32: bool,
    fake: &[Array4<f64>],
    opts: &ScoreOptions,
    seed: u64,
) -> Result<(Score, u64), MetricsError> {
    opts.validated()?;
    let n = check_set("generated set", fake, truth)?;
    check_magnitude("generated set", fake)?;
    check_magnitude("real", real)?;
    let fs = floor_seed(dataset_seed, seed);
    let floor = fresh_real(truth, fs, n, real_f32);
    let score = Reference::new(real, &floor, truth, opts, seed)?.score(fake)?;
    score.check_computable()?;
    Ok((score, fs))
}

/// As [`score_against_dataset`] for a labelled mixture's dataset: the floor
/// set is `N = len(fake)` fresh samples of the mixture
/// ([`fresh_labelled`]`(mix, floor_seed(dataset_seed, seed), N, real_f32)`,
/// labels drawn afresh), the truth that decodes the atoms (coverage) is
/// class 0's. Returns the score and the floor seed.
///
/// # Errors
/// As [`score_against_dataset`].
pub fn score_against_mixture(
    real: &[Array4<f64>],
    mix: &Labelled,
    dataset_seed: u64,
    real_f32: bool,
    fake: &[Array4<f64>],
    opts: &ScoreOptions,
    seed: u64,
) -> Result<(Score, u64), MetricsError> {
    opts.validated()?;
    let truth = mix.classes.first().ok_or_else(|| MetricsError::Shape {
        set: "real".into(),
        reason: "a labelled mixture without classes".into(),
    })?;
    let n = check_set("generated set", fake, truth)?;
    check_magnitude("generated set", fake)?;
    check_magnitude("real", real)?;
    let fs = floor_seed(dataset_seed, seed);
    let floor = fresh_labelled(mix, fs, n, real_f32).0;
    let score = Reference::new(real, &floor, truth, opts, seed)?.score(fake)?;
    score.check_computable()?;
    Ok((score, fs))
}

/// The tag of the split of a real set without a truth in [`derive_seed`].
pub const FLOOR_SPLIT: u64 = 0x0073_706C_6974;

/// Which samples of a real set without a truth are the floor set
/// ([`score_without_truth`]): `n` of `n_real` drawn uniformly at random
/// without replacement (ChaCha8 of `derive_seed(seed, [FLOOR_SPLIT])`),
/// in increasing order; the others are the reference.
pub fn floor_split(n_real: usize, n: usize, seed: u64) -> Vec<usize> {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(derive_seed(seed, &[FLOOR_SPLIT]));
    let mut idx = rand::seq::index::sample(&mut rng, n_real, n.min(n_real)).into_vec();
    idx.sort_unstable();
    idx
}

/// Scores `fake` against a real set without a truth (`fsrgan score` and
/// Python's `fsrgan.score` of a plain REAL): the floor set is `N =
/// len(fake)` samples of `real` chosen by [`floor_split`]`(N_real, N,
/// seed)`, the reference the other `N_real - N`, then
/// [`Reference::without_truth`]: every metric but the atom coverage, which
/// is reported as not computable. Returns the score and the floor's indices.
///
/// # Errors
/// [`MetricsError::TooFewSamples`] unless `N_real >= N + 2` (the split
/// needs a reference of at least 2 samples); as [`score_against_dataset`]
/// otherwise.
pub fn score_without_truth(
    real: &[Array4<f64>],
    config: &Config,
    fake: &[Array4<f64>],
    opts: &ScoreOptions,
    seed: u64,
) -> Result<(Score, Vec<usize>), MetricsError> {
    opts.validated()?;
    let n = check_set_shapes("generated set", fake, config)?;
    let n_real = check_set_shapes("real", real, config)?;
    check_magnitude("generated set", fake)?;
    check_magnitude("real", real)?;
    if n_real < n + 2 {
        return Err(MetricsError::TooFewSamples {
            set: format!(
                "real (without a truth it is split into a floor set of the generated set's {n} samples and a reference of the rest)"
            ),
            n: n_real,
            need: n + 2,
        });
    }
    let floor_rows = floor_split(n_real, n, seed);
    let mut is_floor = vec![false; n_real];
    floor_rows.iter().for_each(|&i| is_floor[i] = true);
    let rest: Vec<usize> = (0..n_real).filter(|&i| !is_floor[i]).collect();
    let pick =
        |r: &[usize]| -> Vec<Array4<f64>> { real.iter().map(|x| x.select(Axis(0), r)).collect() };
    let (reference, floor) = (pick(&rest), pick(&floor_rows));
    let score = Reference::without_truth(&reference, &floor, config, opts, seed)?.score(fake)?;
    score.check_computable()?;
    Ok((score, floor_rows))
}

/// One class of a labelled mixture scored on its own ([`score_per_class`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassScore {
    /// The class `k`.
    pub class: usize,
    /// Real samples of class `k` (the reference).
    pub n_real: usize,
    /// Generated samples labelled `k` (and the size of class `k`'s floor set).
    pub n_fake: usize,
    /// The score, or `None` when a side has fewer than 2 samples.
    pub score: Option<Score>,
    /// Why the class was not scored, if it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// Scores a labelled generated set class by class: for each class `k`, the
/// generated samples labelled `k` against the real samples of class `k`
/// and class `k`'s truth, as [`score_against_dataset`] scores a set (its
/// floor: that many fresh samples of class `k`, from the streams of
/// [`floor_seed`]`(dataset_seed, seed)`). A class with fewer than 2 real or
/// generated samples is reported as skipped.
///
/// # Errors
/// [`MetricsError::Shape`] if a label set's length differs from its
/// samples' or a label is not a class; [`MetricsError`] from the scoring.
#[allow(clippy::too_many_arguments)]
pub fn score_per_class(
    real: &[Array4<f64>],
    real_labels: &[usize],
    classes: &[Params],
    dataset_seed: u64,
    real_f32: bool,
    fake: &[Array4<f64>],
    fake_labels: &[usize],
    opts: &ScoreOptions,
    seed: u64,
) -> Result<Vec<ClassScore>, MetricsError> {
    let k = classes.len();
    for (set, xs, y) in [
        ("real", real, real_labels),
        ("generated set", fake, fake_labels),
    ] {
        let n = xs.first().map_or(0, |x| x.len_of(Axis(0)));
        if y.len() != n {
            return Err(MetricsError::Shape {
                set: set.into(),
                reason: format!("{} labels for {n} samples", y.len()),
            });
        }
        if let Some(bad) = y.iter().find(|&&c| c >= k) {
            return Err(MetricsError::Shape {
                set: set.into(),
                reason: format!("label {bad} is not one of the {k} classes"),
            });
        }
    }
    let rows =
        |y: &[usize], c: usize| -> Vec<usize> { (0..y.len()).filter(|&i| y[i] == c).collect() };
    let pick = |xs: &[Array4<f64>], r: &[usize]| -> Vec<Array4<f64>> {
        xs.iter().map(|x| x.select(Axis(0), r)).collect()
    };
    classes
        .iter()
        .enumerate()
        .map(|(c, truth)| {
            let (rr, fr) = (rows(real_labels, c), rows(fake_labels, c));
            let (n_real, n_fake) = (rr.len(), fr.len());
            if n_real < 2 || n_fake < 2 {
                return Ok(ClassScore {
                    class: c,
                    n_real,
                    n_fake,
                    score: None,
                    skipped: Some(format!(
                        "{n_real} real and {n_fake} generated samples; the metrics need at least 2 of each"
                    )),
                });
            }
            let (score, _) = score_against_dataset(
                &pick(real, &rr),
                truth,
                dataset_seed,
                real_f32,
                &pick(fake, &fr),
                opts,
                seed,
            )?;
            Ok(ClassScore {
                class: c,
                n_real,
                n_fake,
                score: Some(score),
                skipped: None,
            })
        })
        .collect()
}

pub use crate::model::rng::derive_seed;

const SEED_PATCH_DIRS: u64 = 1;
const SEED_BAND_DIRS: u64 = 2;
const SEED_PATCH_ROWS: u64 = 3;
const SEED_NHOODS: u64 = 4;
const SEED_GRAM_ROWS: u64 = 5;
const SEED_PAIRS: u64 = 6;

/// Moments of a set: exact tensors or a subset of rows.
#[derive(Debug, Clone)]
enum Moments {
    Tensors(MomentTensors),
    Rows(Array2<f64>),
}

/// What is compared of one set at one level.
#[derive(Debug, Clone)]
struct SetStats {
    patch_proj: Array2<f64>,
    bands: Vec<Array2<f64>>,
    moments: Moments,
    /// The atoms' activity, decoded with the truth (none without one).
    activity: Option<AtomActivity>,
}

impl SetStats {
    fn patch_rows(&self) -> usize {
        self.patch_proj.ncols()
    }
}

/// The metrics of one set against the real reference at one level.
#[derive(Debug, Clone)]
struct Compared {
    patch_swd: f64,
    bands: Vec<f64>,
    gaps: [f64; 4],
    coverage: Coverage,
}

/// The choices shared by every set at one level: directions and threshold.
#[derive(Debug, Clone)]
struct Plan {
    l: usize,
    r: usize,
    patch_dirs: Array2<f64>,
    band_dirs: Vec<Array2<f64>>,
    threshold: f64,
}

/// The real side of one level.
#[derive(Debug, Clone)]
struct LevelRef {
    plan: Plan,
    real: SetStats,
    typical: f64,
    range: f64,
    msssim_real: (f64, f64, usize),
    floor: Compared,
}

/// The real reference and the floors, ready to score generated sets of the
/// floor set's size; see the module docs.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The truth that decodes the atoms (coverage), if there is one.
    truth: Option<Params>,
    /// The model's shapes.
    config: Config,
    opts: ScoreOptions,
    seed: u64,
    n_real: usize,
    n_floor: usize,
    levels: Vec<LevelRef>,
}

/// The level of an array name `x{l}` (`l >= 1`), if it is one.
pub fn level_of(name: &str) -> Option<usize> {
    let digits = name.strip_prefix('x')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|l| *l >= 1)
}

/// The one rule on a generated set's array names, for the command line and
/// Python alike: an array `x{l}` must name a level of the real data
/// (`1 <= l <= levels`); other names are ignored. Returns the ignored names.
///
/// # Errors
/// [`MetricsError::Shape`] naming the set, the array and the real data's
/// levels.
pub fn check_level_names<'a>(
    set: &str,
    names: impl IntoIterator<Item = &'a str>,
    levels: usize,
) -> Result<Vec<String>, MetricsError> {
    let mut ignored = Vec::new();
    for name in names {
        match level_of(name) {
            Some(l) if l <= levels => {}
            Some(l) => {
                return Err(MetricsError::Shape {
                    set: set.to_string(),
                    reason: format!(
                        "array `{name}`: the real data have {levels} levels (x1..x{levels}), not {l}"
                    ),
                });
            }
            None => ignored.push(name.to_string()),
        }
    }
    Ok(ignored)
}

/// Checks that `xs` are the levels of the truth's config, `(N, c, r_l, r_l)`
/// with one `N >= 2`, all finite. Returns `N`.
///
/// # Errors
/// [`MetricsError::Shape`], [`MetricsError::NonFinite`], [`MetricsError::TooFewSamples`].
pub fn check_set(set: &str, xs: &[Array4<f64>], truth: &Params) -> Result<usize, MetricsError> {
    check_set_shapes(set, xs, &truth.config)
}

/// [`check_set`] against a config's shapes (no truth needed).
///
/// # Errors
/// As [`check_set`].
pub fn check_set_shapes(
    set: &str,
    xs: &[Array4<f64>],
    cfg: &Config,
) -> Result<usize, MetricsError> {
    let shape_err = |reason: String| MetricsError::Shape {
        set: set.to_string(),
        reason,
    };
    if xs.len() != cfg.levels {
        return Err(shape_err(format!(
            "{} levels, the truth has {}",
            xs.len(),
            cfg.levels
        )));
    }
    let n = xs[0].len_of(Axis(0));
    for (l, x) in xs.iter().enumerate() {
        let r = cfg.resolution(l);
        let want = [x.len_of(Axis(0)), cfg.channels, r, r];
        if x.shape() != want {
            return Err(shape_err(format!(
                "x{} has shape {:?}; level {} needs (N, {}, {r}, {r})",
                l + 1,
                x.shape(),
                l + 1,
                cfg.channels
            )));
        }
        if x.len_of(Axis(0)) != n {
            return Err(shape_err(format!(
                "x{} has {} samples but x1 has {n}",
                l + 1,
                x.len_of(Axis(0))
            )));
        }
        if let Some(i) = x
            .axis_iter(Axis(0))
            .position(|s| s.iter().any(|v| !v.is_finite()))
        {
            return Err(MetricsError::NonFinite {
                set: set.to_string(),
                level: l + 1,
                sample: i,
            });
        }
    }
    if n < 2 {
        return Err(MetricsError::TooFewSamples {
            set: set.to_string(),
            n,
            need: 2,
        });
    }
    Ok(n)
}

impl Reference {
    /// Computes the real side from `real` (any size) and the floors from
    /// `floor_real`, an independent real set of the size of the generated
    /// sets to be scored. `truth` decodes the atoms (coverage) and fixes the shapes.
    ///
    /// # Errors
    /// [`MetricsError::Option`] for options that break
    /// [`ScoreOptions::validated`]; [`MetricsError`] for sets of the wrong
    /// shapes, non-finite values or fewer than 2 samples.
    pub fn new(
        real: &[Array4<f64>],
        floor_real: &[Array4<f64>],
        truth: &Params,
        opts: &ScoreOptions,
        seed: u64,
    ) -> Result<Reference, MetricsError> {
        Self::build(real, floor_real, &truth.config, Some(truth), opts, seed)
    }

    /// As [`Reference::new`] for real sets without a truth: every metric
    /// but the atom coverage (which decodes with the true dictionary; its
    /// [`CoverageScore::not_computable`] says so), with `config` fixing the shapes.
    ///
    /// # Errors
    /// As [`Reference::new`].
    pub fn without_truth(
        real: &[Array4<f64>],
        floor_real: &[Array4<f64>],
        config: &Config,
        opts: &ScoreOptions,
        seed: u64,
    ) -> Result<Reference, MetricsError> {
        Self::build(real, floor_real, config, None, opts, seed)
    }

    fn build(
        real: &[Array4<f64>],
        floor_real: &[Array4<f64>],
        cfg: &Config,
        truth: Option<&Params>,
        opts: &ScoreOptions,
        seed: u64,
    ) -> Result<Reference, MetricsError> {
        opts.validated()?;
        let n_real = check_set_shapes("real", real, cfg)?;
        let n_floor = check_set_shapes("floor", floor_real, cfg)?;
        let mut levels = Vec::with_capacity(cfg.levels);
        for l in 0..cfg.levels {
            let x = real[l].view();
            let r = cfg.resolution(l);
            let d = cfg.channels * cfg.patch * cfg.patch;
            let codes = truth.map(|t| coverage::true_codes(t, l, x));
            let typical = codes
                .as_ref()
                .map_or(f64::NAN, |c| coverage::typical_active(c.view()));
            let plan = Plan {
                l,
                r,
                patch_dirs: directions(
                    d,
                    opts.patch_dirs,
                    derive_seed(seed, &[SEED_PATCH_DIRS, l as u64]),
                ),
                band_dirs: pyramid::pyramid_sizes(r)
                    .iter()
                    .enumerate()
                    .map(|(j, &s)| {
                        let h = pyramid::nhood_side(s);
                        pyramid::pyramid_directions(
                            cfg.channels * h * h,
                            derive_seed(seed, &[SEED_BAND_DIRS, l as u64, j as u64]),
                        )
                    })
                    .collect(),
                threshold: coverage::ACTIVE_FRACTION * typical,
            };
            let (lo, hi) = x
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            let range = if hi > lo { hi - lo } else { 1.0 };
            let real_stats = stats_of(cfg, truth, opts, seed, &plan, x, codes, 0);
            let floor_stats =
                stats_of(cfg, truth, opts, seed, &plan, floor_real[l].view(), None, 1);
            levels.push(LevelRef {
                floor: compare(&real_stats, &floor_stats),
                real: real_stats,
                typical,
                range,
                msssim_real: msssim::mean_msssim_pairs(
                    x,
                    range,
                    opts.max_pairs,
                    derive_seed(seed, &[SEED_PAIRS, l as u64]),
                ),
                plan,
            });
        }
        Ok(Reference {
            truth: truth.cloned(),
            config: cfg.clone(),
            opts: opts.clone(),
            seed,
            n_real,
            n_floor,
            levels,
        })
    }

    /// Samples of the real reference.
    pub fn n_real(&self) -> usize {
        self.n_real
    }

    /// Samples a generated set must have (the floor set's size).
    pub fn n_fake(&self) -> usize {
        self.n_floor
    }

    /// Scores a generated set `fake` (levels `(N, c, r_l, r_l)`, `N` the floor set's size).
    ///
    /// # Errors
    /// [`MetricsError::FloorSize`] if `N` differs from the floor set's size;
    /// [`MetricsError`] for wrong shapes or non-finite values.
    pub fn score(&self, fake: &[Array4<f64>]) -> Result<Score, MetricsError> {
        let n_fake = check_set_shapes("generated set", fake, &self.config)?;
        if n_fake != self.n_floor {
            return Err(MetricsError::FloorSize {
                floor: self.n_floor,
                fake: n_fake,
            });
        }
        let cfg = &self.config;
        let truth = self.truth.as_ref();
        let mut levels = Vec::with_capacity(cfg.levels);
        for lref in &self.levels {
            let l = lref.plan.l;
            let x = fake[l].view();
            let st = stats_of(cfg, truth, &self.opts, self.seed, &lref.plan, x, None, 1);
            let c = compare(&lref.real, &st);
            let fl = &lref.floor;
            let with = |value: f64, floor: f64| WithFloor { value, floor };
            let (fm, fse, fp) = msssim::mean_msssim_pairs(
                x,
                lref.range,
                self.opts.max_pairs,
                derive_seed(self.seed, &[SEED_PAIRS, l as u64]),
            );
            let sizes = pyramid::pyramid_sizes(lref.plan.r);
            levels.push(LevelScore {
                level: l + 1,
                resolution: lref.plan.r,
                patch_dim: cfg.channels * cfg.patch * cfg.patch,
                patch_swd: with(c.patch_swd, fl.patch_swd),
                patch_rows: (lref.real.patch_rows(), st.patch_rows()),
                pyramid_swd: sizes
                    .iter()
                    .enumerate()
                    .map(|(j, &s)| Band {
                        resolution: s,
                        nhood: pyramid::nhood_side(s),
                        descriptors_real: lref.real.bands[j].ncols(),
                        descriptors: st.bands[j].ncols(),
                        swd: with(c.bands[j], fl.bands[j]),
                    })
                    .collect(),
                msssim: MsSsimScore {
                    scales: msssim::scales(lref.plan.r),
                    dynamic_range: lref.range,
                    fake: fm,
                    fake_se: fse,
                    fake_pairs: fp,
                    real: lref.msssim_real.0,
                    real_se: lref.msssim_real.1,
                    real_pairs: lref.msssim_real.2,
                },
                moment_gaps: (0..4).map(|i| with(c.gaps[i], fl.gaps[i])).collect(),
                moment_method: match lref.real.moments {
                    Moments::Tensors(_) => "tensors".into(),
                    Moments::Rows(_) => "gram".into(),
                },
                coverage: CoverageScore {
                    typical: lref.typical,
                    threshold: lref.plan.threshold,
                    fake: c.coverage,
                    floor: fl.coverage.clone(),
                    not_computable: truth.is_none().then(|| {
                        "the real set has no truth: atoms are decoded with the true dictionary"
                            .into()
                    }),
                },
            });
        }
        Ok(Score {
            n_real: self.n_real,
            n_fake,
            seed: self.seed,
            options: self.opts.clone(),
            levels,
        })
    }
}

/// The comparable statistics of the set `x` at level `plan.l` (`codes`: its
/// true codes if already decoded); `tag` 0 for the real reference, 1 for
/// generated and floor sets (the neighbourhood draws).
#[allow(clippy::too_many_arguments)]
fn stats_of(
    cfg: &Config,
    truth: Option<&Params>,
    opts: &ScoreOptions,
    seed: u64,
    plan: &Plan,
    x: ArrayView4<'_, f64>,
    codes: Option<Array4<f64>>,
    tag: u64,
) -> SetStats {
    let l = plan.l as u64;
    let n = x.len_of(Axis(0));
    let all = patches(x, cfg.patch);
    let rows = subsample_rows(
        all.view(),
        opts.max_rows,
        derive_seed(seed, &[SEED_PATCH_ROWS, l]),
    );
    let patch_proj = sorted_projections(rows.view(), plan.patch_dirs.view());
    let per_image = pyramid::per_image(n, opts.max_rows);
    let bands = pyramid::pyramid_bands(x)
        .iter()
        .enumerate()
        .map(|(j, band)| {
            pyramid::band_projections(
                band.view(),
                per_image,
                derive_seed(seed, &[SEED_NHOODS, l, j as u64, tag]),
                plan.band_dirs[j].view(),
            )
        })
        .collect();
    let moments = if all.ncols() <= EXPLICIT_MAX_D {
        let mut t = MomentTensors::new(all.ncols());
        t.add(all.view());
        Moments::Tensors(t)
    } else {
        Moments::Rows(subsample_rows(
            all.view(),
            opts.max_gram_rows,
            derive_seed(seed, &[SEED_GRAM_ROWS, l]),
        ))
    };
    let activity = truth.map(|t| {
        let codes = codes.unwrap_or_else(|| coverage::true_codes(t, plan.l, x));
        coverage::activity(codes.view(), plan.threshold)
    });
    SetStats {
        patch_proj,
        bands,
        moments,
        activity,
    }
}

/// The metrics of `other` against `real`.
fn compare(real: &SetStats, other: &SetStats) -> Compared {
    Compared {
        patch_swd: swd_of_sorted(real.patch_proj.view(), other.patch_proj.view()),
        bands: real
            .bands
            .iter()
            .zip(&other.bands)
            .map(|(a, b)| swd_of_sorted(a.view(), b.view()))
            .collect(),
        gaps: match (&real.moments, &other.moments) {
            (Moments::Tensors(a), Moments::Tensors(b)) => a.relative_gaps(b),
            (Moments::Rows(a), Moments::Rows(b)) => moment_gaps(a.view(), b.view()),
            _ => [f64::NAN; 4],
        },
        coverage: match (&real.activity, &other.activity) {
            (Some(a), Some(b)) => coverage::coverage(a, b),
            _ => not_measured(),
        },
    }
}

/// The coverage of a set without a truth: NaN rates, no atom counted.
fn not_measured() -> Coverage {
    Coverage {
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
    }
}

/// Scores `fake` against `real` with the floor set `floor_real` (an
/// independent real set of `fake`'s size) and the default [`ScoreOptions`]:
/// `Reference::new(real, floor_real, truth, &ScoreOptions::default(), seed)?.score(fake)`.
///
/// # Errors
/// As [`Reference::new`] and [`Reference::score`].
pub fn score_levels(
    real: &[Array4<f64>],
    fake: &[Array4<f64>],
    floor_real: &[Array4<f64>],
    truth: &Params,
    seed: u64,
) -> Result<Score, MetricsError> {
    Reference::new(real, floor_real, truth, &ScoreOptions::default(), seed)?.score(fake)
}
