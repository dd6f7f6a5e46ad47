//! `fsrgan generate` and `fsrgan score` end to end: a theory-track run
//! directory sampled into a dataset and scored at its floor; FAKE as a
//! dataset, an `.npz` (ours and NumPy's `np.savez`), a directory of `.npy`;
//! and every kind of bad FAKE rejected with an error naming the file and the
//! rule (exit 1, never a panic's 101).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fsrgan::io::{Dtype, Format, TensorSpec, TensorWriter};
use fsrgan::model::{Config, Params, Sampler};
use fsrgan::testing::F32_LONG_PATH;
use ndarray::Array4;

fn fsrgan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fsrgan"))
        .args(args)
        .output()
        .expect("binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `fsrgan sample --preset tiny --n N --seed 3 --shard I/2` into `dir`: two
/// shards of one dataset are independent real sets of one truth.
fn sample(dir: &Path, n: u64, shard: &str) {
    let o = fsrgan(&[
        "sample",
        "--preset",
        "tiny",
        "--n",
        &n.to_string(),
        "--seed",
        "3",
        "--shard",
        shard,
        "--out",
        s(dir),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Writes `arrays` (name, values) into an npz or safetensors file with our writer.
fn write_tensors(path: &Path, format: Format, dtype: Dtype, arrays: &[(&str, &Array4<f64>)]) {
    let specs = arrays
        .iter()
        .map(|(n, a)| TensorSpec {
            name: n.to_string(),
            dtype,
            shape: a.shape().to_vec(),
        })
        .collect();
    let mut w = TensorWriter::create(path, format, specs, &BTreeMap::new()).unwrap();
    for (i, (_, a)) in arrays.iter().enumerate() {
        w.append_f64(i, a.as_standard_layout().as_slice().unwrap())
            .unwrap();
    }
    w.finish().unwrap();
}

/// Fresh samples of the `tiny` truth of seed 3 (the datasets' truth).
fn truth_samples(seed: u64, n: usize) -> Vec<Array4<f64>> {
    let p = Params::generate(&Config::preset("tiny").unwrap(), 3).unwrap();
    Sampler::new(&p, seed).sample(0, n).x
}

fn json(o: &Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_slice(&o.stdout).expect("score --json prints JSON")
}

/// A learner equal to the truth, written as a theory-track run directory
/// (`learner.safetensors` under the interchange names, which is what `fsrgan
/// train` writes), generates a dataset that `score` puts at its floor: every
/// atom covered, no copies of the real data (its streams differ from the
/// dataset's), the patch SWD within a factor 3 of its floor (a loose check:
/// `tests/metrics_score.rs` holds the calibrated one).
#[test]
fn generate_from_a_theory_run_then_score_it() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    sample(&real, 2000, "0/1");
    let run = dir.path().join("run");
    std::fs::create_dir_all(run.join("checkpoint")).unwrap();
    // No learner yet: a clear error that points at the last checkpoint. The
    // learner equals the truth, written as a run writes it (with its
    // checksum: a bare copy of params.safetensors is refused as foreign).
    let truth = fsrgan::io::params::read_params(&real.join("params.safetensors"), None).unwrap();
    fsrgan::io::params::write_params(
        &run.join("checkpoint/learner.safetensors"),
        &truth,
        0,
        fsrgan::io::Dtype::F32,
    )
    .unwrap();
    let gen_dir = dir.path().join("gen");
    let o = fsrgan(&["generate", s(&run), "--n", "800", "--out", s(&gen_dir)]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--checkpoint checkpoint/learner.safetensors"),
        "{}",
        stderr(&o)
    );
    fsrgan::io::params::write_params(
        &run.join("learner.safetensors"),
        &truth,
        0,
        fsrgan::io::Dtype::F32,
    )
    .unwrap();
    let o = fsrgan(&[
        "generate",
        s(&run),
        "--n",
        "800",
        "--out",
        s(&gen_dir),
        "--seed",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!gen_dir.join("params.safetensors").exists());
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(gen_dir.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(m["params_file"], "");
    assert_eq!(m["source"]["run"], s(&run));
    assert_eq!(m["source"]["track"], "theory");
    assert_eq!(m["hidden"], false);
    // Refused without --force; a generated set is not a real dataset.
    let o = fsrgan(&["generate", s(&run), "--n", "10", "--out", s(&gen_dir)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    let o = fsrgan(&["inspect", s(&gen_dir)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("no ground truth") && stderr(&o).contains("fsrgan score"),
        "{}",
        stderr(&o)
    );
    // The checkpoint flag samples the same learner.
    let gen2 = dir.path().join("gen2");
    let o = fsrgan(&[
        "generate",
        s(&run),
        "--n",
        "5",
        "--out",
        s(&gen2),
        "--seed",
        "3",
        "--checkpoint",
        "checkpoint/learner.safetensors",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));

    let v = json(&fsrgan(&["score", s(&real), s(&gen_dir), "--json"]));
    assert_eq!(v["copies"], 0);
    assert_eq!(v["score"]["n_fake"], 800);
    assert_eq!(v["score"]["n_real"], 2000);
    assert!(
        v["fake_kind"]
            .as_str()
            .unwrap()
            .contains("generated from run")
    );
    for lv in v["score"]["levels"].as_array().unwrap() {
        let cv = &lv["coverage"]["fake"];
        assert_eq!(cv["atoms_covered"], cv["atoms_real"]);
        let ratio =
            lv["patch_swd"]["value"].as_f64().unwrap() / lv["patch_swd"]["floor"].as_f64().unwrap();
        assert!((0.33..3.0).contains(&ratio), "{ratio}");
    }
    // The human-readable table names every metric.
    let o = fsrgan(&["score", s(&real), s(&gen_dir)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    for what in [
        "patch SWD",
        "pyramid SWD 8x8 band",
        "moment gap c=4",
        "atom coverage",
        "MS-SSIM",
    ] {
        assert!(text.contains(what), "{what} missing from\n{text}");
    }
    // A set scored against itself is flagged.
    let o = fsrgan(&["score", s(&real), s(&real), "--json"]);
    assert!(json(&o)["copies"].as_u64().unwrap() > 0);
    assert!(stderr(&o).contains("copies"), "{}", stderr(&o));
}

/// FAKE as our npz (float64), as a safetensors file (float32), as a directory
/// of `.npy`, and as NumPy's own `np.savez` (when the repository's Python is
/// set up) gives the same score for the same samples.
#[test]
fn score_reads_every_fake_format() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    sample(&real, 600, "0/1");
    let x = truth_samples(77, 300);
    let npz = dir.path().join("fake.npz");
    write_tensors(
        &npz,
        Format::Npz,
        Dtype::F64,
        &[("x1", &x[0]), ("x2", &x[1]), ("z_extra", &x[0])],
    );
    let a = json(&fsrgan(&["score", s(&real), s(&npz), "--json"]));
    assert_eq!(a["ignored_arrays"][0], "z_extra");
    let st = dir.path().join("fake.safetensors");
    let x32: Vec<Array4<f64>> = x.iter().map(|a| a.mapv(|v| f64::from(v as f32))).collect();
    write_tensors(
        &st,
        Format::Safetensors,
        Dtype::F32,
        &[("x1", &x32[0]), ("x2", &x32[1])],
    );
    let b = json(&fsrgan(&["score", s(&real), s(&st), "--json"]));
    let npy = dir.path().join("npy");
    std::fs::create_dir(&npy).unwrap();
    for (l, a) in x32.iter().enumerate() {
        use ndarray_npy::WriteNpyExt;
        let f = std::fs::File::create(npy.join(format!("x{}.npy", l + 1))).unwrap();
        a.mapv(|v| v as f32).write_npy(f).unwrap();
    }
    let c = json(&fsrgan(&["score", s(&real), s(&npy), "--json"]));
    assert_eq!(
        b["score"], c["score"],
        "float32 safetensors and .npy directory"
    );
    let swd = |v: &serde_json::Value| {
        v["score"]["levels"][1]["patch_swd"]["value"]
            .as_f64()
            .unwrap()
    };
    // float32 rounding moves the SWD by ~1e-7 relative at most.
    assert!(
        (swd(&a) - swd(&b)).abs() <= F32_LONG_PATH * swd(&a),
        "{} {}",
        swd(&a),
        swd(&b)
    );
    if let Some(py) = common::python() {
        let fake = dir.path().join("np.npz");
        let script = format!(
            "import numpy as np\nd = np.load('{}')\nnp.savez('{}', x1=d['x1'].astype(np.float32), x2=d['x2'].astype(np.float32))\n",
            npz.display(),
            fake.display()
        );
        let o = Command::new(py).args(["-c", &script]).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let d = json(&fsrgan(&["score", s(&real), s(&fake), "--json"]));
        assert_eq!(b["score"], d["score"], "np.savez");
    } else {
        eprintln!("no .venv python: np.savez case skipped (scripts/setup.sh installs it)");
    }
}

/// Every bad FAKE: exit 1 and a message naming the file and the rule.
#[test]
fn score_rejects_bad_fake_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    sample(&real, 200, "0/1");
    let x = truth_samples(5, 20);
    let bad = |name: &str, arrays: &[(&str, &Array4<f64>)]| -> PathBuf {
        let p = dir.path().join(name);
        write_tensors(&p, Format::Npz, Dtype::F32, arrays);
        p
    };
    let expect = |fake: &Path, needles: &[&str]| {
        let o = fsrgan(&["score", s(&real), s(fake)]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}: {}",
            fake.display(),
            stderr(&o)
        );
        let e = stderr(&o);
        for n in needles {
            assert!(e.contains(n), "`{n}` missing from: {e}");
        }
    };
    let missing = bad("missing.npz", &[("x1", &x[0])]);
    expect(
        &missing,
        &["missing.npz", "no array `x2`", "2 levels", "(N, 1, 8, 8)"],
    );
    let wrong_res = Array4::zeros((20, 1, 4, 4));
    let shape = bad("shape.npz", &[("x1", &x[0]), ("x2", &wrong_res)]);
    expect(
        &shape,
        &["shape.npz", "`x2` has shape [20, 1, 4, 4]", "(N, 1, 8, 8)"],
    );
    let extra = bad("levels.npz", &[("x1", &x[0]), ("x2", &x[1]), ("x3", &x[1])]);
    expect(&extra, &["levels.npz", "`x3`", "2 levels"]);
    let short = x[1].slice(ndarray::s![..19, .., .., ..]).to_owned();
    let uneven = bad("uneven.npz", &[("x1", &x[0]), ("x2", &short)]);
    expect(&uneven, &["uneven.npz", "19 samples but x1 has 20"]);
    let mut nan = x[1].clone();
    nan[[7, 0, 1, 1]] = f64::NAN;
    let nanf = bad("nan.npz", &[("x1", &x[0]), ("x2", &nan)]);
    expect(&nanf, &["nan.npz", "`x2`, sample 7", "NaN"]);
    let one: Vec<Array4<f64>> = x
        .iter()
        .map(|a| a.slice(ndarray::s![..1, .., .., ..]).to_owned())
        .collect();
    let onef = bad("one.npz", &[("x1", &one[0]), ("x2", &one[1])]);
    expect(&onef, &["one.npz", "at least 2"]);
    // Truncated: the zip directory is gone.
    let good = bad("trunc.npz", &[("x1", &x[0]), ("x2", &x[1])]);
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&good, &bytes[..bytes.len() / 2]).unwrap();
    expect(&good, &["trunc.npz"]);
    // An integer .npy in a directory of arrays.
    let npy = dir.path().join("ints");
    std::fs::create_dir(&npy).unwrap();
    {
        use ndarray_npy::WriteNpyExt;
        let f = std::fs::File::create(npy.join("x1.npy")).unwrap();
        x[0].mapv(|v| v as i32).write_npy(f).unwrap();
    }
    expect(&npy, &["x1.npy", "float32/float64"]);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    expect(&empty, &["no manifest.json and no x1.npy"]);
    expect(&dir.path().join("nowhere.npz"), &["does not exist"]);
    // A corrupted FAKE dataset directory fails its checksum.
    let fake_ds = dir.path().join("fakeds");
    sample(&fake_ds, 40, "1/2");
    let p = fake_ds.join("samples.npz");
    let mut b = std::fs::read(&p).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 1;
    std::fs::write(&p, b).unwrap();
    expect(&fake_ds, &["samples.npz", "corrupted"]);
    // A REAL_DIR that is not a dataset.
    let o = fsrgan(&["score", s(&empty), s(&missing)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("REAL_DIR"), "{}", stderr(&o));
}
