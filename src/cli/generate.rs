//! `fsrgan generate RUN_DIR --n N --out DIR`: a trained generator's samples as
//! a dataset directory — the `fsrgan sample` layout (`samples.npz` or
//! `.safetensors` with `x{l}` `(N, c, r_l, r_l)` float32, `manifest.json`)
//! without `params.safetensors` (a generated set has no ground truth) and
//! without hidden codes; the manifest's `source` names the run, the track and
//! the checkpoint with its CRC-32, and `params_file` is empty.
//!
//! Tracks: a run directory is recognised by its files ([`open_generator`]);
//! each track is an [`ImageSource`]. The theory track (the learner with the
//! target's topology, `RUN_DIR/learner.safetensors` under the interchange
//! names) samples with the pure-Rust sampler on the learner's parameters. The
//! practice track (a network checkpoint) plugs in as one more arm of the
//! `match` in [`open_generator`].
//!
//! Seeds: sample `i` uses the stream `(derive_seed(S, GENERATE), i)`, never
//! the streams of `fsrgan sample --seed S`, so a learner equal to the truth
//! does not reproduce the real dataset sample for sample.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use ndarray::{Array4, ArrayView4};

use super::common::progress_bar;
use crate::io::dataset::{MANIFEST, add_residuals, kind_array_specs, samples_bytes};
use crate::io::manifest::{ArrayInfo, FORMAT, FORMAT_VERSION, Kind, Manifest, Source};
use crate::io::staging::Staging;
use crate::io::writer::FileDigest;
use crate::io::{Format, TensorWriter};
use crate::metrics::score::derive_seed;
use crate::model::diagnostics::{self, Activity, Residual};
use crate::model::{Config, Diagnostics, Params, Sampler};
use crate::threads::with_threads;

/// The tag of the generator's sample streams in [`derive_seed`].
pub const GENERATE: u64 = 0x6E6E_7261_7465;

/// Arguments of `fsrgan generate`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  fsrgan generate runs/tiny --n 10000 --out data/tiny-fake
  fsrgan score data/tiny data/tiny-fake
Writes OUT/samples.npz (or .safetensors) and OUT/manifest.json (no params.safetensors:
a generated set has no ground truth; the manifest names the run).")]
pub struct Args {
    /// A run directory of `fsrgan train`: theory track (learner.safetensors) or practice track (generator.safetensors).
    pub run_dir: PathBuf,
    /// Number of samples.
    #[arg(long)]
    pub n: u64,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the generator's latents (its streams never coincide with `fsrgan sample --seed S`).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// The checkpoint to sample, relative to RUN_DIR (default: the final
    /// `learner.safetensors`; e.g. `checkpoint/learner.safetensors` for an unfinished run).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: Option<PathBuf>,
    /// Container of the samples.
    #[arg(long, value_enum, default_value_t = Format::Npz)]
    pub format: Format,
    /// Overwrite a dataset already in OUT.
    #[arg(long)]
    pub force: bool,
    /// Samples per chunk (memory holds about one chunk).
    #[arg(long, default_value_t = 1024)]
    pub chunk: usize,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// Samples `start..start+count` of a generator.
#[derive(Debug, Clone)]
pub struct GeneratedBatch {
    /// Images per level, `(count, c, r_l, r_l)`.
    pub x: Vec<Array4<f64>>,
    /// Active-channel statistics of the generator's own hidden layers, if it has them.
    pub activity: Option<Vec<Activity>>,
    /// The labels the samples were generated with (a conditional GAN).
    pub labels: Option<Vec<usize>>,
}

/// A trained generator of any track, as a source of samples.
pub trait ImageSource: Send + Sync {
    /// `theory` or `practice`.
    fn track(&self) -> &'static str;
    /// The model config of the generator's output (levels, channels, resolutions).
    fn config(&self) -> &Config;
    /// Its parameters under the interchange names, if it has them (theory track):
    /// the manifest's diagnostics are then measured as `fsrgan sample` measures them.
    fn params(&self) -> Option<&Params>;
    /// Classes of the labels it generates with (1: unlabelled).
    fn classes(&self) -> usize {
        1
    }
    /// Samples `start..start+count` from the streams keyed by `seed`.
    ///
    /// # Errors
    /// Whatever running the generator can fail with.
    fn generate(&self, seed: u64, start: u64, count: usize) -> anyhow::Result<GeneratedBatch>;
}

/// The theory track: the learner's parameters, sampled by the pure-Rust sampler.
#[derive(Debug, Clone)]
pub struct TheorySource {
    learner: Params,
}

impl ImageSource for TheorySource {
    fn track(&self) -> &'static str {
        "theory"
    }
    fn config(&self) -> &Config {
        &self.learner.config
    }
    fn params(&self) -> Option<&Params> {
        Some(&self.learner)
    }
    fn generate(&self, seed: u64, start: u64, count: usize) -> anyhow::Result<GeneratedBatch> {
        let batch = Sampler::new(&self.learner, seed).sample(start, count);
        Ok(GeneratedBatch {
            x: batch.x,
            activity: Some(batch.activity),
            labels: None,
        })
    }
}

/// The practice track: a trained convolutional GAN (`generator.safetensors`
/// of a practice run), run by libtorch on the CPU. Samples are a function of
/// the seed, the first index and the chunk size.
#[cfg(feature = "torch")]
pub struct PracticeSource {
    game: std::sync::Mutex<crate::train::practice::PracticeGame>,
    config: Config,
    /// A cGAN's classes (1 otherwise).
    classes: usize,
}

#[cfg(feature = "torch")]
impl ImageSource for PracticeSource {
    fn track(&self) -> &'static str {
        "practice"
    }
    fn config(&self) -> &Config {
        &self.config
    }
    fn params(&self) -> Option<&Params> {
        None
    }
    /// A conditional GAN's classes (its labels are stored as `y`).
    fn classes(&self) -> usize {
        self.classes
    }
    /// Samples come in blocks of [`PRACTICE_BLOCK`] aligned at multiples of
    /// it, block `k` from the latents of `derive_seed(seed, [k])`; a request
    /// runs every block it overlaps and keeps its part, so a sample is the
    /// same bits whatever the chunks it is asked for in.
    fn generate(&self, seed: u64, start: u64, count: usize) -> anyhow::Result<GeneratedBatch> {
        let game = self
            .game
            .lock()
            .map_err(|_| anyhow::anyhow!("the generator's lock is poisoned"))?;
        let block = PRACTICE_BLOCK as u64;
        let end = start + count as u64;
        let mut parts: Vec<Vec<Array4<f64>>> = Vec::new();
        let mut labels: Vec<usize> = Vec::new();
        let mut k = start / block;
        while k * block < end {
            let (x, y) = game.generate_labelled(PRACTICE_BLOCK, derive_seed(seed, &[k]));
            let (lo, hi) = (
                start.max(k * block) - k * block,
                end.min((k + 1) * block) - k * block,
            );
            if let (Some(y), true) = (y, self.classes >= 2) {
                let y = Vec::<i64>::try_from(&y)?;
                labels.extend(y[lo as usize..hi as usize].iter().map(|&c| c as usize));
            }
            let levels = x
                .iter()
                .map(|t| {
                    crate::train::generator::array4(t).map(|a| {
                        a.slice(ndarray::s![lo as usize..hi as usize, .., .., ..])
                            .to_owned()
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            parts.push(levels);
            k += 1;
        }
        let levels = self.config.levels;
        let x = (0..levels)
            .map(|l| {
                let views: Vec<ArrayView4<'_, f64>> = parts.iter().map(|p| p[l].view()).collect();
                ndarray::concatenate(ndarray::Axis(0), &views)
                    .context("internal: blocks of one level have one shape")
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(GeneratedBatch {
            x,
            activity: None,
            labels: (self.classes >= 2).then_some(labels),
        })
    }
}

/// Samples per block of a practice generator ([`PracticeSource`]).
#[cfg(feature = "torch")]
pub const PRACTICE_BLOCK: usize = 256;

/// The tracks a run directory can hold, recognised by their files.
enum Track {
    /// `learner.safetensors` (or a given checkpoint) under the interchange names.
    Theory(PathBuf),
    /// A practice run's `generator.safetensors` (or a given checkpoint).
    #[cfg(feature = "torch")]
    Practice(PathBuf),
}

/// Opens the generator of `run_dir` (the checkpoint `checkpoint`, relative to
/// it, if given) and returns it with the checkpoint's path relative to `run_dir`.
///
/// # Errors
/// If `run_dir` holds no generator this fsrgan can sample, or the checkpoint
/// is unreadable or inconsistent.
pub fn open_generator(
    run_dir: &Path,
    checkpoint: Option<&Path>,
) -> anyhow::Result<(Box<dyn ImageSource>, PathBuf)> {
    if !run_dir.is_dir() {
        bail!("{} is not a directory", run_dir.display());
    }
    #[cfg(feature = "torch")]
    let practice = crate::train::practice::run::is_practice_run(run_dir);
    #[cfg(not(feature = "torch"))]
    let practice = false;
    let track = match checkpoint {
        #[cfg(feature = "torch")]
        Some(c) if practice => Track::Practice(c.to_path_buf()),
        #[cfg(feature = "torch")]
        None if practice => Track::Practice(PathBuf::from(crate::train::practice::run::GENERATOR)),
        None if practice => bail!(
            "{} is a practice-track run: sampling it needs the `torch` feature",
            run_dir.display()
        ),
        Some(c) => Track::Theory(c.to_path_buf()),
        None if run_dir.join("learner.safetensors").is_file() => {
            Track::Theory(PathBuf::from("learner.safetensors"))
        }
        None if !run_dir.join("config.toml").is_file()
            && !run_dir.join("checkpoint/learner.safetensors").is_file() =>
        {
            bail!(
                "{} is not a run directory: it has no config.toml (the first file `fsrgan train --out` writes) and no learner.safetensors",
                run_dir.display()
            );
        }
        None => {
            let hint = if run_dir.join("checkpoint/learner.safetensors").is_file() {
                "; the run has not finished: pass --checkpoint checkpoint/learner.safetensors to sample its last checkpoint"
            } else {
                ""
            };
            bail!(
                "{} holds no trained generator (no learner.safetensors){hint}",
                run_dir.display()
            );
        }
    };
    match track {
        Track::Theory(rel) => {
            let path = run_dir.join(&rel);
            let learner = crate::io::params::read_params_checked(&path, None)
                .with_context(|| format!("reading the learner {}", path.display()))?;
            Ok((Box::new(TheorySource { learner }), rel))
        }
        #[cfg(feature = "torch")]
        Track::Practice(rel) => {
            use crate::train::practice::run::PracticeRun;
            let path = run_dir.join(&rel);
            if !path.is_file() {
                bail!(
                    "{} holds no trained generator (no {}); an unfinished run: pass --checkpoint checkpoint/practice.safetensors",
                    run_dir.display(),
                    rel.display()
                );
            }
            let text = std::fs::read_to_string(run_dir.join("config.toml"))
                .with_context(|| format!("reading {}/config.toml", run_dir.display()))?;
            let cfg = PracticeRun::from_toml(&text)
                .with_context(|| format!("in {}/config.toml", run_dir.display()))?;
            // The generator's shapes: the config's `model` (a run on a plain
            // set, no truth.safetensors), else its truth's (checksum verified).
            let model = crate::train::practice::run::data_model(run_dir)
                .with_context(|| format!("the model of the run {}", run_dir.display()))?;
            use crate::train::practice::Method;
            if cfg.practice.method == Method::Cyclegan {
                bail!(
                    "{} is a CycleGAN: it translates domain A's images into domain B's and samples nothing of its own; its translations of a fresh domain-A set are scored in the run (trans{{l}} in metrics.jsonl)",
                    run_dir.display()
                );
            }
            let classes = if cfg.practice.method == Method::Cgan {
                cfg.practice.classes
            } else {
                1
            };
            let mut game =
                crate::train::practice::PracticeGame::new(&cfg.practice, &model, tch::Device::Cpu)?;
            game.load(&path)
                .with_context(|| format!("loading the generator {}", path.display()))?;
            Ok((
                Box::new(PracticeSource {
                    game: std::sync::Mutex::new(game),
                    config: model,
                    classes,
                }),
                rel,
            ))
        }
    }
}

/// What [`write_generated`] writes.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Samples.
    pub n: u64,
    /// The user's seed (recorded in the manifest); streams use `derive_seed(seed, [GENERATE])`.
    pub seed: u64,
    /// Container of the samples.
    pub format: Format,
    /// Overwrite a dataset already there.
    pub force: bool,
    /// Samples per chunk.
    pub chunk: usize,
    /// Samples (the first) on which the A5 and consistency diagnostics are measured.
    pub residual_samples: u64,
}

/// Writes `opts.n` samples of `source` into `dir` as a dataset directory
/// (module docs); `source` describes the run in the manifest. Every file is
/// written atomically, the manifest last; with `force`, files of a dataset
/// already in `dir` that the new one does not have are removed.
///
/// # Errors
/// If `dir` holds a dataset and `force` is false, `n = 0`, the generator
/// fails, or on I/O failure.
pub fn write_generated(
    dir: &Path,
    gen_source: &dyn ImageSource,
    source: Source,
    opts: &GenerateOptions,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Manifest> {
    if opts.n == 0 {
        bail!("--n must be at least 1");
    }
    let cfg = gen_source.config().clone();
    let needed = samples_bytes(&cfg, opts.n, false)?;
    let count = usize::try_from(opts.n).context("too many samples")?;
    let staging = Staging::begin(dir, opts.force).map_err(|e| e.needing(needed))?;
    let stage = staging.path();
    let classes = gen_source.classes();
    let kind = Kind::labelled(classes);
    let specs = kind_array_specs(&cfg, count, false, kind);
    let arrays = specs
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                ArrayInfo {
                    dtype: s.dtype,
                    shape: s.shape.clone(),
                },
            )
        })
        .collect();
    let samples_file = format!("samples.{}", opts.format.extension());
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), "fsrgan-samples".to_string());
    meta.insert("seed".to_string(), opts.seed.to_string());
    meta.insert("start".to_string(), "0".to_string());
    meta.insert("source_run".to_string(), source.run.clone());
    let mut writer = TensorWriter::create(&stage.join(&samples_file), opts.format, specs, &meta)
        .map_err(|e| e.needing(needed))?;
    let stream_seed = derive_seed(opts.seed, &[GENERATE]);
    let levels = cfg.levels;
    let mut activity: Option<Vec<Activity>> = None;
    let mut a5 = vec![Residual::default(); levels.saturating_sub(1)];
    let mut cons = vec![Residual::default(); levels.saturating_sub(1)];
    let mut residual_samples = 0u64;
    let chunk = opts.chunk.max(1);
    let mut done = 0usize;
    while done < count {
        let len = chunk.min(count - done);
        let batch = gen_source.generate(stream_seed, done as u64, len)?;
        for (l, x) in batch.x.iter().enumerate() {
            let data = x.as_standard_layout();
            let slice = data
                .as_slice()
                .context("internal: a standard-layout array is contiguous")?;
            writer.append_f64(l, slice).map_err(|e| e.needing(needed))?;
        }
        if kind.is_labelled() {
            let y: Vec<i64> = match &batch.labels {
                Some(y) if y.len() == len => y.iter().map(|&c| c as i64).collect(),
                _ => bail!("internal: a conditional generator returned no labels for its samples"),
            };
            writer
                .append_i64(levels, &y)
                .map_err(|e| e.needing(needed))?;
        }
        if let Some(a) = batch.activity {
            match activity.as_mut() {
                None => activity = Some(a),
                Some(acc) => acc.iter_mut().zip(&a).for_each(|(x, y)| x.merge(y)),
            }
        }
        if residual_samples < opts.residual_samples {
            let take = (opts.residual_samples - residual_samples).min(len as u64) as usize;
            let views: Vec<ArrayView4<'_, f64>> = batch
                .x
                .iter()
                .map(|x| x.slice(ndarray::s![..take, .., .., ..]))
                .collect();
            if let Some(p) = gen_source.params() {
                add_residuals(&mut a5, &diagnostics::a5_residual(p, &views));
            }
            add_residuals(&mut cons, &diagnostics::resolution_consistency(&views));
            residual_samples += take as u64;
        }
        done += len;
        progress(done as u64);
    }
    let mut files = BTreeMap::new();
    files.insert(
        samples_file.clone(),
        writer.finish().map_err(|e| e.needing(needed))?,
    );
    let diagnostics = match gen_source.params() {
        Some(p) => Diagnostics::new(
            p,
            activity.unwrap_or_default(),
            &a5,
            &cons,
            residual_samples,
        ),
        // A generator without interchange parameters: only what its images show.
        None => Diagnostics {
            activity: activity.unwrap_or_default(),
            target_k: cfg.k.clone(),
            coherence: Vec::new(),
            max_level1_correlation: 0.0,
            a5_residual: Vec::new(),
            resolution_consistency: cons.iter().map(Residual::relative).collect(),
            residual_samples,
        },
    };
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        crate_version: env!("CARGO_PKG_VERSION").into(),
        seed: opts.seed,
        config: cfg,
        n_total: opts.n,
        start: 0,
        end: opts.n,
        shard: None,
        samples_file,
        params_file: String::new(),
        hidden: false,
        arrays,
        files,
        diagnostics,
        source: Some(source),
    };
    manifest
        .write_kind(&stage.join(MANIFEST), kind)
        .map_err(|e| e.needing(needed))?;
    staging.commit()?;
    Ok(manifest)
}

/// Runs `fsrgan generate`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (gen_source, rel) = open_generator(&args.run_dir, args.checkpoint.as_deref())?;
    let ckpt = args.run_dir.join(&rel);
    let source = Source {
        run: args.run_dir.display().to_string(),
        track: gen_source.track().to_string(),
        checkpoint: rel.display().to_string(),
        checkpoint_digest: FileDigest::of_file(&ckpt)
            .with_context(|| format!("reading {}", ckpt.display()))?,
    };
    let opts = GenerateOptions {
        n: args.n,
        seed: args.seed,
        format: args.format,
        force: args.force,
        chunk: args.chunk,
        residual_samples: 2048,
    };
    let out = args.out.clone();
    with_threads(Some(args.threads), move || -> anyhow::Result<ExitCode> {
        let t0 = Instant::now();
        let bar = progress_bar(opts.n, "generating");
        let m = write_generated(&out, gen_source.as_ref(), source, &opts, |d| {
            bar.set_position(d)
        })
        .with_context(|| format!("writing the generated dataset to {}", out.display()))?;
        bar.finish_and_clear();
        eprintln!(
            "wrote {} samples of the {} track's generator ({}) to {} in {:.1} s",
            m.len(),
            gen_source.track(),
            ckpt.display(),
            out.display(),
            t0.elapsed().as_secs_f64()
        );
        Ok(ExitCode::SUCCESS)
    })?
}
