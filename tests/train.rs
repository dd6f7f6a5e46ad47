//! Layer-wise training (theory track) on CPU: the tch generator against the
//! pure-Rust sampler, recovery on `tiny`, sabotaged trainers that must fail,
//! exact resume, NaN handling and config validation.
//!
//! Every run uses a reduced `tiny` config (batch 1024, short stages) so the
//! file runs in a few minutes on two cores; the full presets are commands
//! (`fsrgan train --preset tiny|small`, see experiments/training).
#![cfg(feature = "torch")]

use std::collections::BTreeMap;

use fsrgan::io::rundir::Row;
use fsrgan::model::{Config, Params, Sampler};
use fsrgan::train::generator::{Generator, array4};
use fsrgan::train::{TrainConfig, TrainError, TrainOptions, TrainOutcome, train};
use tch::{Device, Kind, Tensor};

/// The test base: `tiny`, batch 1024, short stages, small evaluations.
const BASE: &str = r#"
preset = "tiny"
batch = 1024
eval_batch = 1024
final_eval = 16384
warm_samples = 8000
metrics_every = 25
checkpoint_every = 25
[dictionary]
steps = 50
[level1]
steps = 100
[superres]
steps = 250
"#;

/// `BASE` with the tables and keys of `extra` merged in (deeply).
fn config(extra: &str) -> TrainConfig {
    fn merge(base: &mut toml::Table, over: toml::Table) {
        for (k, v) in over {
            match (base.get_mut(&k), v) {
                (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge(b, o),
                (_, v) => {
                    base.insert(k, v);
                }
            }
        }
    }
    let mut base: toml::Table = BASE.parse().unwrap();
    merge(&mut base, extra.parse().unwrap());
    TrainConfig::from_toml(&toml::to_string(&base).unwrap()).expect("valid test config")
}

fn run(cfg: &TrainConfig, dir: &std::path::Path) -> Result<TrainOutcome, TrainError> {
    let opts = TrainOptions {
        out: dir.to_path_buf(),
        resume: false,
        device: Device::Cpu,
        quiet: true,
    };
    train(cfg, &opts, &mut |_, _, _, _, _, _, _| {})
}

/// The last row of `stage` (or `init`).
fn at<'a>(rows: &'a [Row], stage: &str) -> &'a BTreeMap<String, f64> {
    &rows
        .iter()
        .rev()
        .find(|r| r.stage == stage)
        .unwrap_or_else(|| panic!("no row of {stage}"))
        .values
}

fn value(v: &BTreeMap<String, f64>, k: &str) -> f64 {
    *v.get(k).unwrap_or_else(|| panic!("no metric {k}"))
}

/// The tch generator reproduces the pure-Rust sampler on the same `z`: in
/// float64 to round-off (1e-12 relative: both sum a handful of products per
/// output, in different orders), in float32 within 1e-5 (float32 rounding
/// 6e-8 per operation over ~100 operations on the longest path).
fn generator_matches_sampler(device: Device) {
    for name in ["tiny", "small", "paper"] {
        let p = Params::generate(&Config::preset(name).unwrap(), 3).unwrap();
        let batch = Sampler::new(&p, 5).sample(0, 64);
        for (kind, tol) in [(Kind::Double, 1e-12), (Kind::Float, 1e-5)] {
            let g = Generator::from_params(&p, kind, device);
            let z: Vec<f64> = batch.z.iter().copied().collect();
            let z = Tensor::from_slice(&z)
                .reshape([64, p.config.d0 as i64])
                .to_kind(kind)
                .to_device(device);
            let x = tch::no_grad(|| g.images(&z));
            for (l, (got, want)) in x.iter().zip(&batch.x).enumerate() {
                let got = array4(got).unwrap();
                let num: f64 = (&got - want).iter().map(|v| v * v).sum();
                let den: f64 = want.iter().map(|v| v * v).sum();
                let rel = (num / den).sqrt();
                assert!(
                    rel < tol,
                    "{name} level {} {kind:?} on {device:?}: relative error {rel}",
                    l + 1
                );
            }
        }
    }
}

#[test]
fn tch_generator_matches_the_rust_sampler_on_cpu() {
    generator_matches_sampler(Device::Cpu);
}

/// The same body on CUDA; skipped (passes) on machines without a GPU.
#[test]
fn tch_generator_matches_the_rust_sampler_on_cuda() {
    if tch::Cuda::is_available() {
        generator_matches_sampler(Device::Cuda(0));
    } else {
        eprintln!("no CUDA device: skipped");
    }
}

/// The CUDA backend is linked even though no symbol of it is used (build.rs,
/// `--no-as-needed`): when the loaded `libtorch_cpu.so` has a
/// `libtorch_cuda.so` beside it, that library must be mapped into this
/// process, or `tch::Cuda::is_available()` would be false on a GPU machine.
/// Checked without a GPU through `/proc/self/maps` (Linux).
#[test]
fn libtorch_cuda_is_loaded_when_libtorch_has_it() {
    let _ = tch::Cuda::is_available(); // libtorch is loaded at start-up anyway
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        eprintln!("no /proc/self/maps: skipped");
        return;
    };
    let path_of = |name: &str| {
        maps.lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .find(|p| p.ends_with(name))
            .map(std::path::PathBuf::from)
    };
    let cpu = path_of("/libtorch_cpu.so").expect("libtorch_cpu.so is not mapped");
    let beside = cpu.with_file_name("libtorch_cuda.so");
    if beside.exists() {
        assert!(
            path_of("/libtorch_cuda.so").is_some(),
            "{} exists but is not loaded: CUDA would be unavailable",
            beside.display()
        );
    } else {
        eprintln!("CPU-only libtorch at {}: nothing to check", cpu.display());
    }
}

/// The reduced `tiny` pipeline recovers the truth: both dictionaries at
/// min matched `|cos|` >= 0.99, level-1 `alpha`, `beta` within 5%, final moment
/// gaps c = 2, 4 at least 10x below the random learner's, the super-resolution
/// residual below 0.1 (from ~1). Thresholds are the issue's targets; the
/// measured values are far inside them (experiments/training/README.md).
#[test]
fn tiny_pipeline_recovers_dictionaries_level1_and_super_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&config(""), dir.path()).unwrap();
    let (init, fin) = (at(&out.rows, "init"), at(&out.rows, "final"));
    for k in ["dict1_min_cos", "dict2_min_cos"] {
        assert!(value(fin, k) >= 0.99, "{k} = {}", value(fin, k));
    }
    for k in ["alpha_err", "beta_err"] {
        assert!(value(fin, k) <= 0.05, "{k} = {}", value(fin, k));
    }
    for l in 1..=2 {
        for c in [2, 4] {
            let (a, b) = (
                value(init, &format!("gap{l}_c{c}")),
                value(fin, &format!("gap{l}_c{c}_final")),
            );
            assert!(a >= 10.0 * b, "gap{l}_c{c}: init {a}, final {b}");
        }
    }
    assert!(
        value(fin, "sr_residual2") < 0.1,
        "sr_residual2 = {}",
        value(fin, "sr_residual2")
    );
    // The run directory holds what a researcher reads.
    for f in [
        "config.toml",
        "truth.safetensors",
        "learner.safetensors",
        "metrics.jsonl",
        "metrics.csv",
        "samples.png",
        "moment-gaps.png",
        "alignment-level1.json",
        "checkpoint/stage-dict1.safetensors",
    ] {
        assert!(dir.path().join(f).exists(), "{f} missing");
    }
    let learner =
        fsrgan::io::params::read_params(&dir.path().join("learner.safetensors"), None).unwrap();
    assert_eq!(learner.config.m, out.learner.config.m);
}

/// Which sabotage switch a run carries.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Sabotage {
    None,
    FreezeD,
    FlipG,
}

impl Sabotage {
    fn toml(self) -> &'static str {
        match self {
            Sabotage::None => "",
            Sabotage::FreezeD => "[debug]\nfreeze_discriminator = true\n",
            Sabotage::FlipG => "[debug]\nflip_generator_loss = true\n",
        }
    }
}

/// Runs `stages` (a TOML fragment) with a sabotage; returns the rows written,
/// also when the run stops with an error.
fn rows_of(stages: &str, sabotage: Sabotage) -> Vec<Row> {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&format!("{stages}\n{}", sabotage.toml()));
    let _ = run(&cfg, dir.path());
    fsrgan::io::rundir::RunDir::open(dir.path())
        .unwrap()
        .rows()
        .unwrap()
}

/// The metric `k` at the start and at the end of `stage`.
fn start_end(rows: &[Row], stage: &str, k: &str) -> (f64, f64) {
    let of = |r: &Row| *r.values.get(k).unwrap_or(&f64::NAN);
    let first = rows
        .iter()
        .find(|r| r.stage == stage)
        .map(of)
        .unwrap_or(f64::NAN);
    let last = rows
        .iter()
        .rev()
        .find(|r| r.stage == stage)
        .map(of)
        .unwrap_or(f64::NAN);
    (first, last)
}

/// dict1 with its warm start: the discriminator's first layer (degree-4
/// ascent + refinement) carries the learner's dictionary from the random
/// start (min |cos| ~0.4) to >= 0.99. With the discriminator frozen there is
/// no first layer to copy: the dictionary stays random (< 0.9) and the
/// level-1 warm start then refuses the dead codes, so the run stops.
#[test]
fn dict1_recovers_the_dictionary_and_a_frozen_discriminator_does_not() {
    let stages = "[level1]\nsteps = 0\n[superres]\nsteps = 0\n";
    let good = rows_of(stages, Sabotage::None);
    assert!(start_end(&good, "init", "dict1_min_cos").1 < 0.6);
    assert!(start_end(&good, "dict1", "dict1_min_cos").1 >= 0.99);
    let frozen = rows_of(stages, Sabotage::FreezeD);
    assert!(start_end(&frozen, "dict1", "dict1_min_cos").1 < 0.9);
}

/// The dict1 GAN itself, from a random dictionary (no warm start, Adam): the
/// 4th-moment gap of level-1 patches must fall by 20% within the stage
/// (measured: 22.9 -> 14.0). A frozen discriminator leaves it exactly where it
/// was (its weights stay 0, so the generator gets no gradient); a flipped
/// generator loss drives it up (measured: 22.9 -> 145).
#[test]
fn dict1_gan_reduces_the_fourth_moment_gap_and_sabotage_does_not() {
    let stages = "[dictionary]\nwarm_start = false\noptimizer = \"adam\"\nlr_d = 0.01\nlr_g = 0.01\nsteps = 200\n[level1]\nsteps = 0\n[superres]\nsteps = 0\n";
    let (a, b) = start_end(&rows_of(stages, Sabotage::None), "dict1", "gap1_c4");
    assert!(b <= 0.8 * a, "working GAN: gap1_c4 {a} -> {b}");
    let (a, b) = start_end(&rows_of(stages, Sabotage::FreezeD), "dict1", "gap1_c4");
    assert!(b > 0.8 * a, "frozen D: gap1_c4 {a} -> {b}");
    let (a, b) = start_end(&rows_of(stages, Sabotage::FlipG), "dict1", "gap1_c4");
    assert!(b > 0.8 * a, "flipped G: gap1_c4 {a} -> {b}");
}

/// The level-1 GAN (moment discriminator) from random unit vectors (no warm
/// start; alpha, t from the data; Adam): the correlation error `||C' - C|| / ||C||`
/// must fall below 0.7 (measured 0.99 -> 0.47 in 200 steps). Frozen
/// discriminator: unchanged; flipped generator loss: grows (measured 2.5).
#[test]
fn level1_gan_recovers_correlations_and_sabotage_does_not() {
    let stages = "[level1]\nwarm_start = false\noptimizer = \"adam\"\nlr_d = 0.05\nlr_g = 0.01\nsteps = 200\n[superres]\nsteps = 0\n";
    let (a, b) = start_end(&rows_of(stages, Sabotage::None), "level1", "c_err");
    assert!(a > 0.9 && b < 0.7, "working GAN: c_err {a} -> {b}");
    for s in [Sabotage::FreezeD, Sabotage::FlipG] {
        let rows = rows_of(stages, s);
        let (a, b) = start_end(&rows, "level1", "c_err");
        // A frozen D also loses dict1's warm start: then level 1 may not even start.
        assert!(
            b >= 0.7 || b.is_nan() || a.is_nan(),
            "{s:?}: c_err {a} -> {b}"
        );
    }
}

/// The super-resolution stage (L1 through the decaying leaky ReLU): the A5
/// residual of the learned level 2 on real data falls from ~1 to below 0.1
/// (measured 0.013); with the generator's loss flipped it grows instead
/// (measured 12). The stage's discriminator does not drive the generator
/// (`adversarial = 0` by default), so freezing it changes nothing here.
#[test]
fn superres_learns_the_super_resolution_layer_and_a_flipped_loss_does_not() {
    let (a, b) = start_end(&rows_of("", Sabotage::None), "superres2", "sr_residual2");
    assert!(a > 0.5 && b < 0.1, "sr_residual2 {a} -> {b}");
    let (a, b) = start_end(&rows_of("", Sabotage::FlipG), "superres2", "sr_residual2");
    assert!(b > a, "flipped: sr_residual2 {a} -> {b}");
}

/// A run stopped mid-stage (after `stop_after_steps`) and resumed from its
/// checkpoint repeats the uninterrupted run bit for bit on CPU: the learner's
/// parameters and every metric (wall time aside). Stops in level1 (step 80,
/// resumed from its checkpoint at step 75) and in superres2 (step 170, resumed
/// from the end of level1 at step 150: the stage restarts with its warm start).
#[test]
fn resumed_runs_repeat_the_uninterrupted_run_bit_for_bit() {
    let cfg = config("[superres]\nsteps = 120\n");
    let full_dir = tempfile::tempdir().unwrap();
    let full = run(&cfg, full_dir.path()).unwrap();
    for stop in [80usize, 170] {
        let dir = tempfile::tempdir().unwrap();
        let mut first = cfg.clone();
        first.debug.stop_after_steps = Some(stop);
        let out = run(&first, dir.path()).unwrap();
        assert!(out.stopped_early);
        let opts = TrainOptions {
            out: dir.path().to_path_buf(),
            resume: true,
            device: Device::Cpu,
            quiet: true,
        };
        let resumed = train(&cfg, &opts, &mut |_, _, _, _, _, _, _| {}).unwrap();
        let a = fsrgan::io::params::named_tensors(&full.learner);
        let b = fsrgan::io::params::named_tensors(&resumed.learner);
        for ((na, _, va), (_, _, vb)) in a.iter().zip(&b) {
            assert!(
                va.iter().zip(vb).all(|(x, y)| x.to_bits() == y.to_bits()),
                "stop {stop}: {na} differs"
            );
        }
        assert_eq!(
            comparable(dir.path()),
            comparable(full_dir.path()),
            "stop {stop}: metrics differ"
        );
    }
}

/// A loss or parameter that becomes non-finite stops the run with an error
/// naming the stage, and the last checkpoint (the end of dict1) stays
/// readable and finite. Provoked by an Adam rate of 1e300 in level1, where
/// `alpha (g - t)` then overflows.
#[test]
fn a_non_finite_step_stops_the_run_and_keeps_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config("[level1]\noptimizer = \"adam\"\nlr_g = 1e300\nschedule = \"constant\"\n");
    match run(&cfg, dir.path()) {
        Err(TrainError::NonFinite { stage, .. }) => assert_eq!(stage, "level1"),
        other => panic!("expected NonFinite, got {other:?}"),
    }
    let p =
        fsrgan::io::params::read_params(&dir.path().join("checkpoint/learner.safetensors"), None)
            .unwrap();
    assert!(
        fsrgan::io::params::named_tensors(&p)
            .iter()
            .all(|(_, _, v)| v.iter().all(|x| x.is_finite()))
    );
    assert!(
        dir.path()
            .join("checkpoint/stage-dict1.safetensors")
            .exists()
    );
}

/// Invalid configs are rejected with the field and the rule.
#[test]
fn invalid_training_configs_name_the_field() {
    for (text, field) in [
        ("batch = 1", "batch"),
        ("[level1]\nlr_g = -1.0", "level1.lr_g"),
        (
            "[superres]\nadversarial = 0.0\nrecon = 0.0",
            "superres.adversarial",
        ),
        ("[level1]\nrecon = 1.0", "level1.recon"),
        ("[dictionary]\nleak = 0.5", "dictionary.leak"),
        ("condition = \"generated\"", "superres.recon"),
        ("[dictionary]\nbeta1 = 1.0", "dictionary.beta1"),
        ("[model]\nm = [40, 40]", "model"),
        ("final_eval = 3", "final_eval"),
    ] {
        match TrainConfig::from_toml(&format!("preset = \"tiny\"\n{text}")) {
            Err(TrainError::InvalidConfig { field: f, rule }) => {
                assert_eq!(f, field, "{text}: {rule}")
            }
            other => panic!("{text}: expected InvalidConfig, got {other:?}"),
        }
    }
    match TrainConfig::from_toml("preset = \"tiny\"\nbatchh = 3") {
        Err(TrainError::InvalidConfig { rule, .. }) => assert!(rule.contains("batchh"), "{rule}"),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

fn fsrgan(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fsrgan"))
        .args(args)
        .output()
        .expect("binary runs")
}

/// Metrics rows without their wall times, values as bits.
fn comparable(dir: &std::path::Path) -> Vec<(String, usize, usize, BTreeMap<String, u64>)> {
    let rows = fsrgan::io::rundir::RunDir::open(dir)
        .unwrap()
        .rows()
        .unwrap();
    rows.iter()
        .map(|r| {
            (
                r.stage.clone(),
                r.stage_step,
                r.step,
                r.values
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_bits()))
                    .collect(),
            )
        })
        .collect()
}

/// `fsrgan train` end to end: a run killed with SIGKILL in the middle of a
/// stage and continued with `--resume` ends with the same learner file, byte
/// for byte, and the same metrics as an uninterrupted run; the report is
/// written; an existing run is not overwritten without `--force`; a missing
/// GPU is a clear error.
#[test]
fn cli_train_killed_and_resumed_equals_uninterrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg_path = tmp.path().join("fast.toml");
    std::fs::write(&cfg_path, config("[superres]\nsteps = 150\n").to_toml()).unwrap();
    let cfg = cfg_path.to_str().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let o = fsrgan(&[
        "train",
        "--config",
        cfg,
        "--out",
        a.to_str().unwrap(),
        "--device",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(a.join("report.md").exists());

    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fsrgan"))
        .args([
            "train",
            "--config",
            cfg,
            "--out",
            b.to_str().unwrap(),
            "--device",
            "cpu",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill once a checkpoint inside a later stage exists (the level1 checkpoints
    // come every 25 steps), so the resumed run restarts mid-stage.
    let state = b.join("checkpoint/state.safetensors");
    let t0 = std::time::Instant::now();
    loop {
        let far = fsrgan::io::reader::read_tensors(&state)
            .ok()
            .and_then(|f| f.metadata.get("step").and_then(|s| s.parse::<usize>().ok()))
            .is_some_and(|s| s >= 75);
        if far || t0.elapsed().as_secs() > 120 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert!(
        !b.join("learner.safetensors").exists(),
        "the run finished before it was killed"
    );
    let o = fsrgan(&["train", "--resume", b.to_str().unwrap(), "--device", "cpu"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(a.join("learner.safetensors")).unwrap(),
        std::fs::read(b.join("learner.safetensors")).unwrap()
    );
    assert_eq!(comparable(&a), comparable(&b));

    let o = fsrgan(&["train", "--config", cfg, "--out", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already holds a run"));
    if !tch::Cuda::is_available() {
        let o = fsrgan(&[
            "train",
            "--config",
            cfg,
            "--out",
            tmp.path().join("c").to_str().unwrap(),
            "--device",
            "cuda",
        ]);
        assert_eq!(o.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&o.stderr).contains("no CUDA device"));
    }
    let o = fsrgan(&[
        "train",
        "--resume",
        tmp.path().join("none").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
}

/// Every committed experiment config is valid, and `small.toml` (which spells
/// the `small` preset out) and `paper.toml` equal their presets.
#[test]
fn experiment_configs_are_valid_and_the_spelled_out_presets_equal_the_presets() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/training/configs");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        if path.extension().and_then(|x| x.to_str()) != Some("toml") {
            continue;
        }
        let cfg = TrainConfig::from_toml(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for name in ["small", "paper"] {
            if path.file_stem().and_then(|s| s.to_str()) == Some(name) {
                assert_eq!(
                    cfg,
                    TrainConfig::preset(name).unwrap(),
                    "{}",
                    path.display()
                );
            }
        }
        n += 1;
    }
    assert!(n >= 5);
}
