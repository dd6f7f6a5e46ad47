//! Golden runs: a short fixed-seed `tiny` run of the GAN default (every
//! theory stage, two random starts per super-resolution layer, trained from
//! a sampled dataset) and a short practice run, each on the CPU with one
//! thread, must give the committed learner bytes and metric rows (wall-clock
//! fields aside) bit for bit. A refactor of `src/train/` that claims to
//! change nothing is checked here (issue 32): the golden was written by the
//! code before the refactor, so it is independent of the code after it.
//!
//! Bit-identity holds for one libtorch build on one kind of CPU (the
//! project's machines, x86-64 with AVX-512, libtorch 2.11.0, one thread):
//! kernels chosen for another instruction set round differently. To write the
//! golden again after a change that is *meant* to change results, run
//! `FSRGAN_BLESS=1 cargo test --release --test golden` and say why in the
//! commit.
#![cfg(feature = "torch")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fsrgan::io::rundir::{Row, RunDir};
use fsrgan::model::{Config, Params, Sampler};
use fsrgan::train::practice::run::{PracticeOptions, PracticeRun, train_practice};
use fsrgan::train::{TrainConfig, TrainOptions, train};
use tch::Device;

/// The theory run: `tiny`, GAN default, dataset of 16 384 samples, stages
/// cut short (`candidates = 2` keeps the random-start trials in the run).
const THEORY: &str = r#"
preset = "tiny"
seed = 11
train_seed = 5
samples = 16384
batch = 512
eval_batch = 512
final_eval = 4096
real_samples = 4096
metrics_every = 20
checkpoint_every = 40
[cpu]
threads = 1
[dictionary]
steps = 60
[level1]
steps = 40
[superres]
steps = 60
candidates = 2
select_after = 20
"#;

/// The practice run: layer-wise, non-saturating, 80 steps.
const PRACTICE: &str = r#"
track = "practice"
metrics_every = 40
checkpoint_every = 40
eval = 512
reference = 1024
[cpu]
threads = 1
[practice]
mode = "layerwise"
loss = "non_saturating"
steps = 40
fade_steps = 20
max_seconds = 600
"#;

/// What a run must reproduce: the learner file's length and CRC-32, and
/// every metric row without its wall-clock fields (`secs`, `step_secs`:
/// they sit beside the values), values as bit patterns.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Golden {
    learner_len: u64,
    learner_crc32: u32,
    rows: Vec<(String, usize, usize, BTreeMap<String, String>)>,
}

fn golden_of(dir: &Path, learner: &str, rows: &[Row]) -> Golden {
    let bytes = std::fs::read(dir.join(learner)).expect("the learner file is written");
    Golden {
        learner_len: bytes.len() as u64,
        learner_crc32: crc32fast::hash(&bytes),
        rows: rows
            .iter()
            .map(|r| {
                (
                    r.stage.clone(),
                    r.stage_step,
                    r.step,
                    r.values
                        .iter()
                        .map(|(k, v)| (k.clone(), format!("{:016x}", v.to_bits())))
                        .collect(),
                )
            })
            .collect(),
    }
}

fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.json"))
}

/// Compares `got` with the committed golden `name` (or writes it under
/// `FSRGAN_BLESS=1`), naming the first row that differs.
fn check(name: &str, got: &Golden) {
    let path = golden_path(name);
    if std::env::var_os("FSRGAN_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let text = serde_json::to_string_pretty(got).unwrap();
        std::fs::write(&path, text + "\n").unwrap();
        return;
    }
    let want: Golden = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .expect("the golden parses");
    assert_eq!(want.rows.len(), got.rows.len(), "{name}: row count");
    for (w, g) in want.rows.iter().zip(&got.rows) {
        assert_eq!(w, g, "{name}: first differing row");
    }
    assert_eq!(
        (want.learner_len, want.learner_crc32),
        (got.learner_len, got.learner_crc32),
        "{name}: learner bytes (length, CRC-32)"
    );
}

#[test]
fn a_fixed_seed_theory_run_repeats_its_golden() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig::from_toml(THEORY).expect("valid config");
    let opts = TrainOptions {
        out: dir.path().to_path_buf(),
        resume: false,
        device: Device::Cpu,
        data: None,
    };
    train(&cfg, &opts, &mut |_, _, _, _, _, _, _| {}).expect("the run completes");
    let rows = RunDir::open(dir.path()).unwrap().rows().unwrap();
    check(
        "theory-tiny",
        &golden_of(dir.path(), "learner.safetensors", &rows),
    );
}

#[test]
fn a_fixed_seed_practice_run_repeats_its_golden() {
    let dir = tempfile::tempdir().unwrap();
    let truth = Params::generate(&Config::preset("tiny").unwrap(), 1).unwrap();
    let x = Sampler::new(&truth, 1).sample(0, 4096).x;
    let cfg = PracticeRun::from_toml(PRACTICE).expect("valid config");
    let opts = PracticeOptions {
        out: dir.path().to_path_buf(),
        resume: false,
        device: Device::Cpu,
    };
    let rows = train_practice(&cfg, &truth, &x, &opts, &mut |_, _, _, _, _, _, _| {})
        .expect("the run completes")
        .rows;
    check(
        "practice-tiny",
        &golden_of(dir.path(), "generator.safetensors", &rows),
    );
}
