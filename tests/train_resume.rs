//! What `--resume` and `--force` check before they touch a run: a resume
//! continues only the run it names (the config it was trained with, the
//! truth it recorded, its checksum verified), naming what differs; `--force`
//! takes the run's lock before it clears anything; a run directory that is
//! not one is a clear error.
#![cfg(feature = "torch")]

use std::path::Path;

use fsrgan::train::{TrainConfig, TrainError, TrainOptions, train};
use tch::Device;

/// A short `tiny` run (seconds on one core), stopped after 30 steps with a
/// checkpoint at step 20 when `stop` is set.
const SHORT: &str = r#"
preset = "tiny"
seed = 11
train_seed = 3
samples = 8192
batch = 256
eval_batch = 256
final_eval = 1024
real_samples = 4096
metrics_every = 10
checkpoint_every = 10
[cpu]
threads = 1
[dictionary]
steps = 40
[level1]
steps = 10
[superres]
steps = 10
candidates = 1
"#;

fn short() -> TrainConfig {
    TrainConfig::from_toml(SHORT).expect("valid config")
}

fn run(cfg: &TrainConfig, dir: &Path, resume: bool) -> Result<(), TrainError> {
    let opts = TrainOptions {
        out: dir.to_path_buf(),
        resume,
        device: Device::Cpu,
        data: None,
    };
    train(cfg, &opts, &mut |_, _, _, _, _, _, _| {}).map(|_| ())
}

/// A run stopped at step 30, its checkpoint at step 30.
fn stopped_run(dir: &Path) {
    let mut first = short();
    first.debug.stop_after_steps = Some(30);
    run(&first, dir, false).expect("the first part runs");
}

fn resume_error(cfg: &TrainConfig, dir: &Path) -> String {
    match run(cfg, dir, true) {
        Err(e @ TrainError::Resume { .. }) => e.to_string(),
        Err(e) => panic!("not a resume error: {e}"),
        Ok(()) => panic!("resumed a run it should refuse"),
    }
}

/// An edited config is refused naming each differing field with both
/// values; an emptied `config.toml` too (it would be the `tiny` preset);
/// the run's own config resumes.
#[test]
fn a_resume_with_another_config_is_refused_naming_what_differs() {
    let dir = tempfile::tempdir().unwrap();
    stopped_run(dir.path());
    let mut f32 = short();
    f32.precision = fsrgan::train::config::Precision::F32;
    let e = resume_error(&f32, dir.path());
    assert!(
        e.contains("`precision` was \"f64\"") && e.contains("\"f32\""),
        "{e}"
    );
    let mut batch = short();
    batch.batch = 512;
    let e = resume_error(&batch, dir.path());
    assert!(e.contains("`batch` was 256") && e.contains("512"), "{e}");
    let emptied = TrainConfig::from_stored_toml("").unwrap();
    let e = resume_error(&emptied, dir.path());
    assert!(e.contains("`batch`") && e.contains("more"), "{e}");
    // The run's own config (the stop switch aside) continues it.
    run(&short(), dir.path(), true).expect("the run's own config resumes");
}

/// A flipped bit in the recorded truth fails its checksum on the resume; a
/// truth the config no longer gives (another seed) is refused by value.
#[test]
fn a_resume_checks_the_recorded_truth() {
    let dir = tempfile::tempdir().unwrap();
    stopped_run(dir.path());
    let path = dir.path().join("truth.safetensors");
    let good = std::fs::read(&path).unwrap();
    let mut bad = good.clone();
    let i = bad.len() - 9;
    bad[i] ^= 0x10;
    std::fs::write(&path, &bad).unwrap();
    match run(&short(), dir.path(), true) {
        Err(e) => assert!(e.to_string().contains("truth.safetensors"), "{e}"),
        Ok(()) => panic!("resumed against a damaged truth"),
    }
    // Another truth, correctly checksummed: the truth of seed 12.
    let other =
        fsrgan::model::Params::generate(&fsrgan::model::Config::preset("tiny").unwrap(), 12)
            .unwrap();
    fsrgan::io::params::write_params(&path, &other, 12, fsrgan::io::writer::Dtype::F64).unwrap();
    let e = resume_error(&short(), dir.path());
    assert!(e.contains("is not the truth"), "{e}");
    std::fs::write(&path, &good).unwrap();
    run(&short(), dir.path(), true).expect("the recorded truth resumes");
}

fn fsrgan(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fsrgan"))
        .args(args)
        .output()
        .expect("binary runs")
}

/// `fsrgan train --force` into a directory whose lock another process holds
/// is refused and deletes nothing; `--resume` of an emptied `config.toml`
/// says what differs; a `checkpoint` that is a file is named.
#[test]
fn force_takes_the_lock_first_and_resume_names_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("short.toml");
    std::fs::write(&cfg, SHORT).unwrap();
    let d = tmp.path().join("run");
    let o = fsrgan(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        d.to_str().unwrap(),
        "--device",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Another process (this one) holds the run's lock.
    let lock = fsrgan::io::lock::DirLock::acquire(&d.join(fsrgan::io::lock::RUN_LOCK), &d).unwrap();
    let o = fsrgan(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        d.to_str().unwrap(),
        "--force",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "--force cleared a locked run");
    assert!(
        err.contains(&format!("process {}", std::process::id())),
        "{err}"
    );
    assert!(d.join("learner.safetensors").exists() && d.join("config.toml").exists());
    drop(lock);

    // An emptied config.toml: refused with what differs.
    std::fs::write(d.join("config.toml"), "").unwrap();
    let o = fsrgan(&["train", "--resume", d.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("differs from the config the run was trained with"),
        "{err}"
    );

    // `checkpoint` is a file.
    let e = tmp.path().join("odd");
    std::fs::create_dir_all(&e).unwrap();
    std::fs::write(e.join("config.toml"), short().to_toml()).unwrap();
    std::fs::write(e.join("checkpoint"), "not a directory").unwrap();
    let o = fsrgan(&["train", "--resume", e.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("checkpoint: exists and is not a directory"),
        "{err}"
    );

    // Unlocked, --force starts over.
    let o = fsrgan(&[
        "train",
        "--config",
        cfg.to_str().unwrap(),
        "--out",
        d.to_str().unwrap(),
        "--force",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
