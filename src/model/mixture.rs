//! Labelled and paired FSR data (issue 23, item 1): a mixture of `K` FSR
//! models of one config ([`Labelled`], `fsrgan sample --classes K`) and two
//! FSR models that share every hidden layer and differ only in their output
//! dictionaries ([`Paired`], `fsrgan sample --domains 2`).
//!
//! **Seeds.** Every seed below derives from the dataset seed `S` with
//! [`derive_seed`]:
//!
//! * class `k`'s truth (every `k`, class 0 included) is
//!   `Params::generate(config, derive_seed(S, [CLASSES, k]))`, so no class is
//!   the truth of the ordinary dataset of seed `S`;
//! * the label of sample `i` is `y_i = floor(K u_i)`, `u_i` the first uniform
//!   of the stream `(derive_seed(S, [LABELS]), Samples, i)`: it depends on
//!   `(S, i)` only, never on the chunk or the shard that holds `i`;
//! * the images of sample `i` are sample `i` of class `y_i`'s sampler
//!   `Sampler::new(class_{y_i}, S)`: the latent `z_i` is the stream `(S, i)`
//!   whatever the class;
//! * domain A is `Params::generate(config, S)` (the ordinary dataset's
//!   truth); domain B is A with the output weights `out` of
//!   `Params::generate(config, derive_seed(S, [DOMAIN_B]))`. Both are
//!   sampled under `S`, so sample `i` has the same `z`, the same codes
//!   `S_1..S_L` in both domains, and `X_l^B = M_l^B S_l`.
//!
//! **Cost.** A labelled chunk is drawn class by class, each class sampling
//! only the indices labelled with it ([`Sampler::sample_indices_into`]), so a
//! mixture costs what one model costs. A paired chunk runs the forward pass
//! twice (once per domain; the hidden layers are recomputed, bit-identical),
//! about twice the cost of one model.

use ndarray::{Array4, Axis};
use rayon::prelude::*;

use super::Config;
use super::ModelError;
use super::diagnostics::Activity;
use super::params::Params;
use super::rng::{Domain, Stream, derive_seed};
use super::sampler::{Batch, Sampler};

/// The tag of the classes' parameter seeds in [`derive_seed`].
pub const CLASSES: u64 = 0x636C_6173_7365;
/// The tag of the labels' streams in [`derive_seed`].
pub const LABELS: u64 = 0x6C61_6265_6C73;
/// The tag of domain B's parameter seed in [`derive_seed`].
pub const DOMAIN_B: u64 = 0x646F_6D61_6942;
/// The most classes a labelled dataset may have (labels are stored exactly
/// as float32 on the way to the file's int64).
pub const MAX_CLASSES: usize = 1 << 16;

/// A mixture of `K >= 2` FSR models of one config; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    /// Class `k`'s truth, `Params::generate(config, derive_seed(seed, [CLASSES, k]))`.
    pub classes: Vec<Params>,
}

/// Each class's rows of a chunk and their batch: `(rows, batch)` with row
/// `rows[j]` (0-based in the chunk) the batch's sample `j`.
type PerClass = Vec<(Vec<usize>, Batch)>;

impl Labelled {
    /// The `k` class truths of `(config, seed)`.
    ///
    /// The classes are calibrated in parallel, a few per thread at a time,
    /// in order: the first class that cannot be calibrated stops the draw
    /// (at most one batch after it), and it is the same whatever the
    /// thread count.
    ///
    /// # Errors
    /// [`ModelError::InvalidConfig`] for an invalid config (its own field);
    /// field `classes` unless `2 <= k <= MAX_CLASSES`, if the `k` truths
    /// together exceed [`super::config::MAX_PARAM_SCALARS`] scalars, or if
    /// a class cannot be calibrated (a target sparsity unreachable for its
    /// draw): the message names the first such class, its seed, the rule
    /// it breaks, and what to change (fewer classes, another seed, another
    /// `k`). Other [`Params::generate`] errors as they are.
    pub fn new(config: &Config, seed: u64, k: usize) -> Result<Labelled, ModelError> {
        let bad = |rule: String| ModelError::InvalidConfig {
            field: "classes".into(),
            rule,
        };
        if !(2..=MAX_CLASSES).contains(&k) {
            return Err(bad(format!(
                "a labelled mixture needs 2 <= classes <= {MAX_CLASSES}, got {k} (1 class is the ordinary dataset)"
            )));
        }
        let config = config.clone().validated()?;
        let per = config.param_scalars().unwrap_or(usize::MAX);
        let most = super::config::MAX_PARAM_SCALARS / per.max(1);
        if k > most {
            return Err(bad(format!(
                "{k} class truths of {per} scalars each exceed {} scalars in all; use --classes {most} or fewer, or a smaller model",
                super::config::MAX_PARAM_SCALARS
            )));
        }
        let batch = (2 * rayon::current_num_threads()).max(2);
        let mut classes = Vec::with_capacity(k);
        for first in (0..k).step_by(batch) {
            let drawn: Vec<Result<Params, ModelError>> = (first..(first + batch).min(k))
                .into_par_iter()
                .map(|c| Params::generate(&config, Self::class_seed(seed, c)))
                .collect();
            for (c, r) in (first..).zip(drawn) {
                match r {
                    Ok(p) => classes.push(p),
                    Err(ModelError::InvalidConfig { field, rule }) => {
                        let fewer = if c >= 2 {
                            format!("use --classes {c} or fewer (classes 0..{c} calibrate), ")
                        } else {
                            String::new()
                        };
                        return Err(bad(format!(
                            "class {c} of {k} cannot be calibrated (its truth is drawn from the seed {} derived from --seed {seed}): config field `{field}` (the `{}` config's {field} = {}): {rule}; {fewer}try another --seed, or change `{field}` in a config file",
                            Self::class_seed(seed, c),
                            config.name,
                            field_value(&config, &field),
                        )));
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(Labelled { classes })
    }

    /// The parameter seed of class `k`: `derive_seed(seed, [CLASSES, k])`.
    pub fn class_seed(seed: u64, k: usize) -> u64 {
        derive_seed(seed, &[CLASSES, k as u64])
    }

    /// Number of classes `K`.
    pub fn k(&self) -> usize {
        self.classes.len()
    }

    /// The label of sample `i` among `k` classes:
    /// `floor(k u)`, `u` the first uniform of the stream
    /// `(derive_seed(seed, [LABELS]), Samples, i)` (capped at `k - 1`).
    pub fn label(seed: u64, i: u64, k: usize) -> usize {
        let mut st = Stream::new(derive_seed(seed, &[LABELS]), Domain::Samples, i);
        ((st.uniform() * k as f64) as usize).min(k.saturating_sub(1))
    }

    /// The labels of samples `start..start+count`.
    pub fn labels(&self, seed: u64, start: u64, count: usize) -> Vec<usize> {
        let k = self.k();
        (0..count as u64)
            .map(|i| Self::label(seed, start + i, k))
            .collect()
    }

    /// Labels of `start..start+count` and, per class, the rows it holds and
    /// their samples (with `hidden`, their `z` and codes too).
    fn draw(&self, seed: u64, start: u64, count: usize, hidden: bool) -> (Vec<usize>, PerClass) {
        let labels = self.labels(seed, start, count);
        let per_class = self
            .classes
            .iter()
            .enumerate()
            .filter_map(|(k, params)| {
                let rows: Vec<usize> = (0..count).filter(|&j| labels[j] == k).collect();
                if rows.is_empty() {
                    return None;
                }
                let indices: Vec<u64> = rows.iter().map(|&j| start + j as u64).collect();
                let sampler = Sampler::new(params, seed);
                let mut batch = sampler.batch(rows.len(), hidden);
                sampler.sample_indices_into(&indices, &mut batch);
                Some((rows, batch))
            })
            .collect();
        (labels, per_class)
    }

    /// Samples `start..start+count` of the mixture under `seed` in float64
    /// (levels `(count, c, r_l, r_l)`) and their labels: row `j` is sample
    /// `start + j` of class `y = labels[j]`'s sampler — exactly what
    /// `fsrgan sample --classes K --seed seed` stores (before the float32
    /// rounding) for those indices.
    pub fn sample(&self, seed: u64, start: u64, count: usize) -> (Vec<Array4<f64>>, Vec<usize>) {
        let cfg = &self.classes[0].config;
        let mut x: Vec<Array4<f64>> = (0..cfg.levels)
            .map(|l| {
                let r = cfg.resolution(l);
                Array4::zeros((count, cfg.channels, r, r))
            })
            .collect();
        let (labels, per_class) = self.draw(seed, start, count, false);
        for (rows, batch) in &per_class {
            for (out, src) in x.iter_mut().zip(&batch.x) {
                for (j, &row) in rows.iter().enumerate() {
                    out.index_axis_mut(Axis(0), row)
                        .assign(&src.index_axis(Axis(0), j));
                }
            }
        }
        (x, labels)
    }

    /// As [`Sampler::fill_f32`] for the mixture: `outs` holds, each of
    /// `count` rows, `x1..xL`, with `hidden` also `s1..sL` and `z`, and last
    /// the labels `y` (as float32, exact for `K <= MAX_CLASSES`). Returns
    /// the activity of the mixture's codes per level (classes merged in order).
    ///
    /// # Panics
    /// If a slice does not have its array's length (a programmer error).
    #[track_caller]
    pub fn fill_f32(
        &self,
        seed: u64,
        start: u64,
        count: usize,
        hidden: bool,
        outs: &mut [&mut [f32]],
    ) -> Vec<Activity> {
        let levels = self.classes[0].config.levels;
        let arrays = if hidden { 2 * levels + 2 } else { levels + 1 };
        assert_eq!(outs.len(), arrays, "one output slice per array");
        let (labels, per_class) = self.draw(seed, start, count, hidden);
        let mut activity: Vec<Activity> = Vec::new();
        for (rows, batch) in &per_class {
            let mut srcs: Vec<&[f64]> = batch.x.iter().map(contiguous).collect();
            if hidden {
                srcs.extend(batch.s.iter().map(contiguous));
                srcs.push(
                    batch
                        .z
                        .as_slice()
                        .unwrap_or_else(|| unreachable!("a batch is contiguous")),
                );
            }
            for (out, src) in outs.iter_mut().zip(&srcs) {
                let per = out.len() / count.max(1);
                assert_eq!(src.len(), rows.len() * per, "rows of a class's array");
                for (j, &row) in rows.iter().enumerate() {
                    for (d, &v) in out[row * per..(row + 1) * per]
                        .iter_mut()
                        .zip(&src[j * per..(j + 1) * per])
                    {
                        *d = v as f32;
                    }
                }
            }
            if activity.is_empty() {
                activity = batch.activity.clone();
            } else {
                activity
                    .iter_mut()
                    .zip(&batch.activity)
                    .for_each(|(a, b)| a.merge(b));
            }
        }
        let y = &mut outs[arrays - 1];
        assert_eq!(y.len(), count, "one label per sample");
        for (d, &k) in y.iter_mut().zip(&labels) {
            *d = k as f32;
        }
        activity
    }
}

/// The value of config field `field` as TOML would write it, for messages.
fn field_value(config: &Config, field: &str) -> String {
    toml::Table::try_from(config)
        .ok()
        .and_then(|t| t.get(field).map(|v| v.to_string()))
        .unwrap_or_else(|| "?".into())
}

fn contiguous(a: &Array4<f64>) -> &[f64] {
    a.as_slice()
        .unwrap_or_else(|| unreachable!("a batch is contiguous"))
}

/// Two FSR models sharing every hidden layer; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct Paired {
    /// Domain A, `Params::generate(config, seed)`.
    pub a: Params,
    /// Domain B: A with the output weights of `Params::generate(config, derive_seed(seed, [DOMAIN_B]))`.
    pub b: Params,
}

impl Paired {
    /// The two domains of `(config, seed)`.
    ///
    /// # Errors
    /// [`Params::generate`]'s.
    pub fn new(config: &Config, seed: u64) -> Result<Paired, ModelError> {
        let a = Params::generate(config, seed)?;
        let other = Params::generate(config, Self::b_seed(seed))?;
        let b = Params {
            out: other.out,
            ..a.clone()
        };
        Ok(Paired { a, b })
    }

    /// The seed of the draw whose `out` is domain B's: `derive_seed(seed, [DOMAIN_B])`.
    pub fn b_seed(seed: u64) -> u64 {
        derive_seed(seed, &[DOMAIN_B])
    }

    /// Whether `a` and `b` share the config and every hidden layer (level 1
    /// and the super-resolution layers), so that they give the same codes.
    pub fn shares_codes(a: &Params, b: &Params) -> bool {
        a.config == b.config && a.level1 == b.level1 && a.up == b.up
    }

    /// Samples `start..start+count` under `seed` in float64: (domain A's
    /// levels, domain B's levels) of the same latents and codes — exactly
    /// what `fsrgan sample --domains 2 --seed seed` stores as `x{l}` and
    /// `x{l}_b` (before the float32 rounding).
    pub fn sample(
        &self,
        seed: u64,
        start: u64,
        count: usize,
    ) -> (Vec<Array4<f64>>, Vec<Array4<f64>>) {
        let draw = |p: &Params| {
            let s = Sampler::new(p, seed);
            let mut batch = s.batch(count, false);
            s.sample_into(start, &mut batch);
            batch.x
        };
        (draw(&self.a), draw(&self.b))
    }

    /// As [`Sampler::fill_f32`] for the pair: `outs` holds, each of `count`
    /// rows, `x1..xL` (domain A), `x1_b..xL_b` (domain B), then with
    /// `hidden` `s1..sL` and `z` (shared). Returns the codes' activity.
    ///
    /// # Panics
    /// If a slice does not have its array's length (a programmer error).
    #[track_caller]
    pub fn fill_f32(
        &self,
        seed: u64,
        start: u64,
        count: usize,
        hidden: bool,
        outs: &mut [&mut [f32]],
    ) -> Vec<Activity> {
        let levels = self.a.config.levels;
        let arrays = if hidden { 3 * levels + 1 } else { 2 * levels };
        assert_eq!(outs.len(), arrays, "one output slice per array");
        let (a_x, rest) = outs.split_at_mut(levels);
        let (b_x, hid) = rest.split_at_mut(levels);
        let mut a_outs: Vec<&mut [f32]> = a_x
            .iter_mut()
            .chain(hid.iter_mut())
            .map(|s| &mut **s)
            .collect();
        let activity = Sampler::new(&self.a, seed).fill_f32(start, count, hidden, &mut a_outs);
        let mut b_outs: Vec<&mut [f32]> = b_x.iter_mut().map(|s| &mut **s).collect();
        Sampler::new(&self.b, seed).fill_f32(start, count, false, &mut b_outs);
        activity
    }
}
