//! Practice-track networks and game: output shapes for every preset and
//! mode, config errors that name the field, ProGAN's fade-in at 0, exact
//! resume on the CPU, first-layer filters.

mod common;

use common::field_of;
use fsrgan::model::Config;
use fsrgan::testing::F32_ROUNDING;
use fsrgan::train::TrainError;
use fsrgan::train::practice::config::{DNorm, FirstLayer, GNorm, Resample, ToRgb};
use fsrgan::train::practice::layers::{normal_tensor, up2};
use fsrgan::train::practice::nets::{Critic, GenPass, Generator, Shapes};
use fsrgan::train::practice::{LossKind, Mode, PracticeConfig, PracticeGame};
use tch::{Device, Kind, Tensor};

fn small_cfg() -> PracticeConfig {
    PracticeConfig {
        width: 8,
        batch: 8,
        z_dim: 8,
        ..Default::default()
    }
}

fn dims(t: &Tensor) -> Vec<i64> {
    t.size()
}

fn real_batches(game: &PracticeGame, model: &Config, seed: i64) -> Vec<Tensor> {
    // From a seeded ChaCha stream, not libtorch's global generator, which
    // the other tests of this binary draw from in parallel.
    (0..model.levels)
        .map(|l| {
            let r = model.resolution(l) as i64;
            normal_tensor(
                seed as u64 * 16 + l as u64,
                &[game.real_batch() as i64, model.channels as i64, r, r],
                game.kind,
                Device::Cpu,
            )
        })
        .collect()
}

#[test]
fn every_network_output_has_the_fsr_shapes() {
    for preset in ["tiny", "small", "paper"] {
        let model = Config::preset(preset).unwrap();
        for mode in [Mode::EndToEnd, Mode::Layerwise, Mode::Progressive] {
            for (to_rgb, first, resample) in [
                (ToRgb::Patch, FirstLayer::Patch, Resample::Transposed),
                (ToRgb::Conv1x1, FirstLayer::Conv, Resample::Nearest),
            ] {
                let cfg = PracticeConfig {
                    mode,
                    to_rgb,
                    d_first_layer: first,
                    resample,
                    minibatch_std: true,
                    steps: 10,
                    fade_steps: 5,
                    ..small_cfg()
                };
                let mut game = PracticeGame::new(&cfg, &model, Device::Cpu).unwrap();
                let x = game.generate(3, 1);
                assert_eq!(x.len(), model.levels);
                for (l, xl) in x.iter().enumerate() {
                    let r = model.resolution(l) as i64;
                    assert_eq!(
                        dims(xl),
                        [3, model.channels as i64, r, r],
                        "{preset} {mode:?} level {}",
                        l + 1
                    );
                }
                let hidden = game.hidden(2, 1);
                let last: Vec<Vec<i64>> = hidden.iter().map(|h| dims(h.last().unwrap())).collect();
                for (l, h) in last.iter().enumerate() {
                    let r = model.resolution(l) as i64;
                    let s = if to_rgb == ToRgb::Patch {
                        r / model.patch as i64
                    } else {
                        r
                    };
                    assert_eq!(h, &vec![2, 8, s, s], "{preset} hidden level {}", l + 1);
                    assert_eq!(hidden[l].len(), 1 + cfg.blocks);
                }
                // One step of every phase runs and returns finite losses.
                if preset != "paper" {
                    for p in 0..game.phases().len() {
                        game.set_phase(p).unwrap();
                        let real = real_batches(&game, &model, 3);
                        let l = game.step(&real, 0).unwrap();
                        assert!(l.d_loss.is_finite() && l.g_loss.is_finite());
                    }
                }
                let filters = game.first_layer_filters();
                if first == FirstLayer::Patch {
                    let f = filters.unwrap();
                    assert_eq!(f.len(), model.levels);
                    for (l, t) in f {
                        assert!(l >= 1);
                        assert_eq!(dims(&t), [8, model.d() as i64]);
                    }
                } else {
                    assert!(filters.is_none());
                }
            }
        }
    }
}

#[test]
fn critic_logits_are_one_per_sample() {
    let model = Config::preset("small").unwrap();
    let shapes = Shapes::of(&model);
    let cfg = small_cfg();
    let c = Critic::new(
        "d",
        &cfg,
        &shapes,
        2,
        &[Some(3), Some(3), Some(3)],
        Kind::Float,
        Device::Cpu,
    );
    let x: Vec<Option<Tensor>> = (0..3)
        .map(|l| {
            let r = model.resolution(l) as i64;
            Some(Tensor::randn([5, 3, r, r], (Kind::Float, Device::Cpu)))
        })
        .collect();
    assert_eq!(dims(&c.forward(&x, 2, 1.0, true)), [5]);
    assert_eq!(dims(&c.forward(&x, 0, 1.0, true)), [5]);
}

#[test]
fn config_errors_name_the_field_and_the_rule() {
    // Batch norm in a WGAN-GP critic.
    let e = PracticeConfig::from_toml("loss = \"wgan_gp\"\nd_norm = \"batch\"\n").unwrap_err();
    let msg = field_of(e);
    assert!(
        msg.starts_with("d_norm:") && msg.contains("per sample"),
        "{msg}"
    );
    // The same critic is fine with another loss, and WGAN-GP without batch norm.
    PracticeConfig::from_toml("loss = \"hinge\"\nd_norm = \"batch\"\n").unwrap();
    PracticeConfig::from_toml("loss = \"wgan_gp\"\n").unwrap();
    // `fade_steps` bounds only a progressive run's phases: other modes never fade.
    PracticeConfig::from_toml("mode = \"layerwise\"\nfade_steps = 10\nsteps = 5\n").unwrap();
    for (text, field) in [
        (
            "mode = \"progressive\"\nfade_steps = 10\nsteps = 5\n",
            "fade_steps",
        ),
        ("mode = \"progressive\"\nfade_steps = 0\n", "fade_steps"),
        ("leaky_slope = 1.5\n", "leaky_slope"),
        ("lr_g = 0.0\n", "lr_g"),
        ("beta2 = 1.0\n", "beta2"),
        ("n_d = 0\n", "n_d"),
        ("batch = 1\n", "batch"),
        ("loss = \"wgan_gp\"\ngp_weight = 0.0\n", "gp_weight"),
        ("max_seconds = -1.0\n", "max_seconds"),
        ("widths = [0, 4]\n", "widths"),
    ] {
        let msg = field_of(PracticeConfig::from_toml(text).unwrap_err());
        assert!(msg.starts_with(&format!("{field}:")), "{text:?} -> {msg}");
    }
    // serde's errors name unknown keys and variants.
    let msg = field_of(PracticeConfig::from_toml("loss = \"wasserstein\"\n").unwrap_err());
    assert!(
        msg.contains("wasserstein") && msg.contains("wgan_gp"),
        "{msg}"
    );
    let msg = field_of(PracticeConfig::from_toml("lr = 0.1\n").unwrap_err());
    assert!(msg.contains("lr"), "{msg}");
    // Widths must match the model's levels.
    let cfg = PracticeConfig::from_toml("widths = [8, 8, 8]\n").unwrap();
    let e = PracticeGame::new(&cfg, &Config::preset("tiny").unwrap(), Device::Cpu).unwrap_err();
    let msg = field_of(e);
    assert!(
        msg.starts_with("widths:") && msg.contains("2 levels"),
        "{msg}"
    );
    // A config survives its own TOML.
    let cfg = PracticeConfig {
        loss: LossKind::Lsgan,
        widths: Some(vec![4, 6]),
        g_norm: GNorm::Pixel,
        d_norm: DNorm::Batch,
        ..Default::default()
    };
    assert_eq!(PracticeConfig::from_toml(&cfg.to_toml()).unwrap(), cfg);
}

#[test]
fn fade_zero_is_the_lower_level_upsampled() {
    let model = Config::preset("small").unwrap();
    let shapes = Shapes::of(&model);
    for (g_norm, to_rgb) in [(GNorm::Batch, ToRgb::Patch), (GNorm::Pixel, ToRgb::Conv1x1)] {
        let cfg = PracticeConfig {
            g_norm,
            to_rgb,
            minibatch_std: true,
            ..small_cfg()
        };
        let g = Generator::new(&cfg, &shapes, Kind::Float, Device::Cpu);
        let z = normal_tensor(5, &[6, 8], Kind::Float, Device::Cpu);
        let pass = |top, fade| GenPass {
            top,
            fade,
            train_from: 0,
            train: false,
        };
        let x0 = g.forward(&z, pass(2, 0.0)).x;
        let lower = g.forward(&z, pass(1, 1.0)).x;
        // Fade 0: X_3 is exactly up2(X_2), and X_2 is the lower phase's X_2.
        assert!(x0[2].equal(&up2(&lower[1])), "{g_norm:?}");
        assert!(x0[1].equal(&lower[1]));
        // Fade 1 (or a fade in between) is not: the wrong input fails.
        let x1 = g.forward(&z, pass(2, 1.0)).x;
        let xh = g.forward(&z, pass(2, 0.5)).x;
        assert!(!x1[2].equal(&up2(&lower[1])));
        let mid = &x1[2] * 0.5 + up2(&lower[1]) * 0.5;
        assert!(f64::try_from((xh[2].shallow_clone() - mid).abs().max()).unwrap() < F32_ROUNDING);
        // The critic at fade 0 equals the critic of the phase below.
        let c = Critic::new(
            "d",
            &cfg,
            &shapes,
            2,
            &[Some(3), Some(3), Some(3)],
            Kind::Float,
            Device::Cpu,
        );
        let inputs: Vec<Option<Tensor>> = x1.iter().map(|t| Some(t.detach())).collect();
        let d0 = c.forward(&inputs, 2, 0.0, true);
        let d_low = c.forward(&inputs, 1, 1.0, true);
        assert!(d0.equal(&d_low));
        assert!(!c.forward(&inputs, 2, 1.0, true).equal(&d_low));
    }
}

fn all_state(game: &PracticeGame) -> Vec<Tensor> {
    game.g_params()
        .iter()
        .chain(game.critics.iter().flat_map(|c| c.params.iter()))
        .chain(game.generator.buffers.iter())
        .map(|(_, t)| t.detach().copy())
        .collect()
}

#[test]
fn a_resumed_game_repeats_the_uninterrupted_one_exactly() {
    let model = Config::preset("tiny").unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (mode, loss) in [
        (Mode::EndToEnd, LossKind::WganGp),
        (Mode::Layerwise, LossKind::NonSaturating),
        (Mode::Progressive, LossKind::Wgan),
    ] {
        let cfg = PracticeConfig {
            mode,
            loss,
            n_d: 2,
            steps: 4,
            fade_steps: 4,
            minibatch_std: true,
            ..small_cfg()
        };
        let real = |game: &PracticeGame, k: usize| real_batches(game, &model, 100 + k as i64);
        let mut a = PracticeGame::new(&cfg, &model, Device::Cpu).unwrap();
        // The run is interrupted in the last phase (the second, if any).
        let last = a.phases().len() - 1;
        a.set_phase(last).unwrap();
        for k in 0..4 {
            a.step(&real(&a, k), k).unwrap();
        }
        let mut b = PracticeGame::new(&cfg, &model, Device::Cpu).unwrap();
        b.set_phase(last).unwrap();
        for k in 0..2 {
            b.step(&real(&b, k), k).unwrap();
        }
        let path = dir.path().join("state.safetensors");
        b.save(&path).unwrap();
        let mut c = PracticeGame::new(&cfg, &model, Device::Cpu).unwrap();
        c.load(&path).unwrap();
        assert_eq!(c.phase(), last);
        for k in 2..4 {
            c.step(&real(&c, k), k).unwrap();
        }
        let (sa, sc) = (all_state(&a), all_state(&c));
        assert_eq!(sa.len(), sc.len());
        for (x, y) in sa.iter().zip(&sc) {
            assert!(x.equal(y), "{mode:?}: resumed state differs");
        }
        // The wrong input: a game that skipped the load differs.
        let mut d = PracticeGame::new(&cfg, &model, Device::Cpu).unwrap();
        d.set_phase(last).unwrap();
        for k in 2..4 {
            d.step(&real(&d, k), k).unwrap();
        }
        assert!(all_state(&d).iter().zip(&sa).any(|(x, y)| !x.equal(y)));
    }
}

#[test]
fn load_rejects_other_files_and_other_configs() {
    let model = Config::preset("tiny").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.safetensors");
    let game = PracticeGame::new(&small_cfg(), &model, Device::Cpu).unwrap();
    game.save(&path).unwrap();
    let wider = PracticeConfig {
        width: 16,
        ..small_cfg()
    };
    let mut other = PracticeGame::new(&wider, &model, Device::Cpu).unwrap();
    match other.load(&path) {
        Err(TrainError::Resume { reason, .. }) => assert!(reason.contains("shape"), "{reason}"),
        r => panic!("expected a resume error, got {r:?}"),
    }
    // A truncated file is rejected, never a panic.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let mut g = PracticeGame::new(&small_cfg(), &model, Device::Cpu).unwrap();
    assert!(g.load(&path).is_err());
}

#[test]
fn wrong_real_batches_are_shape_errors() {
    let model = Config::preset("tiny").unwrap();
    let mut game = PracticeGame::new(&small_cfg(), &model, Device::Cpu).unwrap();
    let mut real = real_batches(&game, &model, 1);
    real[1] = Tensor::zeros([8, 1, 4, 4], (Kind::Float, Device::Cpu));
    match game.step(&real, 0) {
        Err(TrainError::Shape { what, .. }) => assert_eq!(what, "real x2"),
        r => panic!("expected a shape error, got {r:?}"),
    }
    assert!(game.step(&real[..1], 0).is_err());
}
