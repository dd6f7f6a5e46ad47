//! CPU thread settings of `fsrgan train` (`fsrgan::threads`): resolved once
//! from the flag, `OMP_NUM_THREADS`, the config or the model's default,
//! recorded in the run's config and reused by `--resume` (which then repeats
//! the uninterrupted run bit for bit); the OpenMP wait policy applied by
//! re-executing the binary; bad settings are clear errors.
#![cfg(feature = "torch")]

use fsrgan::threads::{Cpu, WaitPolicy, default_threads};
use fsrgan::train::{TrainConfig, TrainError, TrainOptions, train};

/// A very short `tiny` run (40 steps, small batches): seconds on one core.
const FAST: &str = r#"
preset = "tiny"
seed = 11
train_seed = 11
batch = 512
eval_batch = 256
final_eval = 1024
real_samples = 4096
metrics_every = 10
checkpoint_every = 10
[dictionary]
steps = 20
[level1]
steps = 10
[superres]
steps = 10
candidates = 1
"#;

fn fsrgan(args: &[&str], env: &[(&str, Option<&str>)]) -> (bool, Option<i32>, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fsrgan"));
    cmd.args(args);
    // Start from an environment without the variables under test.
    for v in [
        "OMP_NUM_THREADS",
        "OMP_WAIT_POLICY",
        fsrgan::threads::REEXEC_MARK,
    ] {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let o = cmd.output().expect("the binary runs");
    (
        o.status.success(),
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn write_config(dir: &std::path::Path, name: &str, extra: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{FAST}\n{extra}")).unwrap();
    path.to_str().unwrap().to_owned()
}

fn recorded(run: &std::path::Path) -> Cpu {
    let text = std::fs::read_to_string(run.join("config.toml")).unwrap();
    TrainConfig::from_toml(&text).unwrap().cpu
}

/// `tiny`'s finest image has 64 values: one thread by default; `small`
/// (768) and `paper` (12,288) use every available core.
#[test]
fn the_default_thread_count_follows_the_model_size() {
    let cores = fsrgan::threads::available_cores();
    for (preset, want) in [("tiny", 1), ("small", cores), ("paper", cores)] {
        let model = fsrgan::model::Config::preset(preset).unwrap();
        assert_eq!(default_threads(&model), want, "{preset}");
    }
}

/// The flag wins over `OMP_NUM_THREADS`, which wins over the default; the
/// count and the source are printed and recorded; a run stopped mid-stage
/// and resumed in an environment that asks for another count reuses the
/// recorded one and ends with the uninterrupted run's learner, byte for byte.
#[test]
fn thread_settings_are_recorded_and_reused_by_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let full = write_config(tmp.path(), "full.toml", "");
    let stop = write_config(tmp.path(), "stop.toml", "[debug]\nstop_after_steps = 25\n");
    let dir = |n: &str| tmp.path().join(n);
    let s = |p: &std::path::Path| p.to_str().unwrap().to_owned();

    let (ok, _, err) = fsrgan(
        &[
            "train",
            "--config",
            &full,
            "--out",
            &s(&dir("a")),
            "--threads",
            "2",
        ],
        &[("OMP_NUM_THREADS", Some("1"))],
    );
    assert!(ok, "{err}");
    assert!(err.contains("cpu: 2 thread(s) (flag)"), "{err}");
    assert_eq!(recorded(&dir("a")).threads, Some(2));

    let (ok, _, err) = fsrgan(
        &[
            "train",
            "--config",
            &stop,
            "--out",
            &s(&dir("b")),
            "--threads",
            "2",
        ],
        &[],
    );
    assert!(ok, "{err}");
    assert!(!dir("b").join("learner.safetensors").exists());
    let (ok, _, err) = fsrgan(
        &["train", "--resume", &s(&dir("b"))],
        &[("OMP_NUM_THREADS", Some("1"))],
    );
    assert!(ok, "{err}");
    assert!(
        err.contains("cpu: 2 thread(s), OpenMP wait policy Default (recorded in the run)"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(dir("a").join("learner.safetensors")).unwrap(),
        std::fs::read(dir("b").join("learner.safetensors")).unwrap(),
        "a resumed 2-thread run must repeat the uninterrupted 2-thread run"
    );

    let (ok, _, err) = fsrgan(
        &["train", "--config", &stop, "--out", &s(&dir("c"))],
        &[("OMP_NUM_THREADS", Some("1"))],
    );
    assert!(ok, "{err}");
    assert!(err.contains("cpu: 1 thread(s) ($OMP_NUM_THREADS)"), "{err}");
    assert_eq!(recorded(&dir("c")).threads, Some(1));

    let (ok, _, err) = fsrgan(&["train", "--config", &stop, "--out", &s(&dir("d"))], &[]);
    assert!(ok, "{err}");
    assert!(err.contains("cpu: 1 thread(s) (default)"), "{err}");
    assert_eq!(recorded(&dir("d")).threads, Some(1));
}

/// `--omp-wait passive` re-executes the binary with `OMP_WAIT_POLICY=PASSIVE`:
/// the library refuses a run whose recorded policy is not the process's
/// (shown below), so a run that completes had the variable in effect; the
/// policy is recorded, and the resume of a stopped run re-executes too.
#[test]
fn the_wait_policy_is_applied_by_reexecuting_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let stop = write_config(tmp.path(), "stop.toml", "[debug]\nstop_after_steps = 25\n");
    let run = tmp.path().join("p");
    let r = run.to_str().unwrap();
    let (ok, _, err) = fsrgan(
        &[
            "train",
            "--config",
            &stop,
            "--out",
            r,
            "--omp-wait",
            "passive",
            "--threads",
            "1",
        ],
        &[],
    );
    assert!(ok, "{err}");
    assert!(err.contains("OpenMP wait policy Passive (flag)"), "{err}");
    assert_eq!(recorded(&run).wait, WaitPolicy::Passive);
    let (ok, _, err) = fsrgan(&["train", "--resume", r], &[]);
    assert!(ok, "{err}");
    assert!(run.join("learner.safetensors").exists());

    // The library's check that makes the test above meaningful.
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        let mut cfg = TrainConfig::from_toml(FAST).unwrap();
        cfg.cpu.wait = WaitPolicy::Passive;
        let opts = TrainOptions {
            out: tmp.path().join("lib"),
            resume: false,
            device: tch::Device::Cpu,
            data: None,
        };
        match train(&cfg, &opts, &mut |_, _, _, _, _, _, _| {}) {
            Err(TrainError::InvalidConfig { field, rule }) => {
                assert_eq!(field, "cpu.wait");
                assert!(rule.contains("OMP_WAIT_POLICY=PASSIVE"), "{rule}");
            }
            other => panic!("expected cpu.wait to be refused, got {other:?}"),
        }
    }
}

/// Bad settings name the flag, variable or field and the rule.
#[test]
fn bad_thread_settings_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let full = write_config(tmp.path(), "full.toml", "");
    let out = tmp.path().join("x");
    let o = out.to_str().unwrap();
    let (ok, code, err) = fsrgan(
        &["train", "--config", &full, "--out", o, "--threads", "0"],
        &[],
    );
    assert!(
        !ok && code == Some(1) && err.contains("--threads must be at least 1"),
        "{err}"
    );
    let (ok, _, err) = fsrgan(
        &["train", "--config", &full, "--out", o],
        &[("OMP_NUM_THREADS", Some("many"))],
    );
    assert!(
        !ok && err.contains("$OMP_NUM_THREADS must be a positive integer"),
        "{err}"
    );
    let (ok, _, err) = fsrgan(
        &["train", "--config", &full, "--out", o],
        &[("OMP_WAIT_POLICY", Some("sometimes"))],
    );
    assert!(
        !ok && err.contains("$OMP_WAIT_POLICY must be ACTIVE or PASSIVE"),
        "{err}"
    );
    let (ok, code, err) = fsrgan(
        &["train", "--config", &full, "--out", o, "--omp-wait", "lazy"],
        &[],
    );
    assert!(
        !ok && code == Some(2) && err.contains("must be default, active or passive"),
        "{err}"
    );
    let bad = write_config(tmp.path(), "bad.toml", "[cpu]\nthreads = 0\n");
    let (ok, _, err) = fsrgan(&["train", "--config", &bad, "--out", o], &[]);
    assert!(
        !ok && err.contains("`cpu.threads`: must be at least 1"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written for a refused run");
}
