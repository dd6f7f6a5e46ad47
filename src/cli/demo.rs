//! `fsrgan demo`: the main job on a built-in default — sample the `small`
//! preset, print the `inspect` summary, and draw a PNG grid of samples.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fsrgan demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Output directory (the dataset goes to OUT/data, the grid to OUT/grid.png).
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Number of samples.
    #[arg(long, default_value_t = 10_000)]
    pub n: u64,
    /// Seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
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
    super::inspect::run(super::inspect::Args {
        dir: data,
        max_samples: 2048,
        json: false,
    })
}
