//! `fsrgan report RUN_DIR [--out FILE]`: a Markdown report of a training run
//! directory (training.md, "Experiments"): the recovery metrics at the end of
//! every stage, the moment gaps against the random start and their sampling
//! floors, the plots (E1 `moment-gaps.png`, E2 `alignment-level{l}.png`, sample
//! grids; redrawn from `metrics.jsonl`), a glossary of the metrics and the
//! config.
//!
//! Pure Rust: it reads the run directory through [`crate::io::rundir`] and the
//! config as plain text, so it works without the `torch` feature.

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use crate::io::atomic::write_bytes;
use crate::io::rundir::{Row, RunDir};

/// Arguments of `fsrgan report`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  fsrgan report runs/small            # writes runs/small/report.md
  fsrgan report runs/small --out small.md
  fsrgan report runs/mine --truth data/tiny    # a run on plain arrays, scored against the truth kept aside
Redraws moment-gaps.png and alignment-level*.png in RUN_DIR.")]
pub struct Args {
    /// A run directory written by `fsrgan train` (holds `metrics.jsonl`).
    pub dir: PathBuf,
    /// Where to write the report (default `RUN_DIR/report.md`); images are
    /// linked relative to it.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Score the run's final learner against this truth as well: a dataset
    /// directory of `fsrgan sample` (its `params.safetensors`) or a
    /// parameters file. For runs trained on plain arrays without a truth
    /// (`fsrgan train --data x.npz`), whose truth was kept aside.
    #[arg(long, value_name = "DIR|FILE")]
    pub truth: Option<PathBuf>,
}

/// The meaning of every metric name, copied from the table at the top of
/// `src/train/eval.rs` (not imported: that module needs the `torch` feature),
/// plus the losses the trainer logs.
const GLOSSARY: &[(&str, &str)] = &[
    (
        "`gap{l}_c{c}`",
        "relative moment gap of level-`l` patches, `c = 1..4` (`metrics::moment_gaps`)",
    ),
    (
        "`floor{l}_c{c}`",
        "the same for an independent real set of the same size: the sampling floor of `gap{l}_c{c}`",
    ),
    (
        "`gap{l}_c{c}_final`, `floor{l}_c{c}_final`",
        "the same at `final_eval` samples (row `final`, `D <= 16`)",
    ),
    (
        "`swd{l}`",
        "sliced Wasserstein distance of patches (32 directions); `swd_floor{l}` its floor",
    ),
    (
        "`dict{l}_min_cos`, `dict{l}_mean_cos`",
        "Hungarian-matched \\|cos\\| of `M'_l` with `M_l`",
    ),
    (
        "`alpha_err`, `beta_err`, `c_err`",
        "level-1 recovery after matching channels",
    ),
    (
        "`sparsity{l}`",
        "mean active channels per patch of the learner (target `k_l`)",
    ),
    (
        "`sr_residual{l}`",
        "A5 residual of the learner's level `l` (`l >= 2`) on the truth's samples (on the held-out split for a dataset without a truth)",
    ),
    (
        "`sr_residual{l}_heldout`, `sr_residual{l}_train`",
        "the same on the dataset's held-out and training splits (training below held-out is overfitting)",
    ),
    (
        "`align{l}_learner`, `align{l}_truth`",
        "mean best \\|cos\\| of the stage discriminator's filters with `M'_l`, `M_l`",
    ),
    (
        "`d_loss`, `g_loss`",
        "discriminator and generator losses of the stage at that step",
    ),
];

/// Writes the report and prints its path.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let dir = &args.dir;
    if !dir.is_dir() {
        anyhow::bail!("{}: no such run directory", dir.display());
    }
    let run = RunDir::open(dir).with_context(|| format!("opening run {}", dir.display()))?;
    let rows = run
        .rows()
        .with_context(|| format!("reading the metrics of run {}", dir.display()))?;
    if rows.is_empty() {
        anyhow::bail!("{}: no rows yet", run.file("metrics.jsonl").display());
    }
    let config = read_config(&run)?;
    let practice = config.as_deref().is_some_and(is_practice);
    let levels = crate::plot::gap_levels(&rows);
    if practice {
        crate::plot::practice_plots(&run.path, &rows, levels)
    } else {
        crate::plot::training_plots(&run.path, &rows)
    }
    .with_context(|| format!("drawing the plots of run {}", dir.display()))?;
    if practice && let Some(t) = &args.truth {
        anyhow::bail!(
            "--truth {}: {} is a practice-track run, whose generator has no dictionary to match with a truth; drop --truth (its metrics are in the report), or score its samples with `fsrgan generate` and `fsrgan score`",
            t.display(),
            dir.display()
        );
    }
    let out = args.out.unwrap_or_else(|| run.file("report.md"));
    let text = if practice {
        render_practice(&run, &rows, config.as_deref(), &out)?
    } else {
        render(&run, &rows, config.as_deref(), &out, args.truth.as_deref())?
    };
    write_bytes(&out, text.as_bytes())
        .with_context(|| format!("writing the report {}", out.display()))?;
    println!("{}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// `RUN_DIR/config.toml` as text, `None` if there is none.
fn read_config(run: &RunDir) -> anyhow::Result<Option<String>> {
    let p = run.file("config.toml");
    match std::fs::read_to_string(&p) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
    }
}

/// The whole report.
fn render(
    run: &RunDir,
    rows: &[Row],
    config: Option<&str>,
    out: &Path,
    truth: Option<&Path>,
) -> anyhow::Result<String> {
    let levels = crate::plot::gap_levels(rows);
    let mut md = header(run, rows);
    md += &training_path(config);
    md += &data_source(run);
    md += &recovery_table(rows, levels);
    if let Some(t) = truth {
        md += &against_truth(run, t)?;
    }
    md += &gaps_vs_init(rows, levels);
    md += &plots(run, out)?;
    md += &glossary();
    md += &config_block(config);
    Ok(md)
}

/// Samples of the truth for the A5 residual of [`against_truth`].
const TRUTH_SAMPLES: usize = 4096;

/// The final learner (`learner.safetensors`) against a truth kept aside:
/// every level's Hungarian-matched dictionary `|cos|`, the level-1 law's
/// errors and the A5 super-resolution residual on [`TRUTH_SAMPLES`] fresh
/// samples of the truth (seed 0 of its sampler). Also printed.
fn against_truth(run: &RunDir, path: &Path) -> anyhow::Result<String> {
    let learner = crate::io::params::read_params_checked(&run.file("learner.safetensors"), None)
        .with_context(|| format!("reading the learner of {}", run.path.display()))?;
    let truth = if path.is_dir() {
        crate::io::Dataset::open(path)
            .with_context(|| format!("opening the truth's dataset {}", path.display()))?
            .params
    } else {
        crate::io::params::read_params(path, Some(&learner.config))
            .with_context(|| format!("reading the truth {}", path.display()))?
    };
    if truth.config.levels != learner.config.levels
        || truth.config.m != learner.config.m
        || truth.config.d() != learner.config.d()
    {
        anyhow::bail!(
            "{}: the truth's model (`{}`) has other shapes than the run's learner (`{}`)",
            path.display(),
            truth.config.name,
            learner.config.name
        );
    }
    let mut s = format!(
        "## Against the truth kept aside\n\nThe final learner against `{}`: matched \
         dictionary \\|cos\\|, level-1 errors, and the A5 residual on {TRUTH_SAMPLES} fresh \
         samples of that truth.\n\n| metric | value |\n|---|---:|\n",
        path.display()
    );
    let mut line = |k: String, v: f64| {
        eprintln!("against the truth: {k} {v:.4}");
        let _ = writeln!(s, "| `{k}` | {} |", sig4(v));
    };
    for l in 0..truth.config.levels {
        let m = crate::metrics::dictionary_recovery(&truth, &learner, l)?;
        line(format!("dict{}_min_cos", l + 1), m.min);
        line(format!("dict{}_mean_cos", l + 1), m.mean);
        if l == 0 {
            let r = crate::metrics::level1_recovery(&truth, &learner, &m.perm);
            line("alpha_err".into(), r.alpha_err);
            line("beta_err".into(), r.beta_err);
            line("c_err".into(), r.c_err);
        }
    }
    let batch = crate::model::Sampler::new(&truth, 0).sample(0, TRUTH_SAMPLES);
    let views: Vec<_> = batch.x.iter().map(|a| a.view()).collect();
    for (i, r) in crate::model::diagnostics::a5_residual(&learner, &views)
        .iter()
        .enumerate()
    {
        line(format!("sr_residual{}", i + 2), r.relative());
    }
    s.push('\n');
    Ok(s)
}

/// The run's real samples, from its `data.json` (runs before it trained
/// from the oracle).
fn data_source(run: &RunDir) -> String {
    let words = std::fs::read_to_string(run.file("data.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["description"].as_str().map(str::to_owned))
        .unwrap_or_else(|| {
            "the oracle (no data.json: the run predates training from datasets)".into()
        });
    format!("**Data:** {words}.\n\n")
}

/// Whether a run config is a practice-track one (`track = "practice"`).
fn is_practice(config: &str) -> bool {
    config
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| t.get("track").and_then(|v| v.as_str().map(str::to_owned)))
        .is_some_and(|t| t == "practice")
}

/// The held-out split of a practice run on a plain set without a truth
/// (its `data.json` says `"truth": false`); `None` for a run scored against
/// a truth, or one whose `data.json` is missing or unreadable.
#[derive(Debug, Clone, Copy)]
struct HeldoutSplit {
    n_train: u64,
    n_heldout: u64,
    n_reference: u64,
    n_floor: u64,
}

fn practice_split(run: &RunDir) -> Option<HeldoutSplit> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.file("data.json")).ok()?).ok()?;
    if v["truth"].as_bool() != Some(false) {
        return None;
    }
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    Some(HeldoutSplit {
        n_train: n("n_train"),
        n_heldout: n("n_heldout"),
        n_reference: n("n_reference"),
        n_floor: n("n_floor"),
    })
}

/// The report of a practice-track run: summary, the final sample metrics
/// against their floors per level, the patch SWD at the end of every phase,
/// the plots and the config.
fn render_practice(
    run: &RunDir,
    rows: &[Row],
    config: Option<&str>,
    out: &Path,
) -> anyhow::Result<String> {
    let levels = crate::plot::gap_levels(rows);
    let mut md = header(run, rows);
    let split = practice_split(run);
    match &split {
        Some(h) => {
            let _ = write!(
                md,
                "**Training path:** practice track (an ordinary convolutional GAN trained on the \
                 first {} samples of a plain set of arrays without a truth; every metric compares \
                 its samples with the held-out split of the dataset: the first half of its last \
                 {} samples, never trained on, is the reference ({} samples), the second half \
                 the floor set ({} samples). Atom and pair coverage need the truth and are not \
                 reported).\n\n",
                h.n_train, h.n_heldout, h.n_reference, h.n_floor
            );
        }
        None => {
            md += "**Training path:** practice track (an ordinary convolutional GAN trained on the \
                   dataset's samples; every metric compares its samples with fresh samples of the truth, \
                   beside the floor of an independent real set of the same size).\n\n";
        }
    }
    if let Some(words) = std::fs::read_to_string(run.file("data.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["description"].as_str().map(str::to_owned))
    {
        let _ = write!(md, "**Data:** {words}.\n\n");
    }
    let fin = rows
        .iter()
        .rev()
        .find(|r| r.stage == "final")
        .or(rows.last());
    if let Some(f) = fin {
        let v = |k: String| f.values.get(&k).copied().unwrap_or(f64::NAN);
        md += "## Final sample metrics (row `final`)\n\n";
        let coverage = split.is_none();
        md += "| level | patch SWD (floor) | x floor | pyramid SWD finest band x floor | moment gap c=2 (floor) | c=4 (floor) |";
        if coverage {
            md += " atom coverage (floor) | pair coverage (floor) |";
        }
        md += " MS-SSIM (real) | active channels per location |\n";
        md += &"|---".repeat(if coverage { 10 } else { 8 });
        md += "|\n";
        for l in 1..=levels {
            let _ = write!(
                md,
                "| {l} | {} ({}) | {} | {} | {} ({}) | {} ({}) |",
                sig4(v(format!("swd{l}"))),
                sig4(v(format!("swd{l}_floor"))),
                sig4(v(format!("swd{l}")) / v(format!("swd{l}_floor"))),
                sig4(v(format!("pyr{l}_0")) / v(format!("pyr{l}_0_floor"))),
                sig4(v(format!("gap{l}_c2"))),
                sig4(v(format!("floor{l}_c2"))),
                sig4(v(format!("gap{l}_c4"))),
                sig4(v(format!("floor{l}_c4"))),
            );
            if coverage {
                let _ = write!(
                    md,
                    " {} ({}) | {} ({}) |",
                    sig4(v(format!("cov{l}"))),
                    sig4(v(format!("cov{l}_floor"))),
                    sig4(v(format!("pair_cov{l}"))),
                    sig4(v(format!("pair_cov{l}_floor"))),
                );
            }
            let _ = writeln!(
                md,
                " {} ({}) | {} |",
                sig4(v(format!("msssim{l}"))),
                sig4(v(format!("msssim{l}_real"))),
                sig4(v(format!("hidden{l}"))),
            );
        }
        md += "\n";
    }
    md += "## Patch SWD over floor at the end of every phase\n\n| phase | step |";
    for l in 1..=levels {
        let _ = write!(md, " level {l} |");
    }
    md += "\n|---|---|";
    md += &"---|".repeat(levels);
    md += "\n";
    for r in stage_ends(rows) {
        let _ = write!(md, "| {} | {} |", r.stage, r.step);
        for l in 1..=levels {
            let ratio = r
                .values
                .get(&format!("swd{l}"))
                .copied()
                .unwrap_or(f64::NAN)
                / r.values
                    .get(&format!("swd{l}_floor"))
                    .copied()
                    .unwrap_or(f64::NAN);
            let _ = write!(md, " {} |", sig4(ratio));
        }
        md += "\n";
    }
    md += "\n";
    md += &plots(run, out)?;
    md += &config_block(config);
    Ok(md)
}

/// Title and summary: run directory, rows, steps, wall time, stages.
fn header(run: &RunDir, rows: &[Row]) -> String {
    let last = rows.last();
    let secs = last.map_or(0.0, |r| r.secs);
    let stages: Vec<&str> = stage_ends(rows).iter().map(|r| r.stage.as_str()).collect();
    let mut s = format!("# Training report: `{}`\n\n", run.path.display());
    let _ = writeln!(s, "- run directory: `{}`", run.path.display());
    let _ = writeln!(s, "- metric rows: {}", rows.len());
    let _ = writeln!(s, "- total steps: {}", last.map_or(0, |r| r.step));
    let _ = writeln!(s, "- wall time: {} s ({})", sig4(secs), hms(secs));
    let _ = writeln!(s, "- stages: {}\n", stages.join(" → "));
    s
}

/// The training path the run's config describes (GAN default or a
/// baseline), when the run has a readable training config.
fn training_path(config: Option<&str>) -> String {
    #[cfg(feature = "torch")]
    if let Some(cfg) = config.and_then(|t| crate::train::TrainConfig::from_stored_toml(t).ok()) {
        return format!("**Training path:** {}.\n\n", cfg.path_description());
    }
    let _ = config;
    String::new()
}

/// `h:mm:ss` of `secs`.
fn hms(secs: f64) -> String {
    let t = secs.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60)
}

/// The last row of every stage, stages in order of first appearance (the
/// `init` row is the whole `init` stage).
fn stage_ends(rows: &[Row]) -> Vec<&Row> {
    let mut ends: Vec<&Row> = Vec::new();
    for r in rows {
        match ends.iter_mut().find(|e| e.stage == r.stage) {
            Some(e) => *e = r,
            None => ends.push(r),
        }
    }
    ends
}

/// The metric columns of the recovery table for `levels` levels.
fn recovery_columns(levels: usize) -> Vec<String> {
    let mut cols: Vec<String> = (1..=levels).map(|l| format!("dict{l}_min_cos")).collect();
    cols.extend(["alpha_err", "beta_err", "c_err"].map(String::from));
    for l in 1..=levels {
        cols.push(format!("gap{l}_c2"));
        cols.push(format!("gap{l}_c4"));
    }
    cols.extend((1..=levels).map(|l| format!("sparsity{l}")));
    cols.extend((2..=levels).map(|l| format!("sr_residual{l}")));
    cols
}

/// "Recovery against the truth": one row per stage end.
fn recovery_table(rows: &[Row], levels: usize) -> String {
    let cols = recovery_columns(levels);
    let mut s = String::from("## Recovery against the truth\n\n");
    s += "The last evaluation of every stage (`init`: the random learner at step 0). \
          steps/s: the stage's GAN steps per second of step time (evaluations, checkpoints \
          and warm starts excluded).\n\n";
    s += "| stage | step | secs | steps/s |";
    for c in &cols {
        let _ = write!(s, " {c} |");
    }
    s += "\n|---|---:|---:|---:|";
    s += &"---:|".repeat(cols.len());
    s.push('\n');
    for r in stage_ends(rows) {
        let rate = r
            .step_secs
            .filter(|&t| t > 0.0)
            .map(|t| r.stage_step as f64 / t);
        let _ = write!(
            s,
            "| {} | {} | {} | {} |",
            r.stage,
            r.step,
            sig4(r.secs),
            cell(rate)
        );
        for c in &cols {
            let _ = write!(s, " {} |", cell(r.values.get(c).copied()));
        }
        s.push('\n');
    }
    s.push('\n');
    s
}

/// "Moment gaps vs initialisation": init, the last regular evaluation and the
/// precise final one (`*_final`, when present), their ratios to init and floors,
/// for `gap{l}_c2`, `gap{l}_c4`.
fn gaps_vs_init(rows: &[Row], levels: usize) -> String {
    let mut s = String::from("## Moment gaps vs initialisation\n\n");
    s += "`init`: the random learner at step 0; last: the last regular evaluation \
          (`eval_batch` samples); final: the final evaluation (`final_eval` samples, exact \
          moment tensors; row `final`); floor: the gap of an independent real sample of the \
          same size (`floor{l}_c{c}`, `floor{l}_c{c}_final`). A gap near its floor is as \
          small as the evaluation can resolve.\n\n";
    s +=
        "| metric | init | last | floor | final | floor (final) | init / final | final / floor |\n";
    s += "|---|---:|---:|---:|---:|---:|---:|---:|\n";
    let init = rows.iter().find(|r| r.stage == "init");
    for l in 1..=levels {
        for c in [2, 4] {
            let key = format!("gap{l}_c{c}");
            let first = init.and_then(|r| r.values.get(&key)).copied();
            let last = last_value(rows, &key);
            let floor = last_value(rows, &format!("floor{l}_c{c}"));
            let fin = last_value(rows, &format!("{key}_final"));
            let fin_floor = last_value(rows, &format!("floor{l}_c{c}_final"));
            let (best, best_floor) = if fin.is_some() {
                (fin, fin_floor)
            } else {
                (last, floor)
            };
            let _ = writeln!(
                s,
                "| {key} | {} | {} | {} | {} | {} | {} | {} |",
                cell(first),
                cell(last),
                cell(floor),
                cell(fin),
                cell(fin_floor),
                ratio(first, best),
                ratio(best, best_floor)
            );
        }
    }
    s.push('\n');
    s
}

/// The value of `key` in the last row that has it.
fn last_value(rows: &[Row], key: &str) -> Option<f64> {
    rows.iter().rev().find_map(|r| r.values.get(key)).copied()
}

/// `a / b` to 4 significant digits; an em dash if either is missing or `b` is
/// not positive.
fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => sig4(a / b),
        _ => "—".into(),
    }
}

/// A table cell: 4 significant digits, an em dash if missing.
fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), sig4)
}

/// `v` to 4 significant digits: fixed point for `1e-3 <= |v| < 1e5`,
/// scientific otherwise.
fn sig4(v: f64) -> String {
    if !v.is_finite() || v.abs() < f64::MIN_POSITIVE {
        return if v.is_finite() {
            "0".into()
        } else {
            format!("{v}")
        };
    }
    let rounded: f64 = format!("{v:.3e}").parse().unwrap_or(v);
    let exp = rounded.abs().log10().floor() as i32;
    if (-3..5).contains(&exp) {
        format!("{rounded:.*}", (3 - exp).max(0) as usize)
    } else {
        format!("{v:.3e}")
    }
}

/// The plots present in the run directory, as images linked relative to `out`,
/// each with a caption.
fn plots(run: &RunDir, out: &Path) -> anyhow::Result<String> {
    let mut figures: Vec<(String, String)> = vec![(
        "moment-gaps.png".into(),
        "E1: relative moment gaps `gap{l}_c2`, `gap{l}_c4` of every level against the global \
         step, stage by stage, with their sampling floors (dashed)."
            .into(),
    )];
    for l in alignment_levels(&run.path)? {
        for (suffix, when) in [
            ("-start", "at the start of its stage"),
            ("-middle", "in the middle of its stage"),
            ("", "at the end of its stage"),
        ] {
            figures.push((
                format!("alignment-level{l}{suffix}.png"),
                format!(
                    "E2, level {l}, {when}: \\|cos\\| of the discriminator's first-layer filters \
                     with the learner's atoms `M'_{l}` (left) and the true atoms `M_{l}` (right)."
                ),
            ));
        }
    }
    figures.push((
        "swd.png".into(),
        "Practice track: patch SWD `swd{l}` and the finest pyramid band's SWD `pyr{l}_0` of the \
         generated samples against the global step, with their floors (dashed)."
            .into(),
    ));
    figures.push((
        "samples.png".into(),
        "Real samples of the true generator (left) and samples of the learner (right), every \
         level, on one colour scale per level: grey is 0, full colour is +/- s_l, the 99th \
         percentile of the real level's nonzero |x| (the values are in the caption)."
            .into(),
    ));
    figures.push((
        "superres.png".into(),
        "Super-resolution: for the same real parents `X_{l-1}` (held-out samples), the real \
         child `X_l` (left) beside the learner's child of that parent (right), every level \
         `l >= 2`, on the real child's colour scale."
            .into(),
    ));
    figures.push((
        "samples-real.png".into(),
        "Real samples of the true generator alone, on the same scale.".into(),
    ));
    let base = out.parent().unwrap_or(Path::new("."));
    let mut s = String::from("## Plots\n\n");
    for (file, caption) in figures {
        let path = run.file(&file);
        if path.is_file() {
            let link = relative_link(&path, base);
            let _ = writeln!(s, "![{file}]({link})\n\n*{caption}*\n");
        }
    }
    if let Ok(w) = std::fs::read_to_string(run.file(crate::plot::PLOT_WARNINGS)) {
        s.push_str("**Plots that could not be drawn** (the run itself is complete):\n\n");
        for line in w.lines().filter(|l| !l.trim().is_empty()) {
            let _ = writeln!(s, "- {line}");
        }
        s.push('\n');
    }
    Ok(s)
}

/// The levels `l` of the `alignment-level{l}.png` files in `dir`, sorted.
fn alignment_levels(dir: &Path) -> anyhow::Result<Vec<usize>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))?;
    let mut levels: Vec<usize> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| {
            n.strip_prefix("alignment-level")?
                .strip_suffix(".png")?
                .parse()
                .ok()
        })
        .collect();
    levels.sort_unstable();
    levels.dedup();
    Ok(levels)
}

/// `target` relative to the directory `base` (both canonicalised), for a
/// Markdown link; the absolute path if that fails.
fn relative_link(target: &Path, base: &Path) -> String {
    let (Ok(t), Ok(b)) = (target.canonicalize(), base.canonicalize()) else {
        return markdown_path(&target.display().to_string());
    };
    let (tc, bc): (Vec<Component<'_>>, Vec<Component<'_>>) =
        (t.components().collect(), b.components().collect());
    let common = tc.iter().zip(&bc).take_while(|(x, y)| x == y).count();
    let mut rel = PathBuf::new();
    for _ in common..bc.len() {
        rel.push("..");
    }
    rel.extend(&tc[common..]);
    markdown_path(&rel.to_string_lossy().replace('\\', "/"))
}

/// A link destination, in angle brackets if it holds spaces.
fn markdown_path(p: &str) -> String {
    if p.contains(' ') {
        format!("<{p}>")
    } else {
        p.to_string()
    }
}

/// The metric glossary.
fn glossary() -> String {
    let mut s = String::from("## Metrics\n\n| name | meaning |\n|---|---|\n");
    s += "| stage, step, secs | stage name, global step, wall-clock seconds since the start |\n";
    for (name, meaning) in GLOSSARY {
        let _ = writeln!(s, "| {name} | {meaning} |");
    }
    s.push('\n');
    s
}

/// The config verbatim in a collapsed block.
fn config_block(config: Option<&str>) -> String {
    let Some(text) = config else {
        return "## Config\n\n*No `config.toml` in the run directory.*\n".into();
    };
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let body = text.strip_suffix('\n').unwrap_or(text);
    format!(
        "## Config\n\n<details><summary><code>config.toml</code></summary>\n\n\
         {fence}toml\n{body}\n{fence}\n\n</details>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_significant_digits() {
        assert_eq!(sig4(48.0), "48.00");
        assert_eq!(sig4(0.012345), "0.01235");
        assert_eq!(sig4(9.99996), "10.00");
        assert_eq!(sig4(123456.0), "1.235e5");
        assert_eq!(sig4(0.0), "0");
        assert_eq!(sig4(-0.5), "-0.5000");
        assert_eq!(sig4(2.5e-7), "2.500e-7");
    }

    #[test]
    fn links_are_relative() {
        let d = tempfile::tempdir().unwrap();
        let run = d.path().join("run");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::write(run.join("a.png"), b"x").unwrap();
        assert_eq!(relative_link(&run.join("a.png"), &run), "a.png");
        assert_eq!(relative_link(&run.join("a.png"), d.path()), "run/a.png");
    }
}
