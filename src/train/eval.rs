//! Metrics of the learner against the truth on fixed evaluation latents
//! (training.md, "Metrics"), as named values for `metrics.jsonl`:
//!
//! | name | meaning |
//! |---|---|
//! | `gap{l}_c{c}` | relative moment gap of level-`l` patches, `c = 1..4` ([`metrics::moment_gaps`]) |
//! | `floor{l}_c{c}` | the same for an independent real set of the same size: the sampling floor of `gap{l}_c{c}` |
//! | `gap{l}_c{c}_final`, `floor{l}_c{c}_final` | the same at `final_eval` samples (row `final`, `D <= 16`) |
//! | `swd{l}` | sliced Wasserstein distance of patches (32 directions); `swd_floor{l}` its floor |
//! | `dict{l}_min_cos`, `dict{l}_mean_cos` | Hungarian-matched `|cos|` of `M'_l` with `M_l` |
//! | `alpha_err`, `beta_err`, `c_err` | level-1 recovery after matching channels |
//! | `sparsity{l}` | mean active channels per patch of the learner (target `k_l`) |
//! | `sr_residual{l}` | A5 residual of the learner's level `l` (`l >= 2`) on the truth's samples (on the held-out split for a dataset without truth) |
//! | `sr_residual{l}_heldout`, `sr_residual{l}_train` | the same on the dataset's held-out and training splits |
//! | `align{l}_learner`, `align{l}_truth` | mean best `|cos|` of the stage discriminator's filters with `M'_l`, `M_l` |
//!
//! Moment gaps: for patch dimension `D <= 16` the moment tensors are formed
//! exactly ([`metrics::MomentTensors`]) over every patch; the real tensors come
//! once from `final_eval` real samples, the fake ones from `eval_batch` fixed
//! latents (and, at the end, from `final_eval` latents: the row `final`). The
//! floor is the gap of an independent real set of the same size as the fake
//! one, so a gap near its floor is as small as the evaluation can resolve.
//! For `D > 16` the gaps are Gram sums over at most [`EVAL_ROWS`] evenly
//! spaced patches of each set.

use std::collections::BTreeMap;

use ndarray::{Array2, Array4, ArrayView4};
use tch::{Kind, Tensor};

use super::TrainError;
use super::generator::{Generator, array2, array4, latents};
use super::stage::Disc;
use crate::metrics::{self, MomentTensors};
use crate::model::{Params, diagnostics};

/// Most patch rows per level used by the Gram-sum gaps (`D > 16`) and the SWD.
pub const EVAL_ROWS: usize = 4096;

/// Real references of one level.
struct Reference {
    /// Exact real moment tensors (`D <= 16`).
    tensors: Option<MomentTensors>,
    /// Evenly spaced real patches (SWD, Gram gaps).
    rows: Array2<f64>,
}

/// Fixed evaluation sets.
pub struct Eval {
    z_fake: Tensor,
    real_x: Vec<Array4<f64>>,
    refs: Vec<Reference>,
    floor: BTreeMap<String, f64>,
    seeds: (u64, u64, u64),
    final_n: usize,
    chunk: usize,
    /// The held-out half the floors are drawn from (`RealRef::Heldout`).
    floor_set: Option<Vec<Array4<f64>>>,
    /// Fresh samples of the truth for the A5 residual (`RealRef::Heldout`
    /// with a truth): the super-resolution layers scored against the truth.
    truth_x: Option<Vec<Array4<f64>>>,
    /// Training samples for the A5 residual on the training split
    /// (`sr_residual{l}_train`, beside `sr_residual{l}_heldout`).
    train_x: Option<Vec<Array4<f64>>>,
}

/// The real side of the metrics.
pub enum RealRef<'a> {
    /// Fresh samples of the truth (`data = "oracle"`).
    Oracle(&'a Generator),
    /// A dataset's held-out split, per level: its first half is the
    /// reference (moment tensors, SWD rows, A5 residual), its second half
    /// the independent real set of the floors. The fake sets are as large
    /// as the floor sets, `min(n, h/2)` and `min(final_n, h/2)`.
    Heldout {
        /// The held-out split.
        x: &'a [Array4<f64>],
        /// The model's shapes.
        cfg: &'a crate::model::Config,
        /// Training samples (the A5 residual on the training split).
        train: Vec<Array4<f64>>,
        /// The truth, if the dataset has one: the A5 residual `sr_residual{l}`
        /// is then taken on its fresh samples.
        truth: Option<&'a Generator>,
    },
}

/// The first `n` samples of every level.
fn head(x: &[Array4<f64>], n: usize) -> Vec<Array4<f64>> {
    x.iter()
        .map(|a| {
            a.slice(ndarray::s![..n.min(a.shape()[0]), .., .., ..])
                .to_owned()
        })
        .collect()
}

/// Moment tensors (where `D <= 16`) of images `x`, per level.
fn tensors_of_images(cfg: &crate::model::Config, x: &[Array4<f64>]) -> Vec<Option<MomentTensors>> {
    let d = cfg.d();
    x.iter()
        .map(|a| {
            (d <= metrics::EXPLICIT_MAX_D).then(|| {
                let mut t = MomentTensors::new(d);
                t.add(metrics::patches(a.view(), cfg.patch).view());
                t
            })
        })
        .collect()
}

fn pick(a: &Array2<f64>) -> Array2<f64> {
    let stride = a.nrows().div_ceil(EVAL_ROWS).max(1);
    a.slice(ndarray::s![..; stride, ..]).to_owned()
}

/// Images of `n` samples from latents seeded by `seed`, in chunks of `chunk`,
/// handed level by level to `f(level, images)`.
fn images_in_chunks(
    g: &Generator,
    n: usize,
    chunk: usize,
    seed: u64,
    kind: Kind,
    device: tch::Device,
    mut f: impl FnMut(usize, &Array4<f64>),
) -> Result<(), TrainError> {
    let mut done = 0;
    let mut i = 0u64;
    while done < n {
        let b = chunk.min(n - done);
        let z = latents(seed.wrapping_add(i), b, g.config.d0, kind, device);
        let x = tch::no_grad(|| {
            g.images(&z)
                .iter()
                .map(array4)
                .collect::<Result<Vec<_>, _>>()
        })?;
        for (l, xl) in x.iter().enumerate() {
            f(l, xl);
        }
        done += b;
        i += 1;
    }
    Ok(())
}

/// Moment tensors (where `D <= 16`) of `n` samples of `g`, per level.
fn tensors_of(
    g: &Generator,
    n: usize,
    chunk: usize,
    seed: u64,
    kind: Kind,
    device: tch::Device,
) -> Result<Vec<Option<MomentTensors>>, TrainError> {
    let cfg = &g.config;
    let d = cfg.d();
    let mut out: Vec<Option<MomentTensors>> = (0..cfg.levels)
        .map(|_| (d <= metrics::EXPLICIT_MAX_D).then(|| MomentTensors::new(d)))
        .collect();
    images_in_chunks(g, n, chunk, seed, kind, device, |l, x| {
        if let Some(t) = out[l].as_mut() {
            t.add(metrics::patches(x.view(), cfg.patch).view());
        }
    })?;
    Ok(out)
}

impl Eval {
    /// Real references, a floor set of `n` real samples, and `n` fixed fake
    /// latents; `seeds = (real, real2, fake)`. From the oracle: references
    /// from `final_n` fresh samples; from a held-out split: see [`RealRef`].
    pub fn new(
        real: RealRef<'_>,
        n: usize,
        final_n: usize,
        seeds: (u64, u64, u64),
        kind: Kind,
        device: tch::Device,
    ) -> Result<Eval, TrainError> {
        let target = match real {
            RealRef::Oracle(t) => t,
            RealRef::Heldout {
                x,
                cfg,
                train,
                truth,
            } => {
                let mut e = Eval::heldout(x, cfg, n, final_n, seeds, kind, device)?;
                e.train_x = Some(train);
                if let Some(t) = truth {
                    let z = latents(seeds.0, e.real_x[0].shape()[0], cfg.d0, kind, device);
                    e.truth_x = Some(tch::no_grad(|| {
                        t.images(&z).iter().map(array4).collect::<Result<_, _>>()
                    })?);
                }
                return Ok(e);
            }
        };
        let cfg = &target.config;
        let q = cfg.patch;
        let chunk = n.clamp(1, 4096);
        let real_x: Vec<Array4<f64>> = {
            let z = latents(seeds.0, n, cfg.d0, kind, device);
            tch::no_grad(|| {
                target
                    .images(&z)
                    .iter()
                    .map(array4)
                    .collect::<Result<_, _>>()
            })?
        };
        let ref_tensors = tensors_of(
            target,
            final_n.max(n),
            chunk,
            seeds.0 ^ 0x5EED,
            kind,
            device,
        )?;
        let refs: Vec<Reference> = ref_tensors
            .into_iter()
            .zip(&real_x)
            .map(|(tensors, x)| Reference {
                tensors,
                rows: pick(&metrics::patches(x.view(), q)),
            })
            .collect();
        let mut eval = Eval {
            z_fake: latents(seeds.2, n, cfg.d0, kind, device),
            real_x,
            refs,
            floor: BTreeMap::new(),
            seeds,
            final_n,
            chunk,
            floor_set: None,
            truth_x: None,
            train_x: None,
        };
        eval.floor = eval.floors(target, n, "", kind, device)?;
        Ok(eval)
    }

    /// [`Eval::new`] on a held-out split `x`.
    fn heldout(
        x: &[Array4<f64>],
        cfg: &crate::model::Config,
        n: usize,
        final_n: usize,
        seeds: (u64, u64, u64),
        kind: Kind,
        device: tch::Device,
    ) -> Result<Eval, TrainError> {
        let h = x.first().map_or(0, |a| a.shape()[0]);
        if h < 2 {
            return Err(TrainError::InvalidConfig {
                field: "heldout".into(),
                rule: format!(
                    "the metrics need at least 2 held-out samples (one reference, one floor), got {h}"
                ),
            });
        }
        let r = h / 2;
        let a = head(x, r);
        let b: Vec<Array4<f64>> = x
            .iter()
            .map(|l| l.slice(ndarray::s![r.., .., .., ..]).to_owned())
            .collect();
        let (n, final_n) = (n.min(r).min(h - r), final_n.min(h - r));
        let real_x = head(&a, n);
        let refs = tensors_of_images(cfg, &a)
            .into_iter()
            .zip(&real_x)
            .map(|(tensors, xl)| Reference {
                tensors,
                rows: pick(&metrics::patches(xl.view(), cfg.patch)),
            })
            .collect();
        let mut eval = Eval {
            z_fake: latents(seeds.2, n, cfg.d0, kind, device),
            real_x,
            refs,
            floor: BTreeMap::new(),
            seeds,
            final_n,
            chunk: n.clamp(1, 4096),
            floor_set: Some(b),
            truth_x: None,
            train_x: None,
        };
        eval.floor = eval.floors_of(cfg, n, "");
        Ok(eval)
    }

    /// The gaps of an independent real set of `n` samples: the floor of a fake set of that size.
    fn floors(
        &self,
        target: &Generator,
        n: usize,
        suffix: &str,
        kind: Kind,
        device: tch::Device,
    ) -> Result<BTreeMap<String, f64>, TrainError> {
        let cfg = &target.config;
        let mut out = BTreeMap::new();
        let tensors = tensors_of(target, n, self.chunk, self.seeds.1, kind, device)?;
        let z = latents(self.seeds.1, n.min(EVAL_ROWS), cfg.d0, kind, device);
        let x2: Vec<Array4<f64>> = tch::no_grad(|| {
            target
                .images(&z)
                .iter()
                .map(array4)
                .collect::<Result<_, _>>()
        })?;
        for (l, (t, x)) in tensors.iter().zip(&x2).enumerate() {
            let p2 = pick(&metrics::patches(x.view(), cfg.patch));
            self.insert_floors(&mut out, l, t.as_ref(), &p2, suffix);
        }
        Ok(out)
    }

    /// The floors of the first `n` samples of the held-out floor set.
    fn floors_of(
        &self,
        cfg: &crate::model::Config,
        n: usize,
        suffix: &str,
    ) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        let x = head(self.floor_set.as_deref().unwrap_or(&[]), n);
        for (l, (t, xl)) in tensors_of_images(cfg, &x).iter().zip(&x).enumerate() {
            let rows = head(std::slice::from_ref(xl), EVAL_ROWS).remove(0);
            let p2 = pick(&metrics::patches(rows.view(), cfg.patch));
            self.insert_floors(&mut out, l, t.as_ref(), &p2, suffix);
        }
        out
    }

    fn insert_floors(
        &self,
        out: &mut BTreeMap<String, f64>,
        l: usize,
        t: Option<&MomentTensors>,
        p2: &Array2<f64>,
        suffix: &str,
    ) {
        for (c, g) in self.gaps(l, t, p2).iter().enumerate() {
            out.insert(format!("floor{}_c{}{suffix}", l + 1, c + 1), *g);
        }
        out.insert(
            format!("swd_floor{}{suffix}", l + 1),
            metrics::sliced_wasserstein(self.refs[l].rows.view(), p2.view(), 32, 7),
        );
    }

    /// Gaps `c = 1..4` of level `l` against the real reference: exact tensors
    /// when both exist, Gram sums of rows otherwise.
    fn gaps(&self, l: usize, tensors: Option<&MomentTensors>, rows: &Array2<f64>) -> [f64; 4] {
        match (&self.refs[l].tensors, tensors) {
            (Some(r), Some(f)) => r.relative_gaps(f),
            _ => metrics::moment_gaps(self.refs[l].rows.view(), rows.view()),
        }
    }

    /// The real evaluation images.
    pub fn real_images(&self) -> &[Array4<f64>] {
        &self.real_x
    }

    /// The learner's images on the fixed fake latents.
    ///
    /// # Errors
    /// [`TrainError`] if the images cannot be copied out.
    pub fn fake_images(&self, learner: &Generator) -> Result<Vec<Array4<f64>>, TrainError> {
        tch::no_grad(|| learner.images(&self.z_fake).iter().map(array4).collect())
    }

    /// The final evaluation: moment gaps of `final_eval` fake samples and their
    /// floors (suffix `_final`), with the other metrics of [`Eval::evaluate`].
    pub fn evaluate_final(
        &self,
        truth: Option<&Params>,
        learner: &Generator,
        kind: Kind,
        device: tch::Device,
    ) -> Result<BTreeMap<String, f64>, TrainError> {
        let mut out = self.evaluate(truth, learner, None)?;
        let tensors = tensors_of(
            learner,
            self.final_n,
            self.chunk,
            self.seeds.2 ^ 0xF1A1,
            kind,
            device,
        )?;
        for (l, t) in tensors.iter().enumerate() {
            if t.is_some() {
                for (c, g) in self
                    .gaps(l, t.as_ref(), &self.refs[l].rows)
                    .iter()
                    .enumerate()
                {
                    out.insert(format!("gap{}_c{}_final", l + 1, c + 1), *g);
                }
            }
        }
        if tensors.iter().any(Option::is_some) {
            let floors = match (&self.floor_set, truth) {
                (Some(_), _) => self.floors_of(&learner.config, self.final_n, "_final"),
                (None, Some(truth)) => {
                    let target = Generator::from_params(truth, kind, device);
                    self.floors(&target, self.final_n, "_final", kind, device)?
                }
                (None, None) => BTreeMap::new(),
            };
            out.extend(floors.into_iter().filter(|(k, _)| !k.starts_with("swd")));
        }
        Ok(out)
    }

    /// All metrics of `learner` (and of the stage discriminator `disc` at
    /// level `l`); those that compare with the truth (dictionaries, level-1
    /// law, filter alignment with the truth) only when there is one.
    pub fn evaluate(
        &self,
        truth: Option<&Params>,
        learner: &Generator,
        disc: Option<(&Disc, usize)>,
    ) -> Result<BTreeMap<String, f64>, TrainError> {
        let cfg = &learner.config;
        let q = cfg.patch;
        let lp = learner.to_params()?;
        let mut out = self.floor.clone();
        let d = cfg.d();
        let (fake_x, fake_s) = tch::no_grad(|| -> Result<(Vec<_>, Vec<_>), TrainError> {
            let s = learner.codes(&self.z_fake);
            let x = s
                .iter()
                .enumerate()
                .map(|(l, s)| array4(&learner.image(l, s)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((x, s.iter().map(array4).collect::<Result<Vec<_>, _>>()?))
        })?;
        for l in 0..cfg.levels {
            let lv = l + 1;
            let all = metrics::patches(fake_x[l].view(), q);
            let pf = pick(&all);
            let tensors = (d <= metrics::EXPLICIT_MAX_D).then(|| {
                let mut t = MomentTensors::new(d);
                t.add(all.view());
                t
            });
            for (c, g) in self.gaps(l, tensors.as_ref(), &pf).iter().enumerate() {
                out.insert(format!("gap{lv}_c{}", c + 1), *g);
            }
            out.insert(
                format!("swd{lv}"),
                metrics::sliced_wasserstein(self.refs[l].rows.view(), pf.view(), 32, 7),
            );
            if let Some(truth) = truth {
                let m = metrics::dictionary_recovery(truth, &lp, l)?;
                out.insert(format!("dict{lv}_min_cos"), m.min);
                out.insert(format!("dict{lv}_mean_cos"), m.mean);
                if l == 0 {
                    let r = metrics::level1_recovery(truth, &lp, &m.perm);
                    out.insert("alpha_err".into(), r.alpha_err);
                    out.insert("beta_err".into(), r.beta_err);
                    out.insert("c_err".into(), r.c_err);
                }
            }
            out.insert(
                format!("sparsity{lv}"),
                diagnostics::activity_of_codes(fake_s[l].view(), 0.0).mean(),
            );
        }
        // The A5 residual: on the truth's samples where there is a truth,
        // else on the real reference; on a dataset also on its held-out and
        // training splits (`_heldout`, `_train`: overfitting shows as a gap).
        let a5 = |x: &[Array4<f64>]| -> Vec<f64> {
            let views: Vec<ArrayView4<'_, f64>> = x.iter().map(|a| a.view()).collect();
            diagnostics::a5_residual(&lp, &views)
                .iter()
                .map(|r| r.relative())
                .collect()
        };
        let main = a5(self.truth_x.as_deref().unwrap_or(&self.real_x));
        for (i, r) in main.iter().enumerate() {
            out.insert(format!("sr_residual{}", i + 2), *r);
        }
        if let Some(train) = &self.train_x {
            for (suffix, x) in [("_heldout", &self.real_x), ("_train", train)] {
                for (i, r) in a5(x).iter().enumerate() {
                    out.insert(format!("sr_residual{}{suffix}", i + 2), *r);
                }
            }
        }
        if let Some((d, l)) = disc
            && let Some(f) = d.filters()
        {
            let fm = array2(f)?;
            let lv = l + 1;
            out.insert(
                format!("align{lv}_learner"),
                metrics::mean_best_alignment(&metrics::alignment(&fm, &metrics::atoms(&lp, l)?)),
            );
            if let Some(truth) = truth {
                out.insert(
                    format!("align{lv}_truth"),
                    metrics::mean_best_alignment(&metrics::alignment(
                        &fm,
                        &metrics::atoms(truth, l)?,
                    )),
                );
            }
        }
        Ok(out)
    }
}
