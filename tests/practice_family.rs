//! The GAN family's distinctive pieces (issue 23) against independent
//! truths, each with a wrong input that fails:
//! * InfoGAN: the mutual-information lower bound `log K - CE` on a toy
//!   discrete joint law equals the exact `I(c; x)` when `Q` is the true
//!   posterior, and is smaller for any other `Q` (Gibbs);
//! * BEGAN: the `k_t` recursion against its closed form (linear until it is
//!   clipped), and the game's own `k_t` against the recursion on its losses;
//! * minibatch discrimination's features against loops written out by hand;
//! * CycleGAN's cycle term: zero for an exact inverse pair, the exact value
//!   for a wrong one;
//! * the VAE's `-ELBO` for a linear Gaussian decoder: its Monte Carlo mean
//!   against the closed form, and at the exact posterior against `-log p(x)`;
//! * one-sided label smoothing: the optimum `sigma(D*) = alpha` by autograd;
//! * virtual batch norm: an example's output does not depend on the others
//!   of its batch, and matches the formula;
//! * a resumed BEGAN game with historical averaging repeats the
//!   uninterrupted one exactly; incompatible switches name field and rule.

use fsrgan::model::Config;
use fsrgan::testing::{BEYOND_ROUNDING, F64_FEW_OPS, F64_ROUNDOFF, F64_SUM, FAULT_GAP, Z_MC};
mod common;

use common::field_of;
use fsrgan::train::practice::layers::{BatchNorm, normal_tensor, virtual_batch_norm};
use fsrgan::train::practice::loss::{
    began_k_update, code_cross_entropy, cycle_loss, d_loss_smoothed, mi_lower_bound, neg_elbo_terms,
};
use fsrgan::train::practice::nets::{MINIBATCH_KERNEL_DIM, minibatch_features};
use fsrgan::train::practice::{Method, Mode, PracticeConfig, PracticeGame};
use tch::{Device, Kind, Tensor};

fn f64s(t: &Tensor) -> Vec<f64> {
    let t = t.to_kind(Kind::Double).flatten(0, -1);
    Vec::<f64>::try_from(&t).unwrap()
}

fn t64(v: &[f64], shape: &[i64]) -> Tensor {
    Tensor::from_slice(v).reshape(shape)
}

/// A joint law of `c` (uniform on 2 values) and `x` on 3 values, in
/// twelfths: `p(c, x)` rows `c`, columns `x`.
const JOINT12: [[i64; 3]; 2] = [[4, 1, 1], [1, 2, 3]];

#[test]
fn infogan_bound_is_the_mutual_information_at_the_true_posterior() {
    let p = |c: usize, x: usize| JOINT12[c][x] as f64 / 12.0;
    let px = |x: usize| p(0, x) + p(1, x);
    // Exact I(c; x) = sum p(c, x) log(p(c, x) / (p(c) p(x))), p(c) = 1/2.
    let exact: f64 = (0..2)
        .flat_map(|c| (0..3).map(move |x| (c, x)))
        .map(|(c, x)| p(c, x) * (p(c, x) / (0.5 * px(x))).ln())
        .sum();
    // A batch that lists (c, x) 12 p(c, x) times is the joint law exactly;
    // Q's logits for row (c, x) are log q(. | x).
    let batch = |q: &dyn Fn(usize, usize) -> f64| {
        let mut logits = Vec::new();
        let mut onehot = Vec::new();
        for (c, row) in JOINT12.iter().enumerate() {
            for (x, &m) in row.iter().enumerate() {
                for _ in 0..m {
                    logits.extend([q(0, x).ln(), q(1, x).ln()]);
                    onehot.extend(if c == 0 { [1.0, 0.0] } else { [0.0, 1.0] });
                }
            }
        }
        (t64(&logits, &[12, 2]), t64(&onehot, &[12, 2]))
    };
    let posterior = |c: usize, x: usize| p(c, x) / px(x);
    let (lg, oh) = batch(&posterior);
    let bound = mi_lower_bound(f64::try_from(code_cross_entropy(&lg, &oh)).unwrap(), 2);
    assert!(exact > 0.05, "the toy law has information: {exact}");
    // Rounding only: a dozen logs and a mean in f64.
    assert!(
        (bound - exact).abs() < F64_SUM,
        "bound {bound} vs I {exact}"
    );
    // Any other Q gives a strictly smaller bound (the gap is E KL(p(c|x) || q(c|x))).
    let uniform = |_: usize, _: usize| 0.5;
    let swapped = |c: usize, x: usize| posterior(1 - c, x);
    for (name, q) in [
        ("uniform", &uniform as &dyn Fn(usize, usize) -> f64),
        ("swapped", &swapped),
    ] {
        let (lg, oh) = batch(q);
        let b = mi_lower_bound(f64::try_from(code_cross_entropy(&lg, &oh)).unwrap(), 2);
        let gap: f64 = (0..3)
            .map(|x| {
                px(x)
                    * (0..2)
                        .map(|c| posterior(c, x) * (posterior(c, x) / q(c, x)).ln())
                        .sum::<f64>()
            })
            .sum();
        assert!(
            (exact - b - gap).abs() < F64_SUM,
            "{name}: I - L = {} vs E KL {gap}",
            exact - b
        );
        assert!(b < exact - FAULT_GAP, "{name}: {b} is not below {exact}");
    }
}

#[test]
fn began_k_follows_its_closed_form_and_is_clipped() {
    // Constant losses: k_n = clip(k_0 + n lambda (gamma L_r - L_f)) while in (0, 1).
    let (lambda, gamma, lr, lf) = (1e-3, 0.5, 0.8, 0.1);
    let mut k = 0.2;
    for n in 1..=200 {
        k = began_k_update(k, lambda, gamma, lr, lf);
        let closed = (0.2 + n as f64 * lambda * (gamma * lr - lf)).min(1.0);
        assert!(
            (k - closed).abs() < F64_ROUNDOFF,
            "step {n}: {k} vs {closed}"
        );
    }
    assert!((k - 0.26).abs() < F64_ROUNDOFF);
    // Clipped at both ends.
    assert_eq!(began_k_update(0.999, 1.0, 0.5, 1.0, 0.0), 1.0);
    assert_eq!(began_k_update(0.001, 1.0, 0.5, 0.0, 1.0), 0.0);
    // The wrong sign of the control (k grows when the generator is ahead) fails.
    let wrong = (0.2f64 + 200.0 * lambda * (lf - gamma * lr)).clamp(0.0, 1.0);
    assert!((k - wrong).abs() > 0.1);
}

fn real_batches(game: &PracticeGame, model: &Config, seed: u64) -> Vec<Tensor> {
    (0..model.levels)
        .map(|l| {
            let r = model.resolution(l) as i64;
            normal_tensor(
                seed * 16 + l as u64,
                &[game.real_batch() as i64, model.channels as i64, r, r],
                game.kind,
                Device::Cpu,
            ) * 0.3
        })
        .collect()
}

fn small(method: Method, mode: Mode) -> PracticeConfig {
    PracticeConfig {
        width: 8,
        batch: 8,
        z_dim: 8,
        began_hidden: 8,
        method,
        mode,
        steps: 4,
        ..Default::default()
    }
}

#[test]
fn the_began_game_updates_k_by_its_own_losses() {
    let model = Config::preset("tiny").unwrap();
    let cfg = PracticeConfig {
        began_lambda_k: 0.05,
        ..small(Method::Began, Mode::EndToEnd)
    };
    let mut game = PracticeGame::new(&cfg, &model, Device::Cpu).unwrap();
    let mut k = 0.0;
    for step in 0..3 {
        let l = game
            .step(&real_batches(&game, &model, step), step as usize)
            .unwrap();
        // d_real, d_fake are L(x_r) and L(G(z)) of the autoencoder step.
        k = began_k_update(k, 0.05, cfg.began_gamma, l.d_real, l.d_fake);
        assert_eq!(l.k_t, Some(k));
        assert_eq!(game.k_t, k);
        let m = l.d_real + (cfg.began_gamma * l.d_real - l.d_fake).abs();
        assert!((l.convergence.unwrap() - m).abs() < F64_ROUNDOFF);
        assert!(l.d_real > 0.0 && l.d_fake > 0.0);
    }
}

#[test]
fn minibatch_features_match_the_loops_by_hand() {
    let (n, a, kernels) = (3usize, 2usize, 2usize);
    let c = MINIBATCH_KERNEL_DIM as usize;
    let f: Vec<f64> = vec![0.5, -1.0, 0.25, 2.0, -0.75, 0.1];
    let t: Vec<f64> = (0..a * kernels * c)
        .map(|i| ((i * 7 % 11) as f64 - 5.0) / 10.0)
        .collect();
    let o = minibatch_features(
        &t64(&f, &[n as i64, a as i64]),
        &t64(&t, &[a as i64, (kernels * c) as i64]),
        kernels as i64,
    );
    assert_eq!(o.size(), [n as i64, kernels as i64]);
    let got = f64s(&o);
    // M[i][b][k] = sum_a f[i][a] T[a][b c + k]; o[i][b] = sum_j exp(-sum_k |M_i - M_j|).
    let m = |i: usize, b: usize, k: usize| -> f64 {
        (0..a)
            .map(|x| f[i * a + x] * t[x * kernels * c + b * c + k])
            .sum()
    };
    for i in 0..n {
        for b in 0..kernels {
            let want: f64 = (0..n)
                .map(|j| (-(0..c).map(|k| (m(i, b, k) - m(j, b, k)).abs()).sum::<f64>()).exp())
                .sum();
            assert!(
                (got[i * kernels + b] - want).abs() < F64_ROUNDOFF,
                "o[{i}][{b}]"
            );
            // Self-closeness is 1 and is included: o >= 1; the wrong input
            // (leaving it out) is 1 smaller.
            assert!(want >= 1.0);
        }
    }
    // Identical examples are maximally close: o = n for each.
    let same = minibatch_features(
        &t64(&[1.0, 2.0, 1.0, 2.0, 1.0, 2.0], &[3, 2]),
        &t64(&t, &[a as i64, (kernels * c) as i64]),
        kernels as i64,
    );
    assert!(f64s(&same).iter().all(|&v| (v - 3.0).abs() < F64_ROUNDOFF));
}

#[test]
fn the_cycle_term_is_zero_for_an_exact_inverse_pair() {
    let a = normal_tensor(1, &[4, 1, 4, 4], Kind::Double, Device::Cpu);
    let b = normal_tensor(2, &[4, 1, 4, 4], Kind::Double, Device::Cpu);
    let g = |x: &Tensor| x * 2.0 + 1.0;
    let f = |x: &Tensor| (x - 1.0) / 2.0;
    let zero = f64::try_from(cycle_loss(g, f, &a, &b)).unwrap();
    assert!(zero.abs() < F64_FEW_OPS, "{zero}");
    // A wrong inverse F(y) = y / 2: F(G(a)) - a = 1/2 and G(F(b)) - b = 1, so 3/2.
    let wrong = f64::try_from(cycle_loss(g, |x: &Tensor| x / 2.0, &a, &b)).unwrap();
    assert!((wrong - 1.5).abs() < F64_ROUNDOFF, "{wrong}");
}

#[test]
fn the_vae_bound_of_a_linear_gaussian_model_matches_its_closed_form() {
    // Decoder x = W z + c + sigma e, z ~ N(0, I_2), x in R^3 (one level
    // (1, 1, 3, 1)); W has orthogonal columns, so the exact posterior
    // N(m, S) is diagonal and a diagonal encoder can reach it.
    let w = [[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]];
    let cvec = [0.1, -0.2, 0.3];
    let sigma = 0.5f64;
    let x = [0.7, -1.1, 0.4];
    let s2 = sigma * sigma;
    // S = (I + W^T W / s2)^-1 (diagonal), m = S W^T (x - c) / s2.
    let wtw = [1.0, 4.0];
    let s: Vec<f64> = wtw.iter().map(|v| 1.0 / (1.0 + v / s2)).collect();
    let m: Vec<f64> = (0..2)
        .map(|j| s[j] * (0..3).map(|i| w[i][j] * (x[i] - cvec[i])).sum::<f64>() / s2)
        .collect();
    // log p(x) = log N(x; c, W W^T + s2 I), by nalgebra.
    let cov = nalgebra::Matrix3::from_fn(|i, k| {
        (0..2).map(|j| w[i][j] * w[k][j]).sum::<f64>() + if i == k { s2 } else { 0.0 }
    });
    let d = nalgebra::Vector3::from_fn(|i, _| x[i] - cvec[i]);
    let quad = (d.transpose() * cov.try_inverse().unwrap() * d)[(0, 0)];
    let log_px = -0.5 * (quad + cov.determinant().ln() + 3.0 * (2.0 * std::f64::consts::PI).ln());
    // Monte Carlo mean of our -ELBO terms at q = N(mu, diag e^logvar).
    let check = |mu: &[f64], var: &[f64]| -> (f64, f64, f64) {
        let n = 200_000i64;
        let eps = normal_tensor(9, &[n, 2], Kind::Double, Device::Cpu);
        let mu_t = t64(mu, &[1, 2]).expand([n, 2], false);
        let lv =
            t64(&var.iter().map(|v| v.ln()).collect::<Vec<_>>(), &[1, 2]).expand([n, 2], false);
        let z = &mu_t + (&lv * 0.5).exp() * eps;
        let wt = t64(&w.concat(), &[3, 2]);
        let xh = z.matmul(&wt.tr()) + t64(&cvec, &[1, 3]);
        let xt = t64(&x, &[1, 3]).expand([n, 3], false);
        let (nll, kl) = neg_elbo_terms(
            &[xt.reshape([n, 1, 3, 1])],
            &[xh.reshape([n, 1, 3, 1])],
            &mu_t,
            &lv,
            sigma,
        );
        let total = &nll + &kl;
        let mean = f64::try_from(total.mean(Kind::Double)).unwrap();
        let se = f64::try_from(total.std(true)).unwrap() / (n as f64).sqrt();
        // Closed form: E||x - Wz - c||^2 = ||x - W mu - c||^2 + sum_j var_j ||W_j||^2.
        let r2: f64 = (0..3)
            .map(|i| {
                let v = x[i] - cvec[i] - (0..2).map(|j| w[i][j] * mu[j]).sum::<f64>();
                v * v
            })
            .sum::<f64>()
            + (0..2).map(|j| var[j] * wtw[j]).sum::<f64>();
        let kl_closed: f64 = (0..2)
            .map(|j| 0.5 * (mu[j] * mu[j] + var[j] - 1.0 - var[j].ln()))
            .sum();
        let closed = r2 / (2.0 * s2) + 1.5 * (2.0 * std::f64::consts::PI * s2).ln() + kl_closed;
        (mean, se, closed)
    };
    let (mean, se, closed) = check(&m, &s);
    // 5 standard errors: a false failure has probability below 1e-6.
    assert!(
        (mean - closed).abs() < Z_MC * se,
        "MC {mean} vs closed {closed} (se {se})"
    );
    // At the exact posterior the bound is tight: -ELBO = -log p(x).
    assert!(
        (closed + log_px).abs() < F64_ROUNDOFF,
        "-ELBO {closed} vs -log p(x) {}",
        -log_px
    );
    // Any other q is looser, and the Monte Carlo mean sees it.
    let (mean2, se2, closed2) = check(&[m[0] + 0.5, m[1]], &s);
    assert!(closed2 > -log_px + 0.1);
    assert!((mean2 - closed2).abs() < Z_MC * se2);
    assert!(mean2 - (-log_px) > 10.0 * se2);
}

#[test]
fn one_sided_label_smoothing_puts_the_optimum_at_alpha() {
    let alpha = 0.9f64;
    let logit = (alpha / (1.0 - alpha)).ln();
    let d_r = Tensor::from_slice(&[logit]).set_requires_grad(true);
    let d_f = Tensor::from_slice(&[-3.0f64]);
    let l = d_loss_smoothed(&d_r, &d_f, alpha);
    let g = Tensor::run_backward(&[&l], &[&d_r], false, false);
    let at_alpha = f64::try_from(&g[0]).unwrap();
    assert!(
        at_alpha.abs() < F64_ROUNDOFF,
        "gradient at sigma(D) = alpha: {at_alpha}"
    );
    // Without smoothing the gradient there pushes D up: sigma(D) - 1 = -0.1.
    let l1 = d_loss_smoothed(&d_r, &d_f, 1.0);
    let g1 = f64::try_from(&Tensor::run_backward(&[&l1], &[&d_r], false, false)[0]).unwrap();
    assert!((g1 + 0.1).abs() < F64_ROUNDOFF, "{g1}");
}

#[test]
fn virtual_batch_norm_does_not_mix_the_examples_of_a_batch() {
    let bn = BatchNorm {
        gamma: Tensor::from_slice(&[1.5f64, 0.5]),
        beta: Tensor::from_slice(&[0.1f64, -0.2]),
        mean: Tensor::zeros([2], (Kind::Double, Device::Cpu)),
        var: Tensor::ones([2], (Kind::Double, Device::Cpu)),
    };
    let reference = normal_tensor(3, &[4, 2, 3, 3], Kind::Double, Device::Cpu);
    let a = normal_tensor(4, &[2, 2, 3, 3], Kind::Double, Device::Cpu);
    let b = normal_tensor(5, &[2, 2, 3, 3], Kind::Double, Device::Cpu);
    let out = |batch: &Tensor| virtual_batch_norm(&Tensor::cat(&[&reference, batch], 0), 4, &bn);
    let ya = out(&Tensor::cat(&[a.narrow(0, 0, 1), b.narrow(0, 0, 1)], 0));
    let yb = out(&Tensor::cat(&[a.narrow(0, 0, 1), b.narrow(0, 1, 1)], 0));
    // Row 4 (a's first example) is the same whatever its batch mate.
    assert!(
        ya.narrow(0, 4, 1)
            .allclose(&yb.narrow(0, 4, 1), 0.0, 0.0, false)
    );
    // The formula for that example and channel 1, by hand.
    let r = f64s(&reference.select(1, 1));
    let e = f64s(&a.narrow(0, 0, 1).select(1, 1));
    let cnt = (r.len() + e.len()) as f64;
    let mu = (r.iter().sum::<f64>() + e.iter().sum::<f64>()) / cnt;
    let m2 = (r.iter().map(|v| v * v).sum::<f64>() + e.iter().map(|v| v * v).sum::<f64>()) / cnt;
    let got = f64s(&ya.narrow(0, 4, 1).select(1, 1));
    for (g, v) in got.iter().zip(&e) {
        let want = 0.5 * (v - mu) / (m2 - mu * mu + 1e-5).sqrt() - 0.2;
        assert!((g - want).abs() < F64_ROUNDOFF, "{g} vs {want}");
    }
    // Ordinary batch norm mixes them: the wrong input differs.
    let bn_a = bn.forward(
        &Tensor::cat(&[a.narrow(0, 0, 1), b.narrow(0, 0, 1)], 0),
        true,
    );
    let bn_b = bn.forward(
        &Tensor::cat(&[a.narrow(0, 0, 1), b.narrow(0, 1, 1)], 0),
        true,
    );
    assert!(!bn_a.narrow(0, 0, 1).allclose(
        &bn_b.narrow(0, 0, 1),
        BEYOND_ROUNDING,
        BEYOND_ROUNDING,
        false
    ));
}

fn state(game: &PracticeGame) -> Vec<Tensor> {
    game.trained_tensors().map(|t| t.detach().copy()).collect()
}

#[test]
fn family_games_resume_exactly() {
    let model = Config::preset("tiny").unwrap();
    let dir = tempfile::tempdir().unwrap();
    for cfg in [
        PracticeConfig {
            historical_weight: 1e-3,
            ..small(Method::Began, Mode::EndToEnd)
        },
        PracticeConfig {
            feature_matching: true,
            minibatch_features: 4,
            real_label: 0.9,
            g_norm: fsrgan::train::practice::config::GNorm::VirtualBatch,
            ..small(Method::Infogan, Mode::EndToEnd)
        },
        small(Method::Vae, Mode::EndToEnd),
        small(Method::Pix2pix, Mode::Layerwise),
        small(Method::Stackgan, Mode::Layerwise),
    ] {
        let real = |g: &PracticeGame, k: usize| real_batches(g, &model, 50 + k as u64);
        let last = |g: &PracticeGame| g.phases().len() - 1;
        let mut a = PracticeGame::new(&cfg, &model, Device::Cpu).unwrap();
        a.set_phase(last(&a)).unwrap();
        for k in 0..4 {
            a.step(&real(&a, k), k).unwrap();
        }
        let mut b = PracticeGame::new(&cfg, &model, Device::Cpu).unwrap();
        b.set_phase(last(&b)).unwrap();
        for k in 0..2 {
            b.step(&real(&b, k), k).unwrap();
        }
        let path = dir.path().join("state.safetensors");
        b.save(&path).unwrap();
        let mut c = PracticeGame::new(&cfg, &model, Device::Cpu).unwrap();
        c.load(&path).unwrap();
        for k in 2..4 {
            c.step(&real(&c, k), k).unwrap();
        }
        let name = cfg.method.name();
        assert_eq!(a.k_t, c.k_t, "{name}");
        let (sa, sc) = (state(&a), state(&c));
        assert!(!sa.is_empty());
        for (x, y) in sa.iter().zip(&sc) {
            assert!(x.equal(y), "{name}: resumed state differs");
        }
        // The wrong input: the same two steps from a fresh start differ.
        let mut d = PracticeGame::new(&cfg, &model, Device::Cpu).unwrap();
        d.set_phase(last(&d)).unwrap();
        for k in 2..4 {
            d.step(&real(&d, k), k).unwrap();
        }
        assert!(
            state(&d).iter().zip(&sa).any(|(x, y)| !x.equal(y)),
            "{name}"
        );
    }
}

#[test]
fn incompatible_switches_name_the_field_and_the_rule() {
    for (toml, field, words) in [
        (
            "method = \"began\"\nmode = \"layerwise\"",
            "mode",
            "end_to_end",
        ),
        ("method = \"vae\"\nn_d = 2", "n_d", "no critic"),
        ("method = \"vae\"\nloss = \"hinge\"", "loss", "its own loss"),
        ("method = \"pix2pix\"", "mode", "layerwise"),
        (
            "method = \"cyclegan\"\nmode = \"layerwise\"\nfeature_matching = true",
            "feature_matching",
            "cyclegan",
        ),
        ("loss = \"wgan\"\nreal_label = 0.9", "real_label", "minimax"),
        (
            "loss = \"wgan_gp\"\nminibatch_features = 4",
            "minibatch_features",
            "per sample",
        ),
        ("method = \"infogan\"\ninfo_codes = 1", "info_codes", "2..="),
        ("classes = 3", "classes", "cgan"),
        (
            "method = \"cyclegan\"\nmode = \"layerwise\"\ng_norm = \"virtual_batch\"",
            "g_norm",
            "translators",
        ),
        ("real_label = 0.4", "real_label", "(0.5, 1]"),
    ] {
        let msg = field_of(PracticeConfig::from_toml(toml).unwrap_err());
        assert!(msg.starts_with(&format!("{field}:")), "{toml}: {msg}");
        assert!(msg.contains(words), "{toml}: {msg}");
    }
    // A cGAN needs its classes (from a labelled dataset, or set).
    let model = Config::preset("tiny").unwrap();
    let e =
        PracticeGame::new(&small(Method::Cgan, Mode::EndToEnd), &model, Device::Cpu).unwrap_err();
    assert!(field_of(e).starts_with("classes:"));
    // A CycleGAN without a second domain is refused at its first step.
    let mut g = PracticeGame::new(
        &small(Method::Cyclegan, Mode::Layerwise),
        &model,
        Device::Cpu,
    )
    .unwrap();
    let e = g.step(&real_batches(&g, &model, 1), 0).unwrap_err();
    assert!(field_of(e).contains("--domains 2"));
}

// ------------------------------------------------------------ the CLI ----

fn fsrgan(args: &[&str]) -> (bool, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_fsrgan"))
        .args(args)
        .env("OMP_NUM_THREADS", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

/// `fsrgan sample --preset tiny --n N --seed 4 [extra] --out DIR`.
fn sample(dir: &std::path::Path, n: usize, extra: &[&str]) {
    let n = n.to_string();
    let mut args = vec!["sample", "--preset", "tiny", "--n", &n, "--seed", "4"];
    args.extend_from_slice(extra);
    args.extend(["--out", dir.to_str().unwrap()]);
    let (ok, log) = fsrgan(&args);
    assert!(ok, "{log}");
}

fn final_values(run: &std::path::Path) -> std::collections::BTreeMap<String, f64> {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let last = text
        .lines()
        .rfind(|l| l.contains("\"stage\":\"final\""))
        .unwrap()
        .to_string();
    let v: serde_json::Value = serde_json::from_str(&last).unwrap();
    v["values"]
        .as_object()
        .unwrap()
        .iter()
        .filter_map(|(k, x)| x.as_f64().map(|x| (k.clone(), x)))
        .collect()
}

/// A short run of `method`: narrow networks (`narrow`) for the plumbing
/// checks, the defaults (width 64, batch 64) where a test claims learning.
fn config(method: &str, mode: &str, steps: usize, narrow: bool) -> String {
    let nets = if narrow {
        "width = 16\nbatch = 32\nz_dim = 16\n"
    } else {
        ""
    };
    format!(
        "track = \"practice\"\nmetrics_every = 1000\ncheckpoint_every = 1000\neval = 256\nreference = 1024\n[cpu]\nthreads = 1\n[practice]\nmethod = \"{method}\"\nmode = \"{mode}\"\nsteps = {steps}\ninfo_codes = 3\n{nets}"
    )
}

fn train(dir: &std::path::Path, name: &str, cfg: &str, data: &std::path::Path) -> (bool, String) {
    let c = dir.join(format!("{name}.toml"));
    std::fs::write(&c, cfg).unwrap();
    let out = dir.join(name);
    fsrgan(&[
        "train",
        "--config",
        c.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ])
}

#[test]
fn labelled_data_train_a_cgan_and_an_infogan_scored_per_class() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("cls");
    sample(&data, 3000, &["--classes", "3"]);
    let (ok, log) = train(
        tmp.path(),
        "cgan",
        &config("cgan", "end_to_end", 40, true),
        &data,
    );
    assert!(ok, "{log}");
    let v = final_values(&tmp.path().join("cgan"));
    for k in 0..3 {
        for l in 1..=2 {
            let r = v[&format!("class{k}_swd{l}")];
            assert!(r.is_finite() && r > 0.0, "class{k}_swd{l} = {r}");
        }
    }
    assert!(v.contains_key("class_swd2"));
    // Its samples carry their labels, and score reads them per class.
    let gen_dir = tmp.path().join("gen");
    let (ok, log) = fsrgan(&[
        "generate",
        tmp.path().join("cgan").to_str().unwrap(),
        "--n",
        "300",
        "--out",
        gen_dir.to_str().unwrap(),
    ]);
    assert!(ok, "{log}");
    let (_, arrays) = fsrgan::io::dataset::open_samples(&gen_dir).unwrap();
    let y = arrays["y"].to_f64();
    assert_eq!(y.len(), 300);
    assert!(y.iter().all(|&c| c == c.floor() && (0.0..3.0).contains(&c)));
    for c in 0..3 {
        let n = y.iter().filter(|&&v| v == c as f64).count();
        // Binomial(300, 1/3): 100 +- 8.2; 5 sd.
        assert!((59..=141).contains(&n), "class {c}: {n} of 300");
    }
    let (ok, log) = fsrgan(&["score", data.to_str().unwrap(), gen_dir.to_str().unwrap()]);
    assert!(ok, "{log}");
    assert!(log.contains("class 2 ("), "{log}");
    // InfoGAN on the same data (labels unused in training): the agreement
    // of its inferred codes with the classes, beside the chance level.
    let (ok, log) = train(
        tmp.path(),
        "info",
        &config("infogan", "end_to_end", 40, true),
        &data,
    );
    assert!(ok, "{log}");
    let v = final_values(&tmp.path().join("info"));
    for k in ["ari", "purity", "purity_chance"] {
        assert!(v[k].is_finite() && v[k] <= 1.0, "{k} = {}", v[k]);
    }
    assert!(v["purity"] >= 1.0 / 3.0 - F64_ROUNDOFF && v["purity_chance"] >= 1.0 / 3.0 - 0.05);
    // A cGAN on unlabelled data says what it needs.
    let plain = tmp.path().join("plain");
    sample(&plain, 500, &[]);
    let (ok, log) = train(
        tmp.path(),
        "bad",
        &config("cgan", "end_to_end", 5, true),
        &plain,
    );
    assert!(!ok && log.contains("--classes K"), "{log}");
}

#[test]
fn a_cyclegan_is_scored_against_the_exact_translation() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("dom");
    sample(&data, 3000, &["--domains", "2"]);
    let (ok, log) = train(
        tmp.path(),
        "cyc",
        &config("cyclegan", "layerwise", 100, false),
        &data,
    );
    assert!(ok, "{log}");
    let v = final_values(&tmp.path().join("cyc"));
    for l in 1..=2 {
        let (t, id, cy) = (
            v[&format!("trans{l}")],
            v[&format!("trans{l}_identity")],
            v[&format!("cycle{l}")],
        );
        assert!(
            t.is_finite() && id > 0.5 && cy.is_finite(),
            "level {l}: {t} {id} {cy}"
        );
    }
    // The cycle term is trained: round trips come back closer than the
    // translation is to its answer (the zero map would give 1).
    assert!(v["cycle2"] < 0.5, "{v:?}");
    let (ok, log) = fsrgan(&[
        "generate",
        tmp.path().join("cyc").to_str().unwrap(),
        "--n",
        "10",
        "--out",
        tmp.path().join("g").to_str().unwrap(),
    ]);
    assert!(!ok && log.contains("CycleGAN"), "{log}");
    // A CycleGAN on one domain says what it needs.
    let plain = tmp.path().join("plain");
    sample(&plain, 500, &[]);
    let (ok, log) = train(
        tmp.path(),
        "bad",
        &config("cyclegan", "layerwise", 5, true),
        &plain,
    );
    assert!(!ok && log.contains("--domains 2"), "{log}");
}

#[test]
fn pix2pix_learns_the_super_resolution_map_and_stackgan_without_pairs_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("plain");
    sample(&data, 4000, &[]);
    let (ok, log) = train(
        tmp.path(),
        "p2p",
        &config("pix2pix", "layerwise", 100, false),
        &data,
    );
    assert!(ok, "{log}");
    let (ok, log) = train(
        tmp.path(),
        "stack",
        &config("stackgan", "layerwise", 100, false),
        &data,
    );
    assert!(ok, "{log}");
    let (p, s) = (
        final_values(&tmp.path().join("p2p"))["sr2"],
        final_values(&tmp.path().join("stack"))["sr2"],
    );
    // The zero map scores 1. pix2pix's L1 on real pairs finds the map
    // (0.06 after 100 steps per level in the runs); StackGAN's
    // critic sees X_2 alone, so nothing ties its output to X_1's codes.
    assert!(p < 0.3, "pix2pix SR error {p}");
    assert!(s > 0.6, "stackgan SR error {s}");
}

#[test]
fn pair_swd_sees_levels_that_do_not_go_together() {
    use fsrgan::metrics::score::fresh_real;
    use fsrgan::train::practice::family::{pair_image, pair_swd_values};
    let truth = fsrgan::model::Params::generate(&Config::preset("tiny").unwrap(), 3).unwrap();
    let real = fresh_real(&truth, 10, 4096, false);
    let floor = fresh_real(&truth, 11, 1024, false);
    let fake = fresh_real(&truth, 12, 1024, false);
    // pair_image by hand: channel 0 is X_1 upsampled, channel 1 is X_2.
    let p = pair_image(&fake[0], &fake[1]);
    assert_eq!(p.dim(), (1024, 2, 8, 8));
    assert_eq!(p[[5, 0, 7, 3]], fake[0][[5, 0, 3, 1]]);
    assert_eq!(p[[5, 1, 7, 3]], fake[1][[5, 0, 7, 3]]);
    // Real sets are as far from the reference as another real set: the
    // spread of their ratio, over 5 independent real sets, is the noise
    // that a wrong set must clear.
    let real_ratios: Vec<f64> = (0..5)
        .map(|k| {
            let other = fresh_real(&truth, 20 + k, 1024, false);
            let v = pair_swd_values(&other, &real, &floor, 2, 7);
            v["pair_swd2"] / v["pair_swd2_floor"]
        })
        .collect();
    let ratio = real_ratios.iter().copied().fold(0.0, f64::max);
    assert!(ratio < 2.0, "real pairs: {real_ratios:?}");
    // The wrong input: each X_2 beside another sample's X_1. Every level
    // alone is still a real set, but the pairs do not go together.
    let n = fake[0].dim().0;
    let order: Vec<usize> = (0..n).map(|i| (i + 1) % n).collect();
    let shuffled = vec![fake[0].select(ndarray::Axis(0), &order), fake[1].clone()];
    let w = pair_swd_values(&shuffled, &real, &floor, 2, 7);
    let bad = w["pair_swd2"] / w["pair_swd2_floor"];
    assert!(
        bad > 2.0 * ratio,
        "shuffled pairs: {bad} (real pairs at most {ratio})"
    );
}
