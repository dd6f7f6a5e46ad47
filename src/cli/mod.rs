//! The `fsrgan` command line: one file per subcommand, each with its `Args`
//! (clap) and a `run` that returns `anyhow::Result` — the only place in the
//! crate where errors become `anyhow`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod common;
mod demo;
pub mod generate;
mod inspect;
#[cfg(feature = "torch")]
mod practice;
mod report;
mod sample;
mod score;
#[cfg(feature = "torch")]
mod train;
mod verify;

/// fsrgan: sample the forward super-resolution (FSR) model with its ground truth,
/// check GAN theory numerically, and score GANs against the known generator.
#[derive(Debug, Parser)]
#[command(name = "fsrgan", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Sample the FSR model and write a dataset with its ground-truth parameters.
    Sample(sample::Args),
    /// Print shapes, diagnostics vs targets and consistency of a dataset directory.
    Inspect(inspect::Args),
    /// Check the theory's claims (T1–T8) numerically at a chosen size.
    Verify(verify::Args),
    /// The main job on a built-in default: sample `small`, inspect it, draw a grid, train on it (CPU) and report.
    Demo(demo::Args),
    /// Write a Markdown report (metrics table and plots) of a training run directory.
    Report(report::Args),
    /// Write a trained generator's samples as a dataset directory (no ground truth; the manifest names the run).
    Generate(generate::Args),
    /// Score generated samples (any source) against a real dataset: SWD, pyramid SWD, MS-SSIM, moment gaps, atom coverage, each with its floor.
    Score(score::Args),
    /// Layer-wise GAN training against the known generator (needs the `torch` feature).
    #[cfg(feature = "torch")]
    Train(train::Args),
}

/// Runs the command line; errors are printed with their causes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sample(a) => sample::run(a),
        Command::Inspect(a) => inspect::run(a),
        Command::Verify(a) => verify::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Report(a) => report::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Score(a) => score::run(a),
        #[cfg(feature = "torch")]
        Command::Train(a) => train::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}
