//! Trains a practice-track GAN on a dataset directory with the minimal
//! driver `run_simple` and prints per-level patch SWD and moment gaps
//! against held-out real samples, with their floors (two real sets).
//!
//! ```text
//! target/release/fsrgan sample --preset tiny --n 20000 --seed 1 --out /tmp/practice-data/tiny
//! cargo build --release --example practice_run
//! flock -s /tmp/fsrgan-cpu.lock target/release/examples/practice_run --data /tmp/practice-data/tiny \
//!     --set 'loss="hinge"' --set steps=2000 [--config FILE] [--threads 2] [--eval 2000] [--every 500] [--json]
//! ```

use std::path::PathBuf;

use fsrgan::io::dataset::Dataset;
use fsrgan::train::practice::{PracticeConfig, SimpleOptions, run_simple};
use tch::Device;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut data = None;
    let mut text = String::new();
    let mut threads = 2i32;
    let mut opts = SimpleOptions {
        verbose: true,
        ..Default::default()
    };
    let mut json = false;
    let mut i = 0;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--data" => data = Some(PathBuf::from(v)),
            "--config" => text = std::fs::read_to_string(&v)? + "\n" + &text,
            "--set" => text = text + &v + "\n",
            "--threads" => threads = v.parse()?,
            "--eval" => opts.eval = v.parse()?,
            "--every" => opts.every = v.parse()?,
            "--json" => {
                json = true;
                i += 1;
                continue;
            }
            other => return Err(format!("unknown option {other}").into()),
        }
        i += 2;
    }
    tch::set_num_threads(threads);
    let dir = data.ok_or("--data DIR is required")?;
    let ds = Dataset::open(&dir)?;
    let model = ds.params.config.clone();
    let x = (1..=model.levels)
        .map(|l| ds.x(l))
        .collect::<Result<Vec<_>, _>>()?;
    let cfg = PracticeConfig::from_toml(&text)?;
    let (_game, rep) = run_simple(&cfg, &model, &x, Device::Cpu, &opts)?;
    let last = rep.rows.last().ok_or("no evaluation")?;
    let ratio: Vec<f64> = last
        .scores
        .swd
        .iter()
        .zip(&rep.floor.swd)
        .map(|(a, b)| a / b)
        .collect();
    let first = &rep.rows[0];
    if json {
        println!(
            "{{\"loss\": \"{}\", \"mode\": \"{:?}\", \"steps\": {}, \"step_seconds\": {:.2}, \"swd_start\": {:?}, \"swd\": {:?}, \"swd_floor\": {:?}, \"swd_over_floor\": {:?}, \"gap2\": {:?}, \"gap2_floor\": {:?}, \"gap4\": {:?}, \"stopped\": {:?}}}",
            cfg.loss.name(),
            cfg.mode,
            rep.steps,
            rep.step_seconds,
            first.scores.swd,
            last.scores.swd,
            rep.floor.swd,
            ratio,
            last.scores.gap2,
            rep.floor.gap2,
            last.scores.gap4,
            rep.stopped
        );
    } else {
        println!(
            "floor swd {:?} gap2 {:?} gap4 {:?}",
            rep.floor.swd, rep.floor.gap2, rep.floor.gap4
        );
        println!("start swd {:?}", first.scores.swd);
        println!("end   swd {:?} (x floor {:?})", last.scores.swd, ratio);
        println!(
            "{} steps, {:.1} s of steps, stopped: {:?}",
            rep.steps, rep.step_seconds, rep.stopped
        );
    }
    Ok(())
}
