//! `fsrgan demo`: the main job on a built-in default — sample the `small`
//! preset, print the `inspect` summary, draw a PNG grid of samples, then (with
//! the `torch` feature) train the GAN default on the CPU *from that dataset's
//! samples* (90 000 training samples, 10 000 held out for the metrics; its
//! ground truth only scores) with a reduced budget ([`DEMO_CONFIG`], about
//! four and a half minutes on two cores), write the report, and say which
//! targets of the success-rate experiments the run met and how it compares
//! with the method-of-moments baseline's committed numbers for the same
//! truth (those were trained from the oracle, fresh draws of the truth).

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fsrgan demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output directory: the dataset goes to OUT/data, the grid to
    /// OUT/grid.png, the training run to OUT/run (report: OUT/run/report.md).
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Number of samples (10 000 of them held out for the metrics). From
    /// the old default of 10 000 (8 000 to train on) the demo's `dict1`
    /// stalled (min |cos| 0.53 on seed 1) and met 8 targets; from 100 000, 9.
    #[arg(long, default_value_t = 100_000)]
    pub n: u64,
    /// Seed of the truth (and of the training).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only sample and inspect; do not train.
    #[arg(long)]
    pub no_train: bool,
}

/// Runs `fsrgan demo`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let data = args.out.join("data");
    let grid = args.out.join("grid.png");
    super::sample::run(super::sample::Args {
        model: super::common::ModelChoice {
            preset: Some("small".into()),
            config: None,
        },
        n: args.n,
        seed: args.seed,
        out: data.clone(),
        format: crate::io::Format::Npz,
        hidden: false,
        classes: 1,
        domains: 1,
        shard: None,
        grid: Some(grid),
        force: true,
        params_dtype: crate::io::Dtype::F32,
        chunk: 1024,
        threads: 0,
        timing: false,
    })?;
    let code = super::inspect::run(super::inspect::Args {
        dir: data.clone(),
        max_samples: 2048,
        json: false,
    })?;
    #[cfg(feature = "torch")]
    if !args.no_train {
        let cfg_path = args.out.join("demo-train.toml");
        crate::io::atomic::write_bytes(&cfg_path, DEMO_CONFIG.as_bytes())?;
        let run = args.out.join("run");
        let code = super::train::run(super::train::Args {
            preset: None,
            config: Some(cfg_path),
            data: Some(data),
            device: "cpu".into(),
            out: run.clone(),
            resume: None,
            force: true,
            threads: None,
            omp_wait: None,
        })?;
        verdict(&run, args.seed)?;
        return Ok(code);
    }
    Ok(code)
}

/// The demo's training: the `small` GAN default with about half its budget
/// (every stage from the random start: closed-form moment discriminators for
/// level 1, the witness in the paired conditional game for super-resolution),
/// from the demo's dataset of 100 000 samples, 10 000 of them held out.
#[cfg_attr(not(feature = "torch"), allow(dead_code))]
pub const DEMO_CONFIG: &str = r#"# fsrgan demo: the `small` GAN default with a reduced budget.
# dict1 and level1 as in the preset; super-resolution stages of 1000 steps
# (the preset's 2000) against the witness discriminator in the paired
# conditional game (real parents; the real children beside the learner's
# children of the same parents), 2 random starts. Real batches come from the
# dataset's 90 000 training samples; 10 000 are held out for the metrics
# (the reference and the floors: evaluations of at most 5 000 samples).
preset = "small"
eval_batch = 2048
final_eval = 32768
metrics_every = 100
[superres]
steps = 1000
candidates = 2
select_after = 200
"#;

/// The method-of-moments baseline's final metrics on `small`, truth seed =
/// training seed = 1..5, from `experiments/training/success.sh small`.
#[cfg_attr(not(feature = "torch"), allow(dead_code))]
const BASELINE: &str = include_str!("../../experiments/training/results/small-moments-final.json");

/// Prints which targets the demo's run met (those of
/// `experiments/training/compare.py`, at the demo's reduced budget) and how
/// it compares with the method-of-moments baseline on the same truth.
#[cfg(feature = "torch")]
fn verdict(run: &std::path::Path, seed: u64) -> anyhow::Result<()> {
    use anyhow::Context;
    let rows = crate::io::rundir::RunDir::open(run)?.rows()?;
    let Some(fin) = rows.iter().rev().find(|r| r.stage == "final") else {
        anyhow::bail!("{}: the run has no final row", run.display());
    };
    let v = &fin.values;
    let get = |k: &str| v.get(k).copied().unwrap_or(f64::NAN);
    // The embedded baseline is part of the binary: if it does not parse, the
    // build is broken, and the verdict must say so rather than drop it.
    let table: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>> =
        serde_json::from_str(BASELINE).context(
            "the embedded baseline experiments/training/results/small-moments-final.json does not parse",
        )?;
    let base = table.get(&seed.to_string()).cloned();
    let levels = (1..)
        .take_while(|l| v.contains_key(&format!("dict{l}_min_cos")))
        .count();
    let mut lines = Vec::new();
    let mut met = 0;
    let mut total = 0;
    let mut check = |what: String, ok: bool, lines: &mut Vec<String>| {
        total += 1;
        met += usize::from(ok);
        lines.push(format!("  [{}] {what}", if ok { "met" } else { "missed" }));
    };
    for l in 1..=levels {
        let c = get(&format!("dict{l}_min_cos"));
        check(
            format!("level {l} dictionary min |cos| {c:.4} >= 0.95"),
            c >= 0.95,
            &mut lines,
        );
    }
    for k in ["alpha_err", "beta_err"] {
        let e = get(k);
        check(format!("{k} {e:.3} <= 0.05"), e <= 0.05, &mut lines);
    }
    if let Some(b) = &base {
        let (c, cb) = (get("c_err"), b.get("c_err").copied().unwrap_or(f64::NAN));
        check(
            format!("c_err {c:.3} <= 1.5 x the baseline's {cb:.3}"),
            c <= 1.5 * cb,
            &mut lines,
        );
    }
    for l in 2..=levels {
        let r = get(&format!("sr_residual{l}"));
        check(
            format!("level {l} super-resolution residual {r:.3} <= 0.02"),
            r <= 0.02,
            &mut lines,
        );
    }
    for l in 1..=levels {
        for c in [2, 4] {
            let (g, f) = (
                get(&format!("gap{l}_c{c}_final")),
                get(&format!("floor{l}_c{c}_final")),
            );
            check(
                format!("level {l} moment gap c={c} {:.2}x its floor <= 3x", g / f),
                g <= 3.0 * f,
                &mut lines,
            );
        }
    }
    eprintln!(
        "\nfsrgan demo: the GAN default (reduced budget; paired conditional game for super-resolution; trained from the dataset's samples) met {met} of {total} targets of the success-rate runs:"
    );
    for l in &lines {
        eprintln!("{l}");
    }
    match &base {
        Some(b) => {
            let mut beats = Vec::new();
            let mut loses = Vec::new();
            // Lower is better; within 10% (or `abs` absolute) counts as a match.
            let mut cmp = |name: String, ours: f64, theirs: f64, abs: f64| {
                if ours <= 1.1 * theirs + abs {
                    beats.push(format!("{name} {ours:.3} vs {theirs:.3}"));
                } else {
                    loses.push(format!("{name} {ours:.3} vs {theirs:.3}"));
                }
            };
            for k in ["alpha_err", "beta_err", "c_err"] {
                cmp(k.into(), get(k), b.get(k).copied().unwrap_or(f64::NAN), 0.0);
            }
            for l in 1..=levels {
                let k = format!("dict{l}_min_cos");
                cmp(
                    format!("1 - {k}"),
                    1.0 - get(&k),
                    1.0 - b.get(&k).copied().unwrap_or(f64::NAN),
                    0.005,
                );
            }
            for l in 2..=levels {
                let k = format!("sr_residual{l}");
                cmp(
                    k.clone(),
                    get(&k),
                    b.get(&k).copied().unwrap_or(f64::NAN),
                    0.0,
                );
            }
            eprintln!(
                "Against the method-of-moments baseline on the same truth (experiments/training, trained from the oracle):"
            );
            eprintln!(
                "  matches or beats it on: {}",
                if beats.is_empty() {
                    "nothing".into()
                } else {
                    beats.join("; ")
                }
            );
            eprintln!(
                "  falls behind on: {}",
                if loses.is_empty() {
                    "nothing".into()
                } else {
                    loses.join("; ")
                }
            );
        }
        None => eprintln!(
            "(no committed baseline numbers for truth seed {seed}: run experiments/training/success.sh small)"
        ),
    }
    Ok(())
}
