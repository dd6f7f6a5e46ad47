//! The closed-form discriminator of the GAN default (`disc = "closed"`): a
//! regularised linear discriminator over a fixed feature map, played at (or
//! stepped towards) its exact best response.
//!
//! The feature map `phi = (phi_1, .., phi_G)` is a list of groups (moment
//! tensors of patches, the image's second moment, code moments, offset-aware
//! pair cross moments; [`features`]). With weights `lambda_g` the
//! discriminator is `D(x) = sum_g w_g <lambda_g, phi_g(x)>` and maximises
//!
//! ```text
//! V(lambda) = E_real D - E_fake D - (1/2) sum_g w_g ||lambda_g||^2,
//! ```
//!
//! whose maximiser is `lambda_g = R_g - F_g` (`R_g = E_real phi_g`,
//! `F_g = E_fake phi_g`) with value `(1/2) sum_g w_g ||R_g - F_g||^2`. The
//! weights `w_g = c_g / ||R_g||^2` make each group's term its relative squared
//! gap (`c_g` a fixed family weight), so the value is scale-free.
//!
//! One step: the discriminator sees a fake batch `A` and moves `lambda` to
//! `(1 - rho) lambda + rho (R - F_A)` — with `rho = lr_d = 1` its exact best
//! response on `A`, with `rho < 1` a gradient-ascent step of size `rho` on `V`
//! (`grad V = R - F_A - lambda`); then the generator descends
//! `-E_fake D = -sum_g w_g <lambda_g, F_B,g>` on an independent batch `B`. Its
//! gradient is an unbiased estimate of `-(1/2) grad sum_g w_g ||R_g - F_g||^2`
//! evaluated at `lambda`: the GAN becomes moment matching, without the bias
//! that the batch's own noise would add if `A = B`.
//!
//! The real side `R` is the feature mean of `real_samples` real samples drawn
//! at the start of the stage: the data the discriminator sees.

use tch::{Kind, Tensor};

use super::generator::patches;

/// Column means of `rows` `(N, F)`, as `(F,)`.
fn mean_rows(rows: &Tensor) -> Tensor {
    rows.mean_dim(0, false, None::<Kind>)
}

/// `rows_a^T rows_b / N`, flattened: the mean of the outer products `a (x) b`.
fn mean_outer(a: &Tensor, b: &Tensor) -> Tensor {
    let n = a.size()[0].max(1) as f64;
    (a.tr().matmul(b) / n).view([-1])
}

/// The rows `x (x) x` of `x` `(N, D)`, as `(N, D^2)`.
fn squares(x: &Tensor) -> Tensor {
    let s = x.size();
    (x.unsqueeze(2) * x.unsqueeze(1)).view([s[0], s[1] * s[1]])
}

/// Moment tensors `E x^{(x)c}`, `c = 1..=4`, of patch rows `x` `(N, D)`,
/// flattened: `[E x (D), E x(x)x (D^2), E x(x)x(x)x (D^3), E x^{(x)4} (D^4)]`.
pub fn patch_moments(x: &Tensor) -> Vec<Tensor> {
    let x2 = squares(x);
    vec![
        mean_rows(x),
        mean_rows(&x2),
        mean_outer(&x2, x),
        mean_outer(&x2, &x2),
    ]
}

/// Largest flattened image dimension whose second moment `E vec(X) vec(X)^T`
/// is a feature group (larger images keep their patch and pair features).
pub const IMAGE_SECOND_MAX: i64 = 256;

/// `E vec(X) vec(X)^T` of images `(B, c, r, r)`, flattened, if `c r^2 <= IMAGE_SECOND_MAX`.
pub fn image_second(x: &Tensor) -> Option<Tensor> {
    let b = x.size()[0];
    let v = x.reshape([b, -1]);
    (v.size()[1] <= IMAGE_SECOND_MAX).then(|| mean_outer(&v, &v))
}

/// Moments of level-1 codes `(B, m, n, n)` (every unit `u = (channel, patch)`):
/// `[E s_u, E s_u^2, E s_u^3, E s_u s_u' (u < u')]`.
pub fn code_moments(s: &Tensor) -> Vec<Tensor> {
    let b = s.size()[0];
    let u = s.reshape([b, -1]);
    let nu = u.size()[1];
    let iu = Tensor::triu_indices(nu, nu, 1, (Kind::Int64, s.device()));
    let pairs = mean_outer(&u, &u).index_select(0, &(iu.get(0) * nu + iu.get(1)));
    vec![
        mean_rows(&u),
        mean_rows(&u.square()),
        mean_rows(&u.pow_tensor_scalar(3)),
        pairs,
    ]
}

/// The per-sample second moments `E phi^2` of the [`code_moments`] features,
/// group by group (`E s_u^2`, `E s_u^4`, `E s_u^6`, `E s_u^2 s_u'^2`), so that
/// `E phi^2 - (E phi)^2` is each feature's variance over samples.
pub fn code_second_moments(s: &Tensor) -> Vec<Tensor> {
    let b = s.size()[0];
    let u = s.reshape([b, -1]);
    let nu = u.size()[1];
    let u2 = u.square();
    let iu = Tensor::triu_indices(nu, nu, 1, (Kind::Int64, s.device()));
    let pairs = mean_outer(&u2, &u2).index_select(0, &(iu.get(0) * nu + iu.get(1)));
    vec![
        mean_rows(&u2),
        mean_rows(&u2.square()),
        mean_rows(&u2.pow_tensor_scalar(3)),
        pairs,
    ]
}

/// The parent window of every parent patch: for codes `(B, m, n, n)`, the
/// parent's own codes (`kernel = 2`) or the zero-padded 3x3 window of parents
/// around it (`kernel = 4`), as rows `(B n^2, m)` or `(B n^2, 9 m)` in
/// `(b, i, j)` order.
pub fn parent_rows(s: &Tensor, kernel: usize) -> Tensor {
    let sz = s.size();
    let (b, m, n) = (sz[0], sz[1], sz[2]);
    if kernel == 2 {
        s.permute([0, 2, 3, 1]).reshape([b * n * n, m])
    } else {
        s.im2col([3, 3], [1, 1], [1, 1], [1, 1])
            .permute([0, 2, 1])
            .reshape([b * n * n, 9 * m])
    }
}

/// The child patches at offset `(oy, ox)` of every parent: for images
/// `(B, c, 2 n q, 2 n q)`, the patch `(2 i + oy, 2 j + ox)` of parent `(i, j)`,
/// as rows `(B n^2, c q q)` in `(b, i, j)` order, columns in `(c, qy, qx)` order.
pub fn child_rows(x: &Tensor, q: usize, oy: i64, ox: i64) -> Tensor {
    let sz = x.size();
    let (b, c, r) = (sz[0], sz[1], sz[2]);
    let q = q as i64;
    let n = r / q / 2;
    x.view([b, c, n, 2, q, n, 2, q].as_slice())
        .select(3, oy)
        .select(5, ox)
        .permute([0, 2, 4, 1, 3, 5])
        .reshape([b * n * n, c * q * q])
}

/// Which feature families a stage's closed-form discriminator uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Family {
    /// `dict1`: patch moments `c = 1..4` of level 1 (they fix `M'_1` and the
    /// per-patch code law; the correlations across patches are `level1`'s).
    Level1Images,
    /// `level1`: moments of codes decoded with the learner's frozen `M'_1`.
    Codes,
    /// `superres{l}`: patch moments and image second moment of level `l`,
    /// and for each of the four child offsets the cross moments
    /// `E psi(parent window) (x) chi(child patch)` with `(psi, chi)` one of
    /// (decoded parent codes, child patch), (parent codes, second-order
    /// monomials of the child patch), (squared parent codes, child patch).
    Pairs {
        /// ConvT kernel (2 or 4): the parent window.
        kernel: usize,
        /// Patch size `q`.
        q: usize,
        /// Weight of the pair family against the marginal one.
        pair_weight: f64,
    },
}

/// The feature groups `(name, family weight, mean over the batch)` of `inputs`
/// (images for `Level1Images`, codes for `Codes`, `[parent codes, child images]`
/// for `Pairs`).
pub fn features(family: Family, q: usize, inputs: &[Tensor]) -> Vec<(String, f64, Tensor)> {
    let mut out = Vec::new();
    let marginal = |out: &mut Vec<(String, f64, Tensor)>, x: &Tensor, image: bool| {
        for (c, t) in patch_moments(&patches(x, q)).into_iter().enumerate() {
            out.push((format!("patch_c{}", c + 1), 1.0, t));
        }
        if let Some(t) = image_second(x).filter(|_| image) {
            out.push(("image_c2".into(), 1.0, t));
        }
    };
    match family {
        Family::Level1Images => marginal(&mut out, &inputs[0], false),
        Family::Codes => {
            for (name, t) in ["code_p1", "code_p2", "code_p3", "code_pairs"]
                .iter()
                .zip(code_moments(&inputs[0]))
            {
                out.push(((*name).into(), 1.0, t));
            }
        }
        Family::Pairs {
            kernel,
            q,
            pair_weight,
        } => {
            marginal(&mut out, &inputs[1], true);
            let psi1 = parent_rows(&inputs[0], kernel);
            let psi2 = psi1.square();
            let w = pair_weight / 4.0;
            for (oy, ox) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                let chi1 = child_rows(&inputs[1], q, oy, ox);
                let chi2 = squares(&chi1);
                // (psi degree, chi degree): every combination but (2, 2).
                for (name, psi, chi) in [
                    ("p1c1", &psi1, &chi1),
                    ("p1c2", &psi1, &chi2),
                    ("p2c1", &psi2, &chi1),
                ] {
                    out.push((format!("pair{oy}{ox}_{name}"), w, mean_outer(psi, chi)));
                }
            }
        }
    }
    out
}

/// The closed-form discriminator's state.
#[derive(Debug)]
pub struct Closed {
    /// Feature groups, in order.
    pub names: Vec<String>,
    /// Feature family.
    pub family: Family,
    /// Patch size.
    pub q: usize,
    real: Vec<Tensor>,
    /// Weight of every entry of every group (a scalar tensor per group, or
    /// one weight per entry: the level-1 code features' inverse variances).
    weight: Vec<Tensor>,
    /// The linear weights `lambda_g` (detached).
    pub lambda: Vec<Tensor>,
    /// Whether `lambda` holds a response yet (the first one is always exact).
    pub started: bool,
}

impl Closed {
    /// The discriminator whose real side is the mean of `chunks` of real
    /// inputs (each a batch, weighted by its size); `lambda = 0`. Group
    /// weights `c_g / ||R_g||^2`, or with `inverse_variance` (level-1 code
    /// features only) per-entry weights `c_g / (n_g Var_real phi_e)`.
    ///
    /// # Panics
    /// Never for non-empty `chunks` of one family; an empty list gives no groups.
    pub fn from_real(
        family: Family,
        q: usize,
        chunks: &[Vec<Tensor>],
        inverse_variance: bool,
    ) -> Closed {
        let mut names = Vec::new();
        let mut weight = Vec::new();
        let mut real: Vec<Tensor> = Vec::new();
        let mut second: Vec<Tensor> = Vec::new();
        let mut total = 0.0;
        tch::no_grad(|| {
            for inputs in chunks {
                let n = inputs[0].size()[0] as f64;
                let f = features(family, q, inputs);
                if real.is_empty() {
                    for (name, w, t) in &f {
                        names.push(name.clone());
                        weight.push(*w);
                        real.push(t.zeros_like());
                    }
                }
                for (r, (_, _, t)) in real.iter_mut().zip(&f) {
                    *r += t * n;
                }
                if inverse_variance && family == Family::Codes {
                    let sq = code_second_moments(&inputs[0]);
                    if second.is_empty() {
                        second = sq.iter().map(Tensor::zeros_like).collect();
                    }
                    for (acc, t) in second.iter_mut().zip(&sq) {
                        *acc += t * n;
                    }
                }
                total += n;
            }
        });
        let total = total.max(1.0);
        let real: Vec<Tensor> = real.iter().map(|r| (r / total).detach()).collect();
        let weight = if !second.is_empty() {
            // Inverse-variance weights per entry, `c_g / (n_g Var_real phi_e)`
            // (variances floored at 1e-3 of the group's mean variance): each
            // gap counts in units of its own sampling spread, so the pair
            // products of rarely co-active units — whose means depend on
            // their correlation only through that rare co-activity — weigh
            // as much as the well-measured ones (the correlations `C` are
            // otherwise fixed by the few largest pair moments alone).
            real.iter()
                .zip(&second)
                .zip(&weight)
                .map(|((r, m2), w)| {
                    tch::no_grad(|| {
                        let var = (m2 / total - r.square()).clamp_min(0.0);
                        let floor = var.mean(Kind::Double).double_value(&[]) * 1e-3;
                        let n_g = r.numel().max(1) as f64;
                        (var.clamp_min(floor.max(1e-300)).reciprocal() * (w / n_g)).detach()
                    })
                })
                .collect()
        } else {
            real.iter()
                .zip(&weight)
                .map(|(r, w)| {
                    let n2 = r.square().sum(Kind::Double).double_value(&[]);
                    let w = if n2 > 0.0 { w / n2 } else { *w };
                    Tensor::from(w).to_kind(r.kind()).to_device(r.device())
                })
                .collect()
        };
        let lambda = real.iter().map(|r| r.zeros_like()).collect();
        Closed {
            names,
            family,
            q,
            real,
            weight,
            lambda,
            started: false,
        }
    }

    /// Feature means of `inputs` (differentiable where they are).
    pub fn fake_means(&self, inputs: &[Tensor]) -> Vec<Tensor> {
        features(self.family, self.q, inputs)
            .into_iter()
            .map(|(_, _, t)| t)
            .collect()
    }

    /// The discriminator's value at its best response to `fake` means:
    /// `(1/2) sum_g w_g ||R_g - F_g||^2`, and per group `||R_g - F_g|| / ||R_g||`.
    pub fn value(&self, fake: &[Tensor]) -> (f64, Vec<f64>) {
        let mut total = 0.0;
        let mut rel = Vec::with_capacity(fake.len());
        for ((r, f), (w, name)) in self
            .real
            .iter()
            .zip(fake)
            .zip(self.weight.iter().zip(&self.names))
        {
            let _ = name;
            let g2 = (r - f).square().sum(Kind::Double).double_value(&[]);
            let r2 = r.square().sum(Kind::Double).double_value(&[]);
            total += 0.5 * ((r - f).square() * w).sum(Kind::Double).double_value(&[]);
            rel.push(if r2 > 0.0 {
                (g2 / r2).sqrt()
            } else {
                g2.sqrt()
            });
        }
        (total, rel)
    }

    /// The discriminator's step on fake means `fake` (no gradient):
    /// `lambda <- (1 - rho) lambda + rho (R - F)`, exact (`rho = 1`) the first
    /// time; returns its loss `-V` at the new `lambda`.
    pub fn respond(&mut self, fake: &[Tensor], rho: f64) -> f64 {
        let rho = if self.started { rho } else { 1.0 };
        tch::no_grad(|| {
            for ((l, r), f) in self.lambda.iter_mut().zip(&self.real).zip(fake) {
                let target = (r - f.detach()).detach();
                *l = (&*l * (1.0 - rho) + target * rho).detach();
            }
        });
        self.started = true;
        -self.objective(fake)
    }

    /// `V(lambda)` on fake means `fake`.
    fn objective(&self, fake: &[Tensor]) -> f64 {
        let mut v = 0.0;
        for (((l, r), f), w) in self
            .lambda
            .iter()
            .zip(&self.real)
            .zip(fake)
            .zip(&self.weight)
        {
            let gain = (l * (r - f.detach()) * w)
                .sum(Kind::Double)
                .double_value(&[]);
            let reg = (l.square() * w).sum(Kind::Double).double_value(&[]);
            v += gain - 0.5 * reg;
        }
        v
    }

    /// The generator's loss `-E_fake D = -sum_g w_g <lambda_g, F_g>` on fake
    /// means `fake` (differentiable in the generator's parameters).
    pub fn g_loss(&self, fake: &[Tensor]) -> Tensor {
        let mut total: Option<Tensor> = None;
        for ((l, f), w) in self.lambda.iter().zip(fake).zip(&self.weight) {
            let t = (l * f * w).sum(f.kind()) * -1.0;
            total = Some(match total {
                Some(s) => s + t,
                None => t,
            });
        }
        total.unwrap_or_else(|| Tensor::zeros([], (Kind::Double, tch::Device::Cpu)))
    }

    /// The weights, in a fixed order (checkpoints).
    pub fn params(&mut self) -> Vec<&mut Tensor> {
        self.lambda.iter_mut().collect()
    }
}
