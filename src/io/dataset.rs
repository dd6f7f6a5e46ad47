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

use ndarray::{ArrayD, ArrayView4, Axis, Ix4};

use super::IoError;
use super::fault;
use super::manifest::{ArrayInfo, FORMAT, FORMAT_VERSION, Kind, Manifest, Shard};
use super::params::{read_params, read_params_set, seal_params, seal_params_set};
use super::reader::{Tensor, read_tensors};
use super::staging::Staging;
use super::writer::{Dtype, Format, Sealed, TensorSpec, TensorWriter};
use crate::model::diagnostics::{self, Activity, Residual};
use crate::model::{Config, Diagnostics, Labelled, Paired, Params, Sampler};

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

/// [`config_array_specs`] for a dataset of `kind`: `x1..xL`, then for a
/// domain pair `x1_b..xL_b` (float32, the shapes of `x{l}`), then with
/// `hidden` `s1..sL` and `z`, then for a labelled mixture `y` (int64, `(N,)`).
pub fn kind_array_specs(cfg: &Config, count: usize, hidden: bool, kind: Kind) -> Vec<TensorSpec> {
    let mut specs = config_array_specs(cfg, count, false);
    if kind.is_paired() {
        let b: Vec<TensorSpec> = specs
            .iter()
            .map(|s| TensorSpec {
                name: format!("{}_b", s.name),
                ..s.clone()
            })
            .collect();
        specs.extend(b);
    }
    if hidden {
        specs.extend(
            config_array_specs(cfg, count, true)
                .into_iter()
                .skip(cfg.levels),
        );
    }
    if kind.is_labelled() {
        specs.push(TensorSpec {
            name: "y".into(),
            dtype: Dtype::I64,
            shape: vec![count],
        });
    }
    specs
}

/// The model(s) a dataset is sampled from.
#[derive(Debug, Clone, Copy)]
pub enum Truth<'a> {
    /// One FSR model (`fsrgan sample`).
    One(&'a Params),
    /// A labelled mixture (`fsrgan sample --classes K`).
    Labelled(&'a Labelled),
    /// Two domains sharing their codes (`fsrgan sample --domains 2`).
    Paired(&'a Paired),
}

impl<'a> Truth<'a> {
    /// The dataset's kind.
    pub fn kind(self) -> Kind {
        match self {
            Truth::One(_) => Kind::ORDINARY,
            Truth::Labelled(m) => Kind::labelled(m.k()),
            Truth::Paired(_) => Kind::PAIRED,
        }
    }

    /// The first truth: the model, class 0, or domain A.
    pub fn first(self) -> &'a Params {
        match self {
            Truth::One(p) => p,
            Truth::Labelled(m) => &m.classes[0],
            Truth::Paired(p) => &p.a,
        }
    }

    /// The truths in `params.safetensors`, each with the prefix of its
    /// tensors' names: `""` for one model, `class{k}.` per class,
    /// `domain0.` (A) and `domain1.` (B) for a pair.
    pub fn prefixed(self) -> Vec<(String, &'a Params)> {
        match self {
            Truth::One(p) => vec![(String::new(), p)],
            Truth::Labelled(m) => m
                .classes
                .iter()
                .enumerate()
                .map(|(k, p)| (class_prefix(k), p))
                .collect(),
            Truth::Paired(p) => vec![(domain_prefix(0), &p.a), (domain_prefix(1), &p.b)],
        }
    }
}

/// The prefix of class `k`'s tensors in `params.safetensors`: `class{k}.`.
pub fn class_prefix(k: usize) -> String {
    format!("class{k}.")
}

/// The prefix of domain `d`'s tensors (0: A, 1: B) in `params.safetensors`: `domain{d}.`.
pub fn domain_prefix(d: usize) -> String {
    format!("domain{d}.")
}

/// Whether `dir` holds (part of) a dataset.
pub(crate) fn existing_dataset(dir: &Path) -> bool {
    [MANIFEST, PARAMS, "samples.npz", "samples.safetensors"]
        .iter()
        .any(|f| dir.join(f).exists())
}

/// Samples `params` under `opts` into `dir`; `progress(done)` is called after
/// each chunk is computed. Returns the manifest it wrote.
/// `write_truth(dir, Truth::One(params), opts, progress)`.
///
/// The truth should be `Params::generate(config, opts.seed)` (as `fsrgan
/// sample` draws it): the manifest records that seed, and
/// [`Dataset::check_truth`] regenerates the truth from it.
///
/// # Errors
/// [`IoError::Exists`] if `dir` holds a dataset and `opts.force` is false;
/// [`IoError::Invalid`] for `n = 0`, a shard that holds no sample
/// ([`sample_range`]), a chunk outside [`check_chunk`]'s bounds, or a
/// dataset larger than the free space of its filesystem;
/// [`IoError::Os`] on I/O failure (files already in place are left as they
/// were, and no new file appears).
pub fn write(
    dir: &Path,
    params: &Params,
    opts: &WriteOptions,
    progress: impl FnMut(u64),
) -> Result<Manifest, IoError> {
    write_truth(dir, Truth::One(params), opts, progress)
}

/// Samples `truth` under `opts` into `dir`, as [`write`](fn@write) does one
/// model: the arrays of [`kind_array_specs`], the truths of
/// [`Truth::prefixed`] in `params.safetensors`, and the kind in the
/// manifest ([`Kind`]). The samples are those of [`Sampler::fill_f32`],
/// [`Labelled::fill_f32`] or [`Paired::fill_f32`], so the same seed gives
/// the same bytes for any chunk size, thread count or shard. Diagnostics:
/// activity over the stored codes (domain A's for a pair, the mixture's
/// for a labelled set); A5 with each sample's own truth (class `y_i`, or
/// domain A).
///
/// # Errors
/// As [`write`](fn@write).
pub fn write_truth(
    dir: &Path,
    truth: Truth<'_>,
    opts: &WriteOptions,
    mut progress: impl FnMut(u64),
) -> Result<Manifest, IoError> {
    let (start, end) = sample_range(opts.n, opts.shard)?;
    let kind = truth.kind().validated()?;
    let params = truth.first();
    let cfg = &params.config;
    kind_samples_bytes(cfg, end - start, opts.hidden, kind)?;
    check_chunk(cfg, opts.chunk, end - start, opts.hidden, kind)?;
    let count =
        usize::try_from(end - start).map_err(|_| IoError::Invalid("too many samples".into()))?;
    let specs = kind_array_specs(cfg, count, opts.hidden, kind);
    let prefixed = truth.prefixed();
    let needed = needed_bytes(&prefixed, &specs, opts.params_dtype)?;
    // A dataset the disk cannot hold is refused now, not after hours of writing.
    if let Some(free) = super::staging::available_bytes(dir)
        && needed > free
    {
        return Err(IoError::Invalid(format!(
            "--n {}: no space left on the device for this dataset: it needs {needed} bytes ({:.1} MiB) but the filesystem of {} has {free} bytes free. Nothing was written: lower --n, write shards (--shard i/k) to several disks, or free space",
            opts.n,
            needed as f64 / 1048576.0,
            dir.display()
        )));
    }
    let staging = Staging::begin(dir, opts.force).map_err(|e| e.needing(needed))?;
    let stage = staging.path();

    let params_file = match truth {
        Truth::One(p) => seal_params(&stage.join(PARAMS), p, opts.seed, opts.params_dtype),
        _ => seal_params_set(&stage.join(PARAMS), &prefixed, opts.seed, opts.params_dtype),
    }
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
    let ints: Vec<bool> = specs.iter().map(|s| s.dtype == Dtype::I64).collect();
    let per: Vec<usize> = specs
        .iter()
        .map(|s| s.shape[1..].iter().product())
        .collect();
    let writer = TensorWriter::create(&stage.join(&samples_file), opts.format, specs, &meta)
        .map_err(|e| e.needing(needed))?;

    let (seed, hidden) = (opts.seed, opts.hidden);
    let sampler = Sampler::new(params, seed);
    let fill = |first: u64, len: usize, outs: &mut [&mut [f32]]| match truth {
        Truth::One(_) => sampler.fill_f32(first, len, hidden, outs),
        Truth::Labelled(m) => m.fill_f32(seed, first, len, hidden, outs),
        Truth::Paired(p) => p.fill_f32(seed, first, len, hidden, outs),
    };
    let residuals = |first: u64, take: usize| -> (Vec<Residual>, Vec<Residual>) {
        let (x, own): (Vec<ndarray::Array4<f64>>, Option<Vec<usize>>) = match truth {
            Truth::Labelled(m) => {
                let (x, y) = m.sample(seed, first, take);
                (x, Some(y))
            }
            _ => {
                let mut batch = sampler.batch(take, false);
                sampler.sample_into(first, &mut batch);
                (batch.x, None)
            }
        };
        let views: Vec<ArrayView4<'_, f64>> = x.iter().map(|x| x.view()).collect();
        let a5 = match (truth, own) {
            (Truth::Labelled(m), Some(y)) => {
                let mut acc = vec![Residual::default(); cfg.levels.saturating_sub(1)];
                for (k, p) in m.classes.iter().enumerate() {
                    let rows: Vec<usize> = (0..take).filter(|&j| y[j] == k).collect();
                    if rows.is_empty() {
                        continue;
                    }
                    let sub: Vec<ndarray::Array4<f64>> =
                        x.iter().map(|x| x.select(Axis(0), &rows)).collect();
                    let sub_views: Vec<ArrayView4<'_, f64>> =
                        sub.iter().map(|x| x.view()).collect();
                    add_residuals(&mut acc, &diagnostics::a5_residual(p, &sub_views));
                }
                acc
            }
            _ => diagnostics::a5_residual(params, &views),
        };
        (a5, diagnostics::resolution_consistency(&views))
    };
    let mut stats = Stats::new(cfg.levels);
    let samples = stream(
        writer,
        Range {
            start,
            count,
            chunk: opts.chunk.max(1),
        },
        Layout { per, ints },
        (&fill, &residuals),
        (&mut stats, opts.residual_samples),
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
        .write_kind(&stage.join(MANIFEST), kind)
        .map_err(|e| e.needing(needed))?;
    fault::point("manifest-written");
    staging.commit()?;
    Ok(manifest)
}

/// The samples `start..end` that `n` samples and `shard` select (all of
/// them without a shard), refusing an empty dataset: `fsrgan sample` and
/// Python's `sample`/`write_dataset` check `--n` and `--shard` with it.
///
/// # Errors
/// [`IoError::Invalid`] for `n = 0`, or a shard that holds no sample (more
/// shards than samples), naming the flags and what to change.
pub fn sample_range(n: u64, shard: Option<Shard>) -> Result<(u64, u64), IoError> {
    if n == 0 {
        return Err(IoError::Invalid("--n must be at least 1".into()));
    }
    let (start, end) = shard.map_or((0, n), |s| s.range(n));
    if let Some(s) = shard
        && start == end
    {
        return Err(IoError::Invalid(format!(
            "--shard {}/{} of --n {n} holds no sample (shard i of c holds samples floor(i n / c)..floor((i + 1) n / c), here {start}..{end}): an empty dataset is refused as --n 0 is; use a shard count of at most {n}, or a larger --n",
            s.index, s.count
        )));
    }
    Ok((start, end))
}

/// The most bytes one chunk of samples ([`WriteOptions::chunk`]) may hold:
/// [`CHUNKS_IN_FLIGHT`] of them are in memory at once.
pub const MAX_CHUNK_BYTES: u64 = 1 << 30;

/// The most samples `--chunk` may name, whatever the dataset's size.
pub const MAX_CHUNK: usize = 1 << 24;

/// Checks `chunk` (samples per chunk of [`write`](fn@write)) for a dataset
/// of `count` samples: in `1..=MAX_CHUNK`, and a chunk as held (`min(chunk,
/// count)` samples) at most [`MAX_CHUNK_BYTES`] bytes of float32 arrays.
///
/// # Errors
/// [`IoError::Invalid`] naming `--chunk`, its bound for this config and
/// what to change.
pub fn check_chunk(
    cfg: &Config,
    chunk: usize,
    count: u64,
    hidden: bool,
    kind: Kind,
) -> Result<(), IoError> {
    if chunk == 0 {
        return Err(IoError::Invalid(
            "--chunk must be at least 1 (samples per chunk)".into(),
        ));
    }
    if chunk > MAX_CHUNK {
        return Err(IoError::Invalid(format!(
            "--chunk {chunk}: at most {MAX_CHUNK} samples per chunk"
        )));
    }
    let per_sample = kind_samples_bytes(cfg, 1, hidden, kind)?.max(1);
    let most = (MAX_CHUNK_BYTES / per_sample).max(1);
    if (chunk as u64).min(count) > most {
        return Err(IoError::Invalid(format!(
            "--chunk {chunk}: a chunk of {chunk} samples of {per_sample} bytes exceeds {MAX_CHUNK_BYTES} bytes (3 chunks are held at once); use --chunk {most} or less"
        )));
    }
    Ok(())
}

/// Bytes of the sample arrays of `n` samples of `cfg` (float32; hidden
/// codes too if `hidden`).
///
/// # Errors
/// [`IoError::Invalid`] if they exceed the largest file offset (`i64::MAX`
/// bytes): such an `n` cannot be written, and its sizes would overflow.
pub fn samples_bytes(cfg: &Config, n: u64, hidden: bool) -> Result<u64, IoError> {
    kind_samples_bytes(cfg, n, hidden, Kind::ORDINARY)
}

/// [`samples_bytes`] for a dataset of `kind` (labels, domain-B images too).
///
/// # Errors
/// As [`samples_bytes`].
pub fn kind_samples_bytes(cfg: &Config, n: u64, hidden: bool, kind: Kind) -> Result<u64, IoError> {
    let per_sample: u64 = kind_array_specs(cfg, 1, hidden, kind)
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
    truths: &[(String, &Params)],
    specs: &[TensorSpec],
    params_dtype: Dtype,
) -> Result<u64, IoError> {
    let params_values: usize = truths
        .iter()
        .flat_map(|(_, p)| super::params::named_tensors(p))
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
}

/// The arrays [`stream`] writes, in file order: values per sample, and
/// whether the array is int64 (labels, carried as exact float32 values).
struct Layout {
    per: Vec<usize>,
    ints: Vec<bool>,
}

/// Fills a chunk's float32 arrays `(first, len, outs)`, returning the activity.
type Fill<'a> = &'a (dyn Fn(u64, usize, &mut [&mut [f32]]) -> Vec<Activity> + Sync);
/// The A5 and consistency residuals of the samples `(first, take)`.
type Residuals<'a> = &'a dyn Fn(u64, usize) -> (Vec<Residual>, Vec<Residual>);

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
        residuals: Residuals<'_>,
        first: u64,
        len: usize,
        residual_samples: u64,
    ) {
        if self.residual_samples >= residual_samples {
            return;
        }
        let take = (residual_samples - self.residual_samples).min(len as u64) as usize;
        let (a5, cons) = residuals(first, take);
        add_residuals(&mut self.a5, &a5);
        add_residuals(&mut self.cons, &cons);
        self.residual_samples += take as u64;
    }
}

/// Samples `range` chunk by chunk on the current rayon pool straight into
/// float32 buffers (`fill`, e.g. [`Sampler::fill_f32`]: the float64 values
/// stay in cache) and writes every chunk on a second thread, so that
/// computing chunk `k + 1` overlaps writing chunk `k`, and the writing
/// thread only checksums and copies bytes (int64 arrays are converted from
/// their exact float32 values). Buffers are recycled: at most
/// [`CHUNKS_IN_FLIGHT`] chunks exist at once. The diagnostics are measured
/// into `stats`. Returns the sealed (complete, synced, not yet renamed)
/// samples file.
fn stream(
    mut writer: TensorWriter,
    range: Range,
    layout: Layout,
    (fill, residuals): (Fill<'_>, Residuals<'_>),
    (stats, residual_samples): (&mut Stats, u64),
    progress: &mut impl FnMut(u64),
) -> Result<Sealed, IoError> {
    let Layout { per, ints } = layout;
    std::thread::scope(|scope| {
        // Full chunks to the writer (at most one waiting), empty ones back.
        let (full_tx, full_rx) = mpsc::sync_channel::<Vec<Vec<f32>>>(1);
        let (empty_tx, empty_rx) = mpsc::channel::<Vec<Vec<f32>>>();
        let writing = scope.spawn(move || -> Result<Sealed, IoError> {
            for chunk in full_rx {
                for (i, values) in chunk.iter().enumerate() {
                    if ints[i] {
                        let v: Vec<i64> = values.iter().map(|&v| v as i64).collect();
                        writer.append_i64(i, &v)?;
                    } else {
                        writer.append_f32(i, values)?;
                    }
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
            let activity = fill(first, len, &mut outs);
            stats.add_activity(activity);
            stats.add_residuals(residuals, first, len, residual_samples);
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
    open_samples_kind(dir).map(|(m, _, arrays)| (m, arrays))
}

/// [`open_samples`] with the dataset's [`Kind`]; the arrays are those of
/// [`kind_array_specs`], and a labelled set's `y` must be int64 labels
/// `0 <= y_i < K`.
///
/// # Errors
/// As [`open_samples`]; [`IoError::Mismatch`] naming the samples file and
/// `y` for a label out of range or of another type.
pub fn open_samples_kind(
    dir: &Path,
) -> Result<(Manifest, Kind, BTreeMap<String, Tensor>), IoError> {
    if !dir.join(MANIFEST).exists() {
        // A writer killed while swapping datasets: put the old one back.
        super::staging::recover(dir)?;
    }
    let (manifest, kind) = Manifest::read_kind(&dir.join(MANIFEST))?;
    let config = manifest.config.clone().validated().map_err(|e| {
        IoError::corrupt(dir.join(MANIFEST), format!("the manifest's `config`: {e}"))
    })?;
    // What the manifest says the dataset is, for the messages below.
    let recorded = match kind {
        k if k.is_labelled() => format!("a labelled set of `classes` = {}", k.classes),
        k if k.is_paired() => "a domain pair (`domains` = 2)".to_string(),
        _ => "an ordinary dataset (no `classes` or `domains`)".to_string(),
    };
    if manifest.is_empty() {
        return Err(IoError::mismatch(
            dir.join(MANIFEST),
            format!(
                "the dataset holds no samples (range {}..{} of {}); fsrgan refuses to write empty datasets and shards: write it again with fewer shards or a larger --n",
                manifest.start, manifest.end, manifest.n_total
            ),
        ));
    }
    for (name, want) in &manifest.files {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(IoError::mismatch(
                dir.join(MANIFEST),
                format!(
                    "the manifest lists the file `{name}` (its size and CRC-32), which is not in {}",
                    dir.display()
                ),
            ));
        }
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
    let expected = kind_array_specs(&config, count, manifest.hidden, kind);
    for spec in &expected {
        let info = manifest.arrays.get(&spec.name);
        let t = file.tensors.get(&spec.name).ok_or_else(|| {
            IoError::mismatch(
                &samples_path,
                format!(
                    "missing array `{}`, which {recorded} has (as its manifest records)",
                    spec.name
                ),
            )
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
        if let Some(info) = info
            && info.dtype != t.dtype()
        {
            return Err(IoError::mismatch(
                dir.join(MANIFEST),
                format!(
                    "the manifest declares array `{}` as {}, but {} stores it as {}: the manifest does not describe the file",
                    spec.name,
                    dtype_name(info.dtype),
                    samples_path.display(),
                    dtype_name(t.dtype())
                ),
            ));
        }
        let float = spec.dtype != Dtype::I64;
        if float && t.dtype() == Dtype::I64 {
            return Err(IoError::mismatch(
                &samples_path,
                format!(
                    "array `{}` is int64; images, codes and latents are float32 or float64",
                    spec.name
                ),
            ));
        }
        if let Some(i) = first_non_finite(t) {
            return Err(IoError::corrupt(
                &samples_path,
                format!(
                    "array `{}`, sample {i} holds NaN or infinity: the sampler never writes them, so the file was altered",
                    spec.name
                ),
            ));
        }
    }
    if let Some(extra) = manifest
        .arrays
        .keys()
        .find(|k| !expected.iter().any(|s| &s.name == *k))
    {
        return Err(IoError::mismatch(
            dir.join(MANIFEST),
            format!(
                "the manifest declares an array `{extra}` that this kind of dataset does not have"
            ),
        ));
    }
    if let Some(extra) = file
        .tensors
        .keys()
        .find(|k| !expected.iter().any(|s| &s.name == *k))
    {
        return Err(IoError::mismatch(
            &samples_path,
            format!("unexpected array `{extra}`: {recorded} has none (as its manifest records)"),
        ));
    }
    if let Some(y) = file.tensors.get("y") {
        if y.dtype() != Dtype::I64 {
            return Err(IoError::mismatch(
                &samples_path,
                format!("array `y` is {:?}; labels are int64", y.dtype()),
            ));
        }
        y.to_labels(kind.classes).map_err(|(i, why)| {
            IoError::mismatch(
                &samples_path,
                format!(
                    "array `y`, sample {i}: {why} (the dataset has {} classes)",
                    kind.classes
                ),
            )
        })?;
    }
    Ok((manifest, kind, file.tensors))
}

/// `e` with `note` appended to its reason (mismatched and corrupt files).
fn with_kind(e: IoError, note: &str) -> IoError {
    match e {
        IoError::Mismatch { path, reason } => IoError::Mismatch {
            path,
            reason: format!("{reason} ({note})"),
        },
        IoError::Corrupt { path, reason } => IoError::Corrupt {
            path,
            reason: format!("{reason} ({note})"),
        },
        other => other,
    }
}

/// A dtype as the manifest spells it, with NumPy's name.
fn dtype_name(d: Dtype) -> &'static str {
    match d {
        Dtype::F32 => "f32 (float32)",
        Dtype::F64 => "f64 (float64)",
        Dtype::I64 => "i64 (int64)",
    }
}

/// The first sample (row) of a float tensor that holds NaN or infinity.
fn first_non_finite(t: &Tensor) -> Option<usize> {
    fn first<T: Copy>(a: &ArrayD<T>, finite: impl Fn(T) -> bool) -> Option<usize> {
        if a.ndim() == 0 {
            return (!a.iter().all(|&v| finite(v))).then_some(0);
        }
        a.axis_iter(Axis(0))
            .position(|row| row.iter().any(|&v| !finite(v)))
    }
    match t {
        Tensor::F32(a) => first(a, f32::is_finite),
        Tensor::F64(a) => first(a, f64::is_finite),
        Tensor::I64(_) => None,
    }
}

/// An opened, validated dataset directory.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// The ground truth (class 0 of a labelled set, domain A of a pair).
    pub params: Params,
    /// The arrays of the samples file.
    pub arrays: BTreeMap<String, Tensor>,
    /// What kind of dataset it is (ordinary, labelled, paired).
    pub kind: Kind,
    /// A labelled set's `K` truths (`params` is `classes[0]`); empty otherwise.
    pub classes: Vec<Params>,
    /// A domain pair's domain B (`params` is domain A); `None` otherwise.
    pub domain_b: Option<Params>,
}

impl Dataset {
    /// Opens `dir`, verifying sizes and CRC-32s of every file against the
    /// manifest and every shape against the config.
    ///
    /// # Errors
    /// [`IoError::Corrupt`] for a truncated or corrupted file,
    /// [`IoError::Mismatch`] for files that disagree with the manifest or config.
    pub fn open(dir: &Path) -> Result<Dataset, IoError> {
        let (manifest, kind, arrays) = open_samples_kind(dir)?;
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
        let path = dir.join(&manifest.params_file);
        let (params, classes, domain_b) = if kind.is_labelled() {
            let prefixes: Vec<String> = (0..kind.classes).map(class_prefix).collect();
            let classes = read_params_set(&path, &config, &prefixes).map_err(|e| {
                with_kind(
                    e,
                    &format!("the manifest records `classes` = {}", kind.classes),
                )
            })?;
            (classes[0].clone(), classes, None)
        } else if kind.is_paired() {
            let mut ab = read_params_set(&path, &config, &[domain_prefix(0), domain_prefix(1)])
                .map_err(|e| with_kind(e, "the manifest records `domains` = 2"))?;
            let b = ab.pop();
            let a = ab.pop();
            let (Some(a), Some(b)) = (a, b) else {
                return Err(IoError::mismatch(&path, "a domain pair needs two truths"));
            };
            if !Paired::shares_codes(&a, &b) {
                return Err(IoError::mismatch(
                    &path,
                    "domain1 (B) does not share domain0's (A) hidden layers (level1.*, level{l}.weight, level{l}.bias): its codes would differ",
                ));
            }
            (a, Vec::new(), Some(b))
        } else {
            (read_params(&path, Some(&config))?, Vec::new(), None)
        };
        Ok(Dataset {
            dir: dir.to_path_buf(),
            manifest,
            params,
            arrays,
            kind,
            classes,
            domain_b,
        })
    }

    /// Checks that `params.safetensors` holds the truths the manifest's
    /// config and seed generate, to the precision they are stored in: for
    /// an ordinary set `Params::generate(config, seed)`, for a labelled set
    /// every class of `Labelled::new(config, seed, K)`, for a domain pair
    /// both domains of `Paired::new(config, seed)`. Each stored value `s`
    /// must equal the regenerated `v` within `|s - v| <= eps |v|`, with `eps`
    /// one unit in the last place of its dtype (`2^-23` for float32, `2^-50`
    /// for float64): a damaged file, or another seed's, differs far more.
    ///
    /// # Errors
    /// [`IoError::Mismatch`] naming the truth (`class3.`, `domain1.`), the
    /// tensor, its first differing entry and the largest difference;
    /// [`IoError::Model`] if the config cannot be calibrated; the readers'
    /// errors.
    pub fn check_truth(&self) -> Result<(), IoError> {
        let config = &self.params.config;
        let seed = self.manifest.seed;
        let (mix, pair, one);
        let truth = if self.kind.is_labelled() {
            mix = Labelled::new(config, seed, self.kind.classes)?;
            Truth::Labelled(&mix)
        } else if self.kind.is_paired() {
            pair = Paired::new(config, seed)?;
            Truth::Paired(&pair)
        } else {
            one = Params::generate(config, seed)?;
            Truth::One(&one)
        };
        let path = self.dir.join(&self.manifest.params_file);
        let stored = read_tensors(&path)?;
        super::params::check_regenerated(
            &path,
            &stored,
            &truth.prefixed(),
            &format!("the manifest's config `{}` and seed {seed}", config.name),
        )?;
        Ok(())
    }

    /// A labelled set's labels `y` (`0 <= y_i < K`, checked on open), or
    /// `None` for a dataset without labels.
    ///
    /// # Errors
    /// [`IoError::Mismatch`] if `y` is not a vector of labels of the dataset's classes.
    pub fn labels(&self) -> Result<Option<Vec<usize>>, IoError> {
        let Some(y) = self.arrays.get("y") else {
            return Ok(None);
        };
        y.to_labels(self.kind.classes.max(1))
            .map(Some)
            .map_err(|(i, why)| {
                IoError::mismatch(&self.dir, format!("array `y`, sample {i}: {why}"))
            })
    }

    /// A domain pair's `x{l}_b` (1-based level `l`) as float64, shape
    /// `(N, c, r_l, r_l)`: the domain-B images of the codes of `x{l}`.
    ///
    /// # Errors
    /// [`IoError::Mismatch`] if the array is absent (not a domain pair).
    pub fn x_b(&self, level: usize) -> Result<ndarray::Array4<f64>, IoError> {
        self.array4(&format!("x{level}_b"))
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
