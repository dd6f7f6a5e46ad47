//! No fault loses data or passes in silence (issue 21): a dataset overwrite
//! killed at every one of its steps, two processes on one directory, bit
//! flips in a run directory's files, a full filesystem, a read-only one.
//!
//! Each test records the files present before a fault (their CRC-32s) and
//! checks them after it. The full-disk and read-only tests need to mount a
//! `tmpfs` (root, as on the CI machine); where that is refused they say so
//! and pass without checking (the message names the reason).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fsrgan::io::Dataset;
use fsrgan::io::fault::{DATASET_POINTS, FAULT_VAR};
use fsrgan::io::lock::{DirLock, RUN_LOCK};
use fsrgan::io::staging::lock_path;
use fsrgan::io::writer::FileDigest;

fn fsrgan(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fsrgan"));
    c.args(args).env("OMP_NUM_THREADS", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the binary runs")
}

/// `fsrgan train --config DIR/NAME.toml --out RUN` with `config` written to
/// `DIR/NAME.toml` first.
fn train(dir: &Path, config: &str, run: &Path) -> Output {
    let cfg = dir.join("train.toml");
    std::fs::write(&cfg, config).unwrap();
    fsrgan(
        &[
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ],
        &[],
    )
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sample(out: &Path, seed: u64, n: u64, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let (seed, n) = (seed.to_string(), n.to_string());
    let mut args = vec![
        "sample",
        "--preset",
        "tiny",
        "--n",
        &n,
        "--seed",
        &seed,
        "--chunk",
        "100",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    fsrgan(&args, env)
}

/// Size and CRC-32 of every file under `dir` (relative names), recursively.
fn digests(dir: &Path) -> BTreeMap<String, FileDigest> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, FileDigest>) {
        let Ok(entries) = std::fs::read_dir(d) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, FileDigest::of_file(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// Entries of `parent` whose names start with `.NAME.` (staging, old, lock).
fn siblings(parent: &Path, name: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(parent)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!(".{name}.")) && !n.ends_with(".lock"))
        .collect();
    v.sort();
    v
}

/// `fsrgan sample --force` over an existing dataset, aborted (as by
/// `kill -9`: no destructor runs) after each of its steps: the directory
/// then holds the old dataset or the new one, each whole (every file's
/// checksum that of one of them, and `Dataset::open` verifies it), never a
/// mix; a file of the user's in it survives; and the next command leaves no
/// staging or old directory behind. On the old code (files renamed one by
/// one into the dataset directory) the steps between the first and the last
/// rename left a mix.
#[test]
fn a_dataset_overwrite_killed_at_every_step_leaves_the_old_or_the_new_dataset_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let (old_t, new_t) = (tmp.path().join("old"), tmp.path().join("new"));
    for (dir, seed) in [(&old_t, 1), (&new_t, 2)] {
        let o = sample(dir, seed, 300, &[], &[]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let (old, new) = (digests(&old_t), digests(&new_t));
    assert_ne!(old, new);
    let note = b"a file of the user's";
    for (i, point) in DATASET_POINTS.iter().enumerate() {
        let parent = tmp.path().join(format!("case{i}"));
        let data = parent.join("data");
        copy_dir(&old_t, &data);
        std::fs::write(data.join("notes.txt"), note).unwrap();
        let o = sample(&data, 2, 300, &["--force"], &[(FAULT_VAR, point)]);
        assert!(
            !o.status.success(),
            "{point}: the fault point was not reached"
        );
        assert!(
            stderr(&o).contains(&format!("{FAULT_VAR}={point}")),
            "{point}: {}",
            stderr(&o)
        );
        // A reader repairs what the killed writer left (no writer holds the lock).
        let ds = Dataset::open(&data).unwrap_or_else(|e| panic!("{point}: {e}"));
        let mut got = digests(&data);
        assert_eq!(
            got.remove("notes.txt").map(|d| d.bytes),
            Some(note.len() as u64),
            "{point}: the user's file was lost"
        );
        let new_in_place = DATASET_POINTS
            .iter()
            .position(|p| *p == "new-in-place")
            .unwrap();
        let (want, which) = if i >= new_in_place {
            (&new, "new")
        } else {
            (&old, "old")
        };
        assert_eq!(&got, want, "{point}: not the {which} dataset whole");
        assert_eq!(
            ds.manifest.seed,
            if which == "new" { 2 } else { 1 },
            "{point}"
        );
        // The next writer finds nothing left over.
        let o = sample(&data, 3, 200, &["--force"], &[]);
        assert!(o.status.success(), "{point}: {}", stderr(&o));
        assert_eq!(siblings(&parent, "data"), Vec::<String>::new(), "{point}");
        assert!(data.join("notes.txt").is_file(), "{point}");
    }
}

/// Temporary files of a killed writer inside a dataset (the old code's
/// `.samples.npz.tmp-PID-N`) are recognised and removed by the next writer.
#[test]
fn stale_temporary_files_of_dead_processes_are_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let o = sample(&data, 1, 100, &[], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stale = data.join(".samples.npz.tmp-4194303-0");
    std::fs::write(&stale, vec![0u8; 4096]).unwrap();
    // The staging directory of another dataset, `data.old-x`, whose name
    // starts like this one's: not this dataset's leftover, so left alone.
    let other = tmp.path().join(".data.old-x.new-4194303-0");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("manifest.json"), b"{}").unwrap();
    let o = sample(&data, 1, 100, &["--force"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stale.exists());
    assert!(other.join("manifest.json").is_file());
}

/// Two writers of one dataset directory or one run directory: the second
/// refuses with an error naming the directory and the holder; a lock whose
/// holder died (here: released) does not block.
#[test]
fn a_second_process_on_a_locked_directory_refuses_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let held = DirLock::acquire(&lock_path(&data).unwrap(), &data).unwrap();
    let o = sample(&data, 1, 100, &[], &[]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("is in use by process") && err.contains(&std::process::id().to_string()),
        "{err}"
    );
    assert!(!data.join("manifest.json").exists());
    drop(held);
    let o = sample(&data, 1, 100, &[], &[]);
    assert!(o.status.success(), "{}", stderr(&o));

    // `generate --out` takes the same lock as `sample --out`.
    let run = tmp.path().join("run");
    let o = train(tmp.path(), common::FAST_TINY, &run);
    assert!(o.status.success(), "{}", stderr(&o));
    let fake = tmp.path().join("fake");
    let held = DirLock::acquire(&lock_path(&fake).unwrap(), &fake).unwrap();
    let gen_args = [
        "generate",
        run.to_str().unwrap(),
        "--n",
        "100",
        "--out",
        fake.to_str().unwrap(),
    ];
    let o = fsrgan(&gen_args, &[]);
    assert!(
        !o.status.success() && stderr(&o).contains("is in use by"),
        "{}",
        stderr(&o)
    );
    drop(held);
    let o = fsrgan(&gen_args, &[]);
    assert!(o.status.success(), "{}", stderr(&o));

    // A run directory: `train --resume` while another process holds it.
    let held = DirLock::acquire(&run.join(RUN_LOCK), &run).unwrap();
    let before = digests(&run);
    let o = fsrgan(&["train", "--resume", run.to_str().unwrap()], &[]);
    assert!(
        !o.status.success() && stderr(&o).contains("is in use by"),
        "{}",
        stderr(&o)
    );
    assert_eq!(digests(&run), before, "the refused process changed the run");
    drop(held);
}

/// Flips one bit of `path` at byte `at`.
fn flip(path: &Path, at: usize) {
    let mut b = std::fs::read(path).unwrap();
    b[at] ^= 0x10;
    std::fs::write(path, b).unwrap();
}

/// A flipped bit anywhere in a run directory's tensor files (header or
/// data) is rejected on read, naming the file; the old code read a flipped
/// bit in the data without complaint.
#[test]
fn a_flipped_bit_in_a_run_directory_file_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let config = common::FAST_TINY.replace("[superres]\nsteps = 10", "[superres]\nsteps = 20");
    let o = train(tmp.path(), &config, &run);
    assert!(o.status.success(), "{}", stderr(&o));
    let generate = |ckpt: Option<&str>| {
        let out = tmp.path().join("fake");
        let mut args = vec![
            "generate",
            run.to_str().unwrap(),
            "--n",
            "50",
            "--force",
            "--out",
            out.to_str().unwrap(),
        ];
        if let Some(c) = ckpt {
            args.extend(["--checkpoint", c]);
        }
        fsrgan(&args, &[])
    };
    assert!(generate(None).status.success());
    for file in ["learner.safetensors", "checkpoint/learner.safetensors"] {
        let p = run.join(file);
        let len = std::fs::metadata(&p).unwrap().len() as usize;
        // One flip in the data, then (undone) one in the header's JSON.
        for at in [len - 3, 8 + 20] {
            let good = std::fs::read(&p).unwrap();
            flip(&p, at);
            let o = generate(Some(file));
            let err = stderr(&o);
            assert!(!o.status.success(), "{file} byte {at}: accepted");
            assert!(err.contains(file), "{err}");
            std::fs::write(&p, good).unwrap();
        }
    }
    // The checkpoint state: `--resume` refuses it.
    let state = run.join("checkpoint/state.safetensors");
    let len = std::fs::metadata(&state).unwrap().len() as usize;
    flip(&state, len / 2);
    let o = fsrgan(&["train", "--resume", run.to_str().unwrap()], &[]);
    let err = stderr(&o);
    assert!(
        !o.status.success() && err.contains("checksum mismatch"),
        "{err}"
    );
}

/// `generate --n` beyond what a file can hold is a clear error, not a
/// wrap-around (the old code wrote until killed at 2^64 - 1 and failed
/// with `writing past its declared shape` at 2^60).
#[test]
fn generate_rejects_an_n_that_overflows() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let o = train(tmp.path(), common::FAST_TINY, &run);
    assert!(o.status.success(), "{}", stderr(&o));
    for n in ["18446744073709551615", "1152921504606846976"] {
        let out = tmp.path().join("fake");
        let o = fsrgan(
            &[
                "generate",
                run.to_str().unwrap(),
                "--n",
                n,
                "--out",
                out.to_str().unwrap(),
            ],
            &[],
        );
        let err = stderr(&o);
        assert!(
            !o.status.success() && err.contains(&format!("--n {n}")),
            "{err}"
        );
        assert!(err.contains("exceed the largest file"), "{err}");
        assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
    }
    let o = sample(&tmp.path().join("d"), 1, u64::MAX, &[], &[]);
    assert!(!o.status.success() && stderr(&o).contains("exceed the largest file"));
}

/// A `tmpfs` of `size` mounted at `dir` (unmounted on drop), or why not.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Result<Mount, String> {
        std::fs::create_dir_all(dir).unwrap();
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !o.status.success() {
            return Err(String::from_utf8_lossy(&o.stderr).into_owned());
        }
        Ok(Mount(dir.to_path_buf()))
    }
    fn remount(&self, opts: &str) {
        let o = Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.0)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A `tmpfs` of `size` at `root/mnt` holding a 200-sample dataset
/// `mnt/data`, with the digests of its files; `None` (after saying why) where
/// mounting is refused.
fn mounted_dataset(
    root: &Path,
    size: &str,
) -> Option<(Mount, PathBuf, PathBuf, BTreeMap<String, FileDigest>)> {
    let mnt = root.join("mnt");
    let m = match Mount::tmpfs(&mnt, size) {
        Ok(m) => m,
        Err(why) => {
            eprintln!("SKIPPED: cannot mount a tmpfs here ({why}); run the suite as root");
            return None;
        }
    };
    let data = mnt.join("data");
    let o = sample(&data, 1, 200, &[], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = digests(&data);
    Some((m, mnt, data, before))
}

/// Starts a `tiny` training run into `run` long enough to be interrupted
/// (400 dictionary steps, a checkpoint every 5), its config written in
/// `dir`, and returns once its first checkpoint exists.
fn spawn_long_training(dir: &Path, run: &Path, stderr: std::process::Stdio) -> std::process::Child {
    let cfg = dir.join("long.toml");
    std::fs::write(
        &cfg,
        common::FAST_TINY
            .replace("[dictionary]\nsteps = 20", "[dictionary]\nsteps = 400")
            .replace("checkpoint_every = 10", "checkpoint_every = 5"),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_fsrgan"))
        .args([
            "train",
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            run.to_str().unwrap(),
        ])
        .env("OMP_NUM_THREADS", "1")
        .stderr(stderr)
        .spawn()
        .unwrap();
    let state = run.join("checkpoint/state.safetensors");
    let t0 = std::time::Instant::now();
    while !state.exists() && t0.elapsed().as_secs() < 120 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child
}

/// Fills the filesystem of `dir` with a file `filler` until it is full.
fn fill(filler: &Path) {
    use std::io::Write;
    let mut f = std::fs::File::create(filler).unwrap();
    let block = vec![0xA5u8; 64 << 10];
    while f.write_all(&block).is_ok() {}
    // Byte by byte into the last partial page.
    while f.write_all(&[0]).is_ok() {}
    let _ = f.sync_all();
}

/// `sample`, `generate` and `train` on a full filesystem: a clear error
/// naming the path and the bytes needed, no half-written file under its
/// final name, the dataset already there intact; and `train --resume`
/// continues from the last good checkpoint once space is freed.
#[test]
fn a_full_disk_is_a_clear_error_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((m, mnt, data, before)) = mounted_dataset(tmp.path(), "16m") else {
        return;
    };
    // 100000 tiny samples are 32 MB (320 bytes each): twice the 16 MiB there are.
    let o = sample(&data, 2, 100_000, &["--force"], &[]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("no space left on the device") && err.contains("bytes"),
        "{err}"
    );
    assert!(
        err.contains(data.to_str().unwrap()) || err.contains("mnt/"),
        "{err}"
    );
    assert_eq!(digests(&data), before, "the old dataset changed");
    assert_eq!(siblings(&mnt, "data"), Vec::<String>::new());

    // generate: the same error, nothing left behind.
    let run = mnt.join("run");
    let fake = mnt.join("fake");
    // train: fill the disk once the first checkpoint is written.
    let child = spawn_long_training(tmp.path(), &run, std::process::Stdio::piped());
    let filler = mnt.join("filler");
    fill(&filler);
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert!(
        !o.status.success(),
        "the run finished before the disk filled: {err}"
    );
    assert!(err.contains("no space left"), "{err}");
    std::fs::remove_file(&filler).unwrap();
    let o = fsrgan(&["train", "--resume", run.to_str().unwrap()], &[]);
    assert!(
        o.status.success(),
        "resume after freeing space: {}",
        stderr(&o)
    );
    assert!(run.join("learner.safetensors").is_file());
    fill(&filler);
    let o = fsrgan(
        &[
            "generate",
            run.to_str().unwrap(),
            "--n",
            "20000",
            "--out",
            fake.to_str().unwrap(),
        ],
        &[],
    );
    let err = stderr(&o);
    assert!(
        !o.status.success() && err.contains("no space left on the device"),
        "{err}"
    );
    assert!(
        !fake.exists() && siblings(&mnt, "fake").is_empty(),
        "generate left files"
    );
    drop(m);
}

/// A read-only filesystem: `sample --force` over a dataset on it fails
/// naming the path, and the dataset is intact.
#[test]
fn a_read_only_directory_is_a_clear_error_and_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((m, mnt, data, before)) = mounted_dataset(tmp.path(), "8m") else {
        return;
    };
    m.remount("ro");
    let o = sample(&data, 2, 200, &["--force"], &[]);
    let err = stderr(&o);
    assert!(!o.status.success());
    assert!(
        err.contains("Read-only file system") && err.contains("mnt"),
        "{err}"
    );
    assert_eq!(digests(&data), before);
    let o = sample(&mnt.join("other"), 2, 200, &[], &[]);
    assert!(!o.status.success() && stderr(&o).contains("Read-only file system"));
    let run = mnt.join("run");
    let o = train(tmp.path(), common::FAST_TINY, &run);
    let err = stderr(&o);
    assert!(
        !o.status.success() && err.contains("Read-only file system"),
        "{err}"
    );
    assert!(err.contains("mnt/run"), "{err}");
    assert_eq!(digests(&data), before);
}

/// A practice run whose pair coverage is NaN (`reference = 64`: too few
/// reference pairs) finishes with exit 0 and its report; the NaN is written
/// as `null` and read back as NaN (the old code wrote `null`, then failed on
/// reading it: `invalid type: null, expected f64`). The same run's
/// generator gives the same samples whatever `generate --chunk` is.
#[test]
fn a_run_with_a_nan_metric_finishes_and_generate_does_not_depend_on_chunk() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_owned();
    let o = sample(&tmp.path().join("data"), 1, 4096, &[], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let cfg = r#"
track = "practice"
metrics_every = 10
checkpoint_every = 10
eval = 256
reference = 64
[cpu]
threads = 1
[practice]
mode = "end_to_end"
loss = "non_saturating"
steps = 20
fade_steps = 10
max_seconds = 600
"#;
    std::fs::write(p("cfg.toml"), cfg).unwrap();
    let o = fsrgan(
        &[
            "train",
            "--config",
            &p("cfg.toml"),
            "--data",
            &p("data"),
            "--out",
            &p("run"),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(tmp.path().join("run/report.md").is_file());
    let text = std::fs::read_to_string(tmp.path().join("run/metrics.jsonl")).unwrap();
    assert!(
        text.contains(":null"),
        "no NaN metric to round-trip: {text}"
    );
    let rows = fsrgan::io::rundir::RunDir::open(&tmp.path().join("run"))
        .unwrap()
        .rows()
        .unwrap();
    assert!(rows.iter().any(|r| r.values.values().any(|v| v.is_nan())));
    let o = fsrgan(&["report", &p("run")], &[]);
    assert!(o.status.success(), "{}", stderr(&o));

    let mut crcs = Vec::new();
    for chunk in ["37", "256", "1000"] {
        let out = p(&format!("fake{chunk}"));
        let o = fsrgan(
            &[
                "generate",
                &p("run"),
                "--n",
                "600",
                "--chunk",
                chunk,
                "--out",
                &out,
            ],
            &[],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        crcs.push(FileDigest::of_file(&Path::new(&out).join("samples.npz")).unwrap());
    }
    assert!(crcs.windows(2).all(|w| w[0] == w[1]), "{crcs:?}");
}

/// A training process killed with `kill -9` leaves its lock and temporary
/// files behind; `--resume` takes the lock at once, removes them and
/// finishes from the last checkpoint.
#[test]
fn a_killed_training_run_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    let mut child = spawn_long_training(tmp.path(), &run, std::process::Stdio::null());
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(run.join(RUN_LOCK).is_file());
    let stale = run.join("checkpoint/.state.safetensors.tmp-4194303-7");
    std::fs::write(&stale, b"left by a killed process").unwrap();
    let o = fsrgan(&["train", "--resume", run.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(run.join("learner.safetensors").is_file());
    assert!(!stale.exists());
}

/// Errors the old code swallowed, each now an error (or a failing check).
mod swallowed {
    use fsrgan::train::config::Optimizer;
    use fsrgan::train::optim::Optim;
    use tch::{Kind, Tensor};

    /// A parameter and a gradient of different shapes: the old `let _ =
    /// p.f_sub_(...)` skipped the update without a word.
    #[test]
    fn an_update_libtorch_rejects_is_an_error() {
        for kind in [Optimizer::Sgd, Optimizer::Adam] {
            let mut p = Tensor::zeros([3], (Kind::Double, tch::Device::Cpu));
            let mut opt = Optim::new(kind, 0.5, 0.9, &[&p]);
            let g = Tensor::ones([4], (Kind::Double, tch::Device::Cpu));
            let r = opt.step(&mut [&mut p], &[g], 0.1);
            assert!(r.is_err(), "{kind:?}");
        }
    }

    /// Fewer gradients than parameters: the old `zip` truncated silently.
    #[test]
    fn a_length_mismatch_is_an_error() {
        let mut a = Tensor::zeros([2], (Kind::Double, tch::Device::Cpu));
        let mut b = Tensor::zeros([2], (Kind::Double, tch::Device::Cpu));
        let mut opt = Optim::new(Optimizer::Adam, 0.5, 0.9, &[&a, &b]);
        let g = Tensor::ones([2], (Kind::Double, tch::Device::Cpu));
        let err = opt.step(&mut [&mut a, &mut b], &[g], 0.1).unwrap_err();
        assert!(err.to_string().contains("2 parameters"), "{err}");
    }

    /// The level-1 projection's clamp on a tensor libtorch cannot write in
    /// place (an expanded view): the old `let _ = alpha.f_clamp_min_(0.05)`
    /// left `alpha` unprojected.
    #[test]
    fn a_projection_libtorch_rejects_is_an_error() {
        use fsrgan::train::config::Init;
        use fsrgan::train::generator::Generator;
        use fsrgan::train::stage::project_g;
        let cfg = fsrgan::model::Config::preset("tiny").unwrap();
        let truth = fsrgan::model::Params::generate(&cfg, 1).unwrap();
        let mut g = Generator::from_params(&truth, Kind::Double, tch::Device::Cpu);
        let n = g.alpha.size()[0];
        g.alpha = Tensor::zeros([1], (Kind::Double, tch::Device::Cpu)).expand([n], false);
        let r = project_g(
            fsrgan::train::stage::StageKind::Level1,
            Init::Random,
            &mut g,
            false,
        );
        assert!(r.is_err());
    }

    /// A `verify` check that cannot be computed fails (the old T6 returned
    /// fewer checks and passed).
    #[test]
    fn a_check_that_cannot_be_computed_fails() {
        use fsrgan::theory::claims::{Check, failures};
        let c = Check::error("T6", "alpha from samples", "too few positive samples");
        assert!(!c.pass);
        assert_eq!(failures(&[c]).len(), 1);
    }

    /// A dictionary not in standard layout is a programmer error that
    /// stops, not an empty list of atoms (the old `unwrap_or_default`).
    #[test]
    #[should_panic(expected = "not in standard layout")]
    fn a_dictionary_in_another_layout_is_not_silently_empty() {
        use ndarray::ShapeBuilder;
        let cfg = fsrgan::model::Config::preset("tiny").unwrap();
        let mut p = fsrgan::model::Params::generate(&cfg, 1).unwrap();
        let o = &p.out[0];
        let f =
            ndarray::Array::from_shape_vec(o.raw_dim().f(), o.iter().copied().collect()).unwrap();
        p.out[0] = f;
        let _ = p.dictionary_columns(0);
    }
}
