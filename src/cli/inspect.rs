//! `fsrgan inspect DIR`: shapes, diagnostics next to their targets, and whether
//! the files are consistent (sizes, checksums, shapes, statistics).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ndarray::{ArrayView4, s};
use serde::Serialize;

use crate::io::Dataset;
use crate::model::diagnostics::{self, Activity};

/// Arguments of `fsrgan inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A dataset directory written by `fsrgan sample`.
    pub dir: PathBuf,
    /// Samples (the first ones) on which the A5 residual and the resolution
    /// consistency are recomputed from the stored float32 data.
    #[arg(long, default_value_t = 2048)]
    pub max_samples: usize,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Everything `inspect` reports.
#[derive(Debug, Serialize)]
struct Report {
    dir: String,
    config: String,
    seed: u64,
    start: u64,
    end: u64,
    n_total: u64,
    arrays: Vec<(String, Vec<usize>, String)>,
    levels: Vec<LevelReport>,
    max_level1_correlation: f64,
    checks: Vec<(String, bool)>,
    consistent: bool,
}

#[derive(Debug, Serialize)]
struct LevelReport {
    level: usize,
    m: usize,
    target_k: f64,
    mean_active: f64,
    mean_active_se: f64,
    recomputed_mean_active: f64,
    recomputed_from: String,
    p_ge2: f64,
    histogram: Vec<u64>,
    coherence: f64,
    a5_residual: Option<f64>,
    a5_residual_stored: Option<f64>,
    resolution_consistency: Option<f64>,
}

/// Runs `fsrgan inspect`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let ds = Dataset::open(&args.dir)
        .with_context(|| format!("opening dataset {}", args.dir.display()))?;
    let m = &ds.manifest;
    let cfg = &ds.params.config;
    let d = &m.diagnostics;
    let mut checks = vec![
        ("file sizes and CRC-32 match the manifest".to_string(), true),
        ("params and array shapes match the config".to_string(), true),
    ];
    let take = args.max_samples.min(m.len() as usize);
    let xs: Vec<ndarray::Array4<f64>> = (1..=cfg.levels)
        .map(|l| ds.x(l))
        .collect::<Result<_, _>>()?;
    let views: Vec<ArrayView4<'_, f64>> =
        xs.iter().map(|x| x.slice(s![..take, .., .., ..])).collect();
    let a5 = diagnostics::a5_residual(&ds.params, &views);
    let cons = diagnostics::resolution_consistency(&views);
    let mut levels = Vec::new();
    for (l, xl) in xs.iter().enumerate() {
        let (recomputed, from): (Activity, String) = if m.hidden {
            let s = ds.s(l + 1)?;
            (
                diagnostics::activity_of_codes(s.view(), 0.0),
                "s (stored)".into(),
            )
        } else {
            let codes = diagnostics::decode_codes(&ds.params, l, xl.view(), cfg.decode_tau);
            (
                diagnostics::activity_of_codes(codes.view(), 1e-4),
                "decoded from x, > 1e-4".into(),
            )
        };
        let act = d
            .activity
            .get(l)
            .cloned()
            .unwrap_or(Activity::from_counts(std::iter::empty(), cfg.m[l]));
        if m.hidden {
            checks.push((
                format!(
                    "level {} activity histogram recomputed from s{} equals the manifest's",
                    l + 1,
                    l + 1
                ),
                recomputed.hist == act.hist,
            ));
        }
        levels.push(LevelReport {
            level: l + 1,
            m: cfg.m[l],
            target_k: cfg.k[l],
            mean_active: act.mean(),
            mean_active_se: act.se(),
            recomputed_mean_active: recomputed.mean(),
            recomputed_from: from,
            p_ge2: act.p_ge2(),
            histogram: act.hist.clone(),
            coherence: d.coherence.get(l).copied().unwrap_or(f64::NAN),
            a5_residual: l.checked_sub(1).and_then(|i| d.a5_residual.get(i).copied()),
            a5_residual_stored: l.checked_sub(1).map(|i| a5[i].relative()),
            resolution_consistency: l.checked_sub(1).map(|i| cons[i].relative()),
        });
    }
    let consistent = checks.iter().all(|c| c.1);
    let report = Report {
        dir: args.dir.display().to_string(),
        config: cfg.name.clone(),
        seed: m.seed,
        start: m.start,
        end: m.end,
        n_total: m.n_total,
        arrays: m
            .arrays
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.shape.clone(),
                    format!("{:?}", v.dtype).to_lowercase(),
                )
            })
            .collect(),
        levels,
        max_level1_correlation: d.max_level1_correlation,
        checks,
        consistent,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(
            &report,
            m.shard.map(|s| format!("shard {}/{}", s.index, s.count)),
            take,
        );
    }
    Ok(if consistent {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_text(r: &Report, shard: Option<String>, take: usize) {
    println!("dataset {}", r.dir);
    println!(
        "  model `{}`, seed {}, samples {}..{} of {}{}",
        r.config,
        r.seed,
        r.start,
        r.end,
        r.n_total,
        shard.map(|s| format!(" ({s})")).unwrap_or_default()
    );
    println!("arrays");
    for (name, shape, dtype) in &r.arrays {
        println!("  {name:<4} {dtype} {shape:?}");
    }
    println!(
        "diagnostics (A1 sparsity: mean active channels per patch +- standard error; A2 coherence; A5 residual)"
    );
    println!(
        "  {:>5} {:>4} {:>8} {:>16} {:>12} {:>7} {:>9} {:>11} {:>11} {:>11}",
        "level",
        "m",
        "target k",
        "mean active",
        "recomputed",
        "P(>=2)",
        "mu",
        "A5 (f64)",
        "A5 (stored)",
        "consistency"
    );
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2e}"));
    for lv in &r.levels {
        println!(
            "  {:>5} {:>4} {:>8.3} {:>9.4}+-{:<5.4} {:>12.4} {:>7.3} {:>9.1e} {:>11} {:>11} {:>11}",
            lv.level,
            lv.m,
            lv.target_k,
            lv.mean_active,
            lv.mean_active_se,
            lv.recomputed_mean_active,
            lv.p_ge2,
            lv.coherence,
            opt(lv.a5_residual),
            opt(lv.a5_residual_stored),
            opt(lv.resolution_consistency),
        );
    }
    println!("  histogram of active channels per patch (count: fraction of patches)");
    for lv in &r.levels {
        let total: u64 = lv.histogram.iter().sum::<u64>().max(1);
        let last = lv.histogram.iter().rposition(|&c| c > 0).unwrap_or(0);
        let cells: Vec<String> = lv.histogram[..=last]
            .iter()
            .enumerate()
            .map(|(a, &c)| format!("{a}:{:.3}", c as f64 / total as f64))
            .collect();
        println!("  {:>5} {}", lv.level, cells.join(" "));
    }
    if let Some(first) = r.levels.first() {
        println!(
            "  recomputed from: {} (A5 and consistency on the first {take} samples)",
            first.recomputed_from
        );
    }
    println!(
        "  A3: max |C| between distinct level-1 units = {:.3}",
        r.max_level1_correlation
    );
    println!("checks");
    for (what, ok) in &r.checks {
        println!("  [{}] {what}", if *ok { "ok" } else { "FAIL" });
    }
    println!("consistent: {}", if r.consistent { "yes" } else { "NO" });
}
