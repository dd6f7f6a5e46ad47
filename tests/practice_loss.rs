//! The practice-track losses against closed forms on toy problems, each with
//! a wrong input that fails; WGAN-GP's penalty against central finite
//! differences in f64.
//!
//! Toy problem: two distributions `p`, `q` on four points with probabilities
//! in eighths, so a batch that lists point `i` `8 p_i` times is exactly `p`.
//! The discriminator's outputs are free per-point values `a_i` (the
//! unconstrained optimum of each loss), found by gradient descent on *our*
//! loss and compared with the optimum and value derived by hand (and
//! computed here directly from `p` and `q`):
//! * minimax: `sigma(a*) = p / (p + q)`, `L_D = log 4 - 2 JS(p, q)`;
//! * LSGAN (a = 0, b = c = 1): `a* = p / (p + q)`, `L_D = (1/2) sum p q / (p + q)`;
//! * hinge: `a* = sign(p - q)` on `[-1, 1]`, `L_D = 2 - 2 TV(p, q)`;
//! * WGAN with a clipped linear critic on two Diracs `delta_u`, `delta_v`:
//!   `L_D = -c ||u - v||_1` at `w = c sign(u - v)`.

use fsrgan::testing::{
    CENTRAL_DIFF_PENALTY, CENTRAL_DIFF_REL, EXACT_AT_LARGE_LOGITS, F64_FEW_OPS, F64_SUM, FAULT_GAP,
    GD_LSGAN_OPTIMUM, GD_MINIMAX_OPTIMUM, SATURATED_GRADIENT,
};
use fsrgan::train::practice::config::LossKind;
use fsrgan::train::practice::layers::normal_tensor;
use fsrgan::train::practice::loss::{clip_, d_loss, g_loss, gradient_penalty, interpolates};
use tch::{Kind, Tensor};

const P8: [i64; 4] = [4, 2, 1, 1];
const Q8: [i64; 4] = [1, 1, 2, 4];

fn pq() -> ([f64; 4], [f64; 4]) {
    (P8.map(|v| v as f64 / 8.0), Q8.map(|v| v as f64 / 8.0))
}

/// Index batches listing point `i` `8 p_i` (real) and `8 q_i` (fake) times.
fn batches() -> (Tensor, Tensor) {
    let rep = |m: [i64; 4]| {
        let v: Vec<i64> = (0..4)
            .flat_map(|i| std::iter::repeat_n(i as i64, m[i] as usize))
            .collect();
        Tensor::from_slice(&v)
    };
    (rep(P8), rep(Q8))
}

fn v(t: &Tensor) -> Vec<f64> {
    Vec::<f64>::try_from(t.detach().to_kind(Kind::Double).reshape([-1])).unwrap()
}

fn s(t: &Tensor) -> f64 {
    f64::try_from(t.detach().to_kind(Kind::Double)).unwrap()
}

/// `L_D` of per-point outputs `a` on the toy batches.
fn toy_d_loss(kind: LossKind, a: &Tensor) -> Tensor {
    let (ir, i_f) = batches();
    d_loss(kind, &a.index_select(0, &ir), &a.index_select(0, &i_f))
}

/// Minimises `L_D` over free per-point outputs by gradient descent (f64).
fn minimise(kind: LossKind, steps: usize, lr: f64) -> Vec<f64> {
    let mut a = Tensor::zeros([4], (Kind::Double, tch::Device::Cpu)).set_requires_grad(true);
    for _ in 0..steps {
        let l = toy_d_loss(kind, &a);
        let g = Tensor::run_backward(&[&l], &[&a], false, false);
        tch::no_grad(|| {
            let _ = a.f_sub_(&(&g[0] * lr));
        });
    }
    v(&a)
}

fn kl(p: &[f64], q: &[f64]) -> f64 {
    p.iter()
        .zip(q)
        .map(|(a, b)| if *a > 0.0 { a * (a / b).ln() } else { 0.0 })
        .sum()
}

fn js(p: &[f64], q: &[f64]) -> f64 {
    let m: Vec<f64> = p.iter().zip(q).map(|(a, b)| (a + b) / 2.0).collect();
    0.5 * kl(p, &m) + 0.5 * kl(q, &m)
}

fn logits(x: &[f64]) -> Tensor {
    Tensor::from_slice(x)
}

#[test]
fn minimax_optimum_is_p_over_p_plus_q_with_value_log4_minus_2js() {
    let (p, q) = pq();
    let target = 4f64.ln() - 2.0 * js(&p, &q);
    // Value at the hand-derived optimum logit ln(p/q) (sigma = p/(p+q)).
    let star: Vec<f64> = (0..4).map(|i| (p[i] / q[i]).ln()).collect();
    for kind in [LossKind::Minimax, LossKind::NonSaturating] {
        let at_star = s(&toy_d_loss(kind, &logits(&star)));
        // f64 round-off of ~10 softplus terms: well under 1e-14.
        assert!(
            (at_star - target).abs() < F64_SUM,
            "{kind:?}: {at_star} vs {target}"
        );
    }
    // Gradient descent on our loss finds that optimum (convex, smooth).
    let a = minimise(LossKind::Minimax, 500, 4.0);
    for i in 0..4 {
        let d = 1.0 / (1.0 + (-a[i]).exp());
        assert!(
            (d - p[i] / (p[i] + q[i])).abs() < GD_MINIMAX_OPTIMUM,
            "point {i}: D = {d}"
        );
    }
    // Wrong inputs fail: D = 1/2 everywhere gives log 4; p and q swapped
    // (the optimum of the reversed game) gives log 4 - 2 JS only by symmetry
    // of JS, so use a D that is optimal for another pair.
    let half = s(&toy_d_loss(LossKind::Minimax, &logits(&[0.0; 4])));
    assert!((half - 4f64.ln()).abs() < F64_SUM);
    assert!(
        (half - target).abs() > 0.1,
        "JS = {} must be visible",
        js(&p, &q)
    );
    let swapped: Vec<f64> = star.iter().map(|x| -x).collect();
    let wrong = s(&toy_d_loss(LossKind::Minimax, &logits(&swapped)));
    assert!((wrong - target).abs() > 0.5, "{wrong} vs {target}");
}

#[test]
fn generator_losses_at_the_optimal_discriminator() {
    let (p, q) = pq();
    let star: Vec<f64> = (0..4).map(|i| (p[i] / q[i]).ln()).collect();
    let (_, i_f) = batches();
    let d_f = logits(&star).index_select(0, &i_f);
    // minimax: E_q log(1 - D*) = sum q log(q / (p + q)).
    let mm: f64 = (0..4).map(|i| q[i] * (q[i] / (p[i] + q[i])).ln()).sum();
    // non-saturating: -E_q log D* = -sum q log(p / (p + q)).
    let ns: f64 = (0..4).map(|i| -q[i] * (p[i] / (p[i] + q[i])).ln()).sum();
    let got_mm = s(&g_loss(LossKind::Minimax, &d_f));
    let got_ns = s(&g_loss(LossKind::NonSaturating, &d_f));
    assert!((got_mm - mm).abs() < F64_SUM, "{got_mm} vs {mm}");
    assert!((got_ns - ns).abs() < F64_SUM, "{got_ns} vs {ns}");
    // The two are different functions: each fails the other's closed form.
    assert!((got_mm - ns).abs() > 0.1 && (got_ns - mm).abs() > 0.1);
    // LSGAN: E_q (D* - 1)^2 / 2 with D* = p / (p + q).
    let d_ls: Vec<f64> = (0..4).map(|i| p[i] / (p[i] + q[i])).collect();
    let ls: f64 = (0..4).map(|i| 0.5 * q[i] * (d_ls[i] - 1.0).powi(2)).sum();
    let got_ls = s(&g_loss(
        LossKind::Lsgan,
        &logits(&d_ls).index_select(0, &i_f),
    ));
    assert!((got_ls - ls).abs() < F64_FEW_OPS, "{got_ls} vs {ls}");
    // WGAN / hinge: -E_q D.
    let lin: f64 = -(0..4).map(|i| q[i] * star[i]).sum::<f64>();
    for kind in [LossKind::Wgan, LossKind::WganGp, LossKind::Hinge] {
        let got = s(&g_loss(kind, &d_f));
        assert!((got - lin).abs() < F64_SUM, "{kind:?}: {got} vs {lin}");
    }
}

#[test]
fn saturation_and_stability_of_the_log_sigmoid_forms() {
    // A confident discriminator (fake logit -30): the saturating loss's
    // gradient is sigma(-30)/B ~ 1e-13/B, the non-saturating one's ~ 1/B.
    let d = Tensor::from_slice(&[-30.0f64, -30.0]).set_requires_grad(true);
    let g_mm = Tensor::run_backward(&[&g_loss(LossKind::Minimax, &d)], &[&d], false, false);
    let g_ns = Tensor::run_backward(&[&g_loss(LossKind::NonSaturating, &d)], &[&d], false, false);
    let (gm, gn) = (v(&g_mm[0]), v(&g_ns[0]));
    let sig = 1.0 / (1.0 + 30f64.exp());
    // d/dD log(1 - sigma(D)) = -sigma(D); d/dD -log sigma(D) = -(1 - sigma(D)); mean over 2.
    assert!((gm[0] - (-sig / 2.0)).abs() < SATURATED_GRADIENT, "{gm:?}");
    assert!((gn[0] - (-(1.0 - sig) / 2.0)).abs() < F64_FEW_OPS, "{gn:?}");
    // Logits of +-1000: probabilities round to 0 or 1, the losses stay exact.
    let dr = logits(&[-1000.0]);
    let df = logits(&[1000.0]);
    let l = s(&d_loss(LossKind::Minimax, &dr, &df));
    assert!(
        (l - 2000.0).abs() < EXACT_AT_LARGE_LOGITS,
        "softplus(1000) + softplus(1000) = {l}"
    );
    // The naive form log(sigmoid) is -inf there: the wrong computation fails.
    let naive = s(&(-(dr.sigmoid().log().mean(None) + (-df.sigmoid() + 1.0).log().mean(None))));
    assert!(!naive.is_finite());
}

#[test]
fn lsgan_optimum_and_value() {
    let (p, q) = pq();
    let target: f64 = 0.5 * (0..4).map(|i| p[i] * q[i] / (p[i] + q[i])).sum::<f64>();
    let star: Vec<f64> = (0..4).map(|i| p[i] / (p[i] + q[i])).collect();
    let at_star = s(&toy_d_loss(LossKind::Lsgan, &logits(&star)));
    assert!(
        (at_star - target).abs() < F64_FEW_OPS,
        "{at_star} vs {target}"
    );
    let a = minimise(LossKind::Lsgan, 500, 2.0);
    for i in 0..4 {
        assert!(
            (a[i] - star[i]).abs() < GD_LSGAN_OPTIMUM,
            "point {i}: {} vs {}",
            a[i],
            star[i]
        );
    }
    let wrong = s(&toy_d_loss(LossKind::Lsgan, &logits(&[0.5; 4])));
    assert!(wrong - target > 0.02, "{wrong} vs {target}");
}

#[test]
fn hinge_optimum_is_sign_p_minus_q_with_value_2_minus_2tv() {
    let (p, q) = pq();
    let tv: f64 = 0.5 * (0..4).map(|i| (p[i] - q[i]).abs()).sum::<f64>();
    let target = 2.0 - 2.0 * tv;
    let star: Vec<f64> = (0..4).map(|i| (p[i] - q[i]).signum()).collect();
    let at_star = s(&toy_d_loss(LossKind::Hinge, &logits(&star)));
    assert!(
        (at_star - target).abs() < F64_FEW_OPS,
        "{at_star} vs {target}"
    );
    // No other output vector does better: 2000 random ones in [-3, 3]^4 and
    // the optimum with every coordinate moved by +-0.1.
    let mut rng = 0x1234_5678_u64;
    let mut uni = || {
        rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (rng >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..2000 {
        let a: Vec<f64> = (0..4).map(|_| 6.0 * uni() - 3.0).collect();
        assert!(s(&toy_d_loss(LossKind::Hinge, &logits(&a))) >= target - F64_FEW_OPS);
    }
    for i in 0..4 {
        for d in [-0.1, 0.1] {
            let mut a = star.clone();
            a[i] += d;
            assert!(s(&toy_d_loss(LossKind::Hinge, &logits(&a))) >= target - F64_FEW_OPS);
        }
    }
    // Wrong input: D = 0 gives 2.
    let zero = s(&toy_d_loss(LossKind::Hinge, &logits(&[0.0; 4])));
    assert!((zero - 2.0).abs() < F64_FEW_OPS && zero - target > 0.5);
}

#[test]
fn wgan_with_clipping_on_two_diracs_reaches_minus_c_l1_distance() {
    // Critic D(x) = <w, x>, real = delta_u, fake = delta_v, clip c.
    let u = [1.0, -2.0, 0.5];
    let vv = [0.0, 1.0, 0.75];
    let c = 0.05;
    let target = -c
        * u.iter()
            .zip(&vv)
            .map(|(a, b): (&f64, &f64)| (a - b).abs())
            .sum::<f64>();
    let xr = Tensor::from_slice(&u).reshape([1, 3]);
    let xf = Tensor::from_slice(&vv).reshape([1, 3]);
    let mut w = Tensor::zeros([3], (Kind::Double, tch::Device::Cpu)).set_requires_grad(true);
    for _ in 0..100 {
        let l = d_loss(LossKind::Wgan, &xr.mv(&w), &xf.mv(&w));
        let g = Tensor::run_backward(&[&l], &[&w], false, false);
        tch::no_grad(|| {
            let _ = w.f_sub_(&(&g[0] * 0.01));
        });
        let mut ps = [w.shallow_clone()];
        clip_(&mut ps, c);
    }
    let got = s(&d_loss(LossKind::Wgan, &xr.mv(&w), &xf.mv(&w)));
    assert!((got - target).abs() < F64_FEW_OPS, "{got} vs {target}");
    let wv = v(&w);
    for i in 0..3 {
        assert!(
            (wv[i] - c * (u[i] - vv[i]).signum()).abs() < F64_FEW_OPS,
            "{wv:?}"
        );
    }
    // Without clipping the loss is unbounded below: the same steps overshoot.
    let w2 = Tensor::zeros([3], (Kind::Double, tch::Device::Cpu)).set_requires_grad(true);
    let mut w2 = w2;
    for _ in 0..100 {
        let l = d_loss(LossKind::Wgan, &xr.mv(&w2), &xf.mv(&w2));
        let g = Tensor::run_backward(&[&l], &[&w2], false, false);
        tch::no_grad(|| {
            let _ = w2.f_sub_(&(&g[0] * 0.01));
        });
    }
    let unclipped = s(&d_loss(LossKind::Wgan, &xr.mv(&w2), &xf.mv(&w2)));
    assert!(unclipped < target - 0.5, "{unclipped}");
}

/// A smooth-enough critic of two levels for the penalty test: the real
/// practice critic (LeakyReLU) in f64, two levels, patch first layer.
fn tiny_critic(seed: u64) -> fsrgan::train::practice::nets::Critic {
    use fsrgan::train::practice::nets::{Critic, Shapes};
    let cfg = fsrgan::train::practice::PracticeConfig {
        width: 8,
        seed,
        ..Default::default()
    };
    let shapes = Shapes {
        levels: 2,
        channels: 1,
        patch: 2,
        resolutions: vec![4, 8],
    };
    Critic::new(
        "d",
        &cfg,
        &shapes,
        1,
        &[Some(1), Some(1)],
        Kind::Double,
        tch::Device::Cpu,
    )
}

fn critic_fn(c: &fsrgan::train::practice::nets::Critic) -> impl Fn(&[Tensor]) -> Tensor + '_ {
    move |x: &[Tensor]| {
        let v: Vec<Option<Tensor>> = x.iter().map(|t| Some(t.shallow_clone())).collect();
        c.forward(&v, 1, 1.0, true)
    }
}

/// `mean_b (||grad_x D(x)_b|| - 1)^2` with the input gradient by central
/// differences (step `h`, every coordinate of all samples at once: sample
/// `b`'s logit depends on sample `b` only without minibatch std / batch norm).
fn penalty_fd(d: &dyn Fn(&[Tensor]) -> Tensor, x: &[Tensor], h: f64) -> f64 {
    let b = x[0].size()[0] as usize;
    let mut sq = vec![0.0; b];
    for (li, xl) in x.iter().enumerate() {
        let n = xl.numel() / b;
        for j in 0..n {
            let mut e = vec![0.0; xl.numel()];
            for bi in 0..b {
                e[bi * n + j] = h;
            }
            let e = Tensor::from_slice(&e).reshape(xl.size());
            let eval = |sign: f64| {
                let xs: Vec<Tensor> = x
                    .iter()
                    .enumerate()
                    .map(|(k, t)| {
                        if k == li {
                            t + &e * sign
                        } else {
                            t.shallow_clone()
                        }
                    })
                    .collect();
                v(&d(&xs))
            };
            let (up, dn) = (eval(1.0), eval(-1.0));
            for bi in 0..b {
                let g = (up[bi] - dn[bi]) / (2.0 * h);
                sq[bi] += g * g;
            }
        }
    }
    sq.iter().map(|s| (s.sqrt() - 1.0).powi(2)).sum::<f64>() / b as f64
}

fn rand_levels(seed: i64, b: i64) -> Vec<Tensor> {
    let seed = seed as u64 * 2;
    vec![
        normal_tensor(seed, &[b, 1, 4, 4], Kind::Double, tch::Device::Cpu),
        normal_tensor(seed + 1, &[b, 1, 8, 8], Kind::Double, tch::Device::Cpu),
    ]
}

#[test]
fn gradient_penalty_matches_central_differences_and_its_double_backward() {
    let critic = tiny_critic(7);
    let f = critic_fn(&critic);
    let real = rand_levels(1, 4);
    let fake = rand_levels(2, 4);
    let eps = Tensor::from_slice(&[0.1f64, 0.4, 0.6, 0.9]).reshape([4, 1, 1, 1]);
    let xh = interpolates(&real, &fake, &eps);
    let got = s(&gradient_penalty(&f, &xh));
    let plain: Vec<Tensor> = xh.iter().map(Tensor::detach).collect();
    let fd = tch::no_grad(|| penalty_fd(&f, &plain, 1e-6));
    // Central differences in f64: truncation O(h^2 D''') ~ 1e-12, round-off
    // ~ eps |D| / h ~ 1e-10 per coordinate; a LeakyReLU kink inside +-h
    // (probability ~1e-6 per unit and coordinate) would show as O(1) errors.
    let tol = CENTRAL_DIFF_PENALTY * fd.abs().max(1.0);
    assert!(
        (got - fd).abs() < tol,
        "penalty {got} vs finite differences {fd}"
    );
    // Wrong input: the same points scored by another critic.
    let other = tiny_critic(8);
    let fd_other = tch::no_grad(|| penalty_fd(&critic_fn(&other), &plain, 1e-6));
    assert!((got - fd_other).abs() > 1e3 * tol, "{got} vs {fd_other}");

    // Double backward: d penalty / d theta for a few weights against central
    // differences of the penalty (each evaluated by first-order autograd).
    let (name, w) = &critic.params[0];
    let pen = gradient_penalty(&f, &xh);
    let grads = Tensor::run_backward(&[&pen], &[w], false, false);
    let analytic = v(&grads[0]);
    let mut w_mut = w.shallow_clone();
    let h = 1e-6;
    for j in [0usize, 3, 5] {
        let bump = |delta: f64, w_mut: &mut Tensor| {
            tch::no_grad(|| {
                let flat = w_mut.view([-1]);
                let _ = flat.get(j as i64).f_add_scalar_(delta);
            });
        };
        bump(h, &mut w_mut);
        let up = s(&gradient_penalty(&f, &interpolates(&real, &fake, &eps)));
        bump(-2.0 * h, &mut w_mut);
        let dn = s(&gradient_penalty(&f, &interpolates(&real, &fake, &eps)));
        bump(h, &mut w_mut);
        let num = (up - dn) / (2.0 * h);
        assert!(
            (num - analytic[j]).abs() < CENTRAL_DIFF_REL * num.abs().max(1.0),
            "{name}[{j}]: double backward {} vs finite difference {num}",
            analytic[j]
        );
    }
    // Without create_graph the penalty would not depend on theta: its
    // gradient would be zero, which the finite differences above exclude.
    assert!(analytic.iter().any(|g| g.abs() > FAULT_GAP), "{analytic:?}");
}
