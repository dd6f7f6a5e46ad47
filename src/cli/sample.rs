//! `fsrgan sample`: draw a dataset from the FSR model with its ground truth.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use ndarray::ArrayView4;

use super::common::{ModelChoice, progress_bar, with_threads};
use crate::io::dataset::{self, WriteOptions};
use crate::io::manifest::Shard;
use crate::io::{Dtype, Format};
use crate::model::{Params, Sampler};

/// Arguments of `fsrgan sample`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  fsrgan sample --preset small --n 10000 --seed 1 --out data/small
  fsrgan sample --config my.toml --n 1000000 --shard 3/8 --out data/shard3 --hidden
Writes OUT/params.safetensors, OUT/samples.npz (or .safetensors) and OUT/manifest.json.")]
pub struct Args {
    #[command(flatten)]
    pub model: ModelChoice,
    /// Number of samples in the (whole, unsharded) dataset.
    #[arg(long, default_value_t = 10_000)]
    pub n: u64,
    /// Seed of the ground-truth parameters and of the samples.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Container of the samples.
    #[arg(long, value_enum, default_value_t = Format::Npz)]
    pub format: Format,
    /// Also store the hidden codes s1..sL and the latent z.
    #[arg(long)]
    pub hidden: bool,
    /// Write only shard i of n (0-based, i < n): samples floor(i N/n)..floor((i+1) N/n).
    /// Concatenating the shards' arrays in order gives the unsharded dataset, bit for bit.
    #[arg(long, value_name = "i/n")]
    pub shard: Option<String>,
    /// Also draw the first samples of every level into this PNG.
    #[arg(long, value_name = "FILE.png")]
    pub grid: Option<PathBuf>,
    /// Overwrite an existing dataset in OUT.
    #[arg(long)]
    pub force: bool,
    /// Element type of params.safetensors.
    #[arg(long, value_enum, default_value_t = Dtype::F32)]
    pub params_dtype: Dtype,
    /// Samples per chunk (memory holds about one chunk).
    #[arg(long, default_value_t = 1024)]
    pub chunk: usize,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

/// Runs `fsrgan sample`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.model.load()?;
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    let opts = WriteOptions {
        n: args.n,
        seed: args.seed,
        shard,
        format: args.format,
        hidden: args.hidden,
        params_dtype: args.params_dtype,
        force: args.force,
        chunk: args.chunk,
        ..WriteOptions::default()
    };
    let out = args.out.clone();
    let grid = args.grid.clone();
    let threads = args.threads;
    with_threads(threads, move || -> anyhow::Result<ExitCode> {
        let t0 = Instant::now();
        eprintln!(
            "calibrating the `{}` model (seed {}) ...",
            config.name, opts.seed
        );
        let params = Params::generate(&config, opts.seed)?;
        let (start, end) = opts.shard.map_or((0, opts.n), |s| s.range(opts.n));
        let bar = progress_bar(end - start, "sampling");
        let manifest = dataset::write(&out, &params, &opts, |done| bar.set_position(done))
            .with_context(|| format!("writing the dataset to {}", out.display()))?;
        bar.finish_and_clear();
        let secs = t0.elapsed().as_secs_f64();
        eprintln!(
            "wrote {} samples ({}..{}) to {} in {secs:.1} s",
            manifest.len(),
            manifest.start,
            manifest.end,
            out.display()
        );
        if let Some(grid) = grid {
            let sampler = Sampler::new(&params, opts.seed);
            let batch = sampler.sample(start, 8.min((end - start) as usize));
            let views: Vec<ArrayView4<'_, f64>> = batch.x.iter().map(|a| a.view()).collect();
            crate::plot::sample_grid(&grid, &views, 8)?;
            eprintln!("drew {}", grid.display());
        }
        Ok(ExitCode::SUCCESS)
    })?
}
