//! What `--resume` and `--force` check before they touch a practice-track
//! run, as the theory track's (`tests/train_resume.rs`): a resume continues
//! only the run it names — the config recorded in its checkpoint (each
//! differing field named with both values; the budgets `max_steps` and
//! `max_seconds` may change), the truth it recorded (checksum verified) —
//! and a run whose `config.toml` was emptied is still known as a practice
//! run by its files; `--force` takes the run's lock before it clears
//! anything. And a run on a plain set (no truth) generates and reports.
#![cfg(feature = "torch")]

use std::path::Path;

use fsrgan::model::{Config, Params, Sampler};
use fsrgan::train::TrainError;
use fsrgan::train::practice::run::{PracticeOptions, PracticeRun, train_practice};
use ndarray::Array4;
use tch::Device;

/// A short end-to-end run: 30 generator steps, a checkpoint every 10.
const SHORT: &str = r#"
track = "practice"
metrics_every = 10
checkpoint_every = 10
eval = 128
reference = 256
[cpu]
threads = 1
[practice]
mode = "end_to_end"
loss = "non_saturating"
steps = 30
fade_steps = 10
max_seconds = 600
"#;

/// [`SHORT`] stopped by its step budget at step 20 (`[practice]` is last).
fn stopped() -> String {
    format!("{SHORT}max_steps = 20\n")
}

fn tiny(seed: u64, n: usize) -> (Params, Vec<Array4<f64>>) {
    let truth = Params::generate(&Config::preset("tiny").unwrap(), seed).unwrap();
    let x = Sampler::new(&truth, seed).sample(0, n).x;
    (truth, x)
}

fn run(
    cfg: &str,
    truth: &Params,
    x: &[Array4<f64>],
    dir: &Path,
    resume: bool,
) -> Result<(), TrainError> {
    let cfg = PracticeRun::from_toml(cfg).expect("valid config");
    let opts = PracticeOptions {
        out: dir.to_path_buf(),
        resume,
        device: Device::Cpu,
    };
    train_practice(&cfg, truth, x, &opts, &mut |_, _, _, _, _, _, _| {}).map(|_| ())
}

fn resume_error(cfg: &str, truth: &Params, x: &[Array4<f64>], dir: &Path) -> String {
    match run(cfg, truth, x, dir, true) {
        Err(e @ TrainError::Resume { .. }) => e.to_string(),
        Err(e) => panic!("not a resume error: {e}"),
        Ok(()) => panic!("resumed a run it should refuse"),
    }
}

/// An edited config is refused naming each differing field with both
/// values (nothing of the run touched); the run's own config resumes with
/// another step budget.
#[test]
fn a_practice_resume_with_another_config_is_refused_naming_what_differs() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let (truth, x) = tiny(1, 1024);
    run(&stopped(), &truth, &x, &dir, false).expect("the first part runs");
    let rows = std::fs::read(dir.join("metrics.jsonl")).unwrap();
    let e = resume_error(
        &SHORT.replace("\"non_saturating\"", "\"hinge\""),
        &truth,
        &x,
        &dir,
    );
    assert!(
        e.contains("`practice.loss` was \"non_saturating\"")
            && e.contains("is \"hinge\" now")
            && e.contains("differs from the config the run was trained with"),
        "{e}"
    );
    let e = resume_error(
        &SHORT
            .replace("eval = 128", "eval = 256")
            .replace("threads = 1", "threads = 2"),
        &truth,
        &x,
        &dir,
    );
    assert!(
        e.contains("`eval` was 128")
            && e.contains("is 256 now")
            && e.contains("`cpu.threads` was 1"),
        "{e}"
    );
    assert_eq!(std::fs::read(dir.join("metrics.jsonl")).unwrap(), rows);
    // The budgets may change: the stopped run goes on to its end.
    run(SHORT, &truth, &x, &dir, true).expect("the run's own config resumes");
    let rows = fsrgan::io::rundir::RunDir::open(&dir)
        .unwrap()
        .rows()
        .unwrap();
    let last = rows.last().unwrap();
    assert_eq!((last.stage.as_str(), last.step), ("final", 30));
}

/// A flipped bit in the recorded truth fails its checksum on the resume; a
/// resume handed another truth is refused by value; the recorded truth resumes.
#[test]
fn a_practice_resume_checks_the_recorded_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let (truth, x) = tiny(1, 1024);
    run(&stopped(), &truth, &x, &dir, false).expect("the first part runs");
    let path = dir.join("truth.safetensors");
    let good = std::fs::read(&path).unwrap();
    let mut bad = good.clone();
    let i = bad.len() - 9;
    bad[i] ^= 0x10;
    std::fs::write(&path, &bad).unwrap();
    match run(SHORT, &truth, &x, &dir, true) {
        Err(e) => assert!(e.to_string().contains("truth.safetensors"), "{e}"),
        Ok(()) => panic!("resumed against a damaged truth"),
    }
    std::fs::write(&path, &good).unwrap();
    let (other, _) = tiny(2, 16);
    let e = resume_error(SHORT, &other, &x, &dir);
    assert!(e.contains("is not the truth"), "{e}");
    run(SHORT, &truth, &x, &dir, true).expect("the recorded truth resumes");
}

/// The model of a run whose config has no `model` and whose directory has
/// no truth is a clear error naming both; with `model` it is the config's.
#[test]
fn the_model_of_a_run_without_a_truth_comes_from_its_config() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("config.toml"), SHORT).unwrap();
    let e = fsrgan::train::practice::run::data_model(tmp.path())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`model`") && e.contains("truth.safetensors"),
        "{e}"
    );
    std::fs::write(
        tmp.path().join("config.toml"),
        format!("model = \"tiny\"\n{SHORT}"),
    )
    .unwrap();
    assert_eq!(
        fsrgan::train::practice::run::data_model(tmp.path()).unwrap(),
        Config::preset("tiny").unwrap()
    );
}

fn fsrgan(args: &[&str]) -> (bool, String) {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_fsrgan"))
        .args(args)
        .output()
        .expect("the binary runs");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Through the CLI, on a plain `.npz` (no truth): the stopped run generates
/// samples and reports against its held-out split (no coverage columns); an
/// edited, emptied or theory `config.toml` is refused on `--resume` naming
/// what differs (an emptied one no longer falls through to the theory
/// track); `--force` into a run whose lock another process holds is refused
/// and deletes nothing; the restored config resumes; unlocked, `--force`
/// starts over.
#[test]
fn the_cli_checks_a_practice_resume_and_force_and_a_plain_run_generates_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_owned();
    let (_, x) = tiny(1, 1024);
    {
        let mut w = ndarray_npy::NpzWriter::new(
            std::fs::File::create(tmp.path().join("plain.npz")).unwrap(),
        );
        for (name, a) in [("x1", &x[0]), ("x2", &x[1])] {
            w.add_array(name, &a.mapv(|v| v as f32)).unwrap();
        }
        w.finish().unwrap();
    }
    let cfg = format!("model = \"tiny\"\n{}", stopped());
    std::fs::write(p("cfg.toml"), &cfg).unwrap();
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            "--config",
            &p("cfg.toml"),
            "--data",
            &p("plain.npz"),
            "--out",
            &p("run"),
            "--device",
            "cpu",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fsrgan(&args)
    };
    let (ok, err) = train(&[]);
    assert!(ok, "{err}");
    let run = tmp.path().join("run");

    // generate and report on the plain run.
    let (ok, err) = fsrgan(&["generate", &p("run"), "--n", "300", "--out", &p("gen")]);
    assert!(ok, "{err}");
    assert!(tmp.path().join("gen/manifest.json").is_file());
    let (ok, err) = fsrgan(&["report", &p("run")]);
    assert!(ok, "{err}");
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(
        report.contains("held-out split of the dataset")
            && !report.contains("fresh samples of the truth")
            && !report.contains("coverage (floor)")
            && !report.contains("NaN"),
        "{report}"
    );
    let (ok, err) = fsrgan(&["report", &p("run"), "--truth", &p("plain.npz")]);
    assert!(!ok && err.contains("practice-track run"), "{err}");

    // --resume checks config.toml against the recorded config.
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    let resume_err = |text: &str| {
        std::fs::write(run.join("config.toml"), text).unwrap();
        let (ok, err) = fsrgan(&["train", "--resume", &p("run")]);
        assert!(!ok, "resumed with config {text:?}");
        err
    };
    let err = resume_err(&config.replace("eval = 128", "eval = 256"));
    assert!(
        err.contains("`eval` was 128") && err.contains("is 256 now"),
        "{err}"
    );
    let err = resume_err("");
    assert!(
        err.contains("differs from the config the run was trained with")
            && err.contains("`heldout` was 512")
            && !err.contains("state.safetensors"),
        "{err}"
    );
    let err = resume_err("preset = \"tiny\"\n");
    assert!(
        err.contains("differs from the config the run was trained with")
            && err.contains("`checkpoint_every` was 10 when the run started, is (unset) now"),
        "{err}"
    );

    // --force with the lock held by another process (this one).
    std::fs::write(run.join("config.toml"), &config).unwrap();
    let lock =
        fsrgan::io::lock::DirLock::acquire(&run.join(fsrgan::io::lock::RUN_LOCK), &run).unwrap();
    let (ok, err) = train(&["--force"]);
    assert!(!ok, "--force cleared a locked run");
    assert!(
        err.contains(&format!("process {}", std::process::id())),
        "{err}"
    );
    for f in [
        "config.toml",
        "generator.safetensors",
        "data.json",
        "checkpoint/practice.safetensors",
    ] {
        assert!(run.join(f).is_file(), "{f} was deleted");
    }
    drop(lock);

    // The recorded config with a larger budget resumes to the end.
    std::fs::write(
        run.join("config.toml"),
        config.replace("max_steps = 20", "max_steps = 100000"),
    )
    .unwrap();
    let (ok, err) = fsrgan(&["train", "--resume", &p("run")]);
    assert!(ok, "{err}");
    let rows = fsrgan::io::rundir::RunDir::open(&run)
        .unwrap()
        .rows()
        .unwrap();
    assert_eq!(
        rows.last().map(|r| (r.stage.as_str(), r.step)),
        Some(("final", 30))
    );

    // Unlocked, --force starts over.
    let (ok, err) = train(&["--force"]);
    assert!(ok, "{err}");
}
