//! `fsrgan verify`: runs the theory's claims (T1–T8) at a user-chosen size and
//! prints both sides of every identity, the bound, pass/fail and time.

use std::process::ExitCode;

use super::common::progress_bar;
use crate::theory::claims::{self, Check, Options, Relation};

/// Arguments of `fsrgan verify`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  fsrgan verify                      # every claim at its defaults
  fsrgan verify --claim T6 --samples 10000000
  fsrgan verify --json > verify.json
Exits with status 1 if any check fails.")]
pub struct Args {
    /// Only these claims (T1..T8); repeat the flag for several.
    #[arg(long = "claim", value_name = "ID")]
    pub claims: Vec<String>,
    /// Monte Carlo sample size (far larger than the tests use).
    #[arg(long, default_value_t = 1_000_000)]
    pub samples: usize,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the checks as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Threads of rayon and OpenBLAS (0: every core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// The most Monte Carlo samples `--samples` may ask for: a claim holds up
/// to two float64 arrays of that many samples (16 GB at the limit).
pub const MAX_SAMPLES: usize = 1_000_000_000;

/// Checks `--samples`: `1..=MAX_SAMPLES` (the command line and Python's
/// `verify` alike).
///
/// # Errors
/// The rule broken, naming `--samples`.
pub fn check_samples(samples: usize) -> anyhow::Result<()> {
    if samples == 0 {
        anyhow::bail!("--samples must be at least 1");
    }
    if samples > MAX_SAMPLES {
        anyhow::bail!(
            "--samples {samples}: at most {MAX_SAMPLES} (a claim holds up to two float64 arrays of that many samples)"
        );
    }
    Ok(())
}

/// Runs `fsrgan verify`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let all = claims::claims();
    let ids: Vec<&str> = all.iter().map(|c| c.id).collect();
    for want in &args.claims {
        if !ids.iter().any(|id| id.eq_ignore_ascii_case(want)) {
            anyhow::bail!("unknown claim `{want}`; valid claims: {}", ids.join(", "));
        }
    }
    check_samples(args.samples)?;
    crate::threads::with_threads(Some(args.threads), || verify_sized(&args, &all))?
}

/// `fsrgan verify` once the pools are sized.
fn verify_sized(args: &Args, all: &[claims::Claim]) -> anyhow::Result<ExitCode> {
    let selected: Vec<_> = all
        .iter()
        .filter(|c| {
            args.claims.is_empty() || args.claims.iter().any(|w| w.eq_ignore_ascii_case(c.id))
        })
        .collect();
    let opts = Options {
        samples: args.samples,
        seed: args.seed,
    };
    let bar = progress_bar(selected.len() as u64, "verifying");
    let mut checks: Vec<Check> = Vec::new();
    for claim in &selected {
        bar.set_message(format!("{} {}", claim.id, claim.title));
        checks.extend(claims::run_claim(claim, &opts));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let failed = checks.iter().filter(|c| !c.pass).count();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&checks)?);
    } else {
        println!(
            "{:<4} {:<6} {:>22} {:>22} {:>10} {:>14} {:>7}  check",
            "", "result", "lhs", "rhs", "|diff|", "bound", "secs"
        );
        for c in &checks {
            let bound = match c.relation {
                Relation::Within => format!("<= {:.2e}", c.bound),
                Relation::AtMost => "lhs <= rhs".to_string(),
                Relation::AtLeast => "lhs >= rhs".to_string(),
            };
            println!(
                "{:<4} {:<6} {:>22.15e} {:>22.15e} {:>10.2e} {:>14} {:>7.2}  {}",
                c.claim,
                if c.pass { "pass" } else { "FAIL" },
                c.lhs,
                c.rhs,
                c.diff,
                bound,
                c.secs,
                c.name
            );
        }
        println!(
            "{} checks, {} failed (samples {}, seed {})",
            checks.len(),
            failed,
            args.samples,
            args.seed
        );
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
