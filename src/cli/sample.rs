//! `fsrgan sample`: draw a dataset from the FSR model with its ground truth.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use ndarray::ArrayView4;

use super::common::{ModelChoice, progress_bar};
use crate::io::dataset::{self, Truth, WriteOptions};
use crate::io::manifest::{Kind, Shard};
use crate::io::{Dtype, Format};
use crate::model::{Labelled, Paired, Params, Sampler};
use crate::threads::with_threads;

/// Arguments of `fsrgan sample`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  fsrgan sample --preset small --n 10000 --seed 1 --out data/small
  fsrgan sample --config my.toml --n 1000000 --shard 3/8 --out data/shard3 --hidden
  fsrgan sample --preset tiny --n 5000 --classes 3 --out data/tiny3   # labelled mixture: adds y
  fsrgan sample --preset tiny --n 5000 --domains 2 --out data/tinyab  # domain pair: adds x1_b..xL_b
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
    /// A labelled mixture of K FSR models of the config (K >= 2; 1 is the
    /// ordinary dataset): class k's truth is drawn from a seed derived from
    /// --seed and k, sample i gets a label y_i uniform on 0..K keyed by
    /// (seed, i), and its images are sample i of class y_i. Stores the
    /// labels as the int64 array `y` and every class's truth in
    /// params.safetensors under `class{k}.`.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub classes: usize,
    /// 2: a domain pair. Domain A is the ordinary truth of --seed, domain B
    /// the same model with the output dictionaries of a second draw; both
    /// share every code S_l. Stores x1..xL (A) and x1_b..xL_b (B, same
    /// codes) and the truths under `domain0.` and `domain1.`. Not with --classes.
    #[arg(long, value_name = "D", default_value_t = 1)]
    pub domains: usize,
    /// Write only shard i of n (0-based, i < n): samples floor(i N/n)..floor((i+1) N/n).
    /// Concatenating the shards' arrays in order gives the unsharded dataset, bit for bit.
    #[arg(long, value_name = "i/n", allow_hyphen_values = true)]
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
    /// Samples per chunk (memory holds about three chunks: one computed, one
    /// waiting, one written).
    #[arg(long, default_value_t = 1024)]
    pub chunk: usize,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Measure, right before writing, the two limits of the command's speed —
    /// the in-memory forward pass (samples/s, same config, threads and
    /// arrays) and the disk (bytes/s of a 2 GiB write to OUT with fdatasync,
    /// like `dd bs=16M count=128 conv=fdatasync`) — and compare the command
    /// with 0.8 x min(forward, disk / bytes per sample).
    #[arg(long)]
    pub timing: bool,
}

/// Runs `fsrgan sample`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let kind = Kind {
        classes: args.classes,
        domains: args.domains,
    }
    .validated()?;
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
    // Every size is checked before the (possibly long) calibration.
    let (start, end) = dataset::sample_range(opts.n, opts.shard)?;
    dataset::kind_samples_bytes(&config, end - start, opts.hidden, kind)?;
    dataset::check_chunk(&config, opts.chunk, end - start, opts.hidden, kind)?;
    let out = args.out.clone();
    let grid = args.grid.clone();
    let threads = args.threads;
    let timing = args.timing;
    with_threads(Some(threads), move || -> anyhow::Result<ExitCode> {
        let t0 = Instant::now();
        eprintln!(
            "calibrating the `{}` model (seed {}) ...",
            config.name, opts.seed
        );
        let (one, mix, pair);
        let truth = if kind.is_labelled() {
            mix = Labelled::new(&config, opts.seed, kind.classes)?;
            Truth::Labelled(&mix)
        } else if kind.is_paired() {
            pair = Paired::new(&config, opts.seed)?;
            Truth::Paired(&pair)
        } else {
            one = Params::generate(&config, opts.seed)?;
            Truth::One(&one)
        };
        let params = truth.first();
        let calibration = t0.elapsed().as_secs_f64();
        let limits = if timing {
            Some(measure_limits(params, &opts, start, end, &out)?)
        } else {
            None
        };
        let t1 = Instant::now();
        let bar = progress_bar(end - start, "sampling");
        let manifest = dataset::write_truth(&out, truth, &opts, |done| bar.set_position(done))
            .with_context(|| format!("writing the dataset to {}", out.display()))?;
        bar.finish_and_clear();
        let writing = t1.elapsed().as_secs_f64();
        let secs = calibration + writing;
        eprintln!(
            "wrote {} samples ({}..{}) to {} in {secs:.1} s",
            manifest.len(),
            manifest.start,
            manifest.end,
            out.display()
        );
        if let Some(limits) = limits {
            limits.report(manifest.len(), calibration, writing);
        }
        if let Some(grid) = grid {
            let count = 8.min((end - start) as usize);
            let x = match truth {
                Truth::Labelled(m) => m.sample(opts.seed, start, count).0,
                _ => Sampler::new(params, opts.seed).sample(start, count).x,
            };
            let views: Vec<ArrayView4<'_, f64>> = x.iter().map(|a| a.view()).collect();
            crate::plot::sample_grid(&grid, &views, 8)?;
            eprintln!("drew {}", grid.display());
        }
        Ok(ExitCode::SUCCESS)
    })?
}

/// The two limits of `fsrgan sample`'s speed, measured by `--timing`.
struct Limits {
    /// In-memory forward pass, samples per second.
    forward: f64,
    /// Disk, bytes per second (write + fdatasync).
    disk: f64,
    /// Bytes per sample in the samples file.
    bytes_per_sample: f64,
}

impl Limits {
    fn report(&self, n: u64, calibration: f64, writing: f64) {
        let disk_samples = self.disk / self.bytes_per_sample;
        let bound = self.forward.min(disk_samples);
        let whole = n as f64 / (calibration + writing);
        eprintln!(
            "timing: forward pass {:.0} samples/s; disk {:.0} MB/s = {:.0} samples/s at {:.0} bytes/sample",
            self.forward,
            self.disk / 1e6,
            disk_samples,
            self.bytes_per_sample
        );
        eprintln!(
            "timing: command {whole:.0} samples/s ({:.2} s: calibration {calibration:.2} s, \
             sampling and writing {writing:.2} s = {:.0} samples/s) = {:.2} x min(forward, disk) \
             (goal >= 0.80)",
            calibration + writing,
            n as f64 / writing,
            whole / bound
        );
    }
}

/// Measures the forward pass (what `dataset::write` computes per chunk,
/// [`Sampler::fill_f32`] into float32 buffers, for about two seconds) and the
/// disk (2 GiB of zeros written to a temporary file in `out`, then
/// fdatasync, then removed; a killed run's probe has a temporary name, which
/// the next writer of `out` removes).
fn measure_limits(
    params: &Params,
    opts: &WriteOptions,
    start: u64,
    end: u64,
    out: &std::path::Path,
) -> anyhow::Result<Limits> {
    let sampler = Sampler::new(params, opts.seed);
    let chunk = opts.chunk.max(1).min((end - start) as usize);
    let mut bufs: Vec<Vec<f32>> = dataset::array_specs(params, chunk, opts.hidden)
        .iter()
        .map(|s| vec![0.0; s.shape.iter().product()])
        .collect();
    let mut fill = |first: u64| {
        let mut outs: Vec<&mut [f32]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
        sampler.fill_f32(first, chunk, opts.hidden, &mut outs);
    };
    fill(start); // warm-up
    let t = Instant::now();
    let mut done = 0u64;
    while t.elapsed().as_secs_f64() < 2.0 {
        fill(start + done % (end - start));
        done += chunk as u64;
    }
    let forward = done as f64 / t.elapsed().as_secs_f64();

    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let probe = out.join(format!(".fsrgan-disk-probe.tmp-{}-0", std::process::id()));
    let disk = (|| -> std::io::Result<f64> {
        use std::io::Write;
        let block = vec![0u8; 16 << 20];
        let mut f = std::fs::File::create(&probe)?;
        let t = Instant::now();
        for _ in 0..128 {
            f.write_all(&block)?;
        }
        f.sync_data()?;
        Ok((128 * block.len()) as f64 / t.elapsed().as_secs_f64())
    })();
    let _ = std::fs::remove_file(&probe);
    let disk = disk.with_context(|| format!("measuring the disk with {}", probe.display()))?;
    let bytes: u64 = dataset::array_specs(params, 1, opts.hidden)
        .iter()
        .map(|s| s.data_len())
        .sum();
    Ok(Limits {
        forward,
        disk,
        bytes_per_sample: bytes as f64,
    })
}
