//! The theory-track discriminators (training.md). Each maps a batch to one
//! score per sample; the GAN losses of [`super::stage`] turn scores into
//! losses, and `reg()` is the `(gamma/2)||lambda||^2` regulariser of its
//! linear weights.
//!
//! * [`Degree4`]: `D(X) = (1/P) sum_p sum_j lambda_j <v_j, X[p]>^4 + c`, unit `v_j`.
//! * [`Moments`]: `D(s) = <lambda, (phi(s) - mu) / sd> + c` with `phi` the
//!   marginal powers 1..3 of every unit and all pairwise products of units
//!   (within and across patches) of decoded level-1 codes.
//! * [`Pair`]: on `(s_{l-1}, X_l)`: `(1/P) sum_p sum_j lambda_j <v_j, X_l[p]>^2
//!   ReLU(<u_{o(p) j}, w_p> - tau_{o(p) j}) + mu_j <v_j, X_l[p]>^4 + c`, where `w_p`
//!   is the 3x3 window of parent codes around patch `p`'s parent and `o(p)` the
//!   patch's offset among the parent's four children: each offset has its own
//!   parent directions, so a generator and its offset-permuted twin differ.

use tch::{Kind, Tensor};

use super::generator::patches;

fn param(t: Tensor) -> Tensor {
    t.detach().set_requires_grad(true)
}

/// Normalises the rows of `t` to unit length in place.
pub fn normalize_rows(t: &mut Tensor) {
    tch::no_grad(|| {
        let n = t.norm_scalaropt_dim(2.0, [1i64], true).clamp_min(1e-12);
        let unit = &*t / n;
        t.copy_(&unit);
    });
}

/// The degree-4 patch discriminator.
#[derive(Debug)]
pub struct Degree4 {
    /// First-layer filters `(J, D)`, unit rows.
    pub v: Tensor,
    /// Weights `lambda`, `(J,)`.
    pub lambda: Tensor,
    /// Offset `c` (used by the logistic losses).
    pub c: Tensor,
    q: usize,
}

impl Degree4 {
    /// Filters `v` (rows), `lambda = lambda0`, `c = 0`.
    pub fn new(v: &Tensor, lambda0: f64, q: usize) -> Degree4 {
        let j = v.size()[0];
        let (kind, dev) = (v.kind(), v.device());
        let mut v = param(v.copy());
        normalize_rows(&mut v);
        Degree4 {
            v,
            lambda: param(Tensor::full([j], lambda0, (kind, dev))),
            c: param(Tensor::zeros([1], (kind, dev))),
            q,
        }
    }
    /// Scores of images `(B, c, r, r)`.
    pub fn score(&self, x: &Tensor) -> Tensor {
        let b = x.size()[0];
        let a = patches(x, self.q).matmul(&self.v.tr()); // (B P, J)
        let per_patch = a.pow_tensor_scalar(4).matmul(&self.lambda); // (B P)
        per_patch.view([b, -1]).mean_dim(1, false, None::<Kind>) + &self.c
    }
    /// `(1/2)||lambda||^2` (times gamma by the caller).
    pub fn reg(&self) -> Tensor {
        self.lambda.square().sum(self.lambda.kind()) * 0.5
    }
    /// Parameters, in a fixed order.
    pub fn params(&mut self) -> Vec<&mut Tensor> {
        vec![&mut self.v, &mut self.lambda, &mut self.c]
    }
    /// Keeps the filters unit.
    pub fn project(&mut self) {
        normalize_rows(&mut self.v);
    }
}

/// Moment features of level-1 codes `(B, m, n, n)`: `[s, s^2, s^3, s_u s_u' (u < u')]`, `(B, F)`.
pub fn moment_features(s: &Tensor) -> Tensor {
    let b = s.size()[0];
    let u = s.reshape([b, -1]); // (B, U)
    let nu = u.size()[1];
    let outer = u.unsqueeze(2) * u.unsqueeze(1); // (B, U, U)
    let iu = Tensor::triu_indices(nu, nu, 1, (Kind::Int64, s.device()));
    let pairs = outer
        .view([b, nu * nu])
        .index_select(1, &(iu.get(0) * nu + iu.get(1)));
    Tensor::cat(
        &[u.shallow_clone(), u.square(), u.pow_tensor_scalar(3), pairs],
        1,
    )
}

/// The linear discriminator on (standardised) moment features of decoded codes.
#[derive(Debug)]
pub struct Moments {
    /// Weights `(F,)`.
    pub lambda: Tensor,
    /// Offset.
    pub c: Tensor,
    mu: Tensor,
    sd: Tensor,
    /// Whether the features are standardised by a real reference (then their
    /// real mean is 0 and the linear loss uses it exactly).
    pub standardised: bool,
}

impl Moments {
    /// With `standardise`, standardises features by the mean and sd of
    /// `reference` features `(B, F)`; otherwise the features are raw.
    pub fn new(reference: &Tensor, standardise: bool) -> Moments {
        let (kind, dev) = (reference.kind(), reference.device());
        let f = reference.size()[1];
        let (mu, sd) = if standardise {
            (
                reference.mean_dim(0, false, None::<Kind>).detach(),
                reference.std_dim(0, true, false).clamp_min(1e-6).detach(),
            )
        } else {
            (
                Tensor::zeros([f], (kind, dev)),
                Tensor::ones([f], (kind, dev)),
            )
        };
        Moments {
            lambda: param(Tensor::zeros([f], (kind, dev))),
            c: param(Tensor::zeros([1], (kind, dev))),
            mu,
            sd,
            standardised: standardise,
        }
    }
    /// Scores of codes `(B, m, n, n)`.
    pub fn score(&self, s: &Tensor) -> Tensor {
        ((moment_features(s) - &self.mu) / &self.sd).matmul(&self.lambda) + &self.c
    }
    /// Mean standardised features of codes (for the moment-gap metric).
    pub fn standardized_mean(&self, s: &Tensor) -> Tensor {
        ((moment_features(s) - &self.mu) / &self.sd).mean_dim(0, false, None::<Kind>)
    }
    /// `(1/2)||lambda||^2`.
    pub fn reg(&self) -> Tensor {
        self.lambda.square().sum(self.lambda.kind()) * 0.5
    }
    /// Parameters.
    pub fn params(&mut self) -> Vec<&mut Tensor> {
        vec![&mut self.lambda, &mut self.c]
    }
}

/// Parent windows: for codes `(B, m, n', n')` of level `l-1`, the 3x3 window of
/// parent codes (zero-padded) around each child patch's parent, as `(B n^2, 9 m)`
/// with `n = 2 n'`, rows in the patch order of [`patches`].
pub fn parent_windows(s: &Tensor) -> Tensor {
    let sz = s.size();
    let (b, m, np) = (sz[0], sz[1], sz[2]);
    let cols = s.im2col([3, 3], [1, 1], [1, 1], [1, 1]); // (B, 9m, n'^2)
    let cols = cols.view([b, 9 * m, np, np]);
    let up = cols
        .repeat_interleave_self_int(2, Some(2), None)
        .repeat_interleave_self_int(2, Some(3), None);
    up.permute([0, 2, 3, 1]).reshape([b * 4 * np * np, 9 * m])
}

/// One-hot child offsets `(B n^2, 4)` of the patches of a `n x n` grid in the
/// order of [`patches`]: patch `(py, px)` has offset `2 (py % 2) + px % 2`.
pub fn offset_onehot(n: i64, b: i64, kind: Kind, device: tch::Device) -> Tensor {
    let py = Tensor::arange(n, (Kind::Int64, device)).remainder(2);
    let o = (py.view([n, 1]) * 2 + py.view([1, n])).view([-1]); // (n^2,)
    o.one_hot(4).to_kind(kind).repeat([b, 1])
}

/// The pair discriminator of the super-resolution stages.
#[derive(Debug)]
pub struct Pair {
    /// First-layer filters on child patches `(J, D)`, unit rows.
    pub v: Tensor,
    /// Parent-window directions per child offset `(4 J, 9 m_{l-1})`: rows
    /// `o J .. (o + 1) J` for offset `o = 2 oy + ox`.
    pub u: Tensor,
    /// Thresholds per child offset `(4 J,)`.
    pub tau: Tensor,
    /// Weights of the pair terms `(J,)`.
    pub lambda: Tensor,
    /// Weights of the marginal degree-4 terms `(J,)`.
    pub mu: Tensor,
    /// Offset.
    pub c: Tensor,
    q: usize,
}

impl Pair {
    /// Filters `v` (e.g. the learned dictionary), random `u` from `seed`.
    pub fn new(v: &Tensor, window: i64, q: usize, seed: u64) -> Pair {
        let j = v.size()[0];
        let (kind, dev) = (v.kind(), v.device());
        let u = super::generator::seeded_randn(seed, &[4 * j, window], kind, dev)
            / (window as f64).sqrt();
        let mut vv = param(v.copy());
        normalize_rows(&mut vv);
        Pair {
            v: vv,
            u: param(u),
            tau: param(Tensor::zeros([4 * j], (kind, dev))),
            lambda: param(Tensor::zeros([j], (kind, dev))),
            mu: param(Tensor::zeros([j], (kind, dev))),
            c: param(Tensor::zeros([1], (kind, dev))),
            q,
        }
    }
    /// Scores of pairs: parent codes `(B, m', n', n')` and child images `(B, c, r, r)`.
    pub fn score(&self, parent: &Tensor, x: &Tensor) -> Tensor {
        let b = x.size()[0];
        let a = patches(x, self.q).matmul(&self.v.tr()); // (B P, J)
        let w = parent_windows(parent); // (B P, 9 m)
        let j = self.v.size()[0];
        let all = (w.matmul(&self.u.tr()) - &self.tau).relu().view([-1, 4, j]); // (B P, 4, J)
        let onehot = offset_onehot(x.size()[2] / self.q as i64, b, x.kind(), x.device());
        let psi = (all * onehot.unsqueeze(2)).sum_dim_intlist(1, false, None::<Kind>); // (B P, J)
        let pair = (a.square() * psi).matmul(&self.lambda);
        let marg = a.pow_tensor_scalar(4).matmul(&self.mu);
        (pair + marg).view([b, -1]).mean_dim(1, false, None::<Kind>) + &self.c
    }
    /// `(1/2)(||lambda||^2 + ||mu||^2)`.
    pub fn reg(&self) -> Tensor {
        (self.lambda.square().sum(self.lambda.kind()) + self.mu.square().sum(self.mu.kind())) * 0.5
    }
    /// Parameters.
    pub fn params(&mut self) -> Vec<&mut Tensor> {
        vec![
            &mut self.v,
            &mut self.u,
            &mut self.tau,
            &mut self.lambda,
            &mut self.mu,
            &mut self.c,
        ]
    }
    /// Keeps the filters and directions unit.
    pub fn project(&mut self) {
        normalize_rows(&mut self.v);
        normalize_rows(&mut self.u);
    }
}
