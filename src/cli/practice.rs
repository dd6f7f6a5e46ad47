//! `fsrgan train` for practice-track configs (`track = "practice"`):
//! ordinary convolutional GANs trained on a dataset directory of `fsrgan
//! sample`, scored against its truth, or on a plain `.npz` / `.safetensors`
//! file or directory of `.npy` files holding `x1..xL` (no truth: its last
//! `heldout` samples are held out and score the run; the config's `model`
//! gives the shapes) ([`crate::train::practice::run`]).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use ndarray::Array4;

use super::common::progress_bar;
use super::train::{Args, device};
use crate::io::Dataset;
use crate::threads;
use crate::train::checkpoint::check_recorded_toml;
use crate::train::practice::family::{TrainData, Truths};
use crate::train::practice::run::{
    PracticeOptions, PracticeOutcome, PracticeRun, check_plain_method, recorded_config,
    recorded_run_config, total_steps, total_steps_of, train_practice_plain, train_practice_with,
};

/// Whether `path` is a dataset directory of `fsrgan sample` (it has a
/// manifest), rather than a plain set of arrays.
fn is_dataset_dir(path: &Path) -> bool {
    path.join("manifest.json").is_file()
}

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
    // `--force`: the old run's lock, held from its clearing until the new
    // run ends.
    let mut held = None;
    let (mut cfg, out, resume) = match (&args.resume, text) {
        (Some(dir), _) => {
            let cfg = resumed_config(dir)?;
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
            "the practice track trains on a finite dataset: pass --data DIR (a directory written by `fsrgan sample`, or a plain .npz / .safetensors file or directory of .npy files holding x1..xL)"
        );
    };
    // The data's model from the manifest alone (no parallel work), or a
    // plain set's from the config, sizes the pools; the data are read and
    // checked inside them.
    let model = if is_dataset_dir(&data_dir) {
        crate::io::Manifest::read(&data_dir.join("manifest.json"))
            .with_context(|| format!("opening the dataset {}", data_dir.display()))?
            .config
    } else {
        if !data_dir.exists() {
            anyhow::bail!("--data {}: no such file or directory", data_dir.display());
        }
        check_plain_method(&cfg)
            .with_context(|| format!("{} is a plain set of arrays", data_dir.display()))?;
        match &cfg.model {
            Some(m) => m.clone(),
            None => anyhow::bail!(
                "{} is a plain set of arrays (no manifest.json): set `model = \"tiny\"` (a preset: tiny, small, paper) or a [model] table in the practice config, shaped as its arrays x1..xL",
                data_dir.display()
            ),
        }
    };
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
            // The lock first: a run training there is refused, never
            // cleared; held until this run ends (the same process shares it).
            held = Some(
                crate::io::rundir::RunDir::start_over(&out)
                    .with_context(|| format!("clearing the old run {}", out.display()))?,
            );
        }
    }
    let n = cfg.cpu.threads_for(&model);
    let outcome = threads::with_threads(Some(n), || run_sized(args, &cfg, &out, resume, &data_dir))
        .context("sizing the thread pools")?;
    drop(held);
    outcome
}

/// The config of the practice run `dir` that `--resume` continues: its
/// `config.toml`, checked first against the config its checkpoint recorded
/// (an edited, emptied or replaced `config.toml` is refused naming what
/// differs, before anything else is asked of it).
fn resumed_config(dir: &Path) -> anyhow::Result<PracticeRun> {
    let path = dir.join("config.toml");
    let t =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let recorded = recorded_run_config(dir)?;
    let cfg = match PracticeRun::from_toml(&t) {
        Ok(cfg) => cfg,
        Err(e) => {
            // Not a practice config (a theory one, say): what differs from
            // the recorded one, when it is a TOML table at all.
            if let (Some(r), true) = (&recorded, t.parse::<toml::Table>().is_ok()) {
                check_recorded_toml(Some(r), &t, dir)?;
            }
            return Err(e).with_context(|| format!("in {}", path.display()));
        }
    };
    check_recorded_toml(recorded.as_deref(), &recorded_config(&cfg), dir)?;
    Ok(cfg)
}

/// A practice run once the pools are sized.
fn run_sized(
    args: &Args,
    cfg: &PracticeRun,
    out: &Path,
    resume: bool,
    data_dir: &Path,
) -> anyhow::Result<ExitCode> {
    let dev = device(&args.device)?;
    let opts = PracticeOptions {
        out: out.to_path_buf(),
        resume,
        device: dev,
    };
    let header = |what: &str, total: usize| {
        eprintln!(
            "practice track: {} ({:?}, {} loss), on {} ({what}) into {} ({total} steps, at most {:.0} s)",
            cfg.practice.method.name(),
            cfg.practice.mode,
            cfg.practice.loss.name(),
            data_dir.display(),
            out.display(),
            cfg.practice.max_seconds
        );
        progress_bar(total as u64, "training")
    };
    let outcome = if is_dataset_dir(data_dir) {
        let (truths, data) = open_data(data_dir)?;
        let truth = &truths.main;
        let total = total_steps(cfg, truth)?;
        let bar = header(
            &format!(
                "{} samples of `{}`",
                data.x[0].shape()[0],
                truth.config.name
            ),
            total,
        );
        let mut progress =
            |stage: &str, k: usize, n: usize, step: usize, _total: usize, d: f64, g: f64| {
                bar.set_position(step as u64);
                bar.set_message(format!("{stage} {k}/{n} D {d:+.3e} G {g:+.3e}"));
            };
        let outcome = train_practice_with(cfg, &truths, &data, &opts, &mut progress)
            .with_context(|| format!("training into {}", out.display()))?;
        bar.finish_and_clear();
        outcome
    } else {
        let model = cfg
            .model
            .as_ref()
            .context("a plain set needs `model` in the config")?;
        let set =
            super::score::load_fake(data_dir, model, false, false, super::score::Role::Training)?;
        if !set.ignored.is_empty() {
            eprintln!(
                "warning: {}: arrays {} are not levels x1..x{} and are not read",
                data_dir.display(),
                set.ignored.join(", "),
                model.levels
            );
        }
        let Some(x) = set.x else {
            anyhow::bail!("{}: no arrays x1..x{}", data_dir.display(), model.levels);
        };
        let h = cfg
            .heldout
            .unwrap_or_else(|| crate::train::config::default_heldout(set.n));
        let what = format!(
            "{} of {} samples shaped as the `{}` model, no truth",
            set.kind, set.n, model.name
        );
        let total = total_steps_of(cfg, model)?;
        let bar = header(
            &format!(
                "{what}: trains on the first {}, scored against the last {h} held out",
                set.n.saturating_sub(h)
            ),
            total,
        );
        let mut progress =
            |stage: &str, k: usize, n: usize, step: usize, _total: usize, d: f64, g: f64| {
                bar.set_position(step as u64);
                bar.set_message(format!("{stage} {k}/{n} D {d:+.3e} G {g:+.3e}"));
            };
        let outcome = train_practice_plain(cfg, &x, &what, &opts, &mut progress)
            .with_context(|| format!("training into {}", out.display()))?;
        bar.finish_and_clear();
        outcome
    };
    summary(&outcome);
    super::report::run(super::report::Args {
        dir: out.to_path_buf(),
        out: None,
        truth: None,
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The run's summary on stderr: per level the final metrics over their
/// floors (coverage only with a truth).
fn summary(outcome: &PracticeOutcome) {
    eprintln!(
        "{} steps in {:.1} s ({:?})",
        outcome.steps_run, outcome.secs, outcome.flow
    );
    let truth = outcome.data.truth;
    for s in &outcome.score.levels {
        let coverage = if truth {
            format!(
                ", atom coverage {:.2} (floor {:.2}), pair coverage {:.2}",
                s.coverage.fake.atom_coverage,
                s.coverage.floor.atom_coverage,
                s.coverage.fake.pair_coverage,
            )
        } else {
            String::new()
        };
        eprintln!(
            "level {}: patch SWD {:.3e} ({:.1}x floor), pyramid SWD finest band {:.1}x floor{coverage}, MS-SSIM {:.3} (real {:.3})",
            s.level,
            s.patch_swd.value,
            s.patch_swd.ratio(),
            s.pyramid_swd.first().map_or(f64::NAN, |b| b.swd.ratio()),
            s.msssim.fake,
            s.msssim.real,
        );
    }
    if !truth {
        let d = &outcome.data;
        eprintln!(
            "no truth: trained on {} samples; every metric compares {} generated samples with the held-out split ({} reference, {} floor samples of the last {} held out); atom and pair coverage and filter alignment need the truth and are not reported",
            d.n_train, d.n_floor, d.n_reference, d.n_floor, d.n_heldout
        );
    }
}
