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
