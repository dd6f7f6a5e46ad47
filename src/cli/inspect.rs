//! `fsrgan inspect DIR`: shapes, diagnostics next to their targets, and whether
//! the files are consistent (sizes, checksums, shapes, statistics).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ndarray::{ArrayView4, Axis, s};
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
    /// Classes of a labelled mixture (1: not labelled).
    classes: usize,
    /// Domains (2: a domain pair).
    domains: usize,
    /// A labelled set's samples per class (empty otherwise).
    label_counts: Vec<u64>,
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
        (
            "params and array shapes, array dtypes match the config and manifest; arrays finite"
                .to_string(),
            true,
        ),
    ];
    let truths = match ds.kind {
        k if k.is_labelled() => format!("all {} class truths", k.classes),
        k if k.is_paired() => "both domains' truths".to_string(),
        _ => "the truth".to_string(),
    };
    checks.push(match ds.check_truth() {
        Ok(()) => (
            format!(
                "params.safetensors holds {truths} that the manifest's config and seed generate"
            ),
            true,
        ),
        Err(e) => (
            format!(
                "params.safetensors holds {truths} that the manifest's config and seed generate: {e}"
            ),
            false,
        ),
    });
    let take = args.max_samples.min(m.len() as usize);
    let xs: Vec<ndarray::Array4<f64>> = (1..=cfg.levels)
        .map(|l| ds.x(l))
        .collect::<Result<_, _>>()?;
    let views: Vec<ArrayView4<'_, f64>> =
        xs.iter().map(|x| x.slice(s![..take, .., .., ..])).collect();
    let labels = ds.labels()?;
    // Each sample against its own truth: (truth, rows) per class of a
    // labelled set, else the one truth (domain A) on every row.
    let groups: Vec<(&crate::model::Params, Vec<usize>)> = match &labels {
        Some(y) => ds
            .classes
            .iter()
            .enumerate()
            .map(|(k, p)| (p, (0..y.len()).filter(|&i| y[i] == k).collect()))
            .collect(),
        None => vec![(&ds.params, (0..m.len() as usize).collect())],
    };
    let label_counts: Vec<u64> = groups
        .iter()
        .filter(|_| labels.is_some())
        .map(|(_, rows)| rows.len() as u64)
        .collect();
    let mut a5 = vec![diagnostics::Residual::default(); cfg.levels.saturating_sub(1)];
    for (p, rows) in &groups {
        let first: Vec<usize> = rows.iter().copied().filter(|&i| i < take).collect();
        let sub: Vec<ndarray::Array4<f64>> =
            views.iter().map(|x| x.select(Axis(0), &first)).collect();
        let sub_views: Vec<ArrayView4<'_, f64>> = sub.iter().map(|x| x.view()).collect();
        crate::io::dataset::add_residuals(&mut a5, &diagnostics::a5_residual(p, &sub_views));
    }
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
            let mut act: Option<Activity> = None;
            for (p, rows) in &groups {
                // One truth for every row: no copy of the images.
                let x = match &labels {
                    Some(_) => std::borrow::Cow::Owned(xl.select(Axis(0), rows)),
                    None => std::borrow::Cow::Borrowed(xl),
                };
                let codes = diagnostics::decode_codes(p, l, x.view(), cfg.decode_tau);
                let a = diagnostics::activity_of_codes(codes.view(), 1e-4);
                match &mut act {
                    Some(acc) => acc.merge(&a),
                    None => act = Some(a),
                }
            }
            (
                act.unwrap_or(Activity::from_counts(std::iter::empty(), cfg.m[l])),
                if labels.is_some() {
                    "decoded from x with each sample's class, > 1e-4".into()
                } else {
                    "decoded from x, > 1e-4".into()
                },
            )
        };
        if let Some(b) = &ds.domain_b {
            // Domain B's images decode (with B's dictionary) to domain A's codes.
            let x = xl.slice(s![..take, .., .., ..]);
            let xb = ds.x_b(l + 1)?;
            let xb = xb.slice(s![..take, .., .., ..]);
            let ca = diagnostics::decode_codes(&ds.params, l, x, 0.0);
            let cb = diagnostics::decode_codes(b, l, xb, 0.0);
            let diff: f64 = ca.iter().zip(&cb).map(|(a, b)| (a - b) * (a - b)).sum();
            let norm: f64 = ca.iter().map(|a| a * a).sum();
            checks.push((
                format!(
                    "level {}: x{}_b decoded with domain B's dictionary gives the codes of x{} (relative squared difference {:.1e} <= 1e-10)",
                    l + 1,
                    l + 1,
                    l + 1,
                    diff / norm.max(f64::MIN_POSITIVE)
                ),
                diff <= 1e-10 * norm.max(f64::MIN_POSITIVE),
            ));
        }
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
        classes: ds.kind.classes,
        domains: ds.kind.domains,
        label_counts,
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
    if r.classes >= 2 {
        let total: u64 = r.label_counts.iter().sum::<u64>().max(1);
        let cells: Vec<String> = r
            .label_counts
            .iter()
            .enumerate()
            .map(|(k, &c)| format!("{k}:{c} ({:.3})", c as f64 / total as f64))
            .collect();
        println!(
            "  labelled mixture of {} classes (truths class0..class{} in params.safetensors); samples per class: {}",
            r.classes,
            r.classes - 1,
            cells.join(" ")
        );
    }
    if r.domains == 2 {
        println!(
            "  domain pair: x{{l}} (domain A, truth domain0.) and x{{l}}_b (domain B, truth domain1.) share every code"
        );
    }
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
