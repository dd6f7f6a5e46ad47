//! Steps per second of one practice-track GAN step (`PracticeGame::step`),
//! the Rust side of `benches/peer/practice_torch.py` (same networks, same
//! step, fixed random real batches).
//!
//! ```text
//! cargo build --release --example practice_speed
//! flock -x /tmp/fsrgan-cpu.lock target/release/examples/practice_speed --preset tiny --threads 2
//! flock -x /tmp/fsrgan-cpu.lock .venv/bin/python benches/peer/practice_torch.py --preset tiny --threads 2
//! ```
//!
//! Options (all optional): `--preset tiny|small|paper`, `--steps N` (timed,
//! default 200), `--warmup N` (default 20), `--threads N` (default 2),
//! `--device cpu|cuda`, `--config FILE` (a practice TOML; default: the
//! defaults with `mode = "end_to_end"`), `--set KEY=VALUE` (repeatable TOML
//! overrides, e.g. `--set loss="wgan_gp"`). Prints one JSON object.

use std::time::Instant;

use fsrgan::model::Config;
use fsrgan::train::practice::{PracticeConfig, PracticeGame};
use tch::{Device, Tensor};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut preset = "tiny".to_string();
    let (mut steps, mut warmup, mut threads) = (200usize, 20usize, 2i32);
    let mut device = Device::Cpu;
    let mut text = String::new();
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--preset" => preset = v,
            "--steps" => steps = v.parse()?,
            "--warmup" => warmup = v.parse()?,
            "--threads" => threads = v.parse()?,
            "--device" => {
                device = if v == "cuda" {
                    Device::Cuda(0)
                } else {
                    Device::Cpu
                }
            }
            "--config" => text = std::fs::read_to_string(&v)? + "\n" + &text,
            "--set" => text = text + &v + "\n",
            other => return Err(format!("unknown option {other}").into()),
        }
        i += 2;
    }
    tch::set_num_threads(threads);
    let cfg = PracticeConfig::from_toml(&text)?;
    let model = Config::preset(&preset)?;
    let mut game = PracticeGame::new(&cfg, &model, device)?;
    let real: Vec<Tensor> = (0..model.levels)
        .map(|l| {
            let r = model.resolution(l) as i64;
            Tensor::randn(
                [game.real_batch() as i64, model.channels as i64, r, r],
                (game.kind, device),
            )
        })
        .collect();
    for k in 0..warmup {
        game.step(&real, k)?;
    }
    let t0 = Instant::now();
    for k in 0..steps {
        game.step(&real, warmup + k)?;
    }
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{{\"impl\": \"fsrgan-tch\", \"preset\": \"{preset}\", \"loss\": \"{}\", \"batch\": {}, \"width\": {}, \"blocks\": {}, \"threads\": {threads}, \"steps\": {steps}, \"secs_per_step\": {}, \"steps_per_sec\": {}}}",
        cfg.loss.name(),
        cfg.batch,
        cfg.width,
        cfg.blocks,
        secs / steps as f64,
        steps as f64 / secs
    );
    Ok(())
}
