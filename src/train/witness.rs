//! The witness discriminator of the super-resolution stages
//! (`disc = "witness"`): a pair discriminator that is linear in the child
//! patch and *learns* its features of the parent window by ascent,
//!
//! ```text
//! D(s, x) = sum_o (1/P) sum_p < x_{p,o}, h_o(w_p) >,
//! h_o(w)  = A_o^T ReLU(U_o^T w - tau_o) + c_o,
//! ```
//!
//! where `p` runs over the `P = n^2` parents of a level-`(l-1)` grid, `o` over
//! the four child offsets `2 oy + ox` of a parent, `w_p` is the parent's
//! window of decoded codes ([`parent_rows`]: its own codes for kernel 2, the
//! 3x3 window for kernel 4) and `x_{p,o}` its child patch ([`child_rows`]).
//! `U_o` (`win x H`), `tau_o`, `A_o` (`H x D`) and `c_o` are the
//! discriminator's parameters: `H` ReLU features of the whole window per
//! offset, learned (the paper's `psi_j(s) = ReLU(<u_j, s> - tau_j)`), paired
//! with linear filters on the child. The discriminator maximises
//!
//! ```text
//! V(h) = E_real D - E_fake D - (gamma / 2) E_parents sum_o (1/P) sum_p ||h_o(w_p)||^2
//! ```
//!
//! With the learner's children of the *same* parents (`condition = "real"`,
//! the conditional game, paired batches) the first two terms are
//! `E <x - G(s), h(s)>`, so over all functions the maximiser is
//! `h* = (x - G(s)) / gamma` and `V(h*) = E ||x - G(s)||^2 / (2 gamma)`
//! (per child): the generator, descending `-E_fake D`, then follows the
//! gradient of the supervised squared loss — the precise sense in which
//! "the GAN simulates supervised learning" (seed 001). At the truth the
//! value is 0 up to rounding whatever the batch, where the child is a
//! function of its decoded parent (`sigma = 0`), so no sampling floor hides
//! a small residual (`tests/witness.rs`, against two independent real
//! batches and wrong children). With independent real and fake parents (`condition =
//! "generated"`, the paper's game) the penalty is averaged over both parent
//! sets; then the maximiser is the same when the parent laws agree.

use tch::{Kind, Tensor};

use super::closed::{child_rows, parent_rows};
use super::generator::seeded_randn;

/// The witness discriminator (module docs).
#[derive(Debug)]
pub struct Witness {
    /// First-layer directions per offset `(4, win, H)`.
    pub u: Tensor,
    /// Thresholds per offset `(4, 1, H)`.
    pub tau: Tensor,
    /// Filters on the child per offset `(4, H, D)`.
    pub a: Tensor,
    /// Offsets `(4, 1, D)`.
    pub c: Tensor,
    kernel: usize,
    q: usize,
}

fn param(t: Tensor) -> Tensor {
    t.set_requires_grad(true)
}

impl Witness {
    /// A fresh witness with `hidden` features per offset for parent windows
    /// of `win` codes and child patches of `d` values: `U` Gaussian with
    /// unit-variance projections of a unit window (`N(0, 1/win)` entries),
    /// from `seed` (a function of the run's seeds only), `tau = 0`,
    /// `A = 0`, `c = 0` (so `D = 0` at the start).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        win: i64,
        hidden: i64,
        d: i64,
        kernel: usize,
        q: usize,
        seed: u64,
        kind: Kind,
        device: tch::Device,
    ) -> Witness {
        let u = seeded_randn(seed, &[4, win, hidden], kind, device) / (win as f64).sqrt();
        Witness {
            u: param(u),
            tau: param(Tensor::zeros([4, 1, hidden], (kind, device))),
            a: param(Tensor::zeros([4, hidden, d], (kind, device))),
            c: param(Tensor::zeros([4, 1, d], (kind, device))),
            kernel,
            q,
        }
    }

    /// `h_o(w_p)` for every offset and parent: `(4, B P, D)` from parent
    /// codes `(B, m, n, n)`.
    pub fn h(&self, parent: &Tensor) -> Tensor {
        let w = parent_rows(parent, self.kernel).unsqueeze(0); // (1, B P, win)
        (w.matmul(&self.u) - &self.tau).relu().matmul(&self.a) + &self.c
    }

    /// The child patches `(4, B P, D)` of images `(B, c, 2 n q, 2 n q)`, offset
    /// `o = 2 oy + ox` first.
    pub fn children(&self, x: &Tensor) -> Tensor {
        let rows: Vec<Tensor> = (0..4)
            .map(|o| child_rows(x, self.q, o / 2, o % 2))
            .collect();
        Tensor::stack(&rows, 0)
    }

    /// Per-sample scores `(B,)` of children `x` given `h` = [`Witness::h`]
    /// of their parents: `sum_o (1/P) sum_p <x_{p,o}, h_o(w_p)>`.
    pub fn score_with(&self, h: &Tensor, x: &Tensor) -> Tensor {
        let b = x.size()[0];
        let dot = (self.children(x) * h).sum_dim_intlist(2, false, None::<Kind>); // (4, B P)
        dot.view([4, b, -1])
            .mean_dim(2, false, None::<Kind>)
            .sum_dim_intlist(0, false, None::<Kind>)
    }

    /// The penalty's per-sample mean `E sum_o (1/P) sum_p ||h_o||^2 / 2`.
    pub fn half_square(h: &Tensor) -> Tensor {
        h.square()
            .sum_dim_intlist(2, false, None::<Kind>)
            .mean(None::<Kind>)
            * 2.0
    }

    /// Parameters in a fixed order.
    pub fn params(&mut self) -> Vec<&mut Tensor> {
        vec![&mut self.u, &mut self.tau, &mut self.a, &mut self.c]
    }
}
