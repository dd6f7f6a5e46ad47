//! The practice track on a plain set of arrays `x1..xL` (no manifest, no
//! truth; `train::practice::run::train_practice_plain`, `fsrgan train --data
//! FILE.npz`): it trains on the first `N - heldout` samples only (a run
//! whose held-out samples are replaced trains the same networks bit for bit,
//! one whose last training samples are replaced does not), its metrics'
//! reference and floor sets are the halves of the held-out split (the floors
//! equal the metrics of those halves computed apart), the metrics that need
//! the truth are absent, it resumes from the recorded path and refuses a
//! replaced set, and bad inputs (a missing level, a wrong shape, cGAN /
//! CycleGAN, no `model`, a `heldout` that leaves too little, `heldout` or
//! another `model` beside a truth) are clear errors.
#![cfg(feature = "torch")]

use std::collections::BTreeMap;
use std::path::Path;

use fsrgan::io::rundir::Row;
use fsrgan::model::{Config, Params, Sampler};
use fsrgan::train::TrainError;
use fsrgan::train::practice::run::{
    DataSplit, PracticeOptions, PracticeOutcome, PracticeRun, train_practice, train_practice_plain,
};
use ndarray::{Array4, s};
use tch::Device;

/// A short end-to-end run on a plain `tiny` set: 30 generator steps, rows
/// every 15; 128 generated samples per evaluation against 256 held-out ones.
const PLAIN: &str = r#"
track = "practice"
model = "tiny"
metrics_every = 15
checkpoint_every = 15
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

/// [`PLAIN`] with `method` (layer-wise: what a CycleGAN needs).
fn with_method(method: &str) -> String {
    PLAIN.replace("\"end_to_end\"", "\"layerwise\"") + &format!("method = \"{method}\"\n")
}

/// Samples `from..from + n` of the `tiny` truth of `seed`.
fn tiny(seed: u64, from: usize, n: usize) -> Vec<Array4<f64>> {
    let truth = Params::generate(&Config::preset("tiny").unwrap(), seed).unwrap();
    Sampler::new(&truth, seed).sample(from as u64, n).x
}

/// `x` with samples `range` of every level taken from `other` (same shapes).
fn replace(
    x: &[Array4<f64>],
    other: &[Array4<f64>],
    range: std::ops::Range<usize>,
) -> Vec<Array4<f64>> {
    x.iter()
        .zip(other)
        .map(|(a, b)| {
            let mut a = a.clone();
            a.slice_mut(s![range.clone(), .., .., ..])
                .assign(&b.slice(s![range.clone(), .., .., ..]));
            a
        })
        .collect()
}

fn opts(dir: &Path, resume: bool) -> PracticeOptions {
    PracticeOptions {
        out: dir.to_path_buf(),
        resume,
        device: Device::Cpu,
    }
}

fn plain(
    cfg: &str,
    x: &[Array4<f64>],
    dir: &Path,
    resume: bool,
) -> Result<PracticeOutcome, TrainError> {
    let cfg = PracticeRun::from_toml(cfg).expect("valid config");
    train_practice_plain(
        &cfg,
        x,
        "a test set",
        &opts(dir, resume),
        &mut |_, _, _, _, _, _, _| {},
    )
}

/// The trained generator's tensors, as bits.
fn generator(dir: &Path) -> BTreeMap<String, Vec<u64>> {
    let f = fsrgan::io::reader::read_tensors(&dir.join("generator.safetensors")).unwrap();
    f.tensors
        .iter()
        .map(|(k, t)| (k.clone(), t.to_f64().iter().map(|v| v.to_bits()).collect()))
        .collect()
}

/// Every row's losses (`d_loss`, `g_loss`, `d_real`, `d_fake`), as bits.
fn losses(rows: &[Row]) -> Vec<Vec<(String, u64)>> {
    rows.iter()
        .map(|r| {
            r.values
                .iter()
                .filter(|(k, _)| ["d_loss", "g_loss", "d_real", "d_fake"].contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.to_bits()))
                .collect()
        })
        .collect()
}

/// Rows without wall times, values as bits.
fn comparable(rows: &[Row]) -> Vec<(String, usize, usize, BTreeMap<String, u64>)> {
    rows.iter()
        .map(|r| {
            let v = r
                .values
                .iter()
                .map(|(k, v)| (k.clone(), v.to_bits()))
                .collect();
            (r.stage.clone(), r.stage_step, r.step, v)
        })
        .collect()
}

/// 1024 samples, `heldout` unset: the last 512 are held out (the default
/// `min(10 000, N / 2)`), 256 of them the reference and 128 (`eval`) of the
/// other 256 the floor set.
///
/// Training never reads a held-out sample: replacing all 512 by samples of
/// another truth leaves every loss and every generator weight bit-identical,
/// while replacing the last 8 *training* samples (indices 504..512, next to
/// the split) changes the weights, so the comparison sees a served sample.
/// The metrics read the held-out split: the floors of the run's rows are
/// exactly the metrics of the floor half against the reference half
/// computed apart by `metrics::score_levels` (on the parameters of another
/// seed: the floors do not depend on any truth), and they move when the
/// held-out split is replaced. The metrics that need the truth are absent.
#[test]
fn a_plain_set_trains_on_its_training_split_and_is_scored_by_its_heldout_split() {
    let tmp = tempfile::tempdir().unwrap();
    let x = tiny(1, 0, 1024);
    let other = tiny(2, 0, 1024);
    let a = plain(PLAIN, &x, &tmp.path().join("a"), false).expect("the run completes");
    assert_eq!(
        a.data,
        DataSplit {
            description: "a test set".into(),
            truth: false,
            n: 1024,
            n_train: 512,
            n_heldout: 512,
            n_reference: 256,
            n_floor: 128,
            crc32: a.data.crc32,
        }
    );
    assert!(a.data.crc32.is_some());
    let b = plain(
        PLAIN,
        &replace(&x, &other, 512..1024),
        &tmp.path().join("b"),
        false,
    )
    .unwrap();
    plain(
        PLAIN,
        &replace(&x, &other, 504..512),
        &tmp.path().join("c"),
        false,
    )
    .unwrap();
    assert_eq!(losses(&a.rows), losses(&b.rows));
    assert_eq!(
        generator(&tmp.path().join("a")),
        generator(&tmp.path().join("b"))
    );
    assert_ne!(
        generator(&tmp.path().join("a")),
        generator(&tmp.path().join("c"))
    );

    // The floors: the floor half against the reference half, apart.
    let cfg = PracticeRun::from_toml(PLAIN).unwrap();
    let held = |from: usize, n: usize| -> Vec<Array4<f64>> {
        x.iter()
            .map(|l| l.slice(s![from..from + n, .., .., ..]).to_owned())
            .collect()
    };
    let (reference, floor) = (held(512, 256), held(768, 128));
    let stranger = Params::generate(&Config::preset("tiny").unwrap(), 99).unwrap();
    let apart =
        fsrgan::metrics::score_levels(&reference, &floor, &floor, &stranger, cfg.practice.seed)
            .unwrap();
    for row in &a.rows {
        for ls in &apart.levels {
            let l = ls.level;
            let v = |k: String| row.values[&k];
            assert_eq!(
                v(format!("swd{l}_floor")),
                ls.patch_swd.value,
                "{}",
                row.stage
            );
            assert_eq!(v(format!("pyr{l}_0_floor")), ls.pyramid_swd[0].swd.value);
            assert_eq!(v(format!("msssim{l}_real")), ls.msssim.real);
            for c in 1..=4 {
                assert_eq!(v(format!("floor{l}_c{c}")), ls.moment_gaps[c - 1].value);
            }
        }
        let keys: Vec<&String> = row.values.keys().collect();
        assert!(
            !keys.iter().any(|k| k.starts_with("cov")
                || k.starts_with("pair_cov")
                || k.starts_with("align")
                || k.ends_with("_target")),
            "a metric that needs the truth: {keys:?}"
        );
        assert!(row.values.contains_key("hidden2") && row.values.contains_key("swd2"));
    }
    let (fa, fb) = (a.rows.last().unwrap(), b.rows.last().unwrap());
    assert_eq!(fa.stage, "final");
    assert!(fa.values.contains_key("pair_swd2") && fa.values.contains_key("pair_swd2_floor"));
    assert_ne!(fa.values["swd1_floor"], fb.values["swd1_floor"]);
    assert!(
        a.score
            .levels
            .iter()
            .all(|l| l.coverage.fake.atom_coverage.is_nan())
    );

    // What the run directory says.
    let dir = tmp.path().join("a");
    assert!(!dir.join("truth.safetensors").exists());
    let data: DataSplit =
        serde_json::from_str(&std::fs::read_to_string(dir.join("data.json")).unwrap()).unwrap();
    assert_eq!(data, a.data);
    let score: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("score.json")).unwrap()).unwrap();
    assert_eq!(score["truth"], false);
    assert_eq!(score["n_real"], 256);
    assert_eq!(score["n_fake"], 128);
    assert!(score["levels"][0].get("coverage").is_none());
    assert!(score["levels"][0].get("patch_swd").is_some());
    let recorded =
        PracticeRun::from_toml(&std::fs::read_to_string(dir.join("config.toml")).unwrap()).unwrap();
    assert_eq!(recorded.heldout, Some(512));
    assert_eq!(recorded.model, Some(Config::preset("tiny").unwrap()));
    assert_eq!(
        fsrgan::train::practice::run::data_model(&dir).unwrap(),
        Config::preset("tiny").unwrap()
    );
}

/// A plain run stopped by its step budget and resumed repeats the
/// uninterrupted one (rows and networks bit for bit); resuming it on a
/// replaced set is refused, naming the change.
#[test]
fn a_plain_run_resumes_and_refuses_a_replaced_set() {
    let tmp = tempfile::tempdir().unwrap();
    let x = tiny(1, 0, 512);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let full = plain(PLAIN, &x, &a, false).unwrap();
    let stopped = format!("{PLAIN}max_steps = 20\n");
    let _ = plain(&stopped, &x, &b, false).unwrap();
    let other = replace(&x, &tiny(2, 0, 512), 500..501);
    let err = plain(PLAIN, &other, &b, true).unwrap_err().to_string();
    assert!(
        err.contains("cannot resume") && err.contains("replaced"),
        "{err}"
    );
    let resumed = plain(PLAIN, &x, &b, true).unwrap();
    assert_eq!(comparable(&full.rows), comparable(&resumed.rows));
    assert_eq!(generator(&a), generator(&b));
}

/// The library's refusals: no `model`; a `heldout` below 4, or one that
/// leaves fewer training samples than a real batch; cGAN and CycleGAN on a
/// plain set; `heldout` or another `model` beside a truth.
#[test]
fn the_library_refuses_bad_plain_configs() {
    let tmp = tempfile::tempdir().unwrap();
    let x = tiny(1, 0, 256);
    let err = |cfg: &str| {
        plain(cfg, &x, &tmp.path().join("run"), false)
            .unwrap_err()
            .to_string()
    };
    let e = err(&PLAIN.replace("model = \"tiny\"\n", ""));
    assert!(
        e.contains("`model`") && e.contains("model = \"tiny\""),
        "{e}"
    );
    let e = PracticeRun::from_toml(&format!("heldout = 3\n{PLAIN}"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`heldout`") && e.contains("at least 4"), "{e}");
    let e = err(&format!("heldout = 200\n{PLAIN}"));
    assert!(
        e.contains("`heldout`") && e.contains("56 samples are fewer than a real batch of 64"),
        "{e}"
    );
    let e = err(&format!("heldout = 256\n{PLAIN}"));
    assert!(
        e.contains("`heldout`") && e.contains("some must train"),
        "{e}"
    );
    for (method, need) in [("cgan", "labelled"), ("cyclegan", "two-domain")] {
        let e = err(&with_method(method));
        assert!(
            e.contains("practice.method") && e.contains(method) && e.contains(need),
            "{e}"
        );
    }
    let e = PracticeRun::from_toml(&PLAIN.replace("\"tiny\"", "\"huge\""))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`model`") && e.contains("huge"), "{e}");
    assert!(!tmp.path().join("run/generator.safetensors").exists());

    let truth = Params::generate(&Config::preset("tiny").unwrap(), 1).unwrap();
    let with_truth = |cfg: &str| {
        let cfg = PracticeRun::from_toml(cfg).unwrap();
        train_practice(
            &cfg,
            &truth,
            &x,
            &opts(&tmp.path().join("t"), false),
            &mut |_, _, _, _, _, _, _| {},
        )
        .unwrap_err()
        .to_string()
    };
    let e = with_truth(&format!("heldout = 100\n{PLAIN}"));
    assert!(e.contains("`heldout`") && e.contains("plain set"), "{e}");
    let e = with_truth(&PLAIN.replace("\"tiny\"", "\"small\""));
    assert!(
        e.contains("`model`") && e.contains("`tiny`") && e.contains("`small`"),
        "{e}"
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

fn write_npz(path: &Path, arrays: &[(&str, Array4<f32>)]) {
    let mut w = ndarray_npy::NpzWriter::new(std::fs::File::create(path).unwrap());
    for (name, a) in arrays {
        w.add_array(*name, a).unwrap();
    }
    w.finish().unwrap();
}

fn f32s(a: &Array4<f64>) -> Array4<f32> {
    a.mapv(|v| v as f32)
}

/// `fsrgan train --data plain.npz` with a practice config: it trains from
/// the set without a truth (and says so), writes its metrics, report and
/// `data.json`, resumes from the path it recorded (no `--data`), and
/// refuses a missing level, a wrong shape, cGAN and CycleGAN, a config
/// without `model` and a path that does not exist, training nothing.
#[test]
fn the_cli_trains_a_practice_run_from_a_plain_npz() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_owned();
    let x = tiny(1, 0, 1024);
    write_npz(
        &tmp.path().join("plain.npz"),
        &[("x1", f32s(&x[0])), ("x2", f32s(&x[1]))],
    );
    let train = |cfg: &str, data: &str, out: &str| {
        std::fs::write(p("cfg.toml"), cfg).unwrap();
        fsrgan(&[
            "train",
            "--config",
            &p("cfg.toml"),
            "--data",
            data,
            "--out",
            &p(out),
        ])
    };

    let (ok, err) = train(
        &PLAIN.replace("model = \"tiny\"\n", ""),
        &p("plain.npz"),
        "bad",
    );
    assert!(
        !ok && err.contains("plain set of arrays") && err.contains("model = \"tiny\""),
        "{err}"
    );
    let (ok, err) = train(&with_method("cgan"), &p("plain.npz"), "bad");
    assert!(
        !ok && err.contains("cgan") && err.contains("labelled"),
        "{err}"
    );
    let (ok, err) = train(&with_method("cyclegan"), &p("plain.npz"), "bad");
    assert!(
        !ok && err.contains("cyclegan") && err.contains("two-domain"),
        "{err}"
    );
    let (ok, err) = train(PLAIN, &p("nowhere.npz"), "bad");
    assert!(
        !ok && err.contains("nowhere.npz") && err.contains("no such file"),
        "{err}"
    );
    write_npz(&tmp.path().join("missing.npz"), &[("x1", f32s(&x[0]))]);
    let (ok, err) = train(PLAIN, &p("missing.npz"), "bad");
    assert!(!ok && err.contains("no array `x2`"), "{err}");
    write_npz(
        &tmp.path().join("shape.npz"),
        &[("x1", f32s(&x[0])), ("x2", f32s(&x[0]))],
    );
    let (ok, err) = train(PLAIN, &p("shape.npz"), "bad");
    assert!(
        !ok && err.contains("`x2`")
            && err.contains("[1024, 1, 4, 4]")
            && err.contains("(N, 1, 8, 8)"),
        "{err}"
    );
    assert!(!tmp.path().join("bad/generator.safetensors").exists());

    // A run stopped by its step budget, then resumed from the recorded path.
    let (ok, err) = train(&format!("{PLAIN}max_steps = 20\n"), &p("plain.npz"), "run");
    assert!(ok, "{err}");
    assert!(
        err.contains("no truth")
            && err.contains("trains on the first 512, scored against the last 512 held out")
            && err.contains("level 2: patch SWD")
            && !err.contains("atom coverage"),
        "{err}"
    );
    let run = tmp.path().join("run");
    for f in [
        "generator.safetensors",
        "metrics.jsonl",
        "score.json",
        "data.json",
        "report.md",
    ] {
        assert!(run.join(f).is_file(), "{f}");
    }
    assert!(!run.join("truth.safetensors").exists());
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(
        config.contains("plain.npz") && config.contains("heldout = 512"),
        "{config}"
    );
    std::fs::write(
        run.join("config.toml"),
        config.replace("max_steps = 20", "max_steps = 100000"),
    )
    .unwrap();
    let (ok, err) = fsrgan(&["train", "--resume", &p("run")]);
    assert!(ok, "{err}");
    assert!(err.contains("no truth"), "{err}");
    let rows = fsrgan::io::rundir::RunDir::open(&run)
        .unwrap()
        .rows()
        .unwrap();
    let last = rows.last().unwrap();
    assert_eq!((last.stage.as_str(), last.step), ("final", 30));
}
