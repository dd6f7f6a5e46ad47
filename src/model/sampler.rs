//! The parallel, deterministic sampler `z -> S_1..S_L -> X_1..X_L`.
//!
//! Sample `i` is computed from its own random stream `(seed, Samples, i)`
//! ([`super::rng`]) by a fixed-order forward pass (`model::forward`), so it is
//! bit-identical whatever the batch size, the number of rayon threads, or the
//! shard that contains it. A batch is processed as `samples x (matrix
//! products)`: level 1 as the rows of `Z W^T`, the sparse layers as scatters of
//! the active codes only.

use ndarray::{Array2, Array4, Axis};
use rayon::prelude::*;

use super::config::MAX_LEVELS;
use super::diagnostics::Activity;
use super::forward::{self, Net, Workspace};
use super::params::Params;
use super::rng::{Domain, Stream};

/// A contiguous run of samples `start..start+len`, in PyTorch layouts.
///
/// A batch made by [`Sampler::sample`] (or [`Sampler::batch`] with
/// `hidden = true`) holds the latents and hidden codes too; one made by
/// [`Sampler::batch`] with `hidden = false` holds only the images (and the
/// activity), with `z` of shape `(0, d0)` and no `s`.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Index of the first sample.
    pub start: u64,
    /// Latents `z`, shape `(B, d0)` (`(0, d0)` without hidden values).
    pub z: Array2<f64>,
    /// Hidden codes `S_l`, shape `(B, m_l, n_l, n_l)` per level (empty without hidden values).
    pub s: Vec<Array4<f64>>,
    /// Images `X_l`, shape `(B, c, r_l, r_l)` per level.
    pub x: Vec<Array4<f64>>,
    /// Active-channel statistics of the batch, per level.
    pub activity: Vec<Activity>,
    /// Per-sample histograms, kept to reuse their memory.
    hist: Vec<u32>,
}

impl Batch {
    /// Number of samples `B`.
    pub fn len(&self) -> usize {
        self.x.first().map_or(0, |x| x.len_of(Axis(0)))
    }
    /// Whether the batch holds `z` and the hidden codes `s`.
    pub fn has_hidden(&self) -> bool {
        !self.s.is_empty()
    }
    /// Whether the batch holds no sample.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Samples the generator of one [`Params`] under one seed.
#[derive(Debug, Clone)]
pub struct Sampler {
    net: Net,
    seed: u64,
    config: super::Config,
}

impl Sampler {
    /// A sampler for `params`; `seed` keys the samples' random streams.
    pub fn new(params: &Params, seed: u64) -> Sampler {
        Sampler {
            net: Net::new(params),
            seed,
            config: params.config.clone(),
        }
    }

    /// Samples `start..start+count` in parallel on the current rayon pool,
    /// with their latents and hidden codes.
    pub fn sample(&self, start: u64, count: usize) -> Batch {
        let mut batch = self.batch(count, true);
        self.sample_into(start, &mut batch);
        batch
    }

    /// Samples `start..start+count` straight into float32 arrays, each value
    /// rounded once from the float64 computation (`v as f32`, as the files
    /// store it): `outs` holds one slice per array in the files' order
    /// (`x1..xL`, then with `hidden` `s1..sL` and `z`), each of exactly
    /// `count` rows. Work is split into blocks of samples whose float64
    /// batch fits in a core's cache; each rayon task samples a block and
    /// rounds it into the block's rows, so the float64 values never travel
    /// to main memory and each output page is first touched by the task that
    /// fills it. Returns the activity per level (blocks merged in order).
    ///
    /// # Panics
    /// If a slice does not have its array's length (a programmer error).
    #[track_caller]
    pub fn fill_f32(
        &self,
        start: u64,
        count: usize,
        hidden: bool,
        outs: &mut [&mut [f32]],
    ) -> Vec<Activity> {
        const BLOCK_BYTES: usize = 512 << 10;
        let cfg = &self.config;
        let levels = cfg.levels;
        let mut per: Vec<usize> = (0..levels)
            .map(|l| cfg.channels * cfg.resolution(l).pow(2))
            .collect();
        if hidden {
            per.extend((0..levels).map(|l| cfg.m[l] * cfg.n(l) * cfg.n(l)));
            per.push(cfg.d0);
        }
        assert_eq!(outs.len(), per.len(), "one output slice per array");
        // Every sample's batch holds z, s_l and x_l in float64, whatever `hidden`.
        let batch_per_sample: usize = 8
            * (cfg.d0
                + (0..levels)
                    .map(|l| {
                        cfg.m[l] * cfg.n(l) * cfg.n(l) + cfg.channels * cfg.resolution(l).pow(2)
                    })
                    .sum::<usize>());
        let block = (BLOCK_BYTES / batch_per_sample.max(1)).clamp(16, 1024);
        let blocks = count.div_ceil(block);
        let mut parts: Vec<Vec<&mut [f32]>> = (0..blocks)
            .map(|_| Vec::with_capacity(outs.len()))
            .collect();
        for (v, &p) in outs.iter_mut().zip(&per) {
            assert_eq!(v.len(), count * p, "rows of an output array");
            let mut rest: &mut [f32] = std::mem::take(v);
            for part in parts.iter_mut() {
                let take = (block * p).min(rest.len());
                let (head, tail) = rest.split_at_mut(take);
                part.push(head);
                rest = tail;
            }
        }
        let activities: Vec<Vec<Activity>> = parts
            .into_par_iter()
            .enumerate()
            .map_init(
                || None::<Batch>,
                |slot, (b, mut outs)| {
                    let first = b * block;
                    let len = block.min(count - first);
                    let at = start + first as u64;
                    let mut batch = match slot.take() {
                        Some(batch) if batch.len() == len => batch,
                        _ => self.batch(len, hidden),
                    };
                    self.sample_into(at, &mut batch);
                    for (i, out) in outs.iter_mut().enumerate() {
                        let src = if i < levels {
                            batch.x[i].as_slice()
                        } else if i < 2 * levels {
                            batch.s[i - levels].as_slice()
                        } else {
                            batch.z.as_slice()
                        };
                        let src = src.unwrap_or_else(|| unreachable!("a batch is contiguous"));
                        assert_eq!(src.len(), out.len(), "block rows of array {i}");
                        for (d, &v) in out.iter_mut().zip(src) {
                            *d = v as f32;
                        }
                    }
                    let activity = std::mem::take(&mut batch.activity);
                    *slot = Some(batch);
                    activity
                },
            )
            .collect();
        let mut merged: Vec<Activity> = Vec::new();
        for a in activities {
            if merged.is_empty() {
                merged = a;
            } else {
                merged.iter_mut().zip(&a).for_each(|(m, b)| m.merge(b));
            }
        }
        merged
    }

    /// An all-zero batch of `count` samples for [`Sampler::sample_into`]:
    /// images, and with `hidden` also latents and hidden codes.
    pub fn batch(&self, count: usize, hidden: bool) -> Batch {
        let cfg = &self.config;
        let levels = if hidden { cfg.levels } else { 0 };
        Batch {
            start: 0,
            z: Array2::zeros((if hidden { count } else { 0 }, cfg.d0)),
            s: (0..levels)
                .map(|l| Array4::zeros((count, cfg.m[l], cfg.n(l), cfg.n(l))))
                .collect(),
            x: (0..cfg.levels)
                .map(|l| Array4::zeros((count, cfg.channels, cfg.resolution(l), cfg.resolution(l))))
                .collect(),
            activity: Vec::new(),
            hist: Vec::new(),
        }
    }

    /// Why a batch's row iterators cannot run dry: each array has `count` rows,
    /// one per slot.
    const ROWS: &str = "every stored array of a batch has one row per sample";

    /// Samples `start..start+B` into an existing batch of `B` samples (made by
    /// [`Sampler::sample`] or [`Sampler::batch`] for the same config),
    /// reusing its memory; fills `z` and `s` only if the batch holds them.
    ///
    /// # Panics
    /// If the batch's arrays do not have this sampler's shapes (a programmer error).
    #[track_caller]
    pub fn sample_into(&self, start: u64, batch: &mut Batch) {
        self.sample_slots(start, |i| start + i as u64, batch);
    }

    /// Samples the indices `indices[0], indices[1], ...` (any order, any
    /// gaps) into the rows of an existing batch of `indices.len()` samples:
    /// row `j` is sample `indices[j]`, bit-identical to row `indices[j] -
    /// start` of [`Sampler::sample_into`]`(start, ..)`. `batch.start` is set
    /// to `indices[0]` (0 if empty).
    ///
    /// # Panics
    /// If the batch does not hold `indices.len()` samples of this sampler's
    /// shapes (a programmer error).
    #[track_caller]
    pub fn sample_indices_into(&self, indices: &[u64], batch: &mut Batch) {
        assert_eq!(batch.len(), indices.len(), "one batch row per index");
        self.sample_slots(indices.first().copied().unwrap_or(0), |i| indices[i], batch);
    }

    #[track_caller]
    fn sample_slots(&self, start: u64, index: impl Fn(usize) -> u64, batch: &mut Batch) {
        let cfg = &self.config;
        let levels = cfg.levels;
        let count = batch.len();
        let hidden = batch.has_hidden();
        assert!(
            batch.z.ncols() == cfg.d0
                && batch.z.nrows() == if hidden { count } else { 0 }
                && (!hidden || batch.s.len() == levels)
                && batch.x.len() == levels,
            "batch shapes do not match the sampler's config"
        );
        batch.start = start;
        // Per sample and level: the number of patches with 0..=m_l active channels.
        let hist_width: usize = cfg.m.iter().map(|m| m + 1).sum();
        let mut hist = std::mem::take(&mut batch.hist);
        hist.clear();
        hist.resize(count * hist_width, 0);
        {
            let per = |a: &Array4<f64>| (a.len() / count.max(1)).max(1);
            // `z` has no rows when the batch does not hold the hidden layers.
            let z_stored = !batch.z.is_empty();
            let mut z_rows =
                as_mut_slice(batch.z.as_slice_mut(), "z").chunks_exact_mut(cfg.d0.max(1));
            let mut s_rows: Vec<_> = batch
                .s
                .iter_mut()
                .map(|a| {
                    let len = per(a);
                    as_mut_slice(a.as_slice_mut(), "s").chunks_exact_mut(len)
                })
                .collect();
            let mut x_rows: Vec<_> = batch
                .x
                .iter_mut()
                .map(|a| {
                    let len = per(a);
                    as_mut_slice(a.as_slice_mut(), "x").chunks_exact_mut(len)
                })
                .collect();
            let mut slots: Vec<Slot<'_>> = Vec::with_capacity(count);
            for (i, hr) in hist.chunks_exact_mut(hist_width).enumerate() {
                let mut slot = Slot {
                    index: index(i),
                    z: if z_stored {
                        z_rows
                            .next()
                            .unwrap_or_else(|| unreachable!("{}", Self::ROWS))
                    } else {
                        Default::default()
                    },
                    s: Default::default(),
                    x: Default::default(),
                    hist: hr,
                };
                for (l, rows) in s_rows.iter_mut().enumerate() {
                    slot.s[l] = rows
                        .next()
                        .unwrap_or_else(|| unreachable!("{}", Self::ROWS));
                }
                for (l, rows) in x_rows.iter_mut().enumerate() {
                    slot.x[l] = rows
                        .next()
                        .unwrap_or_else(|| unreachable!("{}", Self::ROWS));
                }
                slots.push(slot);
            }
            let net = &self.net;
            let seed = self.seed;
            // A few contiguous groups per thread, one workspace each (a
            // workspace per rayon split would allocate and zero it dozens of
            // times per batch). A sample's result does not depend on its group.
            let groups = (4 * rayon::current_num_threads()).clamp(1, slots.len().max(1));
            let per_group = slots.len().div_ceil(groups).max(1);
            let mut grouped: Vec<Vec<Slot<'_>>> = Vec::with_capacity(groups);
            let mut it = slots.into_iter().peekable();
            while it.peek().is_some() {
                grouped.push(it.by_ref().take(per_group).collect());
            }
            grouped.into_par_iter().for_each(|group| {
                let mut ws = Workspace::new(net);
                for slot in group {
                    fill(net, seed, &mut ws, slot);
                }
            });
        }
        batch.activity = (0..levels)
            .map(|l| {
                let offset: usize = cfg.m[..l].iter().map(|m| m + 1).sum();
                Activity::from_counts(
                    hist.chunks_exact(hist_width)
                        .map(|h| &h[offset..offset + cfg.m[l] + 1]),
                    cfg.m[l],
                )
            })
            .collect();
        batch.hist = hist;
    }
}

fn as_mut_slice<'a>(s: Option<&'a mut [f64]>, what: &str) -> &'a mut [f64] {
    // Arrays made by `zeros` are contiguous in standard order.
    s.unwrap_or_else(|| panic!("freshly allocated array `{what}` is contiguous"))
}

/// One sample's outputs; levels beyond `L`, and `z`, `s` of a batch without
/// hidden values, hold empty slices.
struct Slot<'a> {
    index: u64,
    z: &'a mut [f64],
    s: [&'a mut [f64]; MAX_LEVELS],
    x: [&'a mut [f64]; MAX_LEVELS],
    hist: &'a mut [u32],
}

fn fill(net: &Net, seed: u64, ws: &mut Workspace, mut slot: Slot<'_>) {
    let mut stream = Stream::new(seed, Domain::Samples, slot.index);
    let levels = net.levels();
    forward::forward(net, &mut stream, ws, &mut slot.x[..levels]);
    if !slot.z.is_empty() {
        slot.z.copy_from_slice(&ws.z);
    }
    let mut offset = 0;
    for (l, s_out) in slot.s.into_iter().take(levels).enumerate() {
        let o = &net.out[l];
        let (n, m) = (o.n, o.m);
        let codes = &ws.s[l];
        let hist = &mut slot.hist[offset..offset + m + 1];
        offset += m + 1;
        if s_out.is_empty() {
            // No hidden values wanted: only the activity histogram.
            for p in 0..n * n {
                hist[codes.count(p)] += 1;
            }
            continue;
        }
        // Channel-major output: zero it, then scatter the (few) active codes.
        s_out.fill(0.0);
        for p in 0..n * n {
            let mut active = 0;
            for (j, v) in codes.active(p) {
                s_out[j * n * n + p] = v;
                active += 1;
            }
            hist[active] += 1;
        }
    }
}
