//! `fsrgan train`: layer-wise GAN training of the FSR model (theory track).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::common::progress_bar;
use crate::threads::{self, WaitPolicy};
use crate::train::{TrainConfig, TrainOptions, train};

/// Arguments of `fsrgan train`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Stages (theory track, ../shared/spec/training.md): dict1 (M'_1 and the level-1
code law; patch moments c = 1..4), level1 (alpha, beta, C; moments of codes decoded with
the frozen M'_1), superres2..L (W'_l, b'_l, M'_l; the witness pair discriminator). The GAN
default (the presets): every stage starts from the learner's random state (`init = \"random\"`);
dict1 and level1 play a closed-form discriminator (`disc = \"closed\"`: the exact best response
of a regularised linear discriminator), the super-resolution stages the learned witness in the
paired conditional game (`condition = \"real\"`: real parents, the real child beside the learner's
child of the same parent; `condition = \"generated\"` is the paper's unpaired game).

Data: real batches come from a dataset's training split in seeded shuffled epochs, and the
metrics from its held-out split: `--data DIR` (a dataset of `fsrgan sample`, scored against its
truth) or `--data FILE.npz` (any arrays x1..xL shaped as the config's model, no truth); without
--data the run first samples `samples` (100 000) samples of the truth in memory, as `fsrgan
sample` would store them. `data = \"oracle\"` in a config draws every batch afresh from the truth
(N = infinity); data.json in the run says which.
Baselines: PRESET:moments (warm starts by the estimators, T5/T6: `init = \"moments\"`),
PRESET:supervised (super-resolution by the L1 term on real parents).

The run directory holds config.toml, truth.safetensors, metrics.jsonl/.csv, checkpoints
(checkpoint/, interchange names), learner.safetensors, alignment-level1.json, the plots
and report.md; see src/io/rundir.rs.

Examples:
  fsrgan train --preset tiny --out runs/tiny            # a few minutes on 2 CPU cores
  fsrgan train --preset tiny:moments --out runs/tiny-moments   # the estimators' baseline
  fsrgan train --config experiments/training/configs/ascent-tiny.toml --out runs/ascent
  fsrgan train --preset small --data out/demo/data --out runs/small   # a dataset's samples
  fsrgan train --preset tiny --data my_arrays.npz --out runs/mine      # x1, x2 of your own
  fsrgan train --resume runs/small            # continue a stopped or killed run
  fsrgan train --preset paper --device cuda --out runs/paper
  fsrgan report runs/small                    # Markdown report with tables and plots"
)]
pub struct Args {
    /// A training preset: tiny, small or paper (the GAN default; default:
    /// small), or a baseline of one: tiny:moments, tiny:supervised, ...
    #[arg(long, value_name = "NAME", conflicts_with_all = ["config", "resume"])]
    pub preset: Option<String>,
    /// A training config (TOML); `preset = "NAME"` inside starts from a preset.
    #[arg(long, value_name = "FILE", conflicts_with = "resume")]
    pub config: Option<PathBuf>,
    /// Train on this dataset's samples: a directory of `fsrgan sample` (its
    /// model and seed are adopted, its `params.safetensors` checked against
    /// them, and its truth only scores), or, on both tracks, a plain
    /// `.npz` / `.safetensors` file or directory of `.npy` files holding `x1..xL`
    /// shaped as the config's model (no truth: only what the data can
    /// measure is reported). Theory track: batches walk seeded shuffled
    /// epochs of its training split, the metrics read its held-out split.
    /// Practice track (which requires it): minibatches from the stored
    /// samples; a plain set needs `model` in the practice config and is
    /// scored against its last `heldout` samples, never trained on.
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Device: auto (CUDA if available), cpu, cuda.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Run directory.
    #[arg(long, default_value = "runs/latest")]
    pub out: PathBuf,
    /// Continue the stopped run in this directory from its checkpoint.
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// Overwrite an existing run directory (without --resume).
    #[arg(long)]
    pub force: bool,
    /// CPU threads of libtorch, rayon and OpenBLAS (default: $OMP_NUM_THREADS,
    /// else the config's `cpu.threads`, else 1 for models whose finest image
    /// has fewer than 256 values, like `tiny`, and every core otherwise).
    /// Recorded in the run's config; a resumed run reuses it. Results are
    /// bit-identical for the same thread count, not across counts.
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub threads: Option<usize>,
    /// OpenMP wait policy of idle libtorch threads: default (spin, then
    /// sleep), active or passive (default: $OMP_WAIT_POLICY, else the
    /// config's `cpu.wait`). libgomp reads it at load time, so fsrgan
    /// re-executes itself with it. Recorded in the run's config.
    #[arg(long, value_name = "POLICY", value_parser = parse_wait, conflicts_with = "resume")]
    pub omp_wait: Option<WaitPolicy>,
}

fn parse_wait(s: &str) -> Result<WaitPolicy, String> {
    WaitPolicy::parse(s).ok_or_else(|| format!("must be default, active or passive, got `{s}`"))
}

/// The device a `--device` name selects.
pub(super) fn device(name: &str) -> anyhow::Result<tch::Device> {
    Ok(match name {
        "auto" => tch::Device::cuda_if_available(),
        "cpu" => tch::Device::Cpu,
        "cuda" => {
            if !tch::Cuda::is_available() {
                anyhow::bail!("--device cuda: no CUDA device is available");
            }
            tch::Device::Cuda(0)
        }
        other => anyhow::bail!("--device must be auto, cpu or cuda, got `{other}`"),
    })
}

/// Adopts the model config and seed of the dataset `dir` from its manifest
/// (a JSON read: no parallel work, so it may run before the pools are sized),
/// when `dir` is a dataset directory of `fsrgan sample`; a plain set of
/// arrays keeps the config's model. Records the dataset's absolute path in
/// the config (`dataset`), so a resumed run reads it again.
fn adopt_dataset(cfg: &mut TrainConfig, dir: &std::path::Path) -> anyhow::Result<()> {
    cfg.dataset = Some(std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()));
    if dir.join("manifest.json").is_file() {
        let m = crate::io::Manifest::read(&dir.join("manifest.json"))?;
        cfg.model = m.config;
        cfg.seed = m.seed;
    }
    Ok(())
}

/// Reads the training set `path` (`TrainConfig::dataset`): a dataset
/// directory of `fsrgan sample` (its stored samples, and its truth after
/// [`check_dataset_truth`]), or a plain `.npz`/`.safetensors` file or
/// directory of `.npy` files with `x1..xL` shaped as the config's model
/// (no truth).
fn load_training_set(
    path: &std::path::Path,
    cfg: &TrainConfig,
) -> anyhow::Result<crate::train::data::Loaded> {
    if path.join("manifest.json").is_file() {
        let m = crate::io::Manifest::read(&path.join("manifest.json"))?;
        if m.config != cfg.model || m.seed != cfg.seed {
            anyhow::bail!(
                "{}: its manifest's model or seed differs from the run's config (model `{}`, seed {}): was the dataset replaced?",
                path.display(),
                cfg.model.name,
                cfg.seed
            );
        }
        check_dataset_truth(path, &m)?;
        let ds = crate::io::Dataset::open(path)
            .with_context(|| format!("opening the dataset {}", path.display()))?;
        if ds.classes.len() > 1 {
            anyhow::bail!(
                "{}: a labelled mixture of {} FSR models; the theory track learns one model (the practice track's cGAN trains on labelled sets)",
                path.display(),
                ds.classes.len()
            );
        }
        let x = (1..=cfg.model.levels)
            .map(|l| ds.x(l))
            .collect::<Result<Vec<_>, _>>()?;
        let n = x[0].shape()[0];
        return Ok(crate::train::data::Loaded {
            x,
            truth: Some(ds.params.clone()),
            what: format!(
                "a dataset of {n} samples of the `{}` model, seed {}, scored against its truth",
                m.config.name, m.seed
            ),
        });
    }
    let set =
        super::score::load_fake(path, &cfg.model, false, false, super::score::Role::Training)?;
    if !set.ignored.is_empty() {
        eprintln!(
            "warning: {}: arrays {} are not levels x1..x{} and are not read",
            path.display(),
            set.ignored.join(", "),
            cfg.model.levels
        );
    }
    let Some(x) = set.x else {
        anyhow::bail!("{}: no arrays x1..x{}", path.display(), cfg.model.levels);
    };
    Ok(crate::train::data::Loaded {
        x,
        truth: None,
        what: format!(
            "{} of {} samples shaped as the `{}` model, no truth: only what the data can measure is reported",
            set.kind, set.n, cfg.model.name
        ),
    })
}

/// Checks that the manifest's model config and seed regenerate the dataset's
/// `params.safetensors` (to its storage precision), so the run is scored
/// against the truth that drew the data.
fn check_dataset_truth(dir: &std::path::Path, m: &crate::io::Manifest) -> anyhow::Result<()> {
    let stored = crate::io::params::read_params(&dir.join(&m.params_file), Some(&m.config))?;
    let regenerated = crate::model::Params::generate(&m.config, m.seed)?;
    let a = crate::io::params::named_tensors(&stored);
    let b = crate::io::params::named_tensors(&regenerated);
    for ((name, _, x), (_, _, y)) in a.iter().zip(&b) {
        let worst = x
            .iter()
            .zip(y)
            .map(|(p, q)| (p - q).abs() / q.abs().max(1.0))
            .fold(0.0, f64::max);
        if worst > 1e-6 {
            anyhow::bail!(
                "{}: `{name}` differs from the parameters its manifest's config and seed generate \
                 (by {worst:.1e}); it was written by another version of the model",
                dir.display()
            );
        }
    }
    Ok(())
}

/// Runs `fsrgan train`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Practice-track configs and runs (`track = "practice"`).
    if let Some(dir) = &args.resume
        && crate::train::practice::run::is_practice_run(dir)
    {
        return super::practice::run(&args, None);
    }
    if let Some(path) = &args.config {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        if crate::train::practice::run::PracticeRun::is_practice(&text) {
            return super::practice::run(&args, Some(&text));
        }
    }
    // `--force`: the old run's lock, held from its clearing until the new
    // run takes it over (the same process shares it).
    let mut held = None;
    let (cfg, out, resume) = if let Some(dir) = &args.resume {
        let text = std::fs::read_to_string(dir.join("config.toml"))
            .with_context(|| format!("reading {}/config.toml", dir.display()))?;
        let mut cfg = TrainConfig::from_stored_toml(&text)
            .with_context(|| format!("in {}/config.toml", dir.display()))?;
        // `stop_after_steps` simulates a killed run; a resumed run goes on.
        cfg.debug.stop_after_steps = None;
        if cfg.cpu.threads.is_none() {
            // Runs started before the thread count was recorded ran on
            // libtorch's default, every core.
            cfg.cpu.threads = Some(threads::available_cores());
        }
        threads::reexec_for_wait_policy(cfg.cpu.wait).map_err(anyhow::Error::msg)?;
        (cfg, dir.clone(), true)
    } else {
        let mut cfg = match (&args.preset, &args.config) {
            (Some(p), _) => TrainConfig::named(p)?,
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                TrainConfig::from_toml(&text).with_context(|| format!("in {}", path.display()))?
            }
            (None, None) => TrainConfig::preset("small")?,
        };
        if let Some(dir) = &args.data {
            adopt_dataset(&mut cfg, dir)?;
        }
        let model = cfg.model.clone();
        let (ts, ws) = cfg
            .cpu
            .resolve(args.threads, args.omp_wait, &model)
            .map_err(anyhow::Error::msg)?;
        // Before anything is written: the wait policy needs a fresh process.
        threads::reexec_for_wait_policy(cfg.cpu.wait).map_err(anyhow::Error::msg)?;
        eprintln!(
            "cpu: {} thread(s) ({ts}), OpenMP wait policy {:?} ({ws})",
            cfg.cpu.threads_for(&model),
            cfg.cpu.wait
        );
        if args.out.join("config.toml").exists() {
            if !args.force {
                anyhow::bail!(
                    "{} already holds a run; pass --resume {} to continue it or --force to start over",
                    args.out.display(),
                    args.out.display()
                );
            }
            // The lock first: a run training there is refused, never cleared.
            held = Some(
                crate::io::rundir::RunDir::start_over(&args.out)
                    .with_context(|| format!("clearing the old run {}", args.out.display()))?,
            );
        }
        (cfg, args.out.clone(), false)
    };
    // Every pool is sized before any parallel work (the truth check below
    // is the first).
    let n = cfg.cpu.threads_for(&cfg.model);
    let outcome = threads::with_threads(Some(n), || train_sized(&args, &cfg, &out, resume, n))
        .context("sizing the thread pools")?;
    drop(held);
    outcome
}

/// `fsrgan train` once the pools are sized: the dataset's truth checked,
/// training, the summary and the report.
fn train_sized(
    args: &Args,
    cfg: &TrainConfig,
    out: &std::path::Path,
    resume: bool,
    n: usize,
) -> anyhow::Result<ExitCode> {
    let data = match &cfg.dataset {
        Some(p) => Some(load_training_set(p, cfg)?),
        None => None,
    };
    if resume {
        eprintln!(
            "cpu: {n} thread(s), OpenMP wait policy {:?} (recorded in the run)",
            cfg.cpu.wait
        );
    }
    let dev = device(&args.device)?;
    let total = crate::train::trainer::total_steps(cfg);
    let bar = progress_bar(total as u64, "training");
    eprintln!(
        "training `{}` on {dev:?} into {} ({total} steps)\n{}",
        cfg.model.name,
        out.display(),
        cfg.path_description()
    );
    let mut progress =
        |stage: &str, k: usize, n: usize, step: usize, _total: usize, d: f64, g: f64| {
            bar.set_position(step as u64);
            let d = if d.is_nan() {
                "-".to_string()
            } else {
                format!("{d:+.3e}")
            };
            bar.set_message(format!("{stage} {k}/{n} D {d} G {g:+.3e}"));
        };
    let opts = TrainOptions {
        out: out.to_path_buf(),
        resume,
        device: dev,
        data,
    };
    let outcome = train(cfg, &opts, &mut progress)
        .with_context(|| format!("training into {}", out.display()))?;
    bar.finish_and_clear();
    let v = &outcome.last.values;
    let get = |k: &str| v.get(k).copied().unwrap_or(f64::NAN);
    eprintln!("data: {}", outcome.data);
    eprintln!(
        "{} steps in {:.1} s{}",
        outcome.steps_run,
        outcome.secs,
        if outcome.stopped_early {
            " (stopped early)"
        } else {
            ""
        }
    );
    let pick = |k: &str| {
        v.get(&format!("{k}_final"))
            .or_else(|| v.get(k))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let scored = v.contains_key("dict1_min_cos");
    for l in 1..=cfg.model.levels {
        let dict = if scored {
            format!(
                "dictionary min |cos| {:.4} (mean {:.4}); ",
                get(&format!("dict{l}_min_cos")),
                get(&format!("dict{l}_mean_cos"))
            )
        } else {
            String::new()
        };
        eprintln!(
            "level {l}: {dict}moment gaps c=2 {:.2e} (floor {:.1e}), c=4 {:.2e} (floor {:.1e}); active channels {:.3} (target {})",
            pick(&format!("gap{l}_c2")),
            pick(&format!("floor{l}_c2")),
            pick(&format!("gap{l}_c4")),
            pick(&format!("floor{l}_c4")),
            get(&format!("sparsity{l}")),
            cfg.model.k[l - 1],
        );
        if l >= 2 {
            eprintln!(
                "         super-resolution residual {:.2e}",
                get(&format!("sr_residual{l}"))
            );
        }
    }
    if scored {
        eprintln!(
            "level 1: alpha err {:.3}, beta err {:.3}, C err {:.3}",
            get("alpha_err"),
            get("beta_err"),
            get("c_err")
        );
    } else {
        eprintln!(
            "no truth: recovery is not scored (super-resolution residual on the held-out split); `fsrgan report {} --truth DIR` scores the learner against a truth kept aside",
            out.display()
        );
    }
    if !outcome.stopped_early {
        super::report::run(super::report::Args {
            dir: out.to_path_buf(),
            out: None,
            truth: None,
        })?;
    }
    Ok(ExitCode::SUCCESS)
}
