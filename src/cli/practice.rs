//! `fsrgan train` for practice-track configs (`track = "practice"`):
//! ordinary convolutional GANs trained on a dataset directory, scored
//! against its truth ([`crate::train::practice::run`]).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use ndarray::Array4;

use super::common::progress_bar;
use super::train::{Args, device};
use crate::io::Dataset;
use crate::threads;
use crate::train::practice::family::{TrainData, Truths};
use crate::train::practice::run::{PracticeOptions, PracticeRun, total_steps, train_practice_with};

/// Opens the dataset `dir` and returns its truths and its data (labels and
/// the second domain's images when it has them).
fn open_data(dir: &Path) -> anyhow::Result<(Truths, TrainData)> {
    let ds =
        Dataset::open(dir).with_context(|| format!("opening the dataset {}", dir.display()))?;
    let levels = ds.params.config.levels;
    let x = (1..=levels)
        .map(|l| ds.x(l))
        .collect::<Result<Vec<Array4<f64>>, _>>()?;
    let x_b = match ds.domain_b {
        Some(_) => Some(
            (1..=levels)
                .map(|l| ds.x_b(l))
                .collect::<Result<Vec<Array4<f64>>, _>>()?,
        ),
        None => None,
    };
    let labels = ds.labels()?;
    Ok((
        Truths {
            main: ds.params.clone(),
            classes: ds.classes.clone(),
            domain_b: ds.domain_b.clone(),
        },
        TrainData { x, labels, x_b },
    ))
}

/// Runs a practice-track training: a new run from `text` (the config) or a
/// resumed one (`args.resume`).
pub fn run(args: &Args, text: Option<&str>) -> anyhow::Result<ExitCode> {
    let (mut cfg, out, resume) = match (&args.resume, text) {
        (Some(dir), _) => {
            let t = std::fs::read_to_string(dir.join("config.toml"))
                .with_context(|| format!("reading {}/config.toml", dir.display()))?;
            let cfg = PracticeRun::from_toml(&t)
                .with_context(|| format!("in {}/config.toml", dir.display()))?;
            threads::reexec_for_wait_policy(cfg.cpu.wait).map_err(anyhow::Error::msg)?;
            (cfg, dir.clone(), true)
        }
        (None, Some(t)) => {
            let mut cfg = PracticeRun::from_toml(t).context("in the practice config")?;
            if let Some(d) = &args.data {
                cfg.data = Some(std::path::absolute(d).unwrap_or_else(|_| d.clone()));
            }
            (cfg, args.out.clone(), false)
        }
        (None, None) => anyhow::bail!("a practice run needs --config FILE or --resume RUN_DIR"),
    };
    let Some(data_dir) = args.data.clone().or_else(|| cfg.data.clone()) else {
        anyhow::bail!(
            "the practice track trains on a finite dataset: pass --data DIR (a directory written by `fsrgan sample`)"
        );
    };
    // The truth's config from the manifest alone (no parallel work) sizes
    // the pools; the dataset is opened and checked inside them.
    let model = crate::io::Manifest::read(&data_dir.join("manifest.json"))
        .with_context(|| format!("opening the dataset {}", data_dir.display()))?
        .config;
    if !resume {
        let (ts, ws) = cfg
            .cpu
            .resolve(args.threads, args.omp_wait, &model)
            .map_err(anyhow::Error::msg)?;
        threads::reexec_for_wait_policy(cfg.cpu.wait).map_err(anyhow::Error::msg)?;
        eprintln!(
            "cpu: {} thread(s) ({ts}), OpenMP wait policy {:?} ({ws})",
            cfg.cpu.threads_for(&model),
            cfg.cpu.wait
        );
        if out.join("config.toml").exists() {
            if !args.force {
                anyhow::bail!(
                    "{} already holds a run; pass --resume {} to continue it or --force to start over",
                    out.display(),
                    out.display()
                );
            }
            std::fs::remove_dir_all(&out)
                .with_context(|| format!("removing the old run {}", out.display()))?;
        }
    }
    let n = cfg.cpu.threads_for(&model);
    threads::with_threads(Some(n), || run_sized(args, &cfg, &out, resume, &data_dir))
        .context("sizing the thread pools")?
}

/// A practice run once the pools are sized.
fn run_sized(
    args: &Args,
    cfg: &PracticeRun,
    out: &Path,
    resume: bool,
    data_dir: &Path,
) -> anyhow::Result<ExitCode> {
    let (truths, data) = open_data(data_dir)?;
    let truth = &truths.main;
    let dev = device(&args.device)?;
    let total = total_steps(cfg, truth)?;
    eprintln!(
        "practice track: {} ({:?}, {} loss), on {} ({} samples of `{}`) into {} ({total} steps, at most {:.0} s)",
        cfg.practice.method.name(),
        cfg.practice.mode,
        cfg.practice.loss.name(),
        data_dir.display(),
        data.x[0].shape()[0],
        truth.config.name,
        out.display(),
        cfg.practice.max_seconds
    );
    let bar = progress_bar(total as u64, "training");
    let mut progress =
        |stage: &str, k: usize, n: usize, step: usize, _total: usize, d: f64, g: f64| {
            bar.set_position(step as u64);
            bar.set_message(format!("{stage} {k}/{n} D {d:+.3e} G {g:+.3e}"));
        };
    let opts = PracticeOptions {
        out: out.to_path_buf(),
        resume,
        device: dev,
    };
    let outcome = train_practice_with(cfg, &truths, &data, &opts, &mut progress)
        .with_context(|| format!("training into {}", out.display()))?;
    bar.finish_and_clear();
    eprintln!(
        "{} steps in {:.1} s ({:?})",
        outcome.steps_run, outcome.secs, outcome.flow
    );
    for s in &outcome.score.levels {
        eprintln!(
            "level {}: patch SWD {:.3e} ({:.1}x floor), pyramid SWD finest band {:.1}x floor, atom coverage {:.2} (floor {:.2}), pair coverage {:.2}, MS-SSIM {:.3} (real {:.3})",
            s.level,
            s.patch_swd.value,
            s.patch_swd.ratio(),
            s.pyramid_swd.first().map_or(f64::NAN, |b| b.swd.ratio()),
            s.coverage.fake.atom_coverage,
            s.coverage.floor.atom_coverage,
            s.coverage.fake.pair_coverage,
            s.msssim.fake,
            s.msssim.real,
        );
    }
    super::report::run(super::report::Args {
        dir: out.to_path_buf(),
        out: None,
        truth: None,
    })?;
    Ok(ExitCode::SUCCESS)
}
