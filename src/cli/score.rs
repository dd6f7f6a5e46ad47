//! `fsrgan score REAL_DIR FAKE`: the sample metrics of [`crate::metrics::score`]
//! for generated samples from any source, each with its floor.
//!
//! * REAL_DIR: a dataset written by `fsrgan sample`; its `params.safetensors`
//!   is the truth (atom coverage decodes with it), its samples the reference.
//! * FAKE: a dataset directory (`fsrgan sample` or `fsrgan generate`), a
//!   directory of `x1.npy .. xL.npy`, or an `.npz`/`.safetensors` file with
//!   arrays `x1 .. xL` of shape `(N, c, r_l, r_l)`, float32 or float64 — e.g.
//!   `np.savez("fake.npz", x1=..., x2=...)`. Other arrays are ignored.
//! * The floor set: `N` fresh samples of the truth (the sampler with a seed
//!   derived from the dataset's and `--seed`, so never the dataset's own
//!   streams), rounded to float32 when the real data are stored so. A fresh
//!   draw keeps the whole of REAL_DIR as the reference and needs no REAL_DIR
//!   twice the size of FAKE, which a disjoint split would; the sampler is
//!   exact, so it is as real as REAL_DIR.
//!
//! * A labelled REAL_DIR (`fsrgan sample --classes K`): the floor set is a
//!   fresh draw of the mixture (labels drawn afresh). When FAKE also holds
//!   labels `y` (int64, or floats with integral values, `0 <= y < K`), each
//!   class `k` is scored on its own: FAKE's samples labelled `k` against
//!   REAL_DIR's samples of class `k` and class `k`'s truth, beside the floor
//!   of that many fresh samples of class `k`.
//! * A domain-pair REAL_DIR (`fsrgan sample --domains 2`): when FAKE holds
//!   `x1_b..xL_b`, they are taken as the translations of REAL_DIR's first
//!   `N` domain-A samples (`N` = FAKE's length): the translation error per
//!   level, `sum ||fake_b - x_b||^2 / sum ||x_b||^2`, is printed beside the
//!   identity map's (`x` itself) and the zero map's (1), and FAKE's `x_b` is
//!   scored as a distribution against domain B's truth. FAKE may then omit
//!   `x1..xL`.
//!
//! Without `y` or `x{l}_b` in FAKE the command scores `x1..xL` as it always has.
//!
//! * A REAL without a truth: a plain `.npz`/`.safetensors` file or directory
//!   of `x1.npy..xL.npy` (read as FAKE is, with `--preset`/`--config` giving
//!   the model's shapes), or a generated dataset (`fsrgan generate`, its
//!   manifest's config). The floor set is then `N` samples of REAL drawn at
//!   random ([`crate::metrics::score::floor_split`], `--seed`), the
//!   reference REAL's other samples (REAL needs `N + 2` at least); atom
//!   coverage, which decodes with the true dictionary, is reported as not
//!   computable.
//!
//! Generated samples that are bitwise copies of real ones (other than the
//! all-zero image) are counted and reported: a set scored against itself
//! sits below its floor and means nothing.

use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use ndarray::{Array4, Axis, Ix4, s};
use serde::Serialize;

use crate::io::Dataset;
use crate::io::Manifest;
use crate::io::dataset::{MANIFEST, open_samples};
use crate::io::reader::{Tensor, read_npy, read_tensors};
use crate::io::writer::Dtype;
use crate::metrics::score::{
    ClassScore, Score, ScoreOptions, WithFloor, score_against_dataset, score_against_mixture,
    score_per_class,
};
use crate::metrics::score::{MAX_ABS_VALUE, level_of};
use crate::metrics::translation::translation_error;
use crate::model::Config;
use crate::model::Labelled;
use crate::threads::with_threads;

/// Arguments of `fsrgan score`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  fsrgan score data/small data/small-fake            # a dataset directory (fsrgan generate)
  fsrgan score data/small fake.npz --json            # np.savez('fake.npz', x1=..., x2=..., x3=...)
  fsrgan score data/small my_gan_samples/            # a directory of x1.npy, x2.npy, x3.npy
  fsrgan score data/tiny3 fake.npz                   # labelled REAL_DIR (--classes 3), fake.npz with x1, x2 and y: per-class scores
  fsrgan score data/tinyab trans.npz                 # domain pair (--domains 2), trans.npz with x1_b, x2_b: translation error
  fsrgan score real.npz fake.npz --preset small      # REAL without a truth: the floor is split from REAL, no atom coverage
Every metric is printed beside its floor: the same metric for an independent real set of
the generated set's size (drawn fresh from the truth in REAL_DIR, or split from a REAL
without one).")]
pub struct Args {
    /// A dataset directory written by `fsrgan sample` (its params.safetensors is the truth);
    /// or, without a truth, a generated dataset, a directory of x1.npy..xL.npy or an
    /// .npz/.safetensors file (give the model's shapes with --preset or --config).
    pub real_dir: PathBuf,
    /// The generated samples: a dataset directory, a directory of x1.npy..xL.npy, or an
    /// .npz/.safetensors file with arrays x1..xL of shape (N, c, r_l, r_l), float32 or float64.
    pub fake: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Seed of the floor set and of every random choice of the metrics.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Random directions of the patch SWD.
    #[arg(long, default_value_t = ScoreOptions::default().patch_dirs)]
    pub patch_dirs: usize,
    /// Most rows (patches, or pyramid descriptors) per set in one SWD.
    #[arg(long, default_value_t = ScoreOptions::default().max_rows)]
    pub max_rows: usize,
    /// Most patches per set for the Gram-sum moment gaps (patch dimension > 16).
    #[arg(long, default_value_t = ScoreOptions::default().max_gram_rows)]
    pub max_gram_rows: usize,
    /// Most MS-SSIM pairs per set.
    #[arg(long, default_value_t = ScoreOptions::default().max_pairs)]
    pub max_pairs: usize,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// For a REAL without a truth that is not a dataset: the model's shapes, a preset.
    #[arg(long, value_name = "NAME", conflicts_with = "config")]
    pub preset: Option<String>,
    /// For a REAL without a truth that is not a dataset: the model's shapes, a TOML config.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The generated samples and where they came from.
pub(super) struct Fake {
    /// `x1..xL` (absent only when `x1_b..xL_b` are given for a domain pair).
    pub(super) x: Option<Vec<Array4<f64>>>,
    /// `x1_b..xL_b`, read when REAL_DIR is a domain pair.
    x_b: Option<Vec<Array4<f64>>>,
    /// The labels `y` and their file, read when REAL_DIR is labelled.
    y: Option<(Tensor, PathBuf)>,
    /// Samples.
    pub(super) n: usize,
    pub(super) kind: String,
    pub(super) ignored: Vec<String>,
}

/// Everything `score` reports.
#[derive(Debug, Serialize)]
struct Report {
    real_dir: String,
    fake: String,
    fake_kind: String,
    ignored_arrays: Vec<String>,
    floor: String,
    floor_seed: u64,
    copies: usize,
    secs: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<Score>,
    /// Per class, when REAL_DIR is labelled and FAKE has labels `y`.
    #[serde(skip_serializing_if = "Option::is_none")]
    per_class: Option<Vec<ClassScore>>,
    /// When REAL_DIR is a domain pair and FAKE has `x{l}_b`.
    #[serde(skip_serializing_if = "Option::is_none")]
    translation: Option<Translation>,
}

/// FAKE's `x{l}_b` as translations of REAL_DIR's first `N` domain-A samples.
#[derive(Debug, Serialize)]
struct Translation {
    /// Paired samples (FAKE's length).
    n: usize,
    /// Per level, `sum ||fake_b - real_b||^2 / sum ||real_b||^2`.
    error: Vec<f64>,
    /// The same for the identity map (`x{l}` itself as the translation).
    identity: Vec<f64>,
    /// The same for the zero map: 1 at every level.
    zero: Vec<f64>,
    /// FAKE's `x{l}_b` scored as a distribution against domain B's truth
    /// and REAL_DIR's `x{l}_b`.
    score_b: Score,
    /// The seed of `score_b`'s floor set (fresh samples of domain B).
    floor_seed_b: u64,
}

/// The file that holds an array (by name), for error messages.
type FileOf = Box<dyn Fn(&str) -> PathBuf>;

/// The name of array `l` (1-based) of a set: `x{l}` or `x{l}_b`.
fn level_name(l: usize, suffix: &str) -> String {
    format!("x{l}{suffix}")
}

/// The levels `x1{suffix}..xL{suffix}` of FAKE's arrays, checked against the config.
fn levels_of(
    tensors: &BTreeMap<String, Tensor>,
    suffix: &str,
    cfg: &Config,
    file_of: &FileOf,
    role: Role,
) -> anyhow::Result<Vec<Array4<f64>>> {
    let (set, model) = role.words();
    let levels = cfg.levels;
    let mut x = Vec::with_capacity(levels);
    let mut n0 = 0;
    for l in 1..=levels {
        let name = level_name(l, suffix);
        let r = cfg.resolution(l - 1);
        let need = format!("(N, {}, {r}, {r})", cfg.channels);
        let t = tensors.get(&name).with_context(|| {
            format!(
                "{}: no array `{name}`: {model} has {levels} levels, so {set} needs {}..{}; level {l} has shape {need}",
                file_of(&name).display(),
                level_name(1, suffix),
                level_name(levels, suffix)
            )
        })?;
        if t.dtype() == Dtype::I64 {
            bail!(
                "{}: array `{name}` is int64; {set}'s images must be float32 or float64 (convert them with `x.astype(np.float32)`)",
                file_of(&name).display()
            );
        }
        let shape = t.shape().to_vec();
        if shape.len() != 4 || shape[1..] != [cfg.channels, r, r] {
            bail!(
                "{}: array `{name}` has shape {shape:?}; level {l} of {model} needs {need}",
                file_of(&name).display()
            );
        }
        if l == 1 {
            n0 = shape[0];
        } else if shape[0] != n0 {
            bail!(
                "{}: array `{name}` has {} samples but {} has {n0}: every level needs the same samples",
                file_of(&name).display(),
                shape[0],
                level_name(1, suffix)
            );
        }
        let a = t
            .to_f64()
            .into_dimensionality::<Ix4>()
            .with_context(|| format!("{}: array `{name}`", file_of(&name).display()))?;
        if let Some(i) = a
            .axis_iter(Axis(0))
            .position(|smp| smp.iter().any(|v| !v.is_finite()))
        {
            bail!(
                "{}: array `{name}`, sample {i} holds NaN or infinity",
                file_of(&name).display()
            );
        }
        if let Some((i, v)) = a.axis_iter(Axis(0)).enumerate().find_map(|(i, smp)| {
            smp.iter()
                .find(|v| v.abs() > MAX_ABS_VALUE)
                .map(|&v| (i, v))
        }) {
            bail!(
                "{}: array `{name}`, sample {i} holds the value {v:e}; {set} is scored only with values of magnitude at most {MAX_ABS_VALUE:e} (the model's images are of order 1): rescale the images or fix the generator",
                file_of(&name).display()
            );
        }
        x.push(a);
    }
    Ok(x)
}

/// Which set [`load_fake`] reads, for its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// `fsrgan score`'s FAKE, checked against the real data.
    Fake,
    /// `fsrgan score`'s REAL without a truth, checked against the given shapes.
    Real,
    /// `fsrgan train --data`, checked against the config's model.
    #[cfg_attr(not(feature = "torch"), allow(dead_code))]
    Training,
}

impl Role {
    /// (the set, what it is checked against)
    fn words(self) -> (&'static str, &'static str) {
        match self {
            Role::Fake => ("FAKE", "the real data"),
            Role::Real => ("REAL", "the model of --preset/--config"),
            Role::Training => ("--data", "the training config's model"),
        }
    }
}

/// Reads FAKE (module docs) and checks it against the real data's config;
/// `want_b`: read `x{l}_b` if present (REAL_DIR is a domain pair), then
/// `x{l}` may be absent; `want_y`: read the labels `y` if present. With
/// `Role::Training` the same reader takes `fsrgan train --data`'s plain sets.
pub(super) fn load_fake(
    path: &Path,
    cfg: &Config,
    want_b: bool,
    want_y: bool,
    role: Role,
) -> anyhow::Result<Fake> {
    let levels = cfg.levels;
    let (set, _) = role.words();
    let (tensors, kind, file_of): (BTreeMap<String, Tensor>, String, FileOf) = if path.is_dir()
        && path.join(MANIFEST).is_file()
    {
        let (m, arrays) = open_samples(path)
            .with_context(|| format!("opening the {set} dataset {}", path.display()))?;
        let kind = match &m.source {
            Some(s) => format!(
                "dataset generated from run {} ({} track, {})",
                s.run, s.track, s.checkpoint
            ),
            None => format!(
                "dataset sampled from the `{}` model, seed {}",
                m.config.name, m.seed
            ),
        };
        let file = path.join(&m.samples_file);
        (arrays, kind, Box::new(move |_: &str| file.clone()))
    } else if path.is_dir() {
        let mut arrays = BTreeMap::new();
        let entries = std::fs::read_dir(path)
            .with_context(|| format!("reading the directory {}", path.display()))?;
        for e in entries {
            let e = e.with_context(|| format!("reading the directory {}", path.display()))?;
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(stem) = name.strip_suffix(".npy")
                && (level_of(stem).is_some()
                    || (want_b
                        && stem
                            .strip_suffix("_b")
                            .is_some_and(|x| level_of(x).is_some()))
                    || (want_y && stem == "y"))
            {
                let t = read_npy(&e.path())
                    .with_context(|| format!("reading array `{stem}` of {set}"))?;
                arrays.insert(stem.to_string(), t);
            }
        }
        if arrays.is_empty() {
            bail!(
                "{}: no manifest.json and no x1.npy: {set} must be a dataset directory, a directory of x1.npy..x{levels}.npy, or an .npz/.safetensors file with arrays x1..x{levels}",
                path.display()
            );
        }
        let dir = path.to_path_buf();
        (
            arrays,
            "directory of .npy arrays".into(),
            Box::new(move |name: &str| dir.join(format!("{name}.npy"))),
        )
    } else if path.is_file() {
        let tf = read_tensors(path)?;
        let file = path.to_path_buf();
        let kind = if tf.metadata.is_empty() && path.extension().is_some_and(|e| e == "npz") {
            "npz file"
        } else {
            "tensor file"
        };
        (
            tf.tensors,
            kind.into(),
            Box::new(move |_: &str| file.clone()),
        )
    } else {
        bail!("{set} {} does not exist", path.display());
    };
    let mut ignored = crate::metrics::score::check_level_names(
        "fake",
        tensors.keys().map(String::as_str),
        levels,
    )
    .with_context(|| {
        let first = tensors
            .keys()
            .find(|n| level_of(n).is_some_and(|l| l > levels))
            .cloned()
            .unwrap_or_default();
        file_of(&first).display().to_string()
    })?;
    let has_b = want_b && tensors.contains_key(&level_name(1, "_b"));
    let x = if has_b && !tensors.contains_key("x1") {
        None
    } else {
        Some(levels_of(&tensors, "", cfg, &file_of, role)?)
    };
    let x_b = if has_b {
        ignored.retain(|n| !(n.ends_with("_b") && level_of(&n[..n.len() - 2]).is_some()));
        Some(levels_of(&tensors, "_b", cfg, &file_of, role)?)
    } else {
        None
    };
    let n0 = x
        .as_ref()
        .or(x_b.as_ref())
        .map_or(0, |x| x[0].len_of(Axis(0)));
    if let (Some(x), Some(xb)) = (&x, &x_b)
        && x[0].len_of(Axis(0)) != xb[0].len_of(Axis(0))
    {
        bail!(
            "{}: array `x1_b` has {} samples but x1 has {n0}: the translations pair FAKE's samples",
            file_of("x1_b").display(),
            xb[0].len_of(Axis(0))
        );
    }
    let y = match tensors.get("y").filter(|_| want_y) {
        Some(t) => {
            ignored.retain(|n| n != "y");
            if t.shape() != [n0] {
                bail!(
                    "{}: array `y` has shape {:?}; the labels of {n0} samples need shape ({n0},)",
                    file_of("y").display(),
                    t.shape()
                );
            }
            Some((t.clone(), file_of("y")))
        }
        None => None,
    };
    if n0 < 2 {
        bail!(
            "{}: {n0} samples; the metrics need at least 2 (MS-SSIM takes pairs)",
            path.display()
        );
    }
    Ok(Fake {
        x,
        x_b,
        y,
        n: n0,
        kind,
        ignored,
    })
}

/// A hash of sample `i` over every level (bit patterns; `-0.0` counts as `0.0`),
/// `None` for the all-zero sample.
fn sample_hash(x: &[Array4<f64>], i: usize) -> Option<u64> {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut nonzero = false;
    for xl in x {
        for &v in xl.index_axis(Axis(0), i) {
            let v = if v == 0.0 { 0.0f64 } else { v };
            nonzero |= v != 0.0;
            v.to_bits().hash(&mut h);
        }
    }
    nonzero.then(|| h.finish())
}

/// Generated samples (not all zero) equal bit for bit to a real sample.
fn count_copies(real: &[Array4<f64>], fake: &[Array4<f64>]) -> usize {
    let n_real = real[0].len_of(Axis(0));
    let seen: HashSet<u64> = (0..n_real).filter_map(|i| sample_hash(real, i)).collect();
    (0..fake[0].len_of(Axis(0)))
        .filter(|&i| sample_hash(fake, i).is_some_and(|h| seen.contains(&h)))
        .count()
}

/// Runs `fsrgan score`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    with_threads(Some(args.threads), move || run_inner(&args))?
}

fn run_inner(args: &Args) -> anyhow::Result<ExitCode> {
    let t0 = Instant::now();
    let opts = ScoreOptions {
        patch_dirs: args.patch_dirs,
        max_rows: args.max_rows,
        max_gram_rows: args.max_gram_rows,
        max_pairs: args.max_pairs,
    };
    opts.validated()?;
    let real_manifest = args.real_dir.join(MANIFEST);
    // A dataset with a truth, unless its (readable) manifest says it has none.
    let truth = !(args.real_dir.is_file() || (args.real_dir.is_dir() && !real_manifest.is_file()))
        && Manifest::read(&real_manifest).map_or(true, |m| !m.params_file.is_empty());
    if !truth {
        return run_without_truth(args, &opts, t0);
    }
    if args.preset.is_some() || args.config.is_some() {
        bail!(
            "REAL_DIR {} is a dataset with its own config and truth; --preset and --config give the shapes of a REAL without one",
            args.real_dir.display()
        );
    }
    let ds = Dataset::open(&args.real_dir)
        .with_context(|| format!("opening REAL_DIR {}", args.real_dir.display()))?;
    // The floor set is drawn from the truth: it must be the data's.
    ds.check_truth()
        .with_context(|| format!("checking the truth of REAL_DIR {}", args.real_dir.display()))?;
    let cfg = &ds.params.config;
    let real: Vec<Array4<f64>> = (1..=cfg.levels)
        .map(|l| ds.x(l))
        .collect::<Result<_, _>>()?;
    let fake = load_fake(
        &args.fake,
        cfg,
        ds.kind.is_paired(),
        ds.kind.is_labelled(),
        Role::Fake,
    )?;
    let n = fake.n;
    let real_f32 = ds
        .manifest
        .arrays
        .get("x1")
        .is_some_and(|a| a.dtype == Dtype::F32);
    let scoring = || format!("scoring FAKE {}", args.fake.display());
    let floor_seed = crate::metrics::score::floor_seed(ds.manifest.seed, args.seed);
    let score = match &fake.x {
        // A labelled REAL_DIR: the floor is a fresh draw of the mixture.
        Some(x) if ds.kind.is_labelled() => {
            let mix = Labelled {
                classes: ds.classes.clone(),
            };
            Some(
                score_against_mixture(&real, &mix, ds.manifest.seed, real_f32, x, &opts, args.seed)
                    .with_context(scoring)?
                    .0,
            )
        }
        Some(x) => Some(
            score_against_dataset(
                &real,
                &ds.params,
                ds.manifest.seed,
                real_f32,
                x,
                &opts,
                args.seed,
            )
            .with_context(scoring)?
            .0,
        ),
        None => None,
    };
    let per_class = match (&fake.y, &fake.x) {
        (Some((y, file)), Some(x)) => {
            let k = ds.kind.classes;
            let fake_labels = y.to_labels(k).map_err(|(i, why)| {
                anyhow::anyhow!(
                    "{}: array `y`, sample {i}: {why} (REAL_DIR has {k} classes)",
                    file.display()
                )
            })?;
            let real_labels = ds.labels()?.unwrap_or_default();
            Some(
                score_per_class(
                    &real,
                    &real_labels,
                    &ds.classes,
                    ds.manifest.seed,
                    real_f32,
                    x,
                    &fake_labels,
                    &opts,
                    args.seed,
                )
                .with_context(scoring)?,
            )
        }
        _ => None,
    };
    let translation = match (&fake.x_b, &ds.domain_b) {
        (Some(fake_b), Some(b)) => {
            let n_real = ds.manifest.len() as usize;
            if n > n_real {
                bail!(
                    "{}: {n} translations, but REAL_DIR holds only {n_real} domain-A samples to pair them with",
                    args.fake.display()
                );
            }
            let first = |x: Array4<f64>| x.slice_move(s![..n, .., .., ..]);
            let real_b: Vec<Array4<f64>> = (1..=cfg.levels)
                .map(|l| ds.x_b(l))
                .collect::<Result<_, _>>()?;
            let real_b_n: Vec<Array4<f64>> = real_b.iter().cloned().map(first).collect();
            let real_a_n: Vec<Array4<f64>> = real.iter().cloned().map(first).collect();
            let (score_b, floor_seed_b) = score_against_dataset(
                &real_b,
                b,
                ds.manifest.seed,
                real_f32,
                fake_b,
                &opts,
                args.seed,
            )
            .with_context(scoring)?;
            Some(Translation {
                n,
                error: translation_error(fake_b, &real_b_n),
                identity: translation_error(&real_a_n, &real_b_n),
                zero: vec![1.0; cfg.levels],
                score_b,
                floor_seed_b,
            })
        }
        _ => None,
    };
    let copies = fake.x.as_ref().map_or(0, |x| count_copies(&real, x));
    let report = Report {
        real_dir: args.real_dir.display().to_string(),
        fake: args.fake.display().to_string(),
        fake_kind: fake.kind,
        ignored_arrays: fake.ignored,
        floor: format!(
            "{n} fresh samples of the truth in REAL_DIR{}{}",
            if ds.kind.is_labelled() {
                " (the mixture, labels drawn afresh)"
            } else {
                ""
            },
            if real_f32 {
                ", rounded to float32 as stored"
            } else {
                ""
            }
        ),
        floor_seed,
        copies,
        secs: t0.elapsed().as_secs_f64(),
        score,
        per_class,
        translation,
    };
    if copies > 0 {
        eprintln!(
            "warning: {copies} of {n} generated samples are bit-for-bit copies of real samples in REAL_DIR; a set scored against itself sits below its floor"
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(ExitCode::SUCCESS)
}

/// `fsrgan score` of a REAL without a truth (module docs).
fn run_without_truth(args: &Args, opts: &ScoreOptions, t0: Instant) -> anyhow::Result<ExitCode> {
    let real_path = &args.real_dir;
    let generated = real_path.join(MANIFEST);
    let cfg = if real_path.is_dir() && generated.is_file() {
        if args.preset.is_some() || args.config.is_some() {
            bail!(
                "REAL {} is a dataset with its own config; --preset and --config give the shapes of a plain REAL",
                real_path.display()
            );
        }
        Manifest::read(&generated)?.config.validated()?
    } else {
        let choice = super::common::ModelChoice {
            preset: args.preset.clone(),
            config: args.config.clone(),
        };
        if choice.preset.is_none() && choice.config.is_none() {
            bail!(
                "REAL_DIR {} is not a dataset directory (no manifest.json), so it has no truth: to score against a plain set of x1..xL, give its model's shapes with --preset NAME or --config FILE",
                real_path.display()
            );
        }
        choice.load()?
    };
    let real = load_fake(real_path, &cfg, false, false, Role::Real)?;
    let Some(real_x) = real.x else {
        bail!("{}: no arrays x1..x{}", real_path.display(), cfg.levels);
    };
    let fake = load_fake(&args.fake, &cfg, false, false, Role::Fake)?;
    let Some(fake_x) = fake.x else {
        bail!("{}: no arrays x1..x{}", args.fake.display(), cfg.levels);
    };
    let n = fake.n;
    let (score, _) =
        crate::metrics::score::score_without_truth(&real_x, &cfg, &fake_x, opts, args.seed)
            .with_context(|| format!("scoring FAKE {}", args.fake.display()))?;
    let copies = count_copies(&real_x, &fake_x);
    let mut ignored = fake.ignored;
    ignored.extend(real.ignored.into_iter().map(|n| format!("{n} (REAL)")));
    let report = Report {
        real_dir: real_path.display().to_string(),
        fake: args.fake.display().to_string(),
        fake_kind: fake.kind,
        ignored_arrays: ignored,
        floor: format!(
            "{n} samples of REAL ({}, no truth) drawn at random, the reference its other {}; atom coverage needs the truth and is not computed",
            real.kind,
            real.n - n
        ),
        floor_seed: args.seed,
        copies,
        secs: t0.elapsed().as_secs_f64(),
        score: Some(score),
        per_class: None,
        translation: None,
    };
    if copies > 0 {
        eprintln!(
            "warning: {copies} of {n} generated samples are bit-for-bit copies of real samples in REAL; a set scored against itself sits below its floor"
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(ExitCode::SUCCESS)
}

fn cell(w: &WithFloor) -> String {
    format!("{:>10.3e} {:>10.3e} {:>7.2}", w.value, w.floor, w.ratio())
}

fn print_text(r: &Report) {
    println!("score of {} ({})", r.fake, r.fake_kind);
    if let Some(sc) = &r.score {
        println!(
            "  against {} ({} real samples), {} generated samples; floor: {} (seed {})",
            r.real_dir, sc.n_real, sc.n_fake, r.floor, r.floor_seed
        );
    }
    if !r.ignored_arrays.is_empty() {
        println!("  ignored arrays: {}", r.ignored_arrays.join(", "));
    }
    if r.copies > 0 {
        println!(
            "  WARNING: {} generated samples are copies of real samples",
            r.copies
        );
    }
    if let Some(sc) = &r.score {
        print_score(sc);
    }
    if let Some(classes) = &r.per_class {
        for c in classes {
            println!(
                "class {} ({} real samples, {} generated samples labelled {}; floor: {} fresh samples of class {})",
                c.class, c.n_real, c.n_fake, c.class, c.n_fake, c.class
            );
            match (&c.score, &c.skipped) {
                (Some(sc), _) => print_score(sc),
                (None, why) => println!("  not scored: {}", why.as_deref().unwrap_or("")),
            }
        }
    }
    if let Some(t) = &r.translation {
        println!(
            "translation A -> B of the first {} samples of REAL_DIR: relative squared error sum ||fake_b - x_b||^2 / sum ||x_b||^2",
            t.n
        );
        println!(
            "  {:<8} {:>12} {:>16} {:>12}",
            "level", "FAKE x_b", "identity (x)", "zero map"
        );
        for (l, ((e, i), z)) in t.error.iter().zip(&t.identity).zip(&t.zero).enumerate() {
            println!("  {:<8} {e:>12.4e} {i:>16.4e} {z:>12.4e}", l + 1);
        }
        println!(
            "FAKE's x_b as a distribution against domain B (floor: {} fresh samples of domain B, seed {})",
            t.n, t.floor_seed_b
        );
        print_score(&t.score_b);
    }
    println!("({:.1} s)", r.secs);
}

fn print_score(sc: &Score) {
    println!(
        "  {:<34} {:>10} {:>10} {:>7}",
        "metric", "value", "floor", "ratio"
    );
    for lv in &sc.levels {
        println!(
            "level {} ({}x{}, patch dimension {})",
            lv.level, lv.resolution, lv.resolution, lv.patch_dim
        );
        println!(
            "  {:<34} {}",
            format!("patch SWD ({} directions)", sc.options.patch_dirs),
            cell(&lv.patch_swd)
        );
        for b in &lv.pyramid_swd {
            println!(
                "  {:<34} {}",
                format!(
                    "pyramid SWD {}x{} band ({}x{} nbhd)",
                    b.resolution, b.resolution, b.nhood, b.nhood
                ),
                cell(&b.swd)
            );
        }
        for (c, g) in lv.moment_gaps.iter().enumerate() {
            println!(
                "  {:<34} {}",
                format!("moment gap c={} ({})", c + 1, lv.moment_method),
                cell(g)
            );
        }
        let cv = &lv.coverage;
        if let Some(why) = &cv.not_computable {
            println!(
                "  {:<34} not computable: {why}",
                "atom and atom-pair coverage"
            );
            print_msssim(lv);
            continue;
        }
        println!(
            "  {:<34} {:>10} {:>10}",
            "atom coverage",
            format!("{}/{}", cv.fake.atoms_covered, cv.fake.atoms_real),
            format!("{}/{}", cv.floor.atoms_covered, cv.floor.atoms_real)
        );
        println!(
            "  {:<34} {:>10} {:>10}",
            "atom-pair coverage",
            format!("{}/{}", cv.fake.pairs_covered, cv.fake.pairs_real),
            format!("{}/{}", cv.floor.pairs_covered, cv.floor.pairs_real)
        );
        println!(
            "  {:<34} {:>10.3} {:>10.3}   (real {:.3})",
            "co-active pairs per patch",
            cv.fake.pairs_per_patch,
            cv.floor.pairs_per_patch,
            cv.fake.real_pairs_per_patch
        );
        print_msssim(lv);
    }
}

fn print_msssim(lv: &crate::metrics::score::LevelScore) {
    let m = &lv.msssim;
    println!(
        "  {:<34} {:>10.4} {:>10}   ({} scales; generated +- {:.4} over {} pairs, real +- {:.4})",
        "MS-SSIM of pairs: generated, real",
        m.fake,
        format!("{:.4}", m.real),
        m.scales,
        m.fake_se,
        m.fake_pairs,
        m.real_se
    );
}
