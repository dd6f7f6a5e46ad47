//! A dataset directory: `params.safetensors`, `samples.{npz,safetensors}` and,
//! written last, `manifest.json`.
//!
//! [`write`](fn@write) samples in chunks straight into the samples file (bounded memory,
//! any `n`), measuring the diagnostics on the way. It is a pipeline: while the
//! rayon pool computes chunk `k + 1`, a writer thread encodes chunk `k`
//! (f64 to the file's dtype), checksums it and writes it; at most
//! [`CHUNKS_IN_FLIGHT`] chunks exist at once. Every file is written under a
//! temporary name and put in place only when all of them are complete, the
//! manifest last, so a failure leaves an existing dataset as it was and
//! never leaves a partial file. [`Dataset::open`] checks
//! every file's size and CRC-32 against the manifest, then every shape against
//! the config, before returning the arrays.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use ndarray::{ArrayD, ArrayView4, Ix4};

use super::IoError;
use super::fault;
use super::manifest::{ArrayInfo, FORMAT, FORMAT_VERSION, Manifest, Shard};
use super::params::{read_params, seal_params};
use super::reader::{Tensor, read_tensors};
use super::staging::Staging;
use super::writer::{Dtype, Format, Sealed, TensorSpec, TensorWriter};
use crate::model::diagnostics::{self, Activity, Residual};
use crate::model::{Config, Diagnostics, Params, Sampler};

/// Name of the manifest file.
pub const MANIFEST: &str = "manifest.json";
/// Name of the ground-truth file.
pub const PARAMS: &str = "params.safetensors";
/// Most chunks of samples held at once by [`write`](fn@write): one being
/// computed, one waiting and one being written.
pub const CHUNKS_IN_FLIGHT: usize = 3;

/// What [`write`](fn@write) writes.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Samples in the whole dataset.
    pub n: u64,
    /// Seed of parameters and samples.
    pub seed: u64,
    /// Write only this shard of the `n` samples.
    pub shard: Option<Shard>,
    /// Container of the samples.
    pub format: Format,
    /// Also store `s{l}` and `z`.
    pub hidden: bool,
    /// Element type of `params.safetensors`.
    pub params_dtype: Dtype,
    /// Overwrite an existing dataset.
    pub force: bool,
    /// Samples per chunk (memory is about [`CHUNKS_IN_FLIGHT`] chunks).
    pub chunk: usize,
    /// How many samples (the first of the range) the A5 and consistency
    /// diagnostics are measured on.
    pub residual_samples: u64,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            n: 1000,
            seed: 0,
            shard: None,
            format: Format::Npz,
            hidden: false,
            params_dtype: Dtype::F32,
            force: false,
            chunk: 1024,
            residual_samples: 2048,
        }
    }
}

/// The names and shapes of the arrays of `count` samples.
pub fn array_specs(params: &Params, count: usize, hidden: bool) -> Vec<TensorSpec> {
    config_array_specs(&params.config, count, hidden)
}

/// [`array_specs`] from the config alone.
pub fn config_array_specs(cfg: &Config, count: usize, hidden: bool) -> Vec<TensorSpec> {
    let mut specs = Vec::new();
    for l in 0..cfg.levels {
        let r = cfg.resolution(l);
        specs.push(TensorSpec {
            name: format!("x{}", l + 1),
            dtype: Dtype::F32,
            shape: vec![count, cfg.channels, r, r],
        });
    }
    if hidden {
        for l in 0..cfg.levels {
            let n = cfg.n(l);
            specs.push(TensorSpec {
                name: format!("s{}", l + 1),
                dtype: Dtype::F32,
                shape: vec![count, cfg.m[l], n, n],
            });
        }
        specs.push(TensorSpec {
            name: "z".into(),
            dtype: Dtype::F32,
            shape: vec![count, cfg.d0],
        });
    }
    specs
}

/// Whether `dir` holds (part of) a dataset.
pub(crate) fn existing_dataset(dir: &Path) -> bool {
    [MANIFEST, PARAMS, "samples.npz", "samples.safetensors"]
        .iter()
        .any(|f| dir.join(f).exists())
}

/// Samples `params` under `opts` into `dir`; `progress(done)` is called after
/// each chunk is computed. Returns the manifest it wrote.
///
/// # Errors
/// [`IoError::Exists`] if `dir` holds a dataset and `opts.force` is false;
/// [`IoError::Invalid`] for `n = 0`; [`IoError::Os`] on I/O failure (files
/// already in place are left as they were, and no new file appears).
pub fn write(
    dir: &Path,
    params: &Params,
    opts: &WriteOptions,
    mut progress: impl FnMut(u64),
) -> Result<Manifest, IoError> {
    if opts.n == 0 {
        return Err(IoError::Invalid("--n must be at least 1".into()));
    }
    let (start, end) = opts.shard.map_or((0, opts.n), |s| s.range(opts.n));
    samples_bytes(&params.config, end - start, opts.hidden)?;
    let count =
        usize::try_from(end - start).map_err(|_| IoError::Invalid("too many samples".into()))?;
    let cfg = &params.config;
    let specs = array_specs(params, count, opts.hidden);
    let needed = needed_bytes(params, &specs, opts.params_dtype)?;
    let staging = Staging::begin(dir, opts.force).map_err(|e| e.needing(needed))?;
    let stage = staging.path();

    let params_file = seal_params(&stage.join(PARAMS), params, opts.seed, opts.params_dtype)
        .map_err(|e| e.needing(needed))?;
    fault::point("params-written");

    let samples_file = format!("samples.{}", opts.format.extension());
    let arrays = specs
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                ArrayInfo {
                    dtype: s.dtype,
                    shape: s.shape.clone(),
                },
            )
        })
        .collect();
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), "fsrgan-samples".to_string());
    meta.insert("seed".to_string(), opts.seed.to_string());
    meta.insert("start".to_string(), start.to_string());
    let writer = TensorWriter::create(&stage.join(&samples_file), opts.format, specs, &meta)
        .map_err(|e| e.needing(needed))?;

    let sampler = Sampler::new(params, opts.seed);
    let mut stats = Stats::new(cfg.levels);
    let samples = stream(
        writer,
        &sampler,
        Range {
            start,
            count,
            chunk: opts.chunk.max(1),
            hidden: opts.hidden,
        },
        (params, &mut stats, opts.residual_samples),
        &mut progress,
    )
    .map_err(|e| e.needing(needed))?;
    fault::point("samples-written");

    let mut files = BTreeMap::new();
    files.insert(PARAMS.to_string(), params_file.commit()?);
    files.insert(samples_file.clone(), samples.commit()?);

    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        crate_version: env!("CARGO_PKG_VERSION").into(),
        seed: opts.seed,
        config: cfg.clone(),
        n_total: opts.n,
        start,
        end,
        shard: opts.shard,
        samples_file,
        params_file: PARAMS.into(),
        hidden: opts.hidden,
        arrays,
        files,
        diagnostics: Diagnostics::new(
            params,
            stats.activity,
            &stats.a5,
            &stats.cons,
            stats.residual_samples,
        ),
        source: None,
    };
    manifest
        .write(&stage.join(MANIFEST))
        .map_err(|e| e.needing(needed))?;
    fault::point("manifest-written");
    staging.commit()?;
    Ok(manifest)
}

/// Bytes of the sample arrays of `n` samples of `cfg` (float32; hidden
/// codes too if `hidden`).
///
/// # Errors
/// [`IoError::Invalid`] if they exceed the largest file offset (`i64::MAX`
/// bytes): such an `n` cannot be written, and its sizes would overflow.
pub fn samples_bytes(cfg: &Config, n: u64, hidden: bool) -> Result<u64, IoError> {
    let per_sample: u64 = config_array_specs(cfg, 1, hidden)
        .iter()
        .map(TensorSpec::data_len)
        .sum();
    n.checked_mul(per_sample)
        .filter(|&b| b <= i64::MAX as u64)
        .ok_or_else(|| {
            IoError::Invalid(format!(
                "--n {n}: {n} samples of {per_sample} bytes each exceed the largest file a filesystem can hold ({} bytes)",
                i64::MAX
            ))
        })
}

/// Bytes a dataset of `specs` with `params` stored as `params_dtype` takes:
/// every array's data, plus 1 MiB for headers, the zip directory and the
/// manifest (the text parts of a dataset are far smaller).
fn needed_bytes(
    params: &Params,
    specs: &[TensorSpec],
    params_dtype: Dtype,
) -> Result<u64, IoError> {
    let params_values: usize = super::params::named_tensors(params)
        .iter()
        .map(|(_, shape, _)| shape.iter().product::<usize>())
        .sum();
    Ok(specs.iter().map(TensorSpec::data_len).sum::<u64>()
        + (params_values * params_dtype.size()) as u64
        + (1 << 20))
}

/// The samples [`stream`] draws and writes.
#[derive(Debug, Clone, Copy)]
struct Range {
    start: u64,
    count: usize,
    chunk: usize,
    hidden: bool,
}

/// The diagnostics measured while sampling: activity over every sample, A5
/// and resolution consistency over the first `residual_samples`.
struct Stats {
    activity: Vec<Activity>,
    a5: Vec<Residual>,
    cons: Vec<Residual>,
    residual_samples: u64,
}

impl Stats {
    fn new(levels: usize) -> Stats {
        Stats {
            activity: Vec::new(),
            a5: vec![Residual::default(); levels.saturating_sub(1)],
            cons: vec![Residual::default(); levels.saturating_sub(1)],
            residual_samples: 0,
        }
    }

    /// Adds a chunk's activity (chunks arrive in sample order).
    fn add_activity(&mut self, activity: Vec<Activity>) {
        if self.activity.is_empty() {
            self.activity = activity;
        } else {
            self.activity
                .iter_mut()
                .zip(&activity)
                .for_each(|(a, b)| a.merge(b));
        }
    }

    /// Adds the residuals of the chunk `first..first+len` while fewer than
    /// `residual_samples` are measured (they need the float64 images: those
    /// samples are drawn again in float64, bit-identical by construction).
    fn add_residuals(
        &mut self,
        params: &Params,
        sampler: &Sampler,
        first: u64,
        len: usize,
        residual_samples: u64,
    ) {
        if self.residual_samples >= residual_samples {
            return;
        }
        let take = (residual_samples - self.residual_samples).min(len as u64) as usize;
        let mut batch = sampler.batch(take, false);
        sampler.sample_into(first, &mut batch);
        let views: Vec<ArrayView4<'_, f64>> = batch.x.iter().map(|x| x.view()).collect();
        add_residuals(&mut self.a5, &diagnostics::a5_residual(params, &views));
        add_residuals(&mut self.cons, &diagnostics::resolution_consistency(&views));
        self.residual_samples += take as u64;
    }
}

/// Samples `range` chunk by chunk on the current rayon pool straight into
/// float32 buffers ([`Sampler::fill_f32`]: the float64 values stay in cache)
/// and writes every chunk on a second thread, so that computing chunk `k + 1`
/// overlaps writing chunk `k`, and the writing thread only checksums and
/// copies bytes. Buffers are recycled: at most [`CHUNKS_IN_FLIGHT`] chunks
/// exist at once. The diagnostics are measured into `stats`. Returns the
/// sealed (complete, synced, not yet renamed) samples file.
fn stream(
    mut writer: TensorWriter,
    sampler: &Sampler,
    range: Range,
    (params, stats, residual_samples): (&Params, &mut Stats, u64),
    progress: &mut impl FnMut(u64),
) -> Result<Sealed, IoError> {
    let cfg = &params.config;
    let mut per: Vec<usize> = (0..cfg.levels)
        .map(|l| cfg.channels * cfg.resolution(l).pow(2))
        .collect();
    if range.hidden {
        per.extend((0..cfg.levels).map(|l| cfg.m[l] * cfg.n(l) * cfg.n(l)));
        per.push(cfg.d0);
    }
    std::thread::scope(|scope| {
        // Full chunks to the writer (at most one waiting), empty ones back.
        let (full_tx, full_rx) = mpsc::sync_channel::<Vec<Vec<f32>>>(1);
        let (empty_tx, empty_rx) = mpsc::channel::<Vec<Vec<f32>>>();
        let writing = scope.spawn(move || -> Result<Sealed, IoError> {
            for chunk in full_rx {
                for (i, values) in chunk.iter().enumerate() {
                    writer.append_f32(i, values)?;
                }
                fault::point("chunk-written");
                // The sampling side may have stopped already: nothing to recycle for.
                let _ = empty_tx.send(chunk);
            }
            writer.seal()
        });
        let mut allocated = 0;
        let mut done = 0usize;
        while done < range.count {
            let len = range.chunk.min(range.count - done);
            let first = range.start + done as u64;
            let mut chunk = match empty_rx.try_recv() {
                Ok(c) => c,
                Err(_) if allocated < CHUNKS_IN_FLIGHT => {
                    allocated += 1;
                    Vec::new()
                }
                // Wait for the writer to return a buffer; if it stopped, its
                // error is reported by `join` below.
                Err(_) => match empty_rx.recv() {
                    Ok(c) => c,
                    Err(_) => break,
                },
            };
            chunk.resize_with(per.len(), Vec::new);
            for (v, &p) in chunk.iter_mut().zip(&per) {
                v.resize(len * p, 0.0);
            }
            let mut outs: Vec<&mut [f32]> = chunk.iter_mut().map(Vec::as_mut_slice).collect();
            let activity = sampler.fill_f32(first, len, range.hidden, &mut outs);
            stats.add_activity(activity);
            stats.add_residuals(params, sampler, first, len, residual_samples);
            if full_tx.send(chunk).is_err() {
                break;
            }
            done += len;
            progress(done as u64);
        }
        drop(full_tx);
        match writing.join() {
            Ok(sealed) => sealed,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// Pools residuals: `acc[l] += new[l]`.
pub(crate) fn add_residuals(acc: &mut [Residual], new: &[Residual]) {
    for (a, b) in acc.iter_mut().zip(new) {
        a.err_sq += b.err_sq;
        a.ref_sq += b.ref_sq;
    }
}

/// The manifest and arrays of a dataset directory, without its ground
/// truth: every file's size and CRC-32 checked against the manifest, then
/// every array's shape against the manifest's config. Opens generated
/// datasets (`fsrgan generate`, no params file) as well as sampled ones.
///
/// # Errors
/// [`IoError::Corrupt`] for a truncated or corrupted file,
/// [`IoError::Mismatch`] for files that disagree with the manifest or config.
pub fn open_samples(dir: &Path) -> Result<(Manifest, BTreeMap<String, Tensor>), IoError> {
    if !dir.join(MANIFEST).exists() {
        // A writer killed while swapping datasets: put the old one back.
        super::staging::recover(dir)?;
    }
    let manifest = Manifest::read(&dir.join(MANIFEST))?;
    let config = manifest.config.clone().validated()?;
    for (name, want) in &manifest.files {
        let path = dir.join(name);
        let got = super::writer::FileDigest::of_file(&path)?;
        if got != *want {
            return Err(IoError::corrupt(
                &path,
                format!(
                    "expected {} bytes with CRC-32 {:08x} (manifest), found {} bytes with CRC-32 {:08x}: the file is truncated or corrupted",
                    want.bytes, want.crc32, got.bytes, got.crc32
                ),
            ));
        }
    }
    for needed in [&manifest.params_file, &manifest.samples_file] {
        if !needed.is_empty() && !manifest.files.contains_key(needed.as_str()) {
            return Err(IoError::mismatch(
                dir.join(MANIFEST),
                format!("no checksum for `{needed}`"),
            ));
        }
    }
    let samples_path = dir.join(&manifest.samples_file);
    let file = read_tensors(&samples_path)?;
    let count =
        usize::try_from(manifest.len()).map_err(|_| IoError::Invalid("too many samples".into()))?;
    let expected = config_array_specs(&config, count, manifest.hidden);
    for spec in &expected {
        let info = manifest.arrays.get(&spec.name);
        let t = file.tensors.get(&spec.name).ok_or_else(|| {
            IoError::mismatch(&samples_path, format!("missing array `{}`", spec.name))
        })?;
        if t.shape() != spec.shape.as_slice() || info.map(|i| &i.shape) != Some(&spec.shape) {
            return Err(IoError::mismatch(
                &samples_path,
                format!(
                    "array `{}` has shape {:?}; the config and manifest need {:?}",
                    spec.name,
                    t.shape(),
                    spec.shape
                ),
            ));
        }
    }
    if let Some(extra) = file
        .tensors
        .keys()
        .find(|k| !expected.iter().any(|s| &s.name == *k))
    {
        return Err(IoError::mismatch(
            &samples_path,
            format!("unexpected array `{extra}`"),
        ));
    }
    Ok((manifest, file.tensors))
}

/// An opened, validated dataset directory.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// The ground truth.
    pub params: Params,
    /// The arrays of the samples file.
    pub arrays: BTreeMap<String, Tensor>,
}

impl Dataset {
    /// Opens `dir`, verifying sizes and CRC-32s of every file against the
    /// manifest and every shape against the config.
    ///
    /// # Errors
    /// [`IoError::Corrupt`] for a truncated or corrupted file,
    /// [`IoError::Mismatch`] for files that disagree with the manifest or config.
    pub fn open(dir: &Path) -> Result<Dataset, IoError> {
        let (manifest, arrays) = open_samples(dir)?;
        if manifest.params_file.is_empty() {
            return Err(IoError::mismatch(
                dir.join(MANIFEST),
                format!(
                    "a generated dataset{} has no ground truth (no params file); score it as FAKE with `fsrgan score REAL_DIR {}`",
                    manifest
                        .source
                        .as_ref()
                        .map(|s| format!(" (from run {})", s.run))
                        .unwrap_or_default(),
                    dir.display()
                ),
            ));
        }
        let config = manifest.config.clone().validated()?;
        let params = read_params(&dir.join(&manifest.params_file), Some(&config))?;
        Ok(Dataset {
            dir: dir.to_path_buf(),
            manifest,
            params,
            arrays,
        })
    }

    /// `x{l}` (1-based level `l`) as float64, shape `(N, c, r_l, r_l)`.
    ///
    /// # Errors
    /// [`IoError::Mismatch`] if the array is absent.
    pub fn x(&self, level: usize) -> Result<ndarray::Array4<f64>, IoError> {
        self.array4(&format!("x{level}"))
    }

    /// `s{l}` (1-based) as float64, shape `(N, m_l, n_l, n_l)`, if stored.
    ///
    /// # Errors
    /// [`IoError::Mismatch`] if the array is absent.
    pub fn s(&self, level: usize) -> Result<ndarray::Array4<f64>, IoError> {
        self.array4(&format!("s{level}"))
    }

    fn array4(&self, name: &str) -> Result<ndarray::Array4<f64>, IoError> {
        let t = self
            .arrays
            .get(name)
            .ok_or_else(|| IoError::mismatch(&self.dir, format!("no array `{name}`")))?;
        let a: ArrayD<f64> = t.to_f64();
        a.into_dimensionality::<Ix4>()
            .map_err(|e| IoError::mismatch(&self.dir, format!("`{name}`: {e}")))
    }
}
