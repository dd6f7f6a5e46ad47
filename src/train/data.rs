//! The real samples of a theory-track run: a dataset of `N` samples
//! `x1..xL`, split into a training split that the stages draw their batches
//! from and a held-out split that the metrics compare against.
//!
//! * **Batches** ([`Samples::next`]) walk seeded shuffled epochs of the
//!   training split: epoch `e` is the permutation `pi_e` of `0..n_train`
//!   drawn by Fisher–Yates from `ChaCha8(derive_seed(seed, [EPOCH, e]))`,
//!   and the `k`-th sample served is `pi_{k div n}(k mod n)`. The position
//!   `k` (the cursor) is the whole state: checkpoints record it, so a resumed
//!   run serves the same batches as the uninterrupted one. Every training
//!   sample is served exactly once per epoch; held-out samples never are.
//! * **Fixed sets** ([`Samples::fixed`]): the first `n` samples of a
//!   permutation of their own seed, for the real side of the closed-form
//!   discriminators and the method-of-moments warm starts (all of the
//!   training split when `n >= n_train`). They do not move the cursor.
//! * **Held-out** ([`Samples::heldout`]): the last `h` samples of the
//!   dataset (`heldout`, by default `min(10 000, N / 2)`); the metrics' real side
//!   ([`crate::train::eval`]) and the witness's noise floor.
//!
//! The whole set lives on the run's device in the run's precision, so a
//! batch is one `index_select` per level and costs no host round-trip.

use std::cell::{Cell, RefCell};

use ndarray::{Array4, Axis, s};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

use super::TrainError;
use super::generator::tensor_from;
use crate::model::rng::derive_seed;

/// Stream tags of [`derive_seed`] for the data source.
const EPOCH: u64 = 0xE90C;
const FIXED: u64 = 0xF1DE;
const HELDOUT: u64 = 0x4E1D;
const SHUFFLE: u64 = 0x5AFF;

/// A dataset of `x1..xL` split into training and held-out samples.
#[derive(Debug)]
pub struct Samples {
    /// Training split per level, `(n_train, c, r_l, r_l)`, on the device.
    train: Vec<Tensor>,
    /// Held-out split per level, `(h, c, r_l, r_l)`, on the host.
    heldout: Vec<Array4<f64>>,
    /// The held-out split on the device.
    heldout_t: Vec<Tensor>,
    seed: u64,
    cursor: Cell<u64>,
    /// The permutation of the current epoch (its number, int64 indices).
    epoch: RefCell<Option<(u64, Vec<i64>)>>,
    device: Device,
}

/// A seeded permutation of `0..n`.
fn permutation(n: usize, seed: u64) -> Vec<i64> {
    let mut v: Vec<i64> = (0..n as i64).collect();
    v.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    v
}

impl Samples {
    /// Splits `x` (levels `x1..xL`, the same `N` samples each) into the
    /// first `N - h` training samples and the last `h` held-out ones
    /// (`h = heldout`, or `min(10 000, N / 2)` when `None`). `shuffle_pairs` (a control) permutes the training
    /// split of every level by its own seeded permutation, so each real
    /// child sits beside another sample's parent; the held-out split is
    /// left as it is.
    ///
    /// # Errors
    /// [`TrainError::InvalidConfig`] (field `data`) when the levels hold
    /// different sample counts or fewer than 2 training samples remain.
    pub fn new(
        x: &[Array4<f64>],
        heldout: Option<usize>,
        seed: u64,
        shuffle_pairs: bool,
        kind: Kind,
        device: Device,
    ) -> Result<Samples, TrainError> {
        let bad = |rule: String| TrainError::InvalidConfig {
            field: "data".into(),
            rule,
        };
        let n = x.first().map_or(0, |a| a.len_of(Axis(0)));
        if let Some((l, a)) = x.iter().enumerate().find(|(_, a)| a.len_of(Axis(0)) != n) {
            return Err(bad(format!(
                "x{} has {} samples but x1 has {n}: every level needs the same samples",
                l + 1,
                a.len_of(Axis(0))
            )));
        }
        let h = heldout.unwrap_or_else(|| super::config::default_heldout(n));
        let n_train = n.saturating_sub(h);
        if n_train < 2 {
            return Err(bad(format!(
                "{n} samples leave {n_train} for training after {h} held out; at least 2 are needed"
            )));
        }
        let mut train = Vec::with_capacity(x.len());
        for (l, a) in x.iter().enumerate() {
            let part = a.slice(s![..n_train, .., .., ..]).to_owned();
            let part = if shuffle_pairs && l > 0 {
                let p = permutation(n_train, derive_seed(seed, &[SHUFFLE, l as u64]));
                part.select(Axis(0), &p.iter().map(|&i| i as usize).collect::<Vec<_>>())
            } else {
                part
            };
            train.push(tensor_from(&part, kind, device));
        }
        let heldout: Vec<Array4<f64>> = x
            .iter()
            .map(|a| a.slice(s![n_train.., .., .., ..]).to_owned())
            .collect();
        let heldout_t = heldout
            .iter()
            .map(|a| tensor_from(a, kind, device))
            .collect();
        Ok(Samples {
            train,
            heldout,
            heldout_t,
            seed,
            cursor: Cell::new(0),
            epoch: RefCell::new(None),
            device,
        })
    }

    /// Training samples.
    pub fn n_train(&self) -> usize {
        self.train[0].size()[0] as usize
    }

    /// Held-out samples.
    pub fn n_heldout(&self) -> usize {
        self.heldout[0].len_of(Axis(0))
    }

    /// The held-out split per level (host).
    pub fn heldout_images(&self) -> &[Array4<f64>] {
        &self.heldout
    }

    /// Samples served so far (the position in the epochs).
    pub fn cursor(&self) -> u64 {
        self.cursor.get()
    }

    /// Sets the position in the epochs (resume).
    pub fn set_cursor(&self, k: u64) {
        self.cursor.set(k);
    }

    /// The indices of the next `b` samples of the epochs; moves the cursor.
    pub fn next_indices(&self, b: usize) -> Vec<i64> {
        let n = self.n_train() as u64;
        let mut out = Vec::with_capacity(b);
        let mut k = self.cursor.get();
        let mut cache = self.epoch.borrow_mut();
        while out.len() < b {
            let (e, pos) = (k / n, (k % n) as usize);
            if cache.as_ref().is_none_or(|(ce, _)| *ce != e) {
                *cache = Some((
                    e,
                    permutation(n as usize, derive_seed(self.seed, &[EPOCH, e])),
                ));
            }
            let perm = &cache
                .as_ref()
                .unwrap_or_else(|| unreachable!("set above"))
                .1;
            let take = (b - out.len()).min(n as usize - pos);
            out.extend_from_slice(&perm[pos..pos + take]);
            k += take as u64;
        }
        self.cursor.set(k);
        out
    }

    fn select(&self, set: &[Tensor], idx: &[i64]) -> Vec<Tensor> {
        let idx = Tensor::from_slice(idx).to_device(self.device);
        set.iter().map(|t| t.index_select(0, &idx)).collect()
    }

    /// The next batch of `b` training samples, per level (moves the cursor).
    pub fn next(&self, b: usize) -> Vec<Tensor> {
        let idx = self.next_indices(b);
        self.select(&self.train, &idx)
    }

    /// `min(n, n_train)` training samples, the first of a permutation seeded
    /// by `seed`, per level (the cursor does not move).
    pub fn fixed(&self, n: usize, seed: u64) -> Vec<Tensor> {
        let mut p = permutation(self.n_train(), derive_seed(seed, &[FIXED]));
        p.truncate(n);
        self.select(&self.train, &p)
    }

    /// `min(n, h)` held-out samples, the first of a permutation seeded by
    /// `seed`, per level.
    pub fn heldout(&self, n: usize, seed: u64) -> Vec<Tensor> {
        let mut p = permutation(self.n_heldout(), derive_seed(seed, &[HELDOUT]));
        p.truncate(n);
        self.select(&self.heldout_t, &p)
    }
}

/// `n` samples of the truth `params` as `fsrgan sample --seed seed --n n`
/// stores them (float32, the sampler's one path [`crate::model::Sampler::fill_f32`]),
/// widened to float64, per level.
pub fn sample_dataset(params: &crate::model::Params, seed: u64, n: usize) -> Vec<Array4<f64>> {
    let cfg = &params.config;
    let sampler = crate::model::Sampler::new(params, seed);
    let shapes: Vec<(usize, usize, usize, usize)> = (0..cfg.levels)
        .map(|l| (n, cfg.channels, cfg.resolution(l), cfg.resolution(l)))
        .collect();
    let mut bufs: Vec<Vec<f32>> = shapes
        .iter()
        .map(|&(a, b, c, d)| vec![0f32; a * b * c * d])
        .collect();
    {
        let mut outs: Vec<&mut [f32]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
        sampler.fill_f32(0, n, false, &mut outs);
    }
    bufs.into_iter()
        .zip(shapes)
        .map(|(b, sh)| {
            Array4::from_shape_vec(sh, b.into_iter().map(f64::from).collect())
                .unwrap_or_else(|_| unreachable!("the buffer has the shape's length"))
        })
        .collect()
}

/// A dataset the caller has read (`fsrgan train --data`): its levels, its
/// truth if it has one, and what it is, in words.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// `x1..xL`, `(N, c, r_l, r_l)` each.
    pub x: Vec<Array4<f64>>,
    /// The truth that drew it (a dataset directory of `fsrgan sample`), or
    /// `None` (a plain set of arrays: nothing to score against).
    pub truth: Option<crate::model::Params>,
    /// Its description (path and kind).
    pub what: String,
}
