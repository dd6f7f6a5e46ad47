//! Training reads its data (`src/train/data.rs`): the epochs of the
//! training split, the held-out split, the shuffled-pairs control, the
//! dataset a run samples for itself, a run on a plain set of arrays that
//! learns *that* set (it would learn another truth from the oracle), and
//! `fsrgan train --data`'s checks of a plain set.
#![cfg(feature = "torch")]

use std::collections::BTreeSet;

use fsrgan::model::{Config, Params, Sampler};
use fsrgan::train::data::{Loaded, Samples, sample_dataset};
use fsrgan::train::{TrainConfig, TrainOptions, train};
use ndarray::Array4;
use tch::{Device, Kind};

/// `n` samples whose every value is the sample's index (level `l` shaped
/// `(n, 1, 2^l, 2^l)`), so a served value names the sample it came from.
fn indexed(n: usize, levels: usize) -> Vec<Array4<f64>> {
    (0..levels)
        .map(|l| {
            let r = 2usize << l;
            Array4::from_shape_fn((n, 1, r, r), |(i, _, _, _)| i as f64)
        })
        .collect()
}

/// The sample index of each row of a served level.
fn ids(t: &tch::Tensor) -> Vec<i64> {
    let a = fsrgan::train::generator::array4(t).unwrap();
    a.outer_iter().map(|s| s[[0, 0, 0]] as i64).collect()
}

/// Epoch `e` of the served stream is a permutation of the training split
/// `0..n_train` (every sample once), no held-out sample (`n_train..N`) is
/// ever served, consecutive epochs are different permutations, and the
/// stream is a function of the seed and the cursor alone (a source set to
/// cursor `k` serves what the first one served from `k` on).
#[test]
fn epochs_serve_each_training_sample_once_and_never_a_heldout_one() {
    let (n, h) = (103, 20);
    let x = indexed(n, 2);
    let d = Samples::new(&x, Some(h), 7, false, Kind::Double, Device::Cpu).unwrap();
    let n_train = n - h;
    assert_eq!((d.n_train(), d.n_heldout()), (n_train, h));
    // Batches of 10 across three epochs (249 samples, batches straddle epochs).
    let mut served = Vec::new();
    while served.len() < 3 * n_train {
        let b = d.next(10);
        let (a, c) = (ids(&b[0]), ids(&b[1]));
        assert_eq!(a, c, "both levels of a batch are the same samples");
        served.extend(a);
    }
    assert_eq!(d.cursor(), served.len() as u64);
    let all: BTreeSet<i64> = (0..n_train as i64).collect();
    for e in 0..3 {
        let epoch: Vec<i64> = served[e * n_train..(e + 1) * n_train].to_vec();
        assert_eq!(
            epoch.iter().copied().collect::<BTreeSet<_>>(),
            all,
            "epoch {e}"
        );
        assert_eq!(epoch.len(), n_train);
    }
    assert_ne!(served[..n_train], served[n_train..2 * n_train]);
    assert!(served.iter().all(|&i| (i as usize) < n_train));
    // The same seed, resumed at cursor 57, continues the same stream.
    let d2 = Samples::new(&x, Some(h), 7, false, Kind::Double, Device::Cpu).unwrap();
    d2.set_cursor(57);
    assert_eq!(ids(&d2.next(60)[0]), served[57..117].to_vec());
    // Another seed, another order.
    let d3 = Samples::new(&x, Some(h), 8, false, Kind::Double, Device::Cpu).unwrap();
    assert_ne!(ids(&d3.next(n_train)[0]), served[..n_train].to_vec());
}

/// Fixed sets are distinct training samples (all of them when more are
/// asked for) and leave the cursor alone; held-out draws come from the
/// held-out split only; an unset held-out split is at most half the data,
/// and a set one that leaves fewer than 2 training samples is refused.
#[test]
fn fixed_and_heldout_sets_come_from_their_own_split() {
    let x = indexed(103, 2);
    let d = Samples::new(&x, Some(20), 7, false, Kind::Double, Device::Cpu).unwrap();
    let f = ids(&d.fixed(50, 3)[0]);
    assert_eq!(f.iter().collect::<BTreeSet<_>>().len(), 50);
    assert!(f.iter().all(|&i| i < 83));
    assert_eq!(
        ids(&d.fixed(50, 3)[0]),
        f,
        "a fixed set is a function of its seed"
    );
    assert_eq!(ids(&d.fixed(10_000, 3)[0]).len(), 83);
    assert_eq!(d.cursor(), 0);
    let held = ids(&d.heldout(15, 1)[0]);
    assert_eq!(held.iter().collect::<BTreeSet<_>>().len(), 15);
    assert!(held.iter().all(|&i| (83..103).contains(&i)));
    let host = d.heldout_images();
    assert_eq!(host[0][[0, 0, 0, 0]], 83.0);
    let half = Samples::new(&x, None, 7, false, Kind::Double, Device::Cpu).unwrap();
    assert_eq!((half.n_train(), half.n_heldout()), (52, 51));
    assert!(Samples::new(&x, Some(102), 7, false, Kind::Double, Device::Cpu).is_err());
}

/// The shuffled-pairs control permutes each level of the training split by
/// its own permutation: a child keeps its own parent only by chance (the
/// number of fixed points of a random permutation is about Poisson(1), so
/// more than 6 of 83 has probability below 1e-4), every training sample is
/// still present at every level, and the held-out pairs stay true.
#[test]
fn shuffled_pairs_break_the_training_pairs_and_keep_the_heldout_ones() {
    let x = indexed(103, 2);
    let d = Samples::new(&x, Some(20), 7, true, Kind::Double, Device::Cpu).unwrap();
    let b = d.fixed(83, 1);
    let (a, c) = (ids(&b[0]), ids(&b[1]));
    let kept = a.iter().zip(&c).filter(|(p, q)| p == q).count();
    assert!(kept <= 6, "{kept} of 83 pairs kept");
    assert_eq!(
        c.iter().copied().collect::<BTreeSet<_>>(),
        (0..83).collect::<BTreeSet<i64>>()
    );
    let h = d.heldout(20, 2);
    assert_eq!(ids(&h[0]), ids(&h[1]));
}

/// The dataset a run samples for itself is the one `fsrgan sample` stores:
/// the sampler's float64 samples rounded to float32, bit for bit.
#[test]
fn the_sampled_dataset_is_the_stored_one() {
    let p = Params::generate(&Config::preset("tiny").unwrap(), 5).unwrap();
    let x = sample_dataset(&p, 5, 300);
    let batch = Sampler::new(&p, 5).sample(0, 300);
    for (l, a) in x.iter().enumerate() {
        let want = batch.x[l].mapv(|v| f64::from(v as f32));
        assert_eq!(a.shape(), want.shape());
        assert!(
            a.iter()
                .zip(want.iter())
                .all(|(u, v)| u.to_bits() == v.to_bits()),
            "level {}",
            l + 1
        );
    }
}

/// A short `tiny` run (dict1 only of consequence) with real batches from
/// `data`, in a fresh directory; returns the learner and the directory.
fn dict1_run(extra: &str, data: Option<Loaded>) -> (Params, tempfile::TempDir) {
    let text = format!(
        r#"
preset = "tiny"
seed = 11
train_seed = 11
batch = 2048
eval_batch = 1024
final_eval = 4096
real_samples = 16384
metrics_every = 100
checkpoint_every = 1000
{extra}
[dictionary]
steps = 400
[level1]
steps = 1
[superres]
steps = 1
candidates = 1
"#
    );
    let cfg = TrainConfig::from_toml(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = TrainOptions {
        out: dir.path().to_path_buf(),
        resume: false,
        device: Device::Cpu,
        data,
    };
    let out = train(&cfg, &opts, &mut |_, _, _, _, _, _, _| {}).unwrap();
    (out.learner, dir)
}

/// A run on a plain set of arrays learns *that* set: given 20 000 samples
/// of truth 12 with no truth attached, in a config whose own truth is seed
/// 11, the learner's level-1 dictionary matches truth 12's atoms (min
/// matched |cos| >= 0.99, the margin of the GAN default's dict1 in
/// tests/train.rs) and not truth 11's (random atoms of two truths match to
/// about 0.5-0.8; 0.9 separates). Drawing batches from the oracle would
/// learn truth 11 and fail both. Without a truth the run writes no
/// `truth.safetensors`, reports no truth metric, and says so in `data.json`.
#[test]
fn a_run_on_a_plain_set_learns_that_set_and_not_the_oracle() {
    let model = Config::preset("tiny").unwrap();
    let t12 = Params::generate(&model, 12).unwrap();
    let t11 = Params::generate(&model, 11).unwrap();
    let data = Loaded {
        x: sample_dataset(&t12, 99, 20_000),
        truth: None,
        what: "20 000 samples of truth 12, no truth attached".into(),
    };
    let (learner, dir) = dict1_run("", Some(data));
    let own = fsrgan::metrics::dictionary_recovery(&t12, &learner, 0).unwrap();
    let other = fsrgan::metrics::dictionary_recovery(&t11, &learner, 0).unwrap();
    eprintln!(
        "plain set of truth 12: min |cos| with truth 12 {:.4}, with truth 11 {:.4}",
        own.min, other.min
    );
    assert!(own.min >= 0.99, "{}", own.min);
    assert!(other.min < 0.9, "{}", other.min);
    assert!(!dir.path().join("truth.safetensors").exists());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("data.json")).unwrap())
            .unwrap();
    assert_eq!(json["truth"], false);
    assert_eq!(json["n_train"], 10_000);
    let rows = fsrgan::io::rundir::RunDir::open(dir.path())
        .unwrap()
        .rows()
        .unwrap();
    let last = rows.last().unwrap();
    assert!(!last.values.contains_key("dict1_min_cos"));
    assert!(last.values.contains_key("gap1_c2") && last.values.contains_key("sr_residual2"));
}

fn fsrgan(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_fsrgan"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn write_npz(path: &std::path::Path, arrays: &[(&str, Array4<f32>)]) {
    let mut w = ndarray_npy::NpzWriter::new(std::fs::File::create(path).unwrap());
    for (name, a) in arrays {
        w.add_array(*name, a).unwrap();
    }
    w.finish().unwrap();
}

/// `fsrgan train --data` on a plain `.npz`: a level of the wrong shape is
/// refused naming the array and both shapes, NaN naming the array and the
/// first sample that holds it, a missing level naming it; nothing is
/// trained in those cases.
#[test]
fn cli_train_checks_a_plain_set() {
    let tmp = tempfile::tempdir().unwrap();
    let good1 = Array4::<f32>::zeros((64, 1, 4, 4));
    let bad2 = Array4::<f32>::zeros((64, 1, 4, 4));
    let p = tmp.path().join("shape.npz");
    write_npz(&p, &[("x1", good1.clone()), ("x2", bad2)]);
    let out_dir = tmp.path().join("run");
    let run = |data: &std::path::Path| {
        let o = fsrgan(&[
            "train",
            "--preset",
            "tiny",
            "--data",
            data.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let (ok, err) = run(&p);
    assert!(!ok);
    assert!(
        err.contains("`x2`") && err.contains("[64, 1, 4, 4]") && err.contains("(N, 1, 8, 8)"),
        "{err}"
    );
    let mut nan2 = Array4::<f32>::zeros((64, 1, 8, 8));
    nan2[[37, 0, 3, 3]] = f32::NAN;
    let p = tmp.path().join("nan.npz");
    write_npz(&p, &[("x1", good1.clone()), ("x2", nan2)]);
    let (ok, err) = run(&p);
    assert!(!ok);
    assert!(err.contains("`x2`") && err.contains("sample 37"), "{err}");
    let p = tmp.path().join("missing.npz");
    write_npz(&p, &[("x1", good1)]);
    let (ok, err) = run(&p);
    assert!(!ok);
    assert!(err.contains("no array `x2`"), "{err}");
    assert!(!out_dir.join("learner.safetensors").exists());
}

/// The path of a user's own arrays end to end: `fsrgan sample` writes a
/// dataset whose truth is kept aside, its `x1, x2` go into a plain `.npz`,
/// `fsrgan train --data` trains from it without a truth (and says so),
/// `fsrgan report --truth` scores the learner against the truth kept aside
/// (dict1's margin: min |cos| >= 0.99, as the GAN default's dict1 makes in
/// tests/train.rs), and `fsrgan generate` + `fsrgan score` score its
/// samples against the truth's dataset.
#[test]
fn cli_a_plain_set_trains_and_is_scored_against_the_truth_kept_aside() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |name: &str| tmp.path().join(name).to_str().unwrap().to_string();
    let o = fsrgan(&[
        "sample",
        "--preset",
        "tiny",
        "--n",
        "20000",
        "--seed",
        "4",
        "--out",
        &p("data"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_, arrays) = fsrgan::io::dataset::open_samples(&tmp.path().join("data")).unwrap();
    let level = |name: &str| {
        arrays[name]
            .to_f32()
            .into_dimensionality::<ndarray::Ix4>()
            .unwrap()
    };
    write_npz(
        &tmp.path().join("plain.npz"),
        &[("x1", level("x1")), ("x2", level("x2"))],
    );
    std::fs::write(
        tmp.path().join("cfg.toml"),
        "preset = \"tiny\"\neval_batch = 1024\nfinal_eval = 4096\n[dictionary]\nsteps = 300\n[level1]\nsteps = 1\n[superres]\nsteps = 1\ncandidates = 1\n",
    )
    .unwrap();
    let o = fsrgan(&[
        "train",
        "--config",
        &p("cfg.toml"),
        "--data",
        &p("plain.npz"),
        "--out",
        &p("run"),
    ]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("no truth") && err.contains("10000 training samples"),
        "{err}"
    );
    assert!(!tmp.path().join("run/truth.safetensors").exists());
    let o = fsrgan(&["report", &p("run"), "--truth", &p("data")]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(o.status.success(), "{err}");
    let cos: f64 = err
        .lines()
        .find_map(|l| l.strip_prefix("against the truth: dict1_min_cos "))
        .unwrap_or_else(|| panic!("{err}"))
        .parse()
        .unwrap();
    assert!(
        cos >= 0.99,
        "dict1 min |cos| against the truth kept aside: {cos}"
    );
    let md = std::fs::read_to_string(tmp.path().join("run/report.md")).unwrap();
    assert!(
        md.contains("## Against the truth kept aside") && md.contains("**Data:**"),
        "{md}"
    );
    let o = fsrgan(&["generate", &p("run"), "--n", "2000", "--out", &p("fake")]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = fsrgan(&["score", &p("data"), &p("fake"), "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
