//! The GAN losses of the practice track, from the discriminator's logits
//! `D(x)` (real-valued outputs, no sigmoid), each a mean over the batch.
//! Both players *minimise* their loss.
//!
//! | loss | `L_D` | `L_G` |
//! |---|---|---|
//! | minimax | `E_r softplus(-D) + E_f softplus(D)` | `-E_f softplus(D)` |
//! | non_saturating | as minimax | `E_f softplus(-D)` |
//! | wgan, wgan_gp | `E_f D - E_r D` | `-E_f D` |
//! | lsgan | `E_r (D - 1)^2 / 2 + E_f D^2 / 2` | `E_f (D - 1)^2 / 2` |
//! | hinge | `E_r relu(1 - D) + E_f relu(1 + D)` | `-E_f D` |
//!
//! With `sigma` the logistic function, `softplus(-D) = -log sigma(D)` and
//! `softplus(D) = -log(1 - sigma(D))`: the minimax losses are Goodfellow's
//! `-E_r log D - E_f log(1 - D)` written on logits, computed by libtorch's
//! `log_sigmoid` (stable for any logit; never the log of a probability that
//! rounded to 0 or 1). At the optimal discriminator `sigma(D*) = p / (p + q)`
//! the minimax `L_D` is `log 4 - 2 JS(p, q)`; the LSGAN optimum is also
//! `D* = p / (p + q)` with `L_D = (1/2) sum p q / (p + q)`; the hinge optimum
//! over `D in [-1, 1]` is `sign(p - q)` with `L_D = 2 - 2 TV(p, q)`
//! (`tests/practice_loss.rs` checks each against these closed forms).
//!
//! WGAN-GP's penalty ([`gradient_penalty`]) is
//! `E_{x_hat} (||grad_x D(x_hat)||_2 - 1)^2` on `x_hat = eps x_r + (1 - eps) x_f`,
//! `eps ~ U[0, 1]` per sample (the same `eps` for every level of a sample, and
//! the norm taken over all levels together), its gradient with respect to the
//! discriminator's weights by double backward. WGAN's weight clipping is [`clip_`].

use tch::Tensor;

use super::config::LossKind;

/// The discriminator's loss from its logits on a real and a fake batch
/// (without the gradient penalty and drift terms, see [`gradient_penalty`]).
pub fn d_loss(kind: LossKind, d_real: &Tensor, d_fake: &Tensor) -> Tensor {
    match kind {
        LossKind::Minimax | LossKind::NonSaturating => {
            // -log sigma(D_r) - log(1 - sigma(D_f)) = -logsig(D_r) - logsig(-D_f)
            -(d_real.log_sigmoid().mean(None) + (-d_fake).log_sigmoid().mean(None))
        }
        LossKind::Wgan | LossKind::WganGp => d_fake.mean(None) - d_real.mean(None),
        LossKind::Lsgan => ((d_real - 1.0).square().mean(None) + d_fake.square().mean(None)) * 0.5,
        LossKind::Hinge => (-d_real + 1.0).relu().mean(None) + (d_fake + 1.0).relu().mean(None),
    }
}

/// The generator's loss from the discriminator's logits on a fake batch.
pub fn g_loss(kind: LossKind, d_fake: &Tensor) -> Tensor {
    match kind {
        // E log(1 - sigma(D)) = E logsig(-D): the saturating form.
        LossKind::Minimax => (-d_fake).log_sigmoid().mean(None),
        // -E log sigma(D).
        LossKind::NonSaturating => -d_fake.log_sigmoid().mean(None),
        LossKind::Wgan | LossKind::WganGp | LossKind::Hinge => -d_fake.mean(None),
        LossKind::Lsgan => (d_fake - 1.0).square().mean(None) * 0.5,
    }
}

/// Interpolates `eps x_r + (1 - eps) x_f` of every level, as fresh leaves
/// that require gradients; `eps` has shape `(B, 1, 1, 1)`.
pub fn interpolates(real: &[Tensor], fake: &[Tensor], eps: &Tensor) -> Vec<Tensor> {
    real.iter()
        .zip(fake)
        .map(|(r, f)| {
            let r = r.detach();
            let f = f.detach();
            (&f + (r - &f) * eps).detach().set_requires_grad(true)
        })
        .collect()
}

/// WGAN-GP's penalty `mean_b (||grad_x D(x)_b||_2 - 1)^2` at the points `x`
/// (one tensor per level, leaves that require gradients, e.g. from
/// [`interpolates`]), the norm over all levels of sample `b` together. The
/// input gradient is taken with `create_graph`, so the result can be
/// differentiated with respect to the discriminator's weights (double backward).
/// `critic` maps the points to logits of shape `(B,)` or `(B, 1)`.
pub fn gradient_penalty(critic: impl FnOnce(&[Tensor]) -> Tensor, x: &[Tensor]) -> Tensor {
    let out = critic(x);
    let grads = Tensor::run_backward(&[out.sum(None)], x, true, true);
    let b = x[0].size()[0];
    let sq = grads
        .iter()
        .map(|g| g.square().reshape([b, -1]).sum_dim_intlist(1, false, None))
        .reduce(|a, c| a + c)
        .expect("at least one level");
    (sq.sqrt() - 1.0).square().mean(None)
}

/// WGAN's weight clipping: every tensor clamped into `[-c, c]` in place.
pub fn clip_(params: &mut [Tensor], c: f64) {
    tch::no_grad(|| {
        for p in params.iter_mut() {
            let _ = p.clamp_(-c, c);
        }
    });
}

/// The discriminator's loss with one-sided label smoothing (Salimans et al.
/// 2016, section 3.4): the real samples' target is `alpha`, the fakes' stays
/// 0, so `L_D = -E_r [alpha logsig(D) + (1 - alpha) logsig(-D)] - E_f logsig(-D)`
/// (sigmoid cross-entropy; `alpha = 1` is [`d_loss`] of the minimax losses).
/// Its minimiser over `D` is `sigma(D*) = alpha p / (p + q)`.
pub fn d_loss_smoothed(d_real: &Tensor, d_fake: &Tensor, alpha: f64) -> Tensor {
    let real = d_real.log_sigmoid() * alpha + (-d_real).log_sigmoid() * (1.0 - alpha);
    -(real.mean(None) + (-d_fake).log_sigmoid().mean(None))
}

/// The mean cross-entropy `-E sum_k c_k log softmax(logits)_k` of one-hot
/// codes `c` `(B, K)` under the logits `(B, K)` of `Q(c | x)`.
pub fn code_cross_entropy(logits: &Tensor, onehot: &Tensor) -> Tensor {
    -(logits.log_softmax(1, None) * onehot.to_kind(logits.kind()))
        .sum_dim_intlist(1, false, None)
        .mean(None)
}

/// InfoGAN's variational lower bound of the mutual information between a
/// uniform code on `K` values and the sample, in nats:
/// `L_I = H(c) + E log Q(c | x) = log K - CE`, with `CE` the
/// [`code_cross_entropy`] (Chen et al. 2016, lemma 5.1); `L_I <= I(c; x)`,
/// with equality when `Q` is the true posterior.
pub fn mi_lower_bound(cross_entropy: f64, k: usize) -> f64 {
    (k as f64).ln() - cross_entropy
}

/// BEGAN's per-sample reconstruction loss `L(x) = mean_l mean |x_l - AE(x)_l|`
/// over the levels `l` (each level's pixels weighted equally within it),
/// shape `(B,)`.
pub fn recon_l1(x: &[Tensor], ae: &[Tensor]) -> Tensor {
    let b = x[0].size()[0];
    let n = x.len() as f64;
    x.iter()
        .zip(ae)
        .map(|(a, r)| (a - r).abs().reshape([b, -1]).mean_dim(1, false, None))
        .reduce(|a, c| a + c)
        .expect("at least one level")
        / n
}

/// BEGAN's proportional control of `k_t` (Berthelot et al. 2017, eq. 4):
/// `k_{t+1} = clip(k_t + lambda_k (gamma L(x_r) - L(G(z))), 0, 1)`.
pub fn began_k_update(k: f64, lambda_k: f64, gamma: f64, l_real: f64, l_fake: f64) -> f64 {
    (k + lambda_k * (gamma * l_real - l_fake)).clamp(0.0, 1.0)
}

/// BEGAN's convergence measure `M_global = L(x_r) + |gamma L(x_r) - L(G(z))|`.
pub fn began_convergence(gamma: f64, l_real: f64, l_fake: f64) -> f64 {
    l_real + (gamma * l_real - l_fake).abs()
}

/// The two terms of a Gaussian VAE's `-ELBO` per sample, `(B,)` each:
/// `nll = sum ||x - x_hat||^2 / (2 sigma^2) + (D / 2) log(2 pi sigma^2)` over
/// every level's `D` pixels (the decoder `p(x | z) = N(x_hat, sigma^2 I)` at
/// one reparameterised `z`), and the closed form
/// `kl = KL(N(mu, diag e^logvar) || N(0, I)) = (1/2) sum (mu^2 + e^logvar - 1 - logvar)`.
pub fn neg_elbo_terms(
    x: &[Tensor],
    x_hat: &[Tensor],
    mu: &Tensor,
    logvar: &Tensor,
    sigma: f64,
) -> (Tensor, Tensor) {
    let b = x[0].size()[0];
    let d: i64 = x.iter().map(|t| t.numel() as i64 / b).sum();
    let sq = x
        .iter()
        .zip(x_hat)
        .map(|(a, r)| {
            (a - r)
                .square()
                .reshape([b, -1])
                .sum_dim_intlist(1, false, None)
        })
        .reduce(|a, c| a + c)
        .expect("at least one level");
    let nll = sq / (2.0 * sigma * sigma)
        + 0.5 * d as f64 * (2.0 * std::f64::consts::PI * sigma * sigma).ln();
    let kl = ((mu.square() + logvar.exp() - logvar - 1.0) * 0.5).sum_dim_intlist(1, false, None);
    (nll, kl)
}

/// The mean absolute difference `mean |a - b|` (pix2pix's L1 term, CycleGAN's cycle term).
pub fn l1(a: &Tensor, b: &Tensor) -> Tensor {
    (a - b).abs().mean(None)
}

/// Historical averaging's penalty `sum_i ||theta_i - theta_bar_i||^2`
/// (Salimans et al. 2016, section 3.3), `theta_bar` the mean of the past values.
pub fn historical_penalty(params: &[Tensor], means: &[Tensor]) -> Option<Tensor> {
    params
        .iter()
        .zip(means)
        .map(|(p, m)| (p - m).square().sum(None))
        .reduce(|a, c| a + c)
}

/// CycleGAN's cycle-consistency term `mean |F(G(a)) - a| + mean |G(F(b)) - b|`
/// (Zhu et al. 2017, eq. 2): zero when `F` inverts `G` on both batches.
pub fn cycle_loss(
    g: impl Fn(&Tensor) -> Tensor,
    f: impl Fn(&Tensor) -> Tensor,
    a: &Tensor,
    b: &Tensor,
) -> Tensor {
    l1(&f(&g(a)), a) + l1(&g(&f(b)), b)
}
