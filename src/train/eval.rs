//! Metrics of the learner against the truth on fixed evaluation latents
//! (training.md, "Metrics"), as named values for `metrics.jsonl`:
//!
//! | name | meaning |
//! |---|---|
//! | `gap{l}_c{c}` | relative moment gap of level-`l` patches, `c = 1..4` ([`metrics::moment_gaps`]) |
//! | `floor{l}_c{c}` | the same between two independent real sets: the sampling floor of `gap{l}_c{c}` |
//! | `swd{l}` | sliced Wasserstein distance of patches (32 directions); `swd_floor{l}` its floor |
//! | `dict{l}_min_cos`, `dict{l}_mean_cos` | Hungarian-matched `|cos|` of `M'_l` with `M_l` |
//! | `alpha_err`, `beta_err`, `c_err` | level-1 recovery after matching channels |
//! | `sparsity{l}` | mean active channels per patch of the learner (target `k_l`) |
//! | `sr_residual{l}` | A5 residual of the learner's level `l` on real data (`l >= 2`) |
//! | `align{l}_learner`, `align{l}_truth` | mean best `|cos|` of the stage discriminator's filters with `M'_l`, `M_l` |
//!
//! Patches are evenly spaced rows of the evaluation images, at most
//! [`EVAL_ROWS`] per level, so each gap costs three `EVAL_ROWS^2 D` Gram sums.

use std::collections::BTreeMap;

use ndarray::{Array2, Array4, ArrayView4};
use tch::{Kind, Tensor};

use super::generator::{Generator, array2, array4, latents};
use super::stage::Disc;
use crate::metrics;
use crate::model::{Params, diagnostics};

/// Most patch rows per level used by the moment gaps and the SWD.
pub const EVAL_ROWS: usize = 4096;

/// Fixed evaluation sets.
pub struct Eval {
    z_fake: Tensor,
    real_x: Vec<Array4<f64>>,
    real_p: Vec<Array2<f64>>,
    floor: BTreeMap<String, f64>,
}

fn pick(a: &Array2<f64>) -> Array2<f64> {
    let stride = a.nrows().div_ceil(EVAL_ROWS).max(1);
    a.slice(ndarray::s![..; stride, ..]).to_owned()
}

impl Eval {
    /// `n` real samples (and a second, independent real set for the floors) and
    /// `n` fixed fake latents, from seeds `seeds = (real, real2, fake)`.
    pub fn new(target: &Generator, n: usize, seeds: (u64, u64, u64), kind: Kind, device: tch::Device) -> Eval {
        let cfg = &target.config;
        let real = |seed| -> Vec<Array4<f64>> {
            let z = latents(seed, n, cfg.d0, kind, device);
            tch::no_grad(|| target.images(&z).iter().map(array4).collect())
        };
        let real_x = real(seeds.0);
        let real2 = real(seeds.1);
        let q = cfg.patch;
        let real_p: Vec<Array2<f64>> = real_x.iter().map(|x| pick(&metrics::patches(x.view(), q))).collect();
        let mut floor = BTreeMap::new();
        for (l, x2) in real2.iter().enumerate() {
            let p2 = pick(&metrics::patches(x2.view(), q));
            for (c, g) in metrics::moment_gaps(real_p[l].view(), p2.view()).iter().enumerate() {
                floor.insert(format!("floor{}_c{}", l + 1, c + 1), *g);
            }
            floor.insert(format!("swd_floor{}", l + 1), metrics::sliced_wasserstein(real_p[l].view(), p2.view(), 32, 7));
        }
        Eval {
            z_fake: latents(seeds.2, n, cfg.d0, kind, device),
            real_x,
            real_p,
            floor,
        }
    }

    /// The real evaluation images.
    pub fn real_images(&self) -> &[Array4<f64>] {
        &self.real_x
    }

    /// The learner's images on the fixed fake latents.
    pub fn fake_images(&self, learner: &Generator) -> Vec<Array4<f64>> {
        tch::no_grad(|| learner.images(&self.z_fake).iter().map(array4).collect())
    }

    /// All metrics of `learner` (and of the stage discriminator `disc` at level `l`).
    pub fn evaluate(&self, truth: &Params, learner: &Generator, disc: Option<(&Disc, usize)>) -> BTreeMap<String, f64> {
        let cfg = &truth.config;
        let q = cfg.patch;
        let lp = learner.to_params();
        let mut out = self.floor.clone();
        let (fake_x, fake_s): (Vec<Array4<f64>>, Vec<Array4<f64>>) = tch::no_grad(|| {
            let s = learner.codes(&self.z_fake);
            let x = s.iter().enumerate().map(|(l, s)| array4(&learner.image(l, s))).collect();
            (x, s.iter().map(array4).collect())
        });
        for l in 0..cfg.levels {
            let lv = l + 1;
            let pf = pick(&metrics::patches(fake_x[l].view(), q));
            for (c, g) in metrics::moment_gaps(self.real_p[l].view(), pf.view()).iter().enumerate() {
                out.insert(format!("gap{lv}_c{}", c + 1), *g);
            }
            out.insert(format!("swd{lv}"), metrics::sliced_wasserstein(self.real_p[l].view(), pf.view(), 32, 7));
            let m = metrics::dictionary_recovery(truth, &lp, l);
            out.insert(format!("dict{lv}_min_cos"), m.min);
            out.insert(format!("dict{lv}_mean_cos"), m.mean);
            if l == 0 {
                let r = metrics::level1_recovery(truth, &lp, &m.perm);
                out.insert("alpha_err".into(), r.alpha_err);
                out.insert("beta_err".into(), r.beta_err);
                out.insert("c_err".into(), r.c_err);
            }
            out.insert(format!("sparsity{lv}"), diagnostics::activity_of_codes(fake_s[l].view(), 0.0).mean());
        }
        let views: Vec<ArrayView4<'_, f64>> = self.real_x.iter().map(|a| a.view()).collect();
        for (i, r) in diagnostics::a5_residual(&lp, &views).iter().enumerate() {
            out.insert(format!("sr_residual{}", i + 2), r.relative());
        }
        if let Some((d, l)) = disc
            && let Some(f) = d.filters()
        {
            let fm = array2(f);
            let lv = l + 1;
            out.insert(
                format!("align{lv}_learner"),
                metrics::mean_best_alignment(&metrics::alignment(&fm, &metrics::atoms(&lp, l))),
            );
            out.insert(
                format!("align{lv}_truth"),
                metrics::mean_best_alignment(&metrics::alignment(&fm, &metrics::atoms(truth, l))),
            );
        }
        out
    }
}
