//! What only a known generator can say about the family's members: the
//! data each method trains on (labels, a second domain) and the truths it
//! is scored against, and the method's own score beside the sample metrics:
//!
//! * pix2pix, StackGAN: `sr{l}`, the super-resolution error
//!   `sum ||T_l(X_{l-1}) - X_l||^2 / sum ||X_l||^2` of the learned map on
//!   fresh real pairs of the truth (`X_l` is a function of `X_{l-1}` in a
//!   noise-free FSR model, so 0 is reachable; the zero map scores 1);
//! * CycleGAN: `trans{l}`, the same error of the translation `G_l(a)` against
//!   the exact answer `b` (the other domain's image of the same codes), beside
//!   `trans{l}_identity` (the error of `a` itself), and `cycle{l}`, the error
//!   of `F_l(G_l(a))` against `a`;
//! * cGAN: per class `k`, the sample metrics of `n` samples generated with
//!   label `k` against class `k`'s own truth and floor (`class{k}_swd{l}`,
//!   `class{k}_swd{l}_floor`, `class{k}_cov{l}`);
//! * InfoGAN on labelled data: the agreement of the code the critic's `Q`
//!   head infers for real samples with their true class (`ari`, `purity`,
//!   and `purity_chance`, the purity of a random assignment).

use ndarray::Array4;
use tch::Tensor;

use super::super::TrainError;
use super::super::executor::Values;
use super::super::generator::{array4, tensor_from};
use super::game::PracticeGame;
use crate::metrics::cluster::{adjusted_rand_index, purity, purity_chance};
use crate::metrics::translation::{cycle_error, translation_error};
use crate::model::Params;

/// The data a run trains on.
#[derive(Debug, Clone)]
pub struct TrainData {
    /// `X_l` per level, `(N, c, r_l, r_l)` (domain A for a two-domain dataset).
    pub x: Vec<Array4<f64>>,
    /// Labels in `0..K` (a labelled dataset).
    pub labels: Option<Vec<usize>>,
    /// Domain B's `X_l` of the same codes (a two-domain dataset).
    pub x_b: Option<Vec<Array4<f64>>>,
}

/// The truths a run is scored against.
#[derive(Debug, Clone)]
pub struct Truths {
    /// The truth of `x` (class 0 of a labelled dataset, domain A of a pair).
    pub main: Params,
    /// Every class's truth (labelled data; empty otherwise).
    pub classes: Vec<Params>,
    /// Domain B's truth (two-domain data).
    pub domain_b: Option<Params>,
}

impl Truths {
    /// The truth of an ordinary dataset.
    pub fn one(p: &Params) -> Truths {
        Truths {
            main: p.clone(),
            classes: Vec::new(),
            domain_b: None,
        }
    }
}

/// Levels as tensors of the game's kind on its device.
pub fn tensors(x: &[Array4<f64>], game: &PracticeGame) -> Vec<Tensor> {
    x.iter()
        .map(|a| tensor_from(&a.clone().into_dyn(), game.kind, game.device))
        .collect()
}

/// pix2pix and StackGAN: `sr{l}` for every level `l >= 2` on the real
/// levels `x` (fresh samples of the truth); latents from `seed`.
///
/// # Errors
/// libtorch or shape errors.
pub fn super_resolution_values(
    game: &PracticeGame,
    x: &[Array4<f64>],
    seed: u64,
) -> Result<Values, TrainError> {
    let t = tensors(x, game);
    let out = (1..x.len())
        .map(|l| array4(&game.super_resolve(l, &t[l - 1], seed)?))
        .collect::<Result<Vec<_>, TrainError>>()?;
    Ok(translation_error(&out, &x[1..])
        .into_iter()
        .enumerate()
        .map(|(i, e)| (format!("sr{}", i + 2), e))
        .collect())
}

/// CycleGAN: the translations `G_l(a_l)` of domain A's levels `a`, and the
/// values `trans{l}`, `trans{l}_identity` and `cycle{l}` against domain B's
/// images `b` of the same codes.
///
/// # Errors
/// libtorch or shape errors.
pub fn translation_values(
    game: &PracticeGame,
    a: &[Array4<f64>],
    b: &[Array4<f64>],
) -> Result<(Vec<Array4<f64>>, Values), TrainError> {
    let mut out = Vec::new();
    let mut backs = Vec::new();
    for (l, al) in a.iter().enumerate() {
        let ta = tensor_from(&al.clone().into_dyn(), game.kind, game.device);
        let fb = game.translate(l, &ta)?;
        let back = game.translate_back(l, &fb)?;
        out.push(array4(&fb)?);
        backs.push(array4(&back)?);
    }
    let mut v = Values::new();
    for (l, e) in translation_error(&out, b).into_iter().enumerate() {
        v.insert(format!("trans{}", l + 1), e);
    }
    for (l, e) in translation_error(a, b).into_iter().enumerate() {
        v.insert(format!("trans{}_identity", l + 1), e);
    }
    for (l, e) in cycle_error(a, &backs).into_iter().enumerate() {
        v.insert(format!("cycle{}", l + 1), e);
    }
    Ok((out, v))
}

/// InfoGAN on labelled data: the codes `argmax Q(c | x)` the critic infers
/// for the real levels `x` against their classes `labels`: `ari`, `purity`
/// and `purity_chance` (the mean purity of 64 random assignments of the
/// same cluster sizes), and `codes_used` (distinct inferred codes).
///
/// # Errors
/// libtorch or shape errors.
pub fn code_agreement(
    game: &PracticeGame,
    x: &[Array4<f64>],
    labels: &[usize],
    seed: u64,
) -> Result<Values, TrainError> {
    let codes = game.infer_codes(&tensors(x, game))?;
    let codes: Vec<usize> = Vec::<i64>::try_from(&codes)?
        .into_iter()
        .map(|c| c as usize)
        .collect();
    let mut used = codes.clone();
    used.sort_unstable();
    used.dedup();
    let mut v = Values::new();
    v.insert("ari".into(), adjusted_rand_index(&codes, labels));
    v.insert("purity".into(), purity(&codes, labels));
    v.insert(
        "purity_chance".into(),
        purity_chance(&codes, labels, 64, seed),
    );
    v.insert("codes_used".into(), used.len() as f64);
    Ok(v)
}

/// `cat(up2(lower), upper)` along channels: `(B, 2c, r, r)` from `lower`
/// `(B, c, r/2, r/2)` (nearest 2x) and `upper` `(B, c, r, r)`.
pub fn pair_image(lower: &Array4<f64>, upper: &Array4<f64>) -> Array4<f64> {
    let (b, c, r, _) = upper.dim();
    Array4::from_shape_fn((b, 2 * c, r, r), |(i, ch, y, x)| {
        if ch < c {
            lower[[i, ch, y / 2, x / 2]]
        } else {
            upper[[i, ch - c, y, x]]
        }
    })
}

/// Most patch rows per set in [`pair_swd_values`].
const PAIR_ROWS: usize = 65_536;
/// Random directions of [`pair_swd_values`].
const PAIR_DIRS: usize = 128;

/// The pair SWD of every level `l >= 2`: the sliced Wasserstein distance
/// between the `q x q` patches of [`pair_image`]`(X_{l-1}, X_l)` of the
/// generated set and of the real reference (`pair_swd{l}`), and the same for
/// an independent real set of the generated set's size (`pair_swd{l}_floor`).
/// It sees whether level `l` goes with level `l - 1` where the patch SWD of
/// each level alone cannot. At most 65,536 patches per set (seeded), 128 directions.
pub fn pair_swd_values(
    fake: &[Array4<f64>],
    real: &[Array4<f64>],
    floor: &[Array4<f64>],
    q: usize,
    seed: u64,
) -> Values {
    use crate::metrics::swd::subsample_rows;
    use crate::metrics::{patches, sliced_wasserstein};
    let rows = |x: &[Array4<f64>], l: usize, tag: u64| {
        let p = patches(pair_image(&x[l - 1], &x[l]).view(), q);
        subsample_rows(
            p.view(),
            PAIR_ROWS,
            crate::model::rng::derive_seed(seed, &[l as u64, tag]),
        )
    };
    let mut v = Values::new();
    for l in 1..fake.len().min(real.len()).min(floor.len()) {
        let r = rows(real, l, 0);
        let dir_seed = crate::model::rng::derive_seed(seed, &[l as u64, 3]);
        v.insert(
            format!("pair_swd{}", l + 1),
            sliced_wasserstein(r.view(), rows(fake, l, 1).view(), PAIR_DIRS, dir_seed),
        );
        v.insert(
            format!("pair_swd{}_floor", l + 1),
            sliced_wasserstein(r.view(), rows(floor, l, 2).view(), PAIR_DIRS, dir_seed),
        );
    }
    v
}
