//! `fsrgan demo`: the main job on a built-in default — sample the `small`
//! preset, print the `inspect` summary, draw a PNG grid of samples, then (with
//! the `torch` feature) train the theory-track learner against that dataset's
//! ground truth on the CPU and write the report (about five minutes on two cores).

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fsrgan demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output directory: the dataset goes to OUT/data, the grid to
    /// OUT/grid.png, the training run to OUT/run (report: OUT/run/report.md).
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Number of samples.
    #[arg(long, default_value_t = 10_000)]
    pub n: u64,
    /// Seed.
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
        hidden: true,
        shard: None,
        grid: Some(grid),
        force: true,
        params_dtype: crate::io::Dtype::F32,
        chunk: 1024,
        threads: 0,
    })?;
    let code = super::inspect::run(super::inspect::Args {
        dir: data.clone(),
        max_samples: 2048,
        json: false,
    })?;
    #[cfg(feature = "torch")]
    if !args.no_train {
        return super::train::run(super::train::Args {
            preset: Some("small".into()),
            config: None,
            data: Some(data),
            device: "cpu".into(),
            out: args.out.join("run"),
            resume: None,
            force: true,
        });
    }
    Ok(code)
}
