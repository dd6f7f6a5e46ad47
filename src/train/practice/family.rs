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

/// `sum ||fake - real||^2 / sum ||real||^2` over every element.
pub fn relative_error(fake: &Array4<f64>, real: &Array4<f64>) -> f64 {
    let num: f64 = fake.iter().zip(real).map(|(a, b)| (a - b) * (a - b)).sum();
    let den: f64 = real.iter().map(|b| b * b).sum();
    num / den
}

fn tensors(x: &[Array4<f64>], game: &PracticeGame) -> Vec<Tensor> {
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
    let mut v = Values::new();
    let t = tensors(x, game);
    for l in 1..x.len() {
        let out = array4(&game.super_resolve(l, &t[l - 1], seed)?)?;
        v.insert(format!("sr{}", l + 1), relative_error(&out, &x[l]));
    }
    Ok(v)
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
    let mut v = Values::new();
    let mut out = Vec::new();
    for (l, (al, bl)) in a.iter().zip(b).enumerate() {
        let ta = tensor_from(&al.clone().into_dyn(), game.kind, game.device);
        let fb = game.translate(l, &ta)?;
        let back = tch::no_grad(|| {
            game.back[l]
                .as_ref()
                .map(|f| f.forward(&fb, None))
                .ok_or_else(|| TrainError::Plot("cyclegan without B -> A".into()))
        })?;
        let fb = array4(&fb)?;
        v.insert(format!("trans{}", l + 1), relative_error(&fb, bl));
        v.insert(format!("trans{}_identity", l + 1), relative_error(al, bl));
        v.insert(
            format!("cycle{}", l + 1),
            relative_error(&array4(&back)?, al),
        );
        out.push(fb);
    }
    Ok((out, v))
}
